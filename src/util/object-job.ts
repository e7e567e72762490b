// The native helper's pool jobs for content objects (native/object_job.h): a payload produced on a
// thread of libuv's pool — a pulled `.filez` inflated (native/inflate_hash.c), a static delta's
// object assembled from pieces (native/assemble.c) — then hashed and, when it is the expected
// object, written. What the JavaScript side hands them and the codes they resolve to.
import { requireOps } from "./native.js";

/** inflateHash's failures: not a complete raw-deflate stream, more or fewer bytes than `out` holds; no memory. */
export const IH_BAD = -1;
export const IH_LONG = -2;
export const IH_SHORT = -3;
export const IH_NOMEM = -4;
/** assembleHash's: a copy beyond its source's end, a bsdiff patch that ends early, has a control
 * entry or an extra block out of range, pieces that do not fill `out`, a source that is not a file. */
export const AS_SOURCE_EOF = -5;
export const AS_PATCH_SHORT = -6;
export const AS_PATCH_CONTROL = -7;
export const AS_PATCH_EXTRA = -8;
export const AS_PIECES = -9;
export const AS_NOT_REGULAR = -10;
/** … and, with a write: the file existed (nothing written), the digest is not the expected one. */
export const IH_EXISTS = 1;
export const IH_MISMATCH = 2;
/** The syscalls of a write (and of reading a source), by the step in a failure's upper 16 bits. */
export const IH_STEPS = ["", "open", "write", "fchown", "fchmod", "fsetxattr", "futimens", "open", "read"];

/** Where a verified payload goes (see native/object_job.h); files are created exclusively. */
export interface InflateWrite {
  /** The digest the payload must have; anything else is not written. */
  expected: Buffer;
  path: string;
  /** Written instead of the payload (null: the payload). */
  source: Uint8Array | null;
  mode: number;
  /** fchown to this owner first (null: leave it). */
  owner: [number, number] | null;
  chmod: boolean;
  xattrs: [string, Buffer][];
  mtimeZero: boolean;
  writeback: boolean;
}

function encodeXattrs(xattrs: [string, Buffer][]): Buffer | null {
  if (!xattrs.length) return null;
  const parts: Buffer[] = [];
  for (const [name, value] of xattrs) {
    const n = Buffer.from(name);
    const head = Buffer.alloc(2 + n.length + 4);
    head.writeUInt16LE(n.length, 0);
    n.copy(head, 2);
    head.writeUInt32LE(value.length, 2 + n.length);
    parts.push(head, value);
  }
  return Buffer.concat(parts);
}

/**
 * Raw-deflate `compressed` into `out` (exactly its length, never beyond) and SHA-256(prefix || out)
 * into `digest`, on a thread of the pool, then (with `write`) the object stored if it is the
 * expected one. Resolves 0, IH_EXISTS, IH_MISMATCH, a negative IH_ code, or step << 16 | errno.
 * The buffers must not change until it settles.
 */
export function inflateHash(
  compressed: Buffer,
  out: Buffer,
  prefix: Buffer,
  digest: Buffer,
  w?: InflateWrite,
): Promise<number> {
  const { inflateHash: fn } = requireOps(["inflateHash"], "pulled-object verification");
  return w ? fn(compressed, out, prefix, digest, ...writeArgs(w)) : fn(compressed, out, prefix, digest);
}

/** One piece of an assembled payload, in order (see native/assemble.c). */
export type AssemblyPiece =
  /** blob[offset, offset + length) */
  | { kind: "blob"; offset: number; length: number }
  /** bytes [offset, offset + length) of read source `source` */
  | { kind: "source"; source: number; offset: number; length: number }
  /** the bsdiff patch blob[offset, offset + length) applied to read source `source`: the rest */
  | { kind: "patch"; source: number; offset: number; length: number };

/** An assembly that failed for what its pieces say (an AS_ code), not for the system. */
export class AssemblyError extends Error {
  override name = "AssemblyError";
  constructor(readonly code: number) {
    super(ASSEMBLY_FAILURES[code] ?? `assembly failed (${code})`);
  }
}
/** bsdiff's failures, by native/bspatch.h's BS_ code. */
export const BSPATCH_FAILURES: Record<number, string> = {
  1: "bsdiff patch failed: the patch ends early",
  2: "bsdiff patch failed: a control entry is out of range",
  3: "bsdiff patch failed: an extra block is out of range",
};
const ASSEMBLY_FAILURES: Record<number, string> = {
  [AS_SOURCE_EOF]: "Unexpected EOF reading the read source of a delta write",
  [AS_PATCH_SHORT]: BSPATCH_FAILURES[1]!,
  [AS_PATCH_CONTROL]: BSPATCH_FAILURES[2]!,
  [AS_PATCH_EXTRA]: BSPATCH_FAILURES[3]!,
  [AS_PIECES]: "its pieces do not make up its size",
  [AS_NOT_REGULAR]: "its read source is not a regular file",
};

/** At most this many read sources per assembled payload. */
export const ASSEMBLY_SOURCES = 8;
const PIECE_KINDS = { blob: 0, source: 1, patch: 2 } as const;

/**
 * Assembles a payload into `out` (exactly its length) from `pieces` of `blob` and of the read
 * `sources` (Buffers, or paths of regular files read on the pool), then SHA-256(prefix || out)
 * into `digest` and (with `w`) the object stored if it is the expected one, all on a thread of
 * the pool. Resolves 0, IH_EXISTS, IH_MISMATCH, IH_NOMEM, an AS_ code, or step << 16 | errno.
 * The buffers must not change until it settles.
 */
export function assembleHash(
  blob: Buffer,
  pieces: AssemblyPiece[],
  sources: (string | Buffer)[],
  out: Buffer,
  prefix: Buffer,
  digest: Buffer,
  w?: InflateWrite,
): Promise<number> {
  const { assembleHash: fn } = requireOps(["assembleHash"], "static delta application");
  const records = new Float64Array(pieces.length * 4);
  pieces.forEach((p, i) => {
    records.set([PIECE_KINDS[p.kind], p.kind === "blob" ? 0 : p.source, p.offset, p.length], i * 4);
  });
  const encoded = Buffer.from(records.buffer);
  return w
    ? fn(blob, encoded, sources, out, prefix, digest, ...writeArgs(w))
    : fn(blob, encoded, sources, out, prefix, digest);
}

/** A write's arguments as the native jobs take them. */
function writeArgs(w: InflateWrite): unknown[] {
  const flags = (w.owner ? 1 : 0) | (w.chmod ? 2 : 0) | (w.mtimeZero ? 4 : 0) | (w.writeback ? 8 : 0);
  const src = w.source && Buffer.from(w.source.buffer, w.source.byteOffset, w.source.byteLength);
  const [uid, gid] = w.owner ?? [-1, -1];
  return [w.expected, w.path, src, w.mode, uid, gid, flags, encodeXattrs(w.xattrs)];
}
