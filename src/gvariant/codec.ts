// Serialization to and from GVariant normal form. Values map to JS as follows:
//   y n q i u h -> number; x t -> bigint; d -> number; b -> boolean; s o g -> string
//   ay -> Buffer (fast path); other arrays -> Array; tuples -> Array; dict entry -> [key, value]
//   maybe -> null | value; v -> Variant { type, value }
// Integers are serialized little-endian as GVariant says; callers byte-swap fields that OSTree
// stores big-endian (see src/repo/objects.ts).
import {
  alignUp,
  type GVType,
  offsetWidth,
  parseType,
  typeInfo,
  typeString,
  widthForTotal,
} from "./types.js";

export type GVValue = number | bigint | boolean | string | Buffer | null | Variant | GVValue[];

export class Variant {
  constructor(
    readonly type: GVType,
    readonly value: GVValue,
  ) {}
  static of(type: string, value: GVValue): Variant {
    return new Variant(parseType(type), value);
  }
  get typeString(): string {
    return typeString(this.type);
  }
}

export class GVariantError extends Error {
  override name = "GVariantError";
}

/** A growable byte buffer used while serializing. */
class Writer {
  buf = Buffer.allocUnsafe(256);
  len = 0;
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  pad(align: number, base: number): void {
    const target = base + alignUp(this.len - base, align);
    this.ensure(target - this.len);
    this.buf.fill(0, this.len, target);
    this.len = target;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  uint(n: number | bigint, width: number): void {
    this.ensure(width);
    switch (width) {
      case 1:
        this.buf.writeUInt8(Number(n), this.len);
        break;
      case 2:
        this.buf.writeUInt16LE(Number(n), this.len);
        break;
      case 4:
        this.buf.writeUInt32LE(Number(n), this.len);
        break;
      case 8:
        this.buf.writeBigUInt64LE(BigInt(n), this.len);
        break;
    }
    this.len += width;
  }
}

export function serialize(type: GVType | string, value: GVValue): Buffer {
  const t = typeof type === "string" ? parseType(type) : type;
  const w = new Writer();
  write(w, t, value);
  return Buffer.from(w.buf.subarray(0, w.len));
}

function write(w: Writer, t: GVType, v: GVValue): void {
  const start = w.len;
  switch (t.kind) {
    case "basic":
      writeBasic(w, t.code, v);
      return;
    case "variant": {
      if (!(v instanceof Variant)) throw new GVariantError("expected a Variant for type v");
      write(w, v.type, v.value);
      w.bytes(Buffer.from([0]));
      w.bytes(Buffer.from(v.typeString, "ascii"));
      return;
    }
    case "maybe": {
      if (v === null || v === undefined) return;
      write(w, t.elem, v);
      if (!typeInfo(t.elem).fixedSize) w.bytes(Buffer.from([0]));
      return;
    }
    case "array": {
      const ei = typeInfo(t.elem);
      if (t.elem.kind === "basic" && t.elem.code === "y") {
        if (!Buffer.isBuffer(v)) throw new GVariantError("expected a Buffer for type ay");
        w.bytes(v);
        return;
      }
      if (!Array.isArray(v)) throw new GVariantError(`expected an array for type ${typeString(t)}`);
      if (ei.fixedSize) {
        for (const e of v) write(w, t.elem, e);
        return;
      }
      const ends: number[] = [];
      for (const e of v) {
        w.pad(ei.align, start);
        write(w, t.elem, e);
        ends.push(w.len - start);
      }
      writeOffsets(w, start, ends);
      return;
    }
    case "tuple":
    case "dictEntry": {
      const members = t.kind === "tuple" ? t.members : [t.key, t.value];
      if (!Array.isArray(v) || v.length !== members.length)
        throw new GVariantError(`expected ${members.length} members for ${typeString(t)}`);
      const ends: number[] = [];
      members.forEach((m, i) => {
        const mi = typeInfo(m);
        w.pad(mi.align, start);
        write(w, m, v[i]);
        if (!mi.fixedSize && i !== members.length - 1) ends.push(w.len - start);
      });
      const info = typeInfo(t);
      if (info.fixedSize) {
        if (members.length === 0) w.bytes(Buffer.from([0]));
        else w.pad(info.align, start);
        return;
      }
      writeOffsets(w, start, ends.reverse());
      return;
    }
  }
}

function writeOffsets(w: Writer, start: number, ends: number[]): void {
  const width = offsetWidth(w.len - start, ends.length);
  for (const e of ends) w.uint(e, width);
}

function writeBasic(w: Writer, code: string, v: GVValue): void {
  switch (code) {
    case "b":
      w.uint(v ? 1 : 0, 1);
      return;
    case "y":
      w.uint(v as number, 1);
      return;
    case "n":
      w.ensure(2);
      w.buf.writeInt16LE(v as number, w.len);
      w.len += 2;
      return;
    case "q":
      w.uint(v as number, 2);
      return;
    case "i":
    case "h":
      w.ensure(4);
      w.buf.writeInt32LE(v as number, w.len);
      w.len += 4;
      return;
    case "u":
      w.uint(v as number, 4);
      return;
    case "x":
      w.ensure(8);
      w.buf.writeBigInt64LE(BigInt(v as bigint), w.len);
      w.len += 8;
      return;
    case "t":
      w.uint(v as bigint, 8);
      return;
    case "d":
      w.ensure(8);
      w.buf.writeDoubleLE(v as number, w.len);
      w.len += 8;
      return;
    default: {
      if (typeof v !== "string") throw new GVariantError(`expected a string for type ${code}`);
      if (v.includes("\0")) throw new GVariantError("strings may not contain NUL");
      // Encode straight into the buffer: dirtrees hold thousands of names.
      w.ensure(v.length * 3 + 1);
      w.len += w.buf.write(v, w.len, "utf8");
      w.buf[w.len++] = 0;
    }
  }
}

/** Parses normal-form bytes; anything that is not normal form is rejected. */
export function deserialize(type: GVType | string, data: Buffer): GVValue {
  const t = typeof type === "string" ? parseType(type) : type;
  return read(t, data);
}

function fail(msg: string): never {
  throw new GVariantError(`not in GVariant normal form: ${msg}`);
}

function readOffset(data: Buffer, pos: number, width: number): number {
  switch (width) {
    case 1:
      return data[pos]!;
    case 2:
      return data.readUInt16LE(pos);
    case 4:
      return data.readUInt32LE(pos);
    default: {
      const n = data.readBigUInt64LE(pos);
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail("framing offset too large");
      return Number(n);
    }
  }
}

function checkZero(data: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) if (data[i] !== 0) fail("non-zero padding");
}

function read(t: GVType, data: Buffer): GVValue {
  const info = typeInfo(t);
  if (info.fixedSize && data.length !== info.fixedSize)
    fail(`${info.text} needs ${info.fixedSize} bytes, got ${data.length}`);
  switch (t.kind) {
    case "basic":
      return readBasic(t.code, data);
    case "variant": {
      const sep = data.lastIndexOf(0);
      if (sep < 0) fail("variant without type separator");
      const tt = parseType(data.subarray(sep + 1).toString("ascii"));
      return new Variant(tt, read(tt, data.subarray(0, sep)));
    }
    case "maybe": {
      if (data.length === 0) return null;
      const ei = typeInfo(t.elem);
      if (ei.fixedSize) return read(t.elem, data);
      if (data[data.length - 1] !== 0) fail("maybe without trailing NUL");
      return read(t.elem, data.subarray(0, data.length - 1));
    }
    case "array":
      return readArray(t.elem, data);
    case "tuple":
    case "dictEntry":
      return readTuple(t.kind === "tuple" ? t.members : [t.key, t.value], data);
  }
}

function readArray(elem: GVType, data: Buffer): GVValue {
  const ei = typeInfo(elem);
  if (elem.kind === "basic" && elem.code === "y") return Buffer.from(data);
  if (ei.fixedSize) {
    if (data.length % ei.fixedSize) fail("array size not a multiple of its element size");
    const out: GVValue[] = [];
    for (let p = 0; p < data.length; p += ei.fixedSize)
      out.push(read(elem, data.subarray(p, p + ei.fixedSize)));
    return out;
  }
  if (data.length === 0) return [];
  const width = widthForTotal(data.length);
  const lastEnd = readOffset(data, data.length - width, width);
  if (lastEnd > data.length) fail("array offset out of range");
  const offBytes = data.length - lastEnd;
  if (offBytes % width || offBytes === 0) fail("array framing offsets misaligned");
  const n = offBytes / width;
  const out: GVValue[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const end = readOffset(data, lastEnd + i * width, width);
    const s = alignUp(pos, ei.align);
    if (s > end || end > lastEnd) fail("array element offsets out of order");
    checkZero(data, pos, s);
    out.push(read(elem, data.subarray(s, end)));
    pos = end;
  }
  return out;
}

function readTuple(members: GVType[], data: Buffer): GVValue[] {
  const info = members.length ? null : typeInfo({ kind: "tuple", members });
  if (info) {
    if (data.length !== 1 || data[0] !== 0) fail("empty tuple must be one zero byte");
    return [];
  }
  const width = widthForTotal(data.length);
  let offEnd = data.length; // offsets are read from the end, one per non-last variable member
  const out: GVValue[] = [];
  let pos = 0;
  members.forEach((m, i) => {
    const mi = typeInfo(m);
    const s = alignUp(pos, mi.align);
    checkZero(data, pos, Math.min(s, data.length));
    let end: number;
    if (mi.fixedSize) end = s + mi.fixedSize;
    else if (i === members.length - 1) end = offEnd;
    else {
      offEnd -= width;
      if (offEnd < 0) fail("tuple framing offsets missing");
      end = readOffset(data, offEnd, width);
    }
    if (s > end || end > offEnd) fail("tuple member out of range");
    out.push(read(m, data.subarray(s, end)));
    pos = end;
  });
  const tinfo = typeInfo({ kind: "tuple", members });
  if (tinfo.fixedSize) {
    checkZero(data, pos, data.length);
  } else if (pos !== offEnd) fail("tuple has trailing bytes");
  return out;
}

function readBasic(code: string, data: Buffer): GVValue {
  switch (code) {
    case "b":
      if (data[0]! > 1) fail("boolean must be 0 or 1");
      return data[0] === 1;
    case "y":
      return data[0]!;
    case "n":
      return data.readInt16LE(0);
    case "q":
      return data.readUInt16LE(0);
    case "i":
    case "h":
      return data.readInt32LE(0);
    case "u":
      return data.readUInt32LE(0);
    case "x":
      return data.readBigInt64LE(0);
    case "t":
      return data.readBigUInt64LE(0);
    case "d":
      return data.readDoubleLE(0);
    default: {
      if (data.length === 0 || data[data.length - 1] !== 0) fail("string without NUL terminator");
      const body = data.subarray(0, data.length - 1);
      if (body.includes(0)) fail("string with embedded NUL");
      const s = body.toString("utf8");
      if (Buffer.byteLength(s) !== body.length) fail("string is not valid UTF-8");
      return s;
    }
  }
}

/** True when `data` is the normal form of a value of `type` (parse, re-serialize, compare). */
export function isNormalForm(type: GVType | string, data: Buffer): boolean {
  try {
    const t = typeof type === "string" ? parseType(type) : type;
    return serialize(t, read(t, data)).equals(data);
  } catch {
    return false;
  }
}
