// bsdiff patches as ostree's bundled bsdiff (Matthew Endsley's library form) writes them inside a
// delta part: no header and no bzip2, just entries of a control triple — three 8-byte
// sign-magnitude little-endian integers (diff length, extra length, seek in the old file) — then
// `diff length` bytes added bytewise to the old file, then `extra length` bytes copied as they are.
// The new file's size comes from the `o` operation, not from the patch.
import { bspatchAdd } from "../util/native.js";

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

/** Applies `patch` to `old`, producing exactly `newSize` bytes. */
export function bspatch(old: Buffer, newSize: number, patch: Buffer): Buffer {
  const out = Buffer.alloc(newSize);
  let p = 0;
  let oldpos = 0;
  let newpos = 0;
  const take = (n: number): number => {
    if (n > patch.length - p) throw new BspatchError("bsdiff patch failed: the patch ends early");
    const at = p;
    p += n;
    return at;
  };
  while (newpos < newSize) {
    const c = take(24);
    const diff = offtin(patch, c);
    const extra = offtin(patch, c + 8);
    const seek = offtin(patch, c + 16);
    if (diff < 0 || diff > 0x7fffffff || extra < 0 || extra > 0x7fffffff || newpos + diff > newSize)
      throw new BspatchError("bsdiff patch failed: a control entry is out of range");
    const d = take(diff);
    patch.copy(out, newpos, d, d + diff);
    addOld(out, newpos, old, oldpos, diff);
    newpos += diff;
    oldpos += diff;
    if (newpos + extra > newSize)
      throw new BspatchError("bsdiff patch failed: an extra block is out of range");
    const e = take(extra);
    patch.copy(out, newpos, e, e + extra);
    newpos += extra;
    oldpos += seek;
  }
  return out;
}

/** out[at + i] += old[from + i] for the i < n where old has a byte (elsewhere it counts as zeros). */
function addOld(out: Buffer, at: number, old: Buffer, from: number, n: number): void {
  const start = Math.max(0, -from);
  const end = Math.min(n, old.length - from);
  if (end > start) bspatchAdd(out, at + start, old, from + start, end - start);
}
