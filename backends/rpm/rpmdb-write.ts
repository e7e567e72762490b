// Writing rpm's sqlite database (rpm ≥ 4.16, lib/backend/sqlite.c) without rpm: the Packages table
// holds each installed header as headerExport() writes it, and one table per index (Name, Basenames,
// Requirename…) maps keys to (hnum, idx) exactly as rpmdb.c's tag2index() fills them, so `rpm -qa`,
// `-qf`, `--whatprovides` and `--verifydb` on the tree see what rpm itself would have written. Pure
// over bytes: an image in, an image out. The image keeps a rollback journal, not rpm's WAL: a
// deployed /usr is read-only, and SQLite can read a WAL database only where it may create its -shm
// file; rpm switches it back to WAL the first time it opens it for writing.

import type { Dep } from "../../src/packages/model.js";
import { Sqlite, type SqliteDb, sqliteFromBytes } from "../../src/packages/pkgdb-sqlite.js";
import { HEADER_MAGIC, RpmHeader } from "./header.js";
import { exportHeader, type HeaderEntry, int32Entry, putEntries, splitHeader } from "./header-write.js";
import { parseRpmRich } from "./relations.js";
import { SENSE, TAG } from "./tags.js";

export class RpmdbWriteError extends Error {
  override name = "RpmdbWriteError";
}

const INSTALL = { TIME: 1008, FILESTATES: 1029, COLOR: 1127, TID: 1128 } as const;
const SIGMD5 = 261;
const SHA1HEADER = 269;

type Keys = (h: RpmHeader) => [string | Buffer, number][];

interface Index {
  table: string;
  keys: Keys;
  /** rpm's key column type: TEXT for string tags, BLOB for the others. */
  blob?: boolean;
  /** The tag is an array: rpm also indexes hnum, to delete a package's rows fast. */
  array?: boolean;
}

const each =
  (tag: number): Keys =>
  (h) =>
    (h.stringArray(tag) ?? []).map((k, i) => [k, i]);

/** Names a dependency tag indexes: every entry, and for a rich one also the names inside it. */
const depKeys =
  (tag: number, rich: boolean, keep: (flags: number) => boolean = () => true): Keys =>
  (h) => {
    const names = h.stringArray(tag) ?? [];
    const flags = tag === TAG.REQUIRENAME ? (h.ints(TAG.REQUIREFLAGS) ?? []) : [];
    const out: [string, number][] = [];
    names.forEach((name, i) => {
      if (!keep(flags[i] ?? 0)) return;
      out.push([name, i]);
      if (rich && name.startsWith("(")) for (const n of richNames(name)) out.push([n, i]);
    });
    return out;
  };

/** rpmdb.c's order of indexes (newRpmdb dbiTags), the order rpm creates and fills them in. */
const INDEXES: Index[] = [
  { table: "Name", keys: (h) => [[h.string(TAG.NAME) ?? "", 0]] },
  { table: "Basenames", keys: each(TAG.BASENAMES), array: true },
  { table: "Group", keys: (h) => [[h.string(TAG.GROUP) ?? "Unknown", 0]] },
  { table: "Requirename", keys: depKeys(TAG.REQUIRENAME, true, (f) => !isTransientReq(f)), array: true },
  { table: "Providename", keys: depKeys(TAG.PROVIDENAME, false), array: true },
  { table: "Conflictname", keys: depKeys(TAG.CONFLICTNAME, true), array: true },
  { table: "Obsoletename", keys: depKeys(TAG.OBSOLETENAME, false), array: true },
  {
    table: "Triggername",
    // A package triggering on one name several times is indexed once, at the first.
    keys: (h) =>
      (h.stringArray(TAG.TRIGGERNAME) ?? []).flatMap((k, i, all) => (all.indexOf(k) < i ? [] : [[k, i]])),
    array: true,
  },
  { table: "Dirnames", keys: each(TAG.DIRNAMES), array: true },
  { table: "Installtid", keys: (h) => intKey(h, INSTALL.TID), blob: true },
  { table: "Sigmd5", keys: (h) => binKey(h, SIGMD5), blob: true },
  { table: "Sha1header", keys: (h) => strKey(h, SHA1HEADER) },
  { table: "Filetriggername", keys: triggerKeys(TAG.FILETRIGGERNAME, TAG.FILETRIGGERINDEX), array: true },
  {
    table: "Transfiletriggername",
    keys: triggerKeys(TAG.TRANSFILETRIGGERNAME, TAG.TRANSFILETRIGGERINDEX),
    array: true,
  },
  { table: "Recommendname", keys: depKeys(TAG.RECOMMENDNAME, true), array: true },
  { table: "Suggestname", keys: depKeys(TAG.SUGGESTNAME, true), array: true },
  { table: "Supplementname", keys: depKeys(TAG.SUPPLEMENTNAME, true), array: true },
  { table: "Enhancename", keys: depKeys(TAG.ENHANCENAME, true), array: true },
];

function intKey(h: RpmHeader, tag: number): [Buffer, number][] {
  const v = h.int(tag);
  if (v === undefined) return [];
  // rpm stores integer keys in host byte order; every target rpm layering runs on is little-endian.
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return [[b, 0]];
}

function binKey(h: RpmHeader, tag: number): [Buffer, number][] {
  const v = h.bin(tag);
  return v ? [[Buffer.from(v), 0]] : [];
}

function strKey(h: RpmHeader, tag: number): [string, number][] {
  const v = h.string(tag);
  return v === undefined ? [] : [[v, 0]];
}

/** File triggers are indexed under their script's index, not their own position. */
function triggerKeys(nameTag: number, indexTag: number): Keys {
  return (h) => {
    const idx = h.ints(indexTag) ?? [];
    return (h.stringArray(nameTag) ?? []).map((k, i) => [k, idx[i] ?? i]);
  };
}

const KEYRING = 1 << 26;
const META = 1 << 29;
const INSTALL_ONLY =
  SENSE.SCRIPT_PRE | SENSE.SCRIPT_POST | SENSE.RPMLIB | KEYRING | SENSE.PRETRANS | SENSE.POSTTRANS;
const ERASE_ONLY = SENSE.SCRIPT_PREUN | SENSE.SCRIPT_POSTUN;

/** rpmds.h isTransientReq(): a requirement only installing needs is not kept in the rpmdb index. */
function isTransientReq(flags: number): boolean {
  return (flags & INSTALL_ONLY) !== 0 && (flags & ERASE_ONLY) === 0 && (flags & META) === 0;
}

/**
 * The names inside a rich dependency as rpmdb.c's updateRichDep() indexes them: those in the
 * condition of an `if`/`unless` prefixed with "!" (and, with an `else`, also without it), rpmlib()
 * names left out, sorted and deduplicated.
 */
export function richNames(text: string): string[] {
  let dep: Dep;
  try {
    dep = parseRpmRich(text);
  } catch {
    return []; // rpm indexes nothing for a rich dependency it cannot parse
  }
  const out: string[] = [];
  const walk = (d: Dep, neg: boolean): void => {
    switch (d.kind) {
      case "atom":
        if (!d.atom.name.startsWith("rpmlib(")) out.push(`${neg ? "!" : " "}${d.atom.name}`);
        return;
      case "if":
      case "unless": {
        walk(d.then, neg);
        const start = out.length;
        walk(d.cond, !neg);
        if (d.else) {
          for (const n of out.slice(start)) out.push(`${n[0] === "!" ? " " : "!"}${n.slice(1)}`);
          walk(d.else, neg);
        }
        return;
      }
      default:
        for (const t of d.terms) walk(t, neg);
    }
  };
  walk(dep, false);
  const sorted = out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return sorted.filter((n, i) => i === 0 || n !== sorted[i - 1]).map((n) => (n[0] === " " ? n.slice(1) : n));
}

/** The statements rpm's sqlite backend runs to create an empty database (init_table, init_index). */
function schema(): string[] {
  const out = [
    "CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)",
  ];
  for (const ix of INDEXES) {
    out.push(
      `CREATE TABLE IF NOT EXISTS '${ix.table}' (key '${ix.blob ? "BLOB" : "TEXT"}' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))`,
    );
    if (!ix.blob) out.push(`CREATE INDEX IF NOT EXISTS '${ix.table}_key_idx' ON '${ix.table}'(key ASC)`);
    if (ix.array) out.push(`CREATE INDEX IF NOT EXISTS '${ix.table}_hnum_idx' ON '${ix.table}'(hnum ASC)`);
  }
  return out;
}

function edit(image: Buffer | undefined, fn: (db: SqliteDb) => void): Buffer {
  const db = image ? sqliteFromBytes(image) : new Sqlite();
  try {
    db.transaction(() => fn(db))();
    return db.serialize();
  } finally {
    db.close();
  }
}

/** An empty rpmdb.sqlite with the tables and indexes rpm 4.18 creates (`rpm --initdb`). */
export function rpmdbCreate(): Buffer {
  return edit(undefined, (db) => {
    for (const sql of schema()) db.exec(sql);
  });
}

export interface RpmdbInstallOptions {
  /** INSTALLTIME (seconds since the epoch); default: now. */
  installTime?: number;
  /** INSTALLTID, the transaction's id (rpm: its start time); default: installTime. */
  tid?: number;
  /** INSTALLCOLOR, rpm's %_transaction_color: 3 on 64-bit multilib targets (x86_64, aarch64…), 0 elsewhere. */
  color?: number;
}

/** A stored header blob as rpm exports it, with or without the 8-byte magic. */
function bare(blob: Buffer): Buffer {
  return blob.subarray(0, 3).equals(HEADER_MAGIC.subarray(0, 3)) ? blob.subarray(8) : blob;
}

function parse(blob: Buffer, what: string): RpmHeader {
  return new RpmHeader(Buffer.concat([HEADER_MAGIC, Buffer.alloc(4), bare(blob)]), what);
}

/** What rpm's psm.c dbAdd() appends before the header goes into the database. */
function installedHeader(blob: Buffer, opts: Required<RpmdbInstallOptions>): Buffer {
  const h = parse(blob, "header");
  const split = splitHeader(bare(blob));
  const files = h.stringArray(TAG.BASENAMES)?.length ?? 0;
  const entries: HeaderEntry[] = [
    int32Entry(INSTALL.TID, [opts.tid]),
    int32Entry(INSTALL.TIME, [opts.installTime]),
    int32Entry(INSTALL.COLOR, [opts.color]),
  ];
  // Every file in its normal state (RPMFILE_STATE_NORMAL = 0): layering installs all of them.
  if (files > 0) entries.push({ tag: INSTALL.FILESTATES, type: 1, count: files, data: Buffer.alloc(files) });
  return exportHeader(putEntries(split, entries));
}

function nameArch(h: RpmHeader): [string, string] {
  return [h.string(TAG.NAME) ?? "", h.string(TAG.ARCH) ?? ""];
}

function removeMatching(db: SqliteDb, name: string, arch?: string): number {
  const rows = db
    .prepare(
      "SELECT p.hnum AS hnum, p.blob AS blob FROM 'Name' n JOIN 'Packages' p ON p.hnum = n.hnum WHERE n.key = ?",
    )
    .all(name) as { hnum: number; blob: Buffer }[];
  let n = 0;
  for (const r of rows) {
    if (arch !== undefined && nameArch(parse(r.blob, `rpmdb header #${r.hnum}`))[1] !== arch) continue;
    for (const ix of INDEXES) db.prepare(`DELETE FROM '${ix.table}' WHERE hnum=?`).run(r.hnum);
    db.prepare("DELETE FROM 'Packages' WHERE hnum=?").run(r.hnum);
    n++;
  }
  return n;
}

/**
 * Adds `headers` (as package commits carry them: `tsostree.pkg.rpm-header`) to an rpmdb image, each
 * with the install-time tags rpm adds, replacing an installed package of the same name and arch.
 */
export function rpmdbInstall(image: Buffer, headers: Buffer[], opts: RpmdbInstallOptions = {}): Buffer {
  const installTime = opts.installTime ?? Math.floor(Date.now() / 1000);
  const o = { installTime, tid: opts.tid ?? installTime, color: opts.color ?? 3 };
  return edit(image, (db) => {
    for (const [i, raw] of headers.entries()) {
      let blob: Buffer;
      let h: RpmHeader;
      try {
        blob = installedHeader(raw, o);
        h = parse(blob, `header #${i}`);
      } catch (e) {
        throw new RpmdbWriteError(`header #${i}: ${(e as Error).message}; re-import the package`);
      }
      const [name, arch] = nameArch(h);
      if (!name) throw new RpmdbWriteError(`header #${i} has no NAME; re-import the package`);
      removeMatching(db, name, arch);
      const hnum = Number(
        db.prepare("INSERT OR REPLACE INTO 'Packages' VALUES(?, ?)").run(null, blob).lastInsertRowid,
      );
      for (const ix of INDEXES) {
        const put = db.prepare(`INSERT INTO '${ix.table}' VALUES(?, ?, ?)`);
        for (const [key, idx] of ix.keys(h)) put.run(key, hnum, idx);
      }
    }
  });
}

/** Removes the named packages (every arch unless one is given); names not installed are ignored. */
export function rpmdbRemove(image: Buffer, names: { name: string; arch?: string }[]): Buffer {
  return edit(image, (db) => {
    for (const n of names) removeMatching(db, n.name, n.arch);
  });
}
