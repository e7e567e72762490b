// g_variant_byteswap: every integer wider than a byte swapped, recursively, including inside
// variants. ostree prints some values through it (`show --raw`, `--print-metadata-key`) because
// it stores numbers big-endian; reproducing its output needs the same transformation.
import { type GVValue, Variant } from "./codec.js";
import type { GVType } from "./types.js";

const WIDTH: Record<string, number> = { n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8 };

function swapNumber(code: string, v: GVValue): GVValue {
  const w = WIDTH[code];
  if (!w) return v;
  const b = Buffer.alloc(8);
  switch (code) {
    case "n":
      b.writeInt16LE(v as number);
      return b.readInt16BE();
    case "q":
      b.writeUInt16LE(v as number);
      return b.readUInt16BE();
    case "i":
    case "h":
      b.writeInt32LE(v as number);
      return b.readInt32BE();
    case "u":
      b.writeUInt32LE(v as number);
      return b.readUInt32BE();
    case "x":
      b.writeBigInt64LE(v as bigint);
      return b.readBigInt64BE();
    case "t":
      b.writeBigUInt64LE(v as bigint);
      return b.readBigUInt64BE();
    default:
      b.writeDoubleLE(v as number);
      return b.readDoubleBE();
  }
}

export function byteswapValue(t: GVType, v: GVValue): GVValue {
  switch (t.kind) {
    case "basic":
      return swapNumber(t.code, v);
    case "variant": {
      const inner = v as Variant;
      return new Variant(inner.type, byteswapValue(inner.type, inner.value));
    }
    case "maybe":
      return v === null ? null : byteswapValue(t.elem, v);
    case "array":
      if (Buffer.isBuffer(v)) return v;
      return (v as GVValue[]).map((x) => byteswapValue(t.elem, x));
    case "tuple":
      return (v as GVValue[]).map((x, i) => byteswapValue(t.members[i]!, x));
    case "dictEntry": {
      const [k, val] = v as GVValue[];
      return [byteswapValue(t.key, k!), byteswapValue(t.value, val!)];
    }
  }
}
