// Verifying an archive-mode content object (`.filez`: header, then the raw-deflate payload) that is
// held whole in memory, as a pull receives the small ones: the payload is inflated (never beyond
// what the header announces) and hashed with ostree's content checksum, which must be the object's
// name. Pure: bytes in, verified metadata and payload out; storing is the caller's business.
import { createHash } from "node:crypto";
import { inflateRawSync } from "node:zlib";
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

/**
 * Parses, inflates and checks `.filez` bytes against `expected`; throws CorruptObjectError for
 * anything wrong. `prefix` may supply the checksum prefix of `meta` (a cache of them).
 */
export function verifyFilez(
  bytes: Uint8Array,
  expected: string,
  prefix: (meta: FileMeta) => Buffer = checksumPrefix,
): VerifiedContent {
  const what = `content object ${expected}`;
  let parsed: ReturnType<typeof parseArchiveFile>;
  try {
    parsed = parseArchiveFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new CorruptObjectError(`${what}: malformed file header (${(e as Error).message})`);
  }
  const { meta, size, compressed } = parsed;
  const type = meta.mode & S_IFMT;
  let data: Buffer;
  if (type === S_IFLNK) {
    if (compressed.length || size) throw new CorruptObjectError(`${what}: symlink object with a payload`);
    data = Buffer.alloc(0);
  } else if (type !== S_IFREG) {
    throw new CorruptObjectError(`${what}: mode 0${meta.mode.toString(8)} is neither a file nor a symlink`);
  } else if (compressed.length === 0) {
    data = Buffer.alloc(0);
  } else {
    try {
      // One byte more than announced is enough to tell a lie; a bomb stops there.
      data = inflateRawSync(compressed, { maxOutputLength: size + 1 });
    } catch (e) {
      throw new CorruptObjectError(`${what}: payload does not inflate (${(e as Error).message})`);
    }
  }
  if (data.length !== size)
    throw new CorruptObjectError(`${what} has ${data.length} bytes, its header says ${size}`);
  // Symlinks are hashed on their own (a prefix cache keyed by ownership and mode would mix them up).
  const pre = type === S_IFLNK ? checksumPrefix(meta) : prefix(meta);
  const csum = createHash("sha256").update(pre).update(data).digest("hex");
  if (csum !== expected) throw new CorruptObjectError(`${what} has checksum ${csum}: corrupt`);
  return { meta, data, csum };
}
