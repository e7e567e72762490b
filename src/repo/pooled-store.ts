// Content objects whose payload is produced, hashed and written on a thread of the pool by the
// native helper (native/object_job.h), several at once while the JavaScript thread goes on: a
// pulled `.filez` inflated, a delta's object assembled from pieces.
// Each is stored as ContentStore.storeBuffer would store it (ContentStore.poolWrite says where and
// how), and only when it is the object it is expected to be.
import {
  AssemblyError,
  type AssemblyPiece,
  assembleHash,
  IH_MISMATCH,
  IH_NOMEM,
} from "../util/object-job.js";
import { verifyFilez, writeFailure } from "./archive-object.js";
import type { ContentStore, StoreResult } from "./content-store.js";
import { type FileMeta, S_IFLNK, S_IFMT, S_IFREG } from "./objects.js";
import { RepoError } from "./repo.js";

/** A payload made of pieces of `blob` and of read `sources` (Buffers, or paths of regular files). */
export interface Assembly {
  blob: Buffer;
  pieces: AssemblyPiece[];
  sources: (string | Buffer)[];
}

/**
 * Stores an archive-mode object (a pulled `.filez`) held whole in memory, once it is verified to
 * be `expected` (else CorruptObjectError, and nothing is written). An archive repo keeps the
 * bytes as they came, as ostree does. The inflating, hashing and writing run on the pool
 * (verifyFilez); `filez` must not change until it settles.
 */
export async function storeFilez(
  store: ContentStore,
  filez: Uint8Array,
  expected: string,
): Promise<StoreResult> {
  const v = await verifyFilez(
    filez,
    expected,
    (m) => store.prefix(m),
    (meta, size) => store.poolWrite(meta, size, expected, filez),
  );
  if (v.written !== undefined)
    return { csum: v.csum, written: v.written, bytes: v.written ? v.data.length : 0 };
  if ((v.meta.mode & S_IFMT) === S_IFLNK) return store.storeSymlink(v.meta);
  return store.storeBuffer(v.meta, v.data, v.csum, filez);
}

/**
 * Stores a regular file whose payload is assembled from pieces (a delta part's blob, read sources,
 * bsdiff patches: see util/object-job.ts) only if it hashes to `expected`; resolves the checksum it
 * has, having written nothing when that is not `expected`. Assembling, hashing and (in the bare
 * modes) writing run on the pool; rejects with AssemblyError when the pieces are wrong. `blob` and
 * Buffer sources must not change until it settles.
 */
export async function storeAssembled(
  store: ContentStore,
  meta: FileMeta,
  size: number,
  assembly: Assembly,
  expected: string,
): Promise<StoreResult> {
  if ((meta.mode & S_IFMT) !== S_IFREG)
    throw new RepoError(`object ${expected}: only a regular file is assembled from pieces`);
  const out = Buffer.allocUnsafe(size);
  const archive = store.target.mode === "archive";
  const write = archive ? null : store.poolWrite(meta, size, expected, null);
  const digest = Buffer.allocUnsafe(32);
  const { blob, pieces, sources } = assembly;
  const code = await assembleHash(blob, pieces, sources, out, store.prefix(meta), digest, write ?? undefined);
  if (code === IH_NOMEM) throw new RepoError(`object ${expected}: out of memory while assembling it`);
  if (code < 0) throw new AssemblyError(code);
  // Steps from 7 on are a read source's (native/assemble.c).
  if (code > IH_MISMATCH)
    throw writeFailure(
      code,
      code >> 16 >= 7 ? `a read source of object ${expected}` : (write?.path ?? expected),
    );
  const csum = digest.toString("hex");
  // An archive repo compresses what the pool verified.
  if (archive && csum === expected) return store.storeBuffer(meta, out, csum);
  const written = code === 0 && write !== null;
  return { csum, written, bytes: written ? size : 0 };
}
