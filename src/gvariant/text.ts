// The GVariant text format, as `ostree commit --add-metadata=KEY=VALUE` takes it and as `ostree show`
// prints values: 'strings', numbers (int32 unless typed), true/false, [arrays], (tuples),
// {dicts}, <variants>, b'bytestrings', nothing/just, and `@TYPE value` or `uint64 5` annotations.
import { type GVValue, Variant } from "./codec.js";
import { type GVType, parseType, typeString } from "./types.js";

export class GVariantParseError extends Error {
  override name = "GVariantParseError";
}

const KEYWORD_TYPES: Record<string, string> = {
  boolean: "b",
  byte: "y",
  int16: "n",
  uint16: "q",
  int32: "i",
  uint32: "u",
  int64: "x",
  uint64: "t",
  double: "d",
  handle: "h",
  string: "s",
  objectpath: "o",
  signature: "g",
};

/** A parsed value whose type may still be open (empty arrays, untyped numbers). */
interface Node {
  type: GVType | null;
  build(t: GVType): GVValue;
  /** The default type when nothing constrains it. */
  natural(): GVType;
}

/** Parses GVariant text; `expected` fixes the type (e.g. "as"), otherwise it is inferred. */
export function parseText(text: string, expected?: string): Variant {
  const p = new Parser(text);
  const node = p.value();
  p.ws();
  if (p.i !== text.length) p.fail("unexpected trailing text");
  const t = expected ? parseType(expected) : (node.type ?? node.natural());
  return new Variant(t, node.build(t));
}

class Parser {
  i = 0;
  constructor(readonly s: string) {}
  fail(msg: string): never {
    throw new GVariantParseError(`${msg} at position ${this.i} of '${this.s}'`);
  }
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  eat(c: string): boolean {
    this.ws();
    if (this.s.startsWith(c, this.i)) {
      this.i += c.length;
      return true;
    }
    return false;
  }
  word(): string {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    return m ? m[0] : "";
  }
  value(): Node {
    this.ws();
    const c = this.s[this.i];
    if (c === "@") {
      this.i++;
      const m = /^[a-z(){}]+/.exec(this.s.slice(this.i));
      if (!m) this.fail("type expected after @");
      const t = typeFromPrefix(m[0]);
      this.i += typeString(t).length;
      return typed(t, this.value());
    }
    const w = this.word();
    if (w && KEYWORD_TYPES[w]) {
      this.i += w.length;
      return typed(parseType(KEYWORD_TYPES[w]!), this.value());
    }
    if (w === "true" || w === "false") {
      this.i += w.length;
      return fixed(parseType("b"), w === "true");
    }
    if (w === "nothing") {
      this.i += w.length;
      return { type: null, natural: () => parseType("mv"), build: () => null };
    }
    if (w === "just") {
      this.i += w.length;
      const inner = this.value();
      return {
        type: inner.type ? { kind: "maybe", elem: inner.type } : null,
        natural: () => ({ kind: "maybe", elem: inner.type ?? inner.natural() }),
        build: (t) => inner.build(t.kind === "maybe" ? t.elem : t),
      };
    }
    if (c === "'" || c === '"') return fixed(parseType("s"), this.str());
    if (c === "b" && (this.s[this.i + 1] === "'" || this.s[this.i + 1] === '"')) {
      this.i++;
      return fixed(parseType("ay"), Buffer.from(this.str(), "utf8"));
    }
    if (c === "<") {
      this.i++;
      const inner = this.value();
      if (!this.eat(">")) this.fail("'>' expected");
      const t = inner.type ?? inner.natural();
      return fixed({ kind: "variant" }, new Variant(t, inner.build(t)));
    }
    if (c === "[") return this.list();
    if (c === "(") return this.tuple();
    if (c === "{") return this.dict();
    const num = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|inf|nan)/.exec(this.s.slice(this.i));
    if (num) {
      this.i += num[0].length;
      return number(num[0]);
    }
    this.fail("value expected");
  }
  str(): string {
    const q = this.s[this.i++]!;
    let out = "";
    for (;;) {
      const ch = this.s[this.i++];
      if (ch === undefined) this.fail("unterminated string");
      if (ch === q) return out;
      if (ch === "\\") {
        const e = this.s[this.i++];
        const map: Record<string, string> = {
          n: "\n",
          t: "\t",
          r: "\r",
          b: "\b",
          f: "\f",
          v: "\v",
          "\\": "\\",
        };
        if (e === "u" || e === "U") {
          const len = e === "u" ? 4 : 8;
          out += String.fromCodePoint(Number.parseInt(this.s.slice(this.i, this.i + len), 16));
          this.i += len;
        } else out += map[e!] ?? e;
      } else out += ch;
    }
  }
  list(): Node {
    this.i++;
    const items: Node[] = [];
    if (!this.eat("]")) {
      do items.push(this.value());
      while (this.eat(","));
      if (!this.eat("]")) this.fail("']' expected");
    }
    const known = items.find((n) => n.type)?.type ?? null;
    return {
      type: known ? { kind: "array", elem: known } : null,
      natural: () => ({ kind: "array", elem: items[0] ? (known ?? items[0].natural()) : parseType("v") }),
      build: (t) => {
        if (t.kind !== "array") this.fail(`array given where ${typeString(t)} expected`);
        if (t.elem.kind === "basic" && t.elem.code === "y")
          return Buffer.from(items.map((n) => n.build(t.elem) as number));
        return items.map((n) => n.build(t.elem));
      },
    };
  }
  tuple(): Node {
    this.i++;
    const items: Node[] = [];
    if (!this.eat(")")) {
      do items.push(this.value());
      while (this.eat(","));
      if (!this.eat(")")) this.fail("')' expected");
    }
    const all = items.every((n) => n.type);
    return {
      type: all ? { kind: "tuple", members: items.map((n) => n.type!) } : null,
      natural: () => ({ kind: "tuple", members: items.map((n) => n.type ?? n.natural()) }),
      build: (t) => {
        if (t.kind !== "tuple" || t.members.length !== items.length) this.fail("tuple shape mismatch");
        return items.map((n, k) => n.build(t.members[k]!));
      },
    };
  }
  dict(): Node {
    this.i++;
    const entries: [Node, Node][] = [];
    if (!this.eat("}")) {
      do {
        const k = this.value();
        if (!this.eat(":")) this.fail("':' expected in dictionary");
        entries.push([k, this.value()]);
      } while (this.eat(","));
      if (!this.eat("}")) this.fail("'}' expected");
    }
    const kt = entries.find(([k]) => k.type)?.[0].type ?? null;
    const vt = entries.find(([, v]) => v.type)?.[1].type ?? null;
    const entryType = (key: GVType, value: GVType): GVType => ({
      kind: "array",
      elem: { kind: "dictEntry", key, value },
    });
    return {
      type: kt && vt ? entryType(kt, vt) : null,
      natural: () =>
        entryType(
          kt ?? entries[0]?.[0].natural() ?? parseType("s"),
          vt ?? entries[0]?.[1].natural() ?? parseType("v"),
        ),
      build: (t) => {
        if (t.kind !== "array" || t.elem.kind !== "dictEntry")
          this.fail("dictionary given where not expected");
        const e = t.elem;
        return entries.map(([k, v]) => [k.build(e.key), v.build(e.value)]);
      },
    };
  }
}

function typeFromPrefix(s: string): GVType {
  // Find the longest prefix that is one complete type.
  for (let n = s.length; n > 0; n--) {
    try {
      return parseType(s.slice(0, n));
    } catch {}
  }
  throw new GVariantParseError(`bad type annotation '@${s}'`);
}

function fixed(t: GVType, v: GVValue): Node {
  return { type: t, natural: () => t, build: () => v };
}

function typed(t: GVType, inner: Node): Node {
  return { type: t, natural: () => t, build: () => inner.build(t) };
}

function number(text: string): Node {
  const isFloat = /[.eE]|inf|nan/.test(text) && !/^[-+]?0x/.test(text);
  return {
    type: null,
    natural: () => parseType(isFloat ? "d" : "i"),
    build: (t) => {
      if (t.kind !== "basic") throw new GVariantParseError(`number given where ${typeString(t)} expected`);
      if (t.code === "x" || t.code === "t") return BigInt(text.replace(/^\+/, ""));
      if (t.code === "d") return Number(text);
      const n = Number(text);
      if (!Number.isInteger(n)) throw new GVariantParseError(`'${text}' is not an integer`);
      return n;
    },
  };
}

/** Prints a value in the text format; with `annotate`, non-default types carry a prefix like ostree's. */
export function printValue(t: GVType, v: GVValue, annotate = true): string {
  switch (t.kind) {
    case "basic":
      return printBasic(t.code, v, annotate);
    case "variant": {
      // GLib always annotates inside a variant: its content type is not implied by the context.
      const inner = v as Variant;
      return `<${printValue(inner.type, inner.value, true)}>`;
    }
    case "maybe":
      if (v === null) return annotate ? `@${typeString(t)} nothing` : "nothing";
      return `just ${printValue(t.elem, v, annotate)}`;
    case "array": {
      if (t.elem.kind === "basic" && t.elem.code === "y") {
        const b = v as Buffer;
        // Like g_variant_print: a NUL-terminated byte array without inner NULs is a b'bytestring'.
        if (b.length > 0 && b[b.length - 1] === 0 && b.indexOf(0) === b.length - 1)
          return bytestring(b.subarray(0, b.length - 1));
        const body = Array.from(b, (x) => `0x${x.toString(16).padStart(2, "0")}`).join(", ");
        return b.length === 0 ? (annotate ? "@ay []" : "[]") : `[${annotate ? "byte " : ""}${body}]`;
      }
      const items = v as GVValue[];
      if (items.length === 0)
        return annotate ? `@${typeString(t)} ${t.elem.kind === "dictEntry" ? "{}" : "[]"}` : "[]";
      if (t.elem.kind === "dictEntry") {
        const e = t.elem;
        return `{${items
          .map((kv) => {
            const [k, val] = kv as GVValue[];
            return `${printValue(e.key, k!, annotate)}: ${printValue(e.value, val!, annotate)}`;
          })
          .join(", ")}}`;
      }
      return `[${items.map((x, i) => printValue(t.elem, x, annotate && i === 0)).join(", ")}]`;
    }
    case "tuple":
      return `(${(v as GVValue[]).map((x, i) => printValue(t.members[i]!, x, annotate)).join(", ")}${t.members.length === 1 ? "," : ""})`;
    case "dictEntry": {
      const [k, val] = v as GVValue[];
      return `{${printValue(t.key, k!, annotate)}, ${printValue(t.value, val!, annotate)}}`;
    }
  }
}

function printBasic(code: string, v: GVValue, annotate: boolean): string {
  const prefix = (name: string) => (annotate ? `${name} ` : "");
  switch (code) {
    case "b":
      return v ? "true" : "false";
    case "s":
      return quote(v as string);
    case "o":
      return `${prefix("objectpath")}${quote(v as string)}`;
    case "g":
      return `${prefix("signature")}${quote(v as string)}`;
    case "i":
      return String(v);
    case "d": {
      const n = v as number;
      return Number.isInteger(n) ? n.toFixed(1) : String(n);
    }
    case "y":
      return `${prefix("byte")}0x${(v as number).toString(16).padStart(2, "0")}`;
    default: {
      const name = Object.entries(KEYWORD_TYPES).find(([, c]) => c === code)![0];
      return `${prefix(name)}${String(v)}`;
    }
  }
}

/** A bytestring as g_variant_print writes it: b'…' (b"…" when it holds a '), escaped by g_strescape. */
function bytestring(b: Buffer): string {
  const SHORT: Record<number, string> = {
    8: "b",
    12: "f",
    10: "n",
    13: "r",
    9: "t",
    11: "v",
    92: "\\",
    34: '"',
  };
  let out = "";
  for (const x of b) {
    if (SHORT[x]) out += `\\${SHORT[x]}`;
    else if (x < 0x20 || x >= 0x7f) out += `\\${x.toString(8).padStart(3, "0")}`;
    else out += String.fromCharCode(x);
  }
  return b.includes(0x27) ? `b"${out}"` : `b'${out}'`;
}

function quote(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    if (ch === q || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch < " ") out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + q;
}
