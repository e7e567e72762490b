// Writing one content object into a transaction's staging directory, in every repo mode. This runs
// both on the main thread and inside the hashing workers (content-pool.ts), so it is synchronous
// (pooled-store.ts has the stores whose payloads the native helper hashes and writes on the pool)
// and keeps no state beyond a reusable read buffer. Objects are staged as staging/CHECKSUM.file:
// a streamed one gets that name once complete, one held in memory is created under it (its
// checksum is known first). Either way the transaction commits only after every write has finished, and
// staging dirs are never reused, so a file cut short by a crash is never taken for an object.
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  writevSync,
} from "node:fs";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { isCreatorOwner, processUmask } from "../util/creds.js";
import { getXattr, listXattrs, setXattr, startWriteback } from "../util/native.js";
import type { InflateWrite } from "../util/object-job.js";
import { CorruptObjectError } from "./archive-object.js";
import { ARCHIVE_LEVEL, CHUNK, ChunkSink } from "./chunk-sink.js";
import { collectEvery } from "./gc-pacing.js";
import {
  archiveFileHeader,
  checksumPrefix,
  type FileMeta,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  serializeBareUserMeta,
  type Xattrs,
} from "./objects.js";
import { RepoError, type RepoMode } from "./repo.js";

/** Where objects go: the repo's objects/ (checked for existing objects) and our staging dir. */
export interface StoreTarget {
  objectsDir: string;
  stagingDir: string;
  mode: RepoMode;
  /**
   * Start writing big objects to disk as soon as they are complete (sync_file_range), so the
   * commit's syncfs waits for less; for transactions that sync at all.
   */
  writeback?: boolean;
}

/** A regular file or symlink on disk to be stored; everything here survives structured clone. */
export interface SourceJob {
  src: string;
  /** Final metadata, except that xattrs are read from `src` when `readXattrs` is set. */
  meta: FileMeta;
  size: number;
  readXattrs: boolean;
  /** `--consume` into bare/bare-user-only: the source may be renamed into the repo. */
  adopt: boolean;
}

export interface StoreResult {
  csum: string;
  /** False when the object was already in the repo (or staged earlier). */
  written: boolean;
  /** Payload bytes written (uncompressed). */
  bytes: number;
}

export class ContentError extends RepoError {
  override name = "ContentError";
}

/** A payload whose checksum is not the one it was expected to have (a pulled object). */
export class ChecksumMismatchError extends CorruptObjectError {
  override name = "ChecksumMismatchError";
}

/** Files up to this size are read whole; bigger ones stream in CHUNK-sized pieces. */
const SMALL_MAX = 2 << 20;
const OBJECT_TIMESTAMP = 0;
/** Per thread, not per store: several stores of one thread may share a staging dir. */
let tmpSeq = 0;
/**
 * Tells this thread's temporary names from other threads' in the process (worker threads have
 * their own module instance). Random rather than worker_threads' threadId, which costs every
 * command that writes an object the loading of that module (≈ 1 ms); a clash could only make an
 * exclusive create fail (every temporary file is made with O_EXCL), never mix two files.
 */
const THREAD_TAG = Math.random().toString(36).slice(2, 10);
const NO_THROW = { throwIfNoEntry: false } as const;

export class ContentStore {
  private buf = Buffer.allocUnsafe(256 * 1024);
  private prefixCache = new Map<string, Buffer>();
  private ext: string;

  constructor(readonly target: StoreTarget) {
    this.ext = target.mode === "archive" ? "filez" : "file";
  }

  /** True when the object is in the repo or already staged by this transaction. */
  has(csum: string): boolean {
    return this.pathOf(csum) !== null;
  }

  /** Whether the object is staged in this store's staging dir (not whether it is in the repo). */
  isStaged(csum: string): boolean {
    return lstatSync(this.stagedPath(csum, this.ext), NO_THROW) !== undefined;
  }

  /** The object's file in the repo or, staged by this transaction, in the staging dir; else null. */
  pathOf(csum: string): string | null {
    // lstat, not exists: bare-mode symlink objects are symlinks, often dangling ones.
    const p = this.objectPath(csum);
    if (lstatSync(p, NO_THROW)) return p;
    const staged = this.stagedPath(csum, this.ext);
    return lstatSync(staged, NO_THROW) ? staged : null;
  }

  /** Stores a regular file or symlink read from disk. */
  storeFromPath(job: SourceJob): StoreResult {
    const meta = job.meta;
    if ((meta.mode & S_IFMT) === S_IFLNK) {
      if (job.readXattrs) meta.xattrs = readXattrsOf(job.src);
      return this.storeSymlink(meta);
    }
    const fd = openSync(job.src, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if (job.readXattrs) meta.xattrs = readXattrsOf(fd);
      if (job.adopt) return this.adopt(fd, job);
      if (job.size <= SMALL_MAX) {
        const data = this.readWhole(fd, job.size, job.src);
        return this.storeBuffer(meta, data);
      }
      return this.storeChunks(meta, job.size, (buf, pos) => readChunk(fd, buf, pos, job.src));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Stores a regular file whose whole payload is in memory. `csum`: its checksum, when the caller
   * has just computed it; `filez`: in archive mode, the object's bytes, to be written as they are.
   */
  storeBuffer(meta: FileMeta, data: Buffer, csum?: string, filez?: Uint8Array): StoreResult {
    if ((meta.mode & S_IFMT) === S_IFLNK) return this.storeSymlink(meta);
    requireRegular(meta);
    collectEvery(data.length);
    csum ??= createHash("sha256").update(this.prefix(meta)).update(data).digest("hex");
    if (lstatSync(this.objectPath(csum), NO_THROW)) return { csum, written: false, bytes: 0 };
    // The checksum is known before anything is written, so the object is created under its
    // staged name directly, with its final mode: no temporary name, rename or chmod (see the
    // module comment for why a half-written file there is harmless).
    const path = this.stagedPath(csum, this.ext);
    const mode = this.creationMode(meta);
    let fd: number;
    try {
      fd = openSync(path, CREATE_EXCL, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return { csum, written: false, bytes: 0 };
      throw e;
    }
    try {
      if (this.target.mode === "archive" && filez)
        writeAll(fd, Buffer.from(filez.buffer, filez.byteOffset, filez.byteLength), -1);
      else if (this.target.mode === "archive")
        writevSync(fd, [
          archiveFileHeader(meta, data.length),
          deflateRawSync(data, { level: ARCHIVE_LEVEL }),
        ]);
      else writeAll(fd, data, -1);
      this.applyRegularMeta(fd, meta, mode);
      this.writeback(fd, data.length);
    } catch (e) {
      closeSync(fd);
      unlinkSync(path);
      throw e;
    }
    closeSync(fd);
    return { csum, written: true, bytes: data.length };
  }

  /** See StoreTarget.writeback; small files are left to the commit's syncfs. */
  writeback(fd: number, bytes: number): void {
    if (this.target.writeback && bytes >= WRITEBACK_MIN) startWriteback(fd);
  }

  private handsDownGroup: boolean | undefined;
  /** A setgid staging dir gives new files its group rather than the creator's. */
  private stagingHandsDownGroup(): boolean {
    this.handsDownGroup ??= (statSync(this.target.stagingDir).mode & S_ISGID) !== 0;
    return this.handsDownGroup;
  }

  /** The mode a regular object file gets in this repo mode (bare-user keeps the real one in an xattr). */
  private creationMode(meta: FileMeta): number {
    switch (this.target.mode) {
      case "bare":
      case "bare-user-only":
        return meta.mode & 0o7777;
      case "bare-user":
        return ((meta.mode & 0o775) | 0o400) & 0o7777;
      case "archive":
        return 0o644;
    }
  }

  private objectPath(csum: string): string {
    return join(this.target.objectsDir, csum.slice(0, 2), `${csum.slice(2)}.${this.ext}`);
  }

  /**
   * Stores a payload that arrives in pieces (big files, tar entries): hashed and written in one
   * pass to a temporary file, which is dropped if the object turns out to exist already.
   * `next(buf, pos)` fills `buf` from offset 0 and returns the byte count (0 at the end).
   */
  storeChunks(meta: FileMeta, size: number, next: (buf: Buffer, pos: number) => number): StoreResult {
    requireRegular(meta);
    const sink = this.openSink(meta, size);
    try {
      const buf = this.chunkBuffer();
      let pos = 0;
      while (pos < size) {
        const n = next(buf.subarray(0, Math.min(CHUNK, size - pos)), pos);
        if (n === 0)
          throw new ContentError(`file shrank while it was being committed (${pos} of ${size} bytes)`);
        sink.write(buf.subarray(0, n));
        pos += n;
      }
      return sink.finish();
    } catch (e) {
      sink.discard();
      throw e;
    }
  }

  /** A sink for payloads pushed asynchronously (see Transaction.writeContent with a stream). */
  openSink(meta: FileMeta, size: number | undefined): ChunkSink {
    requireRegular(meta);
    return new ChunkSink(this, meta, size, this.prefix(meta));
  }

  storeSymlink(meta: FileMeta): StoreResult {
    const csum = createHash("sha256").update(checksumPrefix(meta)).digest("hex");
    if (this.has(csum)) return { csum, written: false, bytes: 0 };
    const tmp = this.tmpPath();
    switch (this.target.mode) {
      case "bare":
        symlinkSync(meta.symlinkTarget, tmp);
        lchownSync(tmp, meta.uid, meta.gid);
        for (const [k, v] of meta.xattrs) setXattr(tmp, k, v);
        break;
      case "bare-user-only":
        symlinkSync(meta.symlinkTarget, tmp);
        break;
      case "bare-user": {
        // bare-user keeps symlinks as regular files holding the target and a NUL.
        const fd = openSync(tmp, "wx", 0o644);
        try {
          writeAll(fd, Buffer.from(`${meta.symlinkTarget}\0`), -1);
          fchmodSync(fd, 0o644);
          setXattr(fd, "user.ostreemeta", serializeBareUserMeta(meta));
          futimesSync(fd, OBJECT_TIMESTAMP, OBJECT_TIMESTAMP);
        } finally {
          closeSync(fd);
        }
        break;
      }
      case "archive": {
        const fd = openSync(tmp, "wx", 0o644);
        try {
          writeAll(fd, archiveFileHeader(meta, 0), -1);
          fchmodSync(fd, 0o644);
        } finally {
          closeSync(fd);
        }
        break;
      }
    }
    this.publish(tmp, csum);
    return { csum, written: true, bytes: 0 };
  }

  /**
   * Final metadata of a regular object file, per repo mode, then mtime 0 as ostree does.
   * `createdWith`: the mode the file was created with, when it was created by us just now; owner
   * and mode calls that would change nothing are then skipped.
   */
  applyRegularMeta(fd: number, meta: FileMeta, createdWith?: number): void {
    const m = this.regularMeta(meta, createdWith);
    // chown first: it clears setuid/setgid bits that chmod then restores.
    if (m.owner) fchownSync(fd, m.owner[0], m.owner[1]);
    if (m.chmod) fchmodSync(fd, m.mode);
    for (const [k, v] of m.xattrs) setXattr(fd, k, v);
    if (m.mtimeZero) futimesSync(fd, OBJECT_TIMESTAMP, OBJECT_TIMESTAMP);
  }

  /** What applyRegularMeta does, as data (the native helper's write takes it too). */
  private regularMeta(meta: FileMeta, createdWith?: number) {
    if (this.target.mode === "bare-user-only") validateBareUserOnly(meta);
    const mode = this.creationMode(meta);
    const ownerOk =
      this.target.mode !== "bare" ||
      (createdWith !== undefined && isCreatorOwner(meta.uid, meta.gid) && !this.stagingHandsDownGroup());
    const xattrs: Xattrs =
      this.target.mode === "bare"
        ? meta.xattrs
        : this.target.mode === "bare-user"
          ? [["user.ostreemeta", serializeBareUserMeta(meta)]]
          : [];
    return {
      mode,
      owner: ownerOk ? null : ([meta.uid, meta.gid] as [number, number]),
      chmod: !ownerOk || createdWith !== mode || (mode & processUmask()) !== 0,
      xattrs,
      mtimeZero: this.target.mode !== "archive",
    };
  }

  /**
   * Where the native helper stores a verified regular payload `csum` (pooled-store.ts): as
   * storeBuffer would, created under its staged name with its final metadata. Null when the
   * object is in the repo already.
   */
  poolWrite(meta: FileMeta, size: number, csum: string, filez: Uint8Array | null): InflateWrite | null {
    requireRegular(meta);
    if (lstatSync(this.objectPath(csum), NO_THROW)) return null;
    collectEvery(size);
    const mode = this.creationMode(meta);
    return {
      expected: Buffer.from(csum, "hex"),
      path: this.stagedPath(csum, this.ext),
      source: this.target.mode === "archive" ? filez : null,
      ...this.regularMeta(meta, mode),
      writeback: this.target.writeback === true && size >= WRITEBACK_MIN,
    };
  }

  /** Renames a finished temporary file to its object name inside the staging dir. */
  publish(tmp: string, csum: string): void {
    this.publishAs(tmp, csum, this.ext);
  }

  /** publish() for any object type (the extension is the type's, e.g. "dirtree"). */
  publishAs(tmp: string, csum: string, ext: string): void {
    renameSync(tmp, this.stagedPath(csum, ext));
  }

  /**
   * Where a staged object lives: `CHECKSUM.EXT` directly in the staging dir. Unlike ostree's
   * staging/XX/ subdirectories this costs no mkdir and rmdir per prefix (about 0.1 ms each here,
   * a sizeable part of importing a small package); ostree, should it adopt a staging dir we left
   * behind, only looks into XX/ and so simply ignores these files.
   */
  stagedPath(csum: string, ext: string): string {
    return join(this.target.stagingDir, `${csum}.${ext}`);
  }

  tmpPath(): string {
    return join(this.target.stagingDir, `.tmp-${process.pid}-${THREAD_TAG}-${tmpSeq++}`);
  }

  prefix(meta: FileMeta): Buffer {
    if (meta.xattrs.length) return checksumPrefix(meta);
    const key = `${meta.uid}:${meta.gid}:${meta.mode}`;
    let p = this.prefixCache.get(key);
    if (!p) {
      p = checksumPrefix(meta);
      this.prefixCache.set(key, p);
    }
    return p;
  }

  chunkBuffer(): Buffer {
    if (this.buf.length < CHUNK) this.buf = Buffer.allocUnsafe(CHUNK);
    return this.buf;
  }

  private readWhole(fd: number, size: number, src: string): Buffer {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, this.buf.length * 2));
    const data = this.buf.subarray(0, size);
    let pos = 0;
    while (pos < size) {
      const n = readSync(fd, data, pos, size - pos, pos);
      if (n === 0) throw new ContentError(`${src} shrank while it was being committed`);
      pos += n;
    }
    return data;
  }

  /**
   * `--consume` fast path (bare and bare-user-only, same file system): hash, then rename the
   * source file itself into staging instead of copying it; its ownership and mode already match.
   */
  private adopt(fd: number, job: SourceJob): StoreResult {
    const h = createHash("sha256").update(this.prefix(job.meta));
    const buf = this.chunkBuffer();
    for (let pos = 0; pos < job.size; ) {
      const n = readChunk(fd, buf.subarray(0, Math.min(CHUNK, job.size - pos)), pos, job.src);
      h.update(buf.subarray(0, n));
      pos += n;
    }
    const csum = h.digest("hex");
    if (this.has(csum)) return { csum, written: false, bytes: 0 };
    if (this.target.mode === "bare-user-only") fchmodSync(fd, job.meta.mode & 0o7777);
    utimesSync(job.src, OBJECT_TIMESTAMP, OBJECT_TIMESTAMP);
    this.publish(job.src, csum);
    return { csum, written: true, bytes: job.size };
  }
}

const S_ISGID = 0o2000;
const WRITEBACK_MIN = 256 * 1024;
const CREATE_EXCL = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function readChunk(fd: number, buf: Buffer, pos: number, src: string): number {
  const n = readSync(fd, buf, 0, buf.length, pos);
  if (n === 0 && buf.length > 0) throw new ContentError(`${src} shrank while it was being committed`);
  return n;
}

/** Writes all of `data` at `pos` (-1 = current offset). */
export function writeAll(fd: number, data: Buffer, pos: number): void {
  let off = 0;
  while (off < data.length) {
    const n = writeSync(fd, data, off, data.length - off, pos < 0 ? null : pos + off);
    off += n;
  }
}

/** xattrs of a path (symlinks not followed) or open file, as ostree records them. */
export function readXattrsOf(target: string | number): Xattrs {
  const out: Xattrs = [];
  for (const name of listXattrs(target)) {
    const v = getXattr(target, name);
    if (v) out.push([name, v]);
  }
  return out;
}

function requireRegular(meta: FileMeta): void {
  if ((meta.mode & S_IFMT) !== S_IFREG)
    throw new ContentError(`content mode 0${meta.mode.toString(8)} is neither a regular file nor a symlink`);
}

function validateBareUserOnly(meta: FileMeta): void {
  const bad = meta.mode & 0o7777 & ~0o775;
  if (bad)
    throw new ContentError(
      `mode 0${(meta.mode & 0o7777).toString(8)} cannot be stored in a bare-user-only repo (bits 0${bad.toString(8)}); commit with --canonical-permissions`,
    );
}
