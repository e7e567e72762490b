// The package database inside every layered commit: which packages a tree holds, their files,
// relations and scripts. A SQLite image, pure over bytes: it is read from a commit's file object and
// written back as one, never opened from a path, so `db list` or `status` cost one object read.
import { canonicalImage, createSchema, PKGDB_SCHEMA_VERSION } from "./pkgdb-schema.js";
import {
  Sqlite,
  type SqliteDb,
  type SqliteStatement,
  type SqlValue,
  sqliteFromBytes,
} from "./pkgdb-sqlite.js";

export const PKGDB_PATH = "usr/lib/sysimage/tsostree/packages.sqlite";

export interface DbFile {
  /** "/usr/bin/strace", as installed (after relocation). */
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  user: string;
  group: string;
  /** "sha256:HEX" ostree content checksum, or "md5:HEX" from dpkg md5sums / an rpm header. */
  digest?: string;
  /** Symlink target. */
  target?: string;
  conffile?: boolean;
}

export interface DbScript {
  phase: string;
  interpreter: string;
  body: string;
}

export interface DbPackage {
  kind: "deb" | "rpm";
  name: string;
  epoch: number;
  version: string;
  release: string;
  /** As dpkg/rpm print it, epoch included when non-zero. */
  evr: string;
  arch: string;
  summary: string;
  origin: "base" | "layered";
  /** Named by the user (not pulled in as a dependency, not part of the base). */
  requested: boolean;
  /** Package commit checksum (layered packages). */
  commit?: string;
  /** Of the .deb/.rpm file. */
  sha256?: string;
  installedSize?: number;
  provides: { name: string; version: string }[];
  /** kind: depends, pre-depends, recommends, conflicts…; text as the native tool writes the term. */
  requires: { kind: string; text: string }[];
  scripts: DbScript[];
  files: DbFile[];
}

export type DbPackageSummary = Omit<DbPackage, "files" | "scripts" | "provides" | "requires">;

export { type DbDiff, type DbDiffEntry, diffPackages } from "./pkgdb-diff.js";

export class PackageDbError extends Error {
  override name = "PackageDbError";
}

interface PackageRow {
  id: number;
  kind: "deb" | "rpm";
  name: string;
  epoch: number;
  version: string;
  release: string;
  evr: string;
  arch: string;
  summary: string;
  origin: "base" | "layered";
  requested: number;
  pkg_commit: string | null;
  sha256: string | null;
  installed_size: number | null;
}

interface FileRow {
  path: string;
  type: DbFile["type"];
  mode: number;
  user: string;
  grp: string;
  digest: string | null;
  target: string | null;
  conffile: number;
}

const ORDER = "ORDER BY name, arch, kind";

function summaryOf(r: PackageRow): DbPackageSummary {
  const s: DbPackageSummary = {
    kind: r.kind,
    name: r.name,
    epoch: r.epoch,
    version: r.version,
    release: r.release,
    evr: r.evr,
    arch: r.arch,
    summary: r.summary,
    origin: r.origin,
    requested: r.requested !== 0,
  };
  if (r.pkg_commit !== null) s.commit = r.pkg_commit;
  if (r.sha256 !== null) s.sha256 = r.sha256;
  if (r.installed_size !== null) s.installedSize = r.installed_size;
  return s;
}

function fileOf(r: FileRow): DbFile {
  const f: DbFile = { path: r.path, type: r.type, mode: r.mode, user: r.user, group: r.grp };
  if (r.digest !== null) f.digest = r.digest;
  if (r.target !== null) f.target = r.target;
  if (r.conffile) f.conffile = true;
  return f;
}

/** "/usr/bin/x" from "usr/bin/x", "/usr/bin/x/" or "//usr/bin/x". */
function normalPath(p: string): string {
  const parts = p.split("/").filter((x) => x !== "" && x !== ".");
  return `/${parts.join("/")}`;
}

/** A shell glob in SQLite's GLOB dialect: `[!…]` negates as `[^…]`, `\x` quotes as `[x]`. */
export function shellGlobToSqlite(pattern: string): string {
  return pattern.replace(/\\(.)|\[!/g, (_m, quoted: string | undefined) =>
    quoted === undefined ? "[^" : /[*?[\]]/.test(quoted) ? `[${quoted}]` : quoted,
  );
}

export class PackageDb {
  /** Prepared statements by SQL text: composing a base adds thousands of rows per package. */
  private readonly statements = new Map<string, SqliteStatement>();

  private constructor(private readonly db: SqliteDb) {}

  private sql(text: string): SqliteStatement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** An empty database with the schema made. */
  static create(): PackageDb {
    const db = new Sqlite(":memory:");
    createSchema(db);
    return new PackageDb(db);
  }

  /** The database whose image is `buf` (as serialize() wrote it); the bytes are copied, not shared. */
  static fromBytes(buf: Buffer): PackageDb {
    let db: SqliteDb;
    let version: unknown;
    try {
      db = sqliteFromBytes(buf);
    } catch (e) {
      throw new PackageDbError(`package database is not an SQLite image: ${(e as Error).message}`);
    }
    try {
      version = (
        db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value?: string }
      )?.value;
    } catch (e) {
      db.close();
      throw new PackageDbError(
        `not a tsostree package database (${(e as Error).message}); ${PKGDB_PATH} must be written by tsostree`,
      );
    }
    if (version !== String(PKGDB_SCHEMA_VERSION)) {
      db.close();
      throw new PackageDbError(
        `package database schema version ${String(version)} is not ${PKGDB_SCHEMA_VERSION}; use the tsostree that wrote it, or recompose the tree`,
      );
    }
    return new PackageDb(db);
  }

  /** Adds a package, replacing one of the same kind, name and arch. */
  add(p: DbPackage): void {
    if (!p.name || !p.arch)
      throw new PackageDbError(`a package needs a name and an arch (got "${p.name}.${p.arch}")`);
    const tx = this.db.transaction(() => {
      const old = this.sql("SELECT id FROM packages WHERE kind = ? AND name = ? AND arch = ?").get(
        p.kind,
        p.name,
        p.arch,
      ) as { id: number } | undefined;
      if (old) this.deleteIds([old.id]);
      const id = this.sql(
        "INSERT INTO packages (kind, name, epoch, version, release, evr, arch, summary, origin, requested, pkg_commit, sha256, installed_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(
        p.kind,
        p.name,
        p.epoch,
        p.version,
        p.release,
        p.evr,
        p.arch,
        p.summary,
        p.origin,
        p.requested ? 1 : 0,
        p.commit ?? null,
        p.sha256 ?? null,
        p.installedSize ?? null,
      ).lastInsertRowid;
      const file = this.sql("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      for (const f of p.files)
        file.run(
          id,
          normalPath(f.path),
          f.type,
          f.mode,
          f.user,
          f.group,
          f.digest ?? null,
          f.target ?? null,
          f.conffile ? 1 : 0,
        );
      const rows = (table: string, cols: number, values: SqlValue[][]) => {
        const st = this.sql(`INSERT INTO ${table} VALUES (?, ?${", ?".repeat(cols)})`);
        values.forEach((v, seq) => {
          st.run(id, seq, ...v);
        });
      };
      rows(
        "provides",
        2,
        p.provides.map((x) => [x.name, x.version]),
      );
      rows(
        "requires",
        2,
        p.requires.map((x) => [x.kind, x.text]),
      );
      rows(
        "scripts",
        3,
        p.scripts.map((x) => [x.phase, x.interpreter, x.body]),
      );
    });
    tx();
  }

  /** Removes every package of that name (of that arch only, when given); returns what it removed. */
  remove(name: string, arch?: string): DbPackageSummary[] {
    const tx = this.db.transaction(() => {
      const rows = this.select(name, arch);
      this.deleteIds(rows.map((r) => r.id));
      return rows.map(summaryOf);
    });
    return tx();
  }

  /** Packages whose name matches the shell glob (all without one), sorted by name, then arch. */
  packages(pattern?: string): DbPackageSummary[] {
    const rows = (
      pattern === undefined
        ? this.sql(`SELECT * FROM packages ${ORDER}`).all()
        : this.sql(`SELECT * FROM packages WHERE name GLOB ? ${ORDER}`).all(shellGlobToSqlite(pattern))
    ) as PackageRow[];
    return rows.map(summaryOf);
  }

  /** The package of that name (and arch); without an arch, the first of its archs in sort order. */
  get(name: string, arch?: string): DbPackage | undefined {
    const r = this.select(name, arch)[0];
    if (!r) return undefined;
    const provides = this.sql("SELECT name, version FROM provides WHERE pkg = ? ORDER BY seq").all(r.id) as {
      name: string;
      version: string;
    }[];
    const requires = this.sql("SELECT kind, text FROM requires WHERE pkg = ? ORDER BY seq").all(r.id) as {
      kind: string;
      text: string;
    }[];
    const scripts = this.sql("SELECT phase, interpreter, body FROM scripts WHERE pkg = ? ORDER BY seq").all(
      r.id,
    ) as DbScript[];
    return { ...summaryOf(r), provides, requires, scripts, files: this.filesOf(r.id) };
  }

  /** The packages that list `path` ("/usr/bin/x"; a leading "/" is optional). */
  owners(path: string): DbPackageSummary[] {
    const rows = this.sql(
      `SELECT * FROM packages WHERE id IN (SELECT pkg FROM files WHERE path = ?) ${ORDER}`,
    ).all(normalPath(path)) as PackageRow[];
    return rows.map(summaryOf);
  }

  /** The files of the package get(name, arch) returns, sorted by path; [] when there is none. */
  files(name: string, arch?: string): DbFile[] {
    const r = this.select(name, arch)[0];
    return r ? this.filesOf(r.id) : [];
  }

  /** The database image; the same content gives the same bytes, whatever order it was added in. */
  serialize(): Buffer {
    return canonicalImage(this.db);
  }

  /**
   * The image as it stands, without serialize()'s rebuild: for a database opened from a canonical
   * image and changed by a fixed sequence of adds and removes (a layering over a base), the same
   * inputs still give the same bytes, and the cost follows the change instead of the database.
   */
  serializeAsIs(): Buffer {
    return this.db.serialize();
  }

  close(): void {
    this.db.close();
  }

  private select(name: string, arch?: string): PackageRow[] {
    return (
      arch === undefined
        ? this.sql(`SELECT * FROM packages WHERE name = ? ${ORDER}`).all(name)
        : this.sql(`SELECT * FROM packages WHERE name = ? AND arch = ? ${ORDER}`).all(name, arch)
    ) as PackageRow[];
  }

  private filesOf(id: number): DbFile[] {
    const rows = this.sql(
      "SELECT path, type, mode, user, grp, digest, target, conffile FROM files WHERE pkg = ? ORDER BY path",
    ).all(id) as FileRow[];
    return rows.map(fileOf);
  }

  private deleteIds(ids: number[]): void {
    for (const table of ["files", "provides", "requires", "scripts"]) {
      const st = this.sql(`DELETE FROM ${table} WHERE pkg = ?`);
      for (const id of ids) st.run(id);
    }
    const st = this.sql("DELETE FROM packages WHERE id = ?");
    for (const id of ids) st.run(id);
  }
}
