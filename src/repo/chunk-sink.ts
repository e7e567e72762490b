// One content object's payload written as it arrives in pieces (big files, tar entries, streamed
// pull bodies): hashed and written in one pass to a temporary file in the staging dir, named only
// once complete (and, in a pull, verified). See content-store.ts for the object formats.
import { createHash, type Hash } from "node:crypto";
import { closeSync, ftruncateSync, openSync, unlinkSync } from "node:fs";
import { deflateRawSync, constants as zc } from "node:zlib";
import {
  ChecksumMismatchError,
  ContentError,
  type ContentStore,
  type StoreResult,
  writeAll,
} from "./content-store.js";
import { collectEvery } from "./gc-pacing.js";
import { archiveFileHeader, type FileMeta } from "./objects.js";

/** Streamed payloads are read and written in pieces of this size. */
export const CHUNK = 1 << 20;
/** ostree's deflate level for archive objects. */
export const ARCHIVE_LEVEL = 6;
const ZERO = Buffer.alloc(CHUNK);

/**
 * One object's payload, hashed and written as it arrives. Bare modes leave all-zero chunks as holes
 * (so sparse files stay sparse); archive mode deflates each chunk with a sync flush so the pieces
 * concatenate into one valid raw-deflate stream.
 */
export class ChunkSink {
  private hash: Hash;
  private tmp: string;
  private fd: number;
  private pos = 0;
  /** Archive mode with an unknown size: compressed pieces wait here for the header. */
  private pending: Buffer[] | null = null;

  constructor(
    private store: ContentStore,
    private meta: FileMeta,
    private size: number | undefined,
    prefix: Buffer,
  ) {
    this.hash = createHash("sha256").update(prefix);
    this.tmp = store.tmpPath();
    this.fd = openSync(this.tmp, "wx", 0o600);
    if (store.target.mode === "archive") {
      if (size === undefined) this.pending = [];
      else writeAll(this.fd, archiveFileHeader(meta, size), -1);
    }
  }

  write(chunk: Buffer): void {
    collectEvery(chunk.length);
    this.hash.update(chunk);
    if (this.store.target.mode === "archive") {
      const z = deflateRawSync(chunk, { level: ARCHIVE_LEVEL, finishFlush: zc.Z_SYNC_FLUSH });
      if (this.pending) this.pending.push(z);
      else writeAll(this.fd, z, -1);
    } else if (!isZero(chunk)) writeAll(this.fd, chunk, this.pos);
    this.pos += chunk.length;
  }

  /**
   * Completes the object. With `expected` (a pull), an object whose checksum differs is discarded
   * before it is ever named, so nothing unverified reaches the staging dir.
   */
  finish(expected?: string): StoreResult {
    try {
      if (this.size !== undefined && this.pos !== this.size)
        throw new ContentError(`payload has ${this.pos} bytes but ${this.size} were announced`);
      const archive = this.store.target.mode === "archive";
      // Every piece ended with a sync flush; a final empty block closes the stream.
      if (archive) {
        const end = deflateRawSync(Buffer.alloc(0), { level: ARCHIVE_LEVEL });
        if (this.pending) this.pending.push(end);
        else writeAll(this.fd, end, -1);
      }
      if (this.pending) {
        writeAll(this.fd, archiveFileHeader(this.meta, this.pos), -1);
        for (const p of this.pending) writeAll(this.fd, p, -1);
      } else if (!archive) ftruncateSync(this.fd, this.pos);
      const csum = this.hash.digest("hex");
      if (expected !== undefined && csum !== expected)
        throw new ChecksumMismatchError(`content object ${expected} has checksum ${csum}: corrupt`);
      if (this.store.has(csum)) {
        this.discard();
        return { csum, written: false, bytes: 0 };
      }
      this.store.applyRegularMeta(this.fd, this.meta);
      this.store.writeback(this.fd, this.pos);
      closeSync(this.fd);
      this.fd = -1;
      this.store.publish(this.tmp, csum);
      return { csum, written: true, bytes: this.pos };
    } catch (e) {
      this.discard();
      throw e;
    }
  }

  discard(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.tmp);
    } catch {
      // already renamed or removed
    }
  }
}

function isZero(b: Buffer): boolean {
  for (let off = 0; off < b.length; off += ZERO.length) {
    const part = b.subarray(off, off + ZERO.length);
    if (!part.equals(ZERO.subarray(0, part.length))) return false;
  }
  return true;
}
