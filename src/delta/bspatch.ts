// bsdiff patches as ostree's bundled bsdiff (Matthew Endsley's library form) writes them inside a
// delta part: no header and no bzip2, just entries of a control triple — three 8-byte
// sign-magnitude little-endian integers (diff length, extra length, seek in the old file) — then
// `diff length` bytes added bytewise to the old file, then `extra length` bytes copied as they are.
// The new file's size comes from the `o` operation, not from the patch.
import { applyBspatch } from "../util/native.js";
import { BSPATCH_FAILURES } from "../util/object-job.js";

export class BspatchError extends Error {
  override name = "BspatchError";
}

/** Reads an 8-byte sign-magnitude little-endian integer. */
export function offtin(b: Buffer, at: number): number {
  const hi = b[at + 7]!;
  const magnitude = (hi & 0x7f) * 2 ** 56 + b[at + 6]! * 2 ** 48 + b.readUIntLE(at, 6);
  if (!Number.isSafeInteger(magnitude)) throw new BspatchError("a bsdiff control value is out of range");
  return hi & 0x80 ? -magnitude : magnitude;
}

/** Writes an 8-byte sign-magnitude little-endian integer. */
export function offtout(n: number, b: Buffer, at: number): void {
  const m = Math.abs(n);
  b.writeUIntLE(m % 2 ** 48, at, 6);
  const high = Math.floor(m / 2 ** 48);
  b[at + 6] = high & 0xff;
  b[at + 7] = ((high >>> 8) & 0x7f) | (n < 0 ? 0x80 : 0);
}

/**
 * Applies `patch` to `old`, filling `out` exactly; the loop is native/bspatch.c. A diff block
 * adds old bytes only where the old file has them (elsewhere they count as zeros).
 */
export function bspatchInto(old: Buffer, patch: Buffer, out: Buffer): void {
  const code = applyBspatch(old, patch, out);
  if (code !== 0) throw new BspatchError(BSPATCH_FAILURES[code] ?? `bsdiff patch failed (${code})`);
}

/** Applies `patch` to `old`, producing exactly `newSize` bytes. */
export function bspatch(old: Buffer, newSize: number, patch: Buffer): Buffer {
  const out = Buffer.allocUnsafe(newSize);
  bspatchInto(old, patch, out);
  return out;
}
