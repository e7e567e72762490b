// GVariant type strings parsed into a small tree, with the size/alignment facts that the
// serialization rules need. Only the subset OSTree uses is supported, plus the other basic types.

export type GVType =
  | { kind: "basic"; code: BasicCode }
  | { kind: "array"; elem: GVType }
  | { kind: "maybe"; elem: GVType }
  | { kind: "tuple"; members: GVType[] }
  | { kind: "dictEntry"; key: GVType; value: GVType }
  | { kind: "variant" };

export type BasicCode = "y" | "b" | "n" | "q" | "i" | "u" | "x" | "t" | "d" | "h" | "s" | "o" | "g";

const FIXED: Record<string, number> = { y: 1, b: 1, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8 };

export class GVariantTypeError extends Error {
  override name = "GVariantTypeError";
}

interface Info {
  align: number;
  /** Fixed size in bytes, or 0 when the type is variable-size. */
  fixedSize: number;
  text: string;
}

const infoCache = new WeakMap<GVType, Info>();

export function parseType(text: string): GVType {
  const [t, end] = parseAt(text, 0);
  if (end !== text.length) throw new GVariantTypeError(`trailing characters in type string '${text}'`);
  return t;
}

function parseAt(s: string, i: number): [GVType, number] {
  const c = s[i];
  if (c === undefined) throw new GVariantTypeError(`truncated type string '${s}'`);
  if (c in FIXED || c === "s" || c === "o" || c === "g")
    return [{ kind: "basic", code: c as BasicCode }, i + 1];
  if (c === "v") return [{ kind: "variant" }, i + 1];
  if (c === "a") {
    const [elem, end] = parseAt(s, i + 1);
    return [{ kind: "array", elem }, end];
  }
  if (c === "m") {
    const [elem, end] = parseAt(s, i + 1);
    return [{ kind: "maybe", elem }, end];
  }
  if (c === "(") {
    const members: GVType[] = [];
    let j = i + 1;
    while (s[j] !== ")") {
      if (j >= s.length) throw new GVariantTypeError(`unterminated tuple in type string '${s}'`);
      const [m, end] = parseAt(s, j);
      members.push(m);
      j = end;
    }
    return [{ kind: "tuple", members }, j + 1];
  }
  if (c === "{") {
    const [key, k] = parseAt(s, i + 1);
    if (key.kind !== "basic") throw new GVariantTypeError(`dict entry key must be basic in '${s}'`);
    const [value, v] = parseAt(s, k);
    if (s[v] !== "}") throw new GVariantTypeError(`dict entry needs exactly two members in '${s}'`);
    return [{ kind: "dictEntry", key, value }, v + 1];
  }
  throw new GVariantTypeError(`unsupported type character '${c}' in '${s}'`);
}

export function typeInfo(t: GVType): Info {
  let info = infoCache.get(t);
  if (info) return info;
  info = computeInfo(t);
  infoCache.set(t, info);
  return info;
}

function computeInfo(t: GVType): Info {
  switch (t.kind) {
    case "basic": {
      const size = FIXED[t.code] ?? 0;
      return { align: size || 1, fixedSize: size, text: t.code };
    }
    case "variant":
      return { align: 8, fixedSize: 0, text: "v" };
    case "array": {
      const e = typeInfo(t.elem);
      return { align: e.align, fixedSize: 0, text: `a${e.text}` };
    }
    case "maybe": {
      const e = typeInfo(t.elem);
      return { align: e.align, fixedSize: 0, text: `m${e.text}` };
    }
    case "tuple":
    case "dictEntry": {
      const members = t.kind === "tuple" ? t.members : [t.key, t.value];
      let align = 1;
      let offset = 0;
      let fixed = true;
      for (const m of members) {
        const mi = typeInfo(m);
        align = Math.max(align, mi.align);
        if (fixed && mi.fixedSize) offset = alignUp(offset, mi.align) + mi.fixedSize;
        else fixed = false;
      }
      const text =
        t.kind === "tuple"
          ? `(${members.map((m) => typeInfo(m).text).join("")})`
          : `{${members.map((m) => typeInfo(m).text).join("")}}`;
      if (!fixed) return { align, fixedSize: 0, text };
      // A fixed-size container is padded to its own alignment; the empty tuple occupies one byte.
      return { align, fixedSize: members.length === 0 ? 1 : alignUp(offset, align), text };
    }
  }
}

export function alignUp(n: number, align: number): number {
  return (n + align - 1) & ~(align - 1);
}

export function typeString(t: GVType): string {
  return typeInfo(t).text;
}

/** Smallest framing-offset width for a container whose body and offsets total `size` bytes. */
export function offsetWidth(bodySize: number, nOffsets: number): number {
  if (bodySize === 0 && nOffsets === 0) return 0;
  for (const w of [1, 2, 4]) {
    if (bodySize + w * nOffsets <= 2 ** (8 * w) - 1) return w;
  }
  return 8;
}

/** Width of framing offsets used by a serialized container of `total` bytes (reader side). */
export function widthForTotal(total: number): number {
  if (total === 0) return 0;
  if (total <= 0xff) return 1;
  if (total <= 0xffff) return 2;
  if (total <= 0xffffffff) return 4;
  return 8;
}
