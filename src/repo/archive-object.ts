// Verifying an archive-mode content object (`.filez`: header, then the raw-deflate payload) that is
// held whole in memory, as a pull receives the small ones: the payload is inflated (never beyond
// what the header announces) and hashed with ostree's content checksum, which must be the object's
// name. Bytes in, verified metadata and payload out; where a verified payload is stored is the
// caller's business (content-store.ts), though the native helper's thread may do the writing.
import { createHash } from "node:crypto";
import { errnoError, errnoName } from "../util/errno.js";
import {
  IH_LONG,
  IH_MISMATCH,
  IH_NOMEM,
  IH_SHORT,
  IH_STEPS,
  type InflateWrite,
  inflateHash,
} from "../util/object-job.js";
import { checksumPrefix, type FileMeta, parseArchiveFile, S_IFLNK, S_IFMT, S_IFREG } from "./objects.js";
import { RepoError } from "./repo.js";

/** Bytes that are not the object they were named as (damaged on the way, or a lying server). */
export class CorruptObjectError extends RepoError {
  override name = "CorruptObjectError";
}

export interface VerifiedContent {
  meta: FileMeta;
  /** The inflated payload (empty for a symlink). */
  data: Buffer;
  csum: string;
}

/** A parsed `.filez` whose payload is still compressed; `data` is set when there is nothing to inflate. */
interface Parsed {
  what: string;
  meta: FileMeta;
  size: number;
  compressed: Buffer;
  prefix: Buffer;
  data?: Buffer;
}

/** The header of `.filez` bytes, checked; throws CorruptObjectError. */
function parse(bytes: Uint8Array, expected: string, prefix: (meta: FileMeta) => Buffer): Parsed {
  const what = `content object ${expected}`;
  let parsed: ReturnType<typeof parseArchiveFile>;
  try {
    parsed = parseArchiveFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new CorruptObjectError(`${what}: malformed file header (${(e as Error).message})`);
  }
  const { meta, size, compressed } = parsed;
  const type = meta.mode & S_IFMT;
  // Symlinks are hashed on their own (a prefix cache keyed by ownership and mode would mix them up).
  const p = { what, meta, size, compressed, prefix: type === S_IFLNK ? checksumPrefix(meta) : prefix(meta) };
  if (type === S_IFLNK) {
    if (compressed.length || size) throw new CorruptObjectError(`${what}: symlink object with a payload`);
    return { ...p, data: Buffer.alloc(0) };
  }
  if (type !== S_IFREG)
    throw new CorruptObjectError(`${what}: mode 0${meta.mode.toString(8)} is neither a file nor a symlink`);
  if (compressed.length === 0) {
    if (size) throw new CorruptObjectError(`${what} has 0 bytes, its header says ${size}`);
    return { ...p, data: Buffer.alloc(0) };
  }
  return p;
}

function verified(p: Parsed, data: Buffer, csum: string, expected: string): VerifiedContent {
  if (csum !== expected) throw new CorruptObjectError(`${p.what} has checksum ${csum}: corrupt`);
  return { meta: p.meta, data, csum };
}

const sha256 = (prefix: Buffer, data: Buffer) =>
  createHash("sha256").update(prefix).update(data).digest("hex");

/** verifyFilez's result: `written` says whether `plan`'s write was made (undefined: not asked). */
export type VerifiedWrite = VerifiedContent & { written?: boolean };

/**
 * Parses, inflates and checks `.filez` bytes against `expected`; rejects with CorruptObjectError
 * for anything wrong. The inflating and hashing run on a thread of the pool
 * (native/inflate_hash.c). `prefix` may supply the checksum prefix of `meta` (a cache of them).
 * `plan`, given the header's metadata and size, may return where the verified payload is to be
 * stored: the pool's thread writes it too (never for a symlink or an empty file). `bytes` must
 * not change until it settles.
 */
export async function verifyFilez(
  bytes: Uint8Array,
  expected: string,
  prefix: (meta: FileMeta) => Buffer = checksumPrefix,
  plan?: (meta: FileMeta, size: number) => InflateWrite | null,
): Promise<VerifiedWrite> {
  const p = parse(bytes, expected, prefix);
  if (p.data) return verified(p, p.data, sha256(p.prefix, p.data), expected);
  const data = Buffer.allocUnsafe(p.size);
  const digest = Buffer.allocUnsafe(32);
  const write = plan?.(p.meta, p.size) ?? undefined;
  const code = await inflateHash(p.compressed, data, p.prefix, digest, write);
  if (code === IH_LONG)
    throw new CorruptObjectError(`${p.what} has more bytes than its header says (${p.size})`);
  if (code === IH_SHORT)
    throw new CorruptObjectError(`${p.what} has fewer bytes than its header says (${p.size})`);
  if (code === IH_NOMEM) throw new RepoError(`${p.what}: out of memory while inflating it`);
  if (code < 0)
    throw new CorruptObjectError(`${p.what}: payload does not inflate (not a complete deflate stream)`);
  if (code > IH_MISMATCH) throw writeFailure(code, write?.path ?? expected);
  const v = verified(p, data, digest.toString("hex"), expected);
  return write ? { ...v, written: code === 0 } : v;
}

/** The error for a native write that failed at a syscall (inflateHash's step << 16 | errno). */
export function writeFailure(code: number, path: string): Error {
  return errnoError(errnoName(code & 0xffff), IH_STEPS[code >> 16] ?? "write", path);
}
