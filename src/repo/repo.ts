// The repository: opening and creating one, its config, where objects live and how to read them in
// each mode. Writing objects is the commit transaction's job (src/repo/transaction.ts); refs live in
// src/repo/refs.ts.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { inflateRawSync } from "node:zlib";
import { writeFileAtomic } from "../util/atomic.js";
import { KeyFile } from "../util/keyfile.js";
import { FileLock } from "../util/lock.js";
import { getXattr, listXattrs } from "../util/native.js";
import {
  type Commit,
  type DirMeta,
  type DirTree,
  type FileMeta,
  type ObjectType,
  objectRelPath,
  parseArchiveFile,
  parseBareUserMeta,
  parseCommit,
  parseDirMeta,
  parseDirTree,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  type Xattrs,
} from "./objects.js";

export type RepoMode = "bare" | "bare-user" | "bare-user-only" | "archive";

export class RepoError extends Error {
  override name = "RepoError";
}

/** An object that should exist but does not, or whose bytes are not what its name says. */
export class ObjectMissingError extends RepoError {
  override name = "ObjectMissingError";
  constructor(
    readonly checksum: string,
    readonly type: ObjectType,
  ) {
    super(
      `object ${checksum}.${type} not found in the repository; the repo is incomplete (run fsck, or pull again)`,
    );
  }
}

const MODE_NAMES: Record<string, RepoMode> = {
  bare: "bare",
  "bare-user": "bare-user",
  "bare-user-only": "bare-user-only",
  archive: "archive",
  "archive-z2": "archive",
};

export interface FileObject {
  meta: FileMeta;
  /** Uncompressed payload size (0 for symlinks). */
  size: number;
  /** For bare modes: the object's own path, usable for hardlinks and streaming reads. */
  path?: string;
  /** Reads the whole payload (regular files). */
  read(): Buffer;
}

export class Repo {
  private constructor(
    readonly path: string,
    readonly mode: RepoMode,
    readonly config: KeyFile,
  ) {}

  get isArchive(): boolean {
    return this.mode === "archive";
  }

  /** Opens an existing repository; one clear error when the path is not one we can use. */
  static open(path: string): Repo {
    const abs = resolve(path);
    if (!existsSync(join(abs, "objects")) || !existsSync(join(abs, "config")))
      throw new RepoError(
        `${path} is not an OSTree repository (no objects/ or config); create one with \`init\``,
      );
    const config = KeyFile.parse(readFileSync(join(abs, "config"), "utf8"));
    const version = config.get("core", "repo_version");
    if (version !== "1")
      throw new RepoError(
        `${path}: unsupported repo_version '${version ?? "(missing)"}' (only 1 is supported)`,
      );
    if (config.get("core", "archive") === "true")
      throw new RepoError(`${path}: this repository uses the obsolete archive format; it cannot be read`);
    const modeName = config.get("core", "mode") ?? "bare";
    const mode = MODE_NAMES[modeName];
    if (!mode) throw new RepoError(`${path}: unknown repository mode '${modeName}'`);
    return new Repo(abs, mode, config);
  }

  /** Creates a repository, as `ostree init` does; an existing one is opened unchanged. */
  static init(path: string, mode: RepoMode): Repo {
    const abs = resolve(path);
    mkdirSync(abs, { recursive: true });
    for (const d of [
      "tmp",
      "extensions",
      "state",
      "refs",
      "refs/heads",
      "refs/mirrors",
      "refs/remotes",
      "objects",
    ])
      mkdirSync(join(abs, d), { recursive: true, mode: 0o775 });
    const configPath = join(abs, "config");
    if (!existsSync(configPath)) {
      const modeText = mode === "archive" ? "archive-z2" : mode;
      writeFileSync(configPath, `[core]\nrepo_version=1\nmode=${modeText}\n`);
    }
    return Repo.open(abs);
  }

  objectPath(csum: string, type: ObjectType): string {
    return join(this.path, objectRelPath(csum, type, this.isArchive));
  }

  hasObject(csum: string, type: ObjectType): boolean {
    try {
      // No exception for the common miss (a pull asks this of every object it has not got yet).
      return lstatSync(this.objectPath(csum, type), { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false;
    }
  }

  /** Raw bytes of a metadata object (dirtree, dirmeta, commit, commitmeta). */
  readMetadataBytes(csum: string, type: Exclude<ObjectType, "file">): Buffer {
    try {
      return readFileSync(this.objectPath(csum, type));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ObjectMissingError(csum, type);
      throw e;
    }
  }

  loadCommit(csum: string): Commit {
    return parseCommit(this.readMetadataBytes(csum, "commit"));
  }

  loadDirTree(csum: string): DirTree {
    return parseDirTree(this.readMetadataBytes(csum, "dirtree"));
  }

  loadDirMeta(csum: string): DirMeta {
    return parseDirMeta(this.readMetadataBytes(csum, "dirmeta"));
  }

  /** Reads a content object's metadata (and gives access to its payload) in any repo mode. */
  loadFile(csum: string): FileObject {
    return this.loadFileAt(this.objectPath(csum, "file"), csum);
  }

  /** loadFile for an object file at `p` in this repo's mode (a transaction's staged copy, say). */
  loadFileAt(p: string, csum: string): FileObject {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ObjectMissingError(csum, "file");
      throw e;
    }
    switch (this.mode) {
      case "archive": {
        const parsed = parseArchiveFile(readFileSync(p));
        return {
          meta: parsed.meta,
          size: parsed.size,
          read: () =>
            (parsed.meta.mode & S_IFMT) === S_IFREG ? inflateRawSync(parsed.compressed) : Buffer.alloc(0),
        };
      }
      case "bare-user": {
        const raw = getXattr(p, "user.ostreemeta");
        if (!raw)
          throw new RepoError(
            `object ${csum}.file has no user.ostreemeta xattr; the bare-user repo is damaged`,
          );
        const m = parseBareUserMeta(raw);
        if ((m.mode & S_IFMT) === S_IFLNK) {
          const content = readFileSync(p);
          const target = content.subarray(0, content.indexOf(0) < 0 ? content.length : content.indexOf(0));
          return {
            meta: { ...m, symlinkTarget: target.toString("utf8") },
            size: 0,
            read: () => Buffer.alloc(0),
          };
        }
        return { meta: { ...m, symlinkTarget: "" }, size: st.size, path: p, read: () => readFileSync(p) };
      }
      default: {
        const xattrs = this.mode === "bare" ? readXattrs(p) : [];
        const uid = this.mode === "bare" ? st.uid : 0;
        const gid = this.mode === "bare" ? st.gid : 0;
        if (st.isSymbolicLink())
          return {
            meta: { uid, gid, mode: S_IFLNK | 0o777, symlinkTarget: readlinkSync(p, "utf8"), xattrs },
            size: 0,
            path: p,
            read: () => Buffer.alloc(0),
          };
        return {
          meta: { uid, gid, mode: st.mode, symlinkTarget: "", xattrs },
          size: st.size,
          path: p,
          read: () => readFileSync(p),
        };
      }
    }
  }

  /** Takes the repo lock the way ostree does: shared while adding objects, exclusive while deleting. */
  lock(kind: "shared" | "exclusive"): Promise<FileLock> {
    const secs = Number(this.config.get("core", "lock-timeout-secs") ?? "300");
    return FileLock.acquire(join(this.path, ".lock"), kind, secs * 1000);
  }

  /** Sets one config key and rewrites `config` atomically, keeping every other line's order. */
  setConfig(group: string, key: string, value: string): void {
    this.config.set(group, key, value);
    this.saveConfig();
  }

  /** Rewrites `config` atomically from the in-memory key file. */
  saveConfig(): void {
    writeFileAtomic(join(this.path, "config"), this.config.toString(), { fsync: this.fsyncEnabled });
  }

  get fsyncEnabled(): boolean {
    return this.config.getBool("core", "fsync", true);
  }

  tmpDir(): string {
    return join(this.path, "tmp");
  }

  isDirectory(p: string): boolean {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  }
}

/** xattrs of a path (symlinks not followed), as OSTree records them. */
export function readXattrs(p: string): Xattrs {
  const out: Xattrs = [];
  for (const name of listXattrs(p)) {
    const v = getXattr(p, name);
    if (v) out.push([name, v]);
  }
  return out;
}
