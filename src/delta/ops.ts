// The operation stream of a delta part: one opcode byte, then unsigned LEB128 ("varuint64", as
// protobuf) arguments. Pure functions over bytes.
import { DeltaFormatError } from "./superblock.js";

export const OP = {
  /** S: an object in one go. Metadata: (size, offset); content: (mode idx, xattr idx, size, offset). */
  openSpliceAndClose: 0x53,
  /** o: open a content object: (mode idx, xattr idx, size). */
  open: 0x6f,
  /** w: write (size, offset) from the read source if set, else from the blob. */
  write: 0x77,
  /** r: read source := the regular file object whose 32-byte checksum is at (offset) in the blob. */
  setReadSource: 0x72,
  /** R: no read source. */
  unsetReadSource: 0x52,
  /** c: close the open object (and unset the read source). */
  close: 0x63,
  /** B: bspatch the read source with the patch at (offset, size) in the blob. */
  bspatch: 0x42,
} as const;

export const OP_NAMES = [
  "openspliceclose",
  "open",
  "write",
  "setread",
  "unsetread",
  "close",
  "bspatch",
] as const;
const OP_INDEX = new Map<number, number>([
  [OP.openSpliceAndClose, 0],
  [OP.open, 1],
  [OP.write, 2],
  [OP.setReadSource, 3],
  [OP.unsetReadSource, 4],
  [OP.close, 5],
  [OP.bspatch, 6],
]);

/** Index of an opcode in OP_NAMES (ostree's show order), or -1 for an unknown one. */
export function opIndex(op: number): number {
  return OP_INDEX.get(op) ?? -1;
}

/** Appends n as a varuint64 (n < 2^53 here: sizes and offsets). */
export function writeVarint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** A cursor over an operation stream. */
export class OpReader {
  pos = 0;
  constructor(readonly ops: Buffer) {}

  get done(): boolean {
    return this.pos >= this.ops.length;
  }

  opcode(): number {
    return this.ops[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let count = 0; ; count++) {
      if (count === 10 || this.pos >= this.ops.length)
        throw new DeltaFormatError("Unexpected EOF reading varint in a delta part's operations");
      const b = this.ops[this.pos++]!;
      result += (b & 0x7f) * scale;
      scale *= 0x80;
      if (!(b & 0x80)) break;
    }
    if (!Number.isSafeInteger(result)) throw new DeltaFormatError("a delta operation argument is too large");
    return result;
  }
}

/** Builds an operation stream. */
export class OpWriter {
  readonly bytes: number[] = [];
  op(code: number, ...args: number[]): void {
    this.bytes.push(code);
    for (const a of args) writeVarint(this.bytes, a);
  }
  toBuffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}
