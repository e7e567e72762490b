// rpm dependencies: plain `name [op evr]` entries from the NAME/FLAGS/VERSION tag triples, and rich
// (boolean) dependencies such as `(a or (b and c))`, `(a if b else c)`, `(a unless b)`, `(a with b)`.
import type { Atom, Dep, VersionOp } from "../../src/packages/model.js";
import { SENSE } from "./tags.js";

export class RpmRelationError extends Error {
  override readonly name = "RpmRelationError";
}

/** The comparison an rpmsense flags value encodes, or undefined for "any version". */
export function opFromFlags(flags: number): VersionOp | undefined {
  const l = (flags & SENSE.LESS) !== 0;
  const g = (flags & SENSE.GREATER) !== 0;
  const e = (flags & SENSE.EQUAL) !== 0;
  if (l && e) return "<=";
  if (g && e) return ">=";
  if (l) return "<";
  if (g) return ">";
  if (e) return "=";
  return undefined;
}

const OPS: Record<string, VersionOp> = {
  "<": "<",
  "<=": "<=",
  "=<": "<=",
  "=": "=",
  "==": "=",
  ">=": ">=",
  "=>": ">=",
  ">": ">",
};

/** One header dependency entry; names starting with '(' are rich dependencies. */
export function rpmDep(name: string, flags: number, version: string): Dep {
  if (name.startsWith("(")) return parseRpmRich(name);
  const atom: Atom = { name };
  const op = opFromFlags(flags);
  if (op && version) {
    atom.op = op;
    atom.version = version;
  }
  return { kind: "atom", atom };
}

const OPWORDS = new Set(["and", "or", "if", "unless", "else", "with", "without"]);

/** Parses a rich dependency string (must start with '('). */
export function parseRpmRich(text: string): Dep {
  let pos = 0;
  const err = (why: string) =>
    new RpmRelationError(`rich dependency ${JSON.stringify(text)}: ${why} at ${pos}`);
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const word = (): string => {
    skip();
    const m = /^[a-z]+/.exec(text.slice(pos));
    return m ? m[0] : "";
  };
  const simple = (): Dep => {
    skip();
    const start = pos;
    let depth = 0;
    // Names may carry parentheses of their own, e.g. "libc.so.6()(64bit)".
    while (pos < text.length && !/\s/.test(text[pos])) {
      if (text[pos] === "(") depth++;
      else if (text[pos] === ")") {
        if (depth === 0) break;
        depth--;
      }
      pos++;
    }
    const name = text.slice(start, pos);
    if (!name) throw err("expected a dependency");
    const atom: Atom = { name };
    skip();
    const m = /^[<>=]+/.exec(text.slice(pos));
    if (m) {
      const op = OPS[m[0]];
      if (!op) throw err(`bad operator ${m[0]}`);
      pos += m[0].length;
      skip();
      const vs = pos;
      while (pos < text.length && !/[\s)]/.test(text[pos])) pos++;
      if (pos === vs) throw err("expected a version");
      atom.op = op;
      atom.version = text.slice(vs, pos);
    }
    return { kind: "atom", atom };
  };
  const term = (): Dep => {
    skip();
    return text[pos] === "(" ? group() : simple();
  };
  const group = (): Dep => {
    pos++; // '('
    const first = term();
    const terms = [first];
    let op = "";
    let elseTerm: Dep | undefined;
    for (;;) {
      skip();
      if (pos >= text.length) throw err("missing ')'");
      if (text[pos] === ")") {
        pos++;
        break;
      }
      const w = word();
      if (!OPWORDS.has(w))
        throw err(`expected an operator, got ${JSON.stringify(text.slice(pos, pos + 10))}`);
      pos += w.length;
      if (w === "else") {
        if ((op !== "if" && op !== "unless") || elseTerm || terms.length !== 2) throw err("misplaced else");
        elseTerm = term();
        continue;
      }
      if (op && op !== w) throw err(`cannot mix "${op}" and "${w}" without parentheses`);
      if ((w === "if" || w === "unless") && terms.length !== 1)
        throw err(`"${w}" takes exactly two operands`);
      op = w;
      terms.push(term());
    }
    if (!op) return first;
    switch (op) {
      case "and":
      case "or":
      case "with":
      case "without":
        return { kind: op, terms } as Dep;
      default: {
        const kind = op as "if" | "unless";
        // biome-ignore lint/suspicious/noThenProperty: the model's conditional term names its branch "then"
        const d = { kind, cond: terms[1], then: terms[0] };
        return elseTerm ? { ...d, else: elseTerm } : d;
      }
    }
  };
  skip();
  if (text[pos] !== "(") throw err("expected '('");
  const d = group();
  skip();
  if (pos !== text.length) throw err("trailing text");
  return d;
}

/** Renders a dependency as rpm prints it ("name >= 1.0", "(a or b)"). */
export function formatRpmDep(d: Dep): string {
  switch (d.kind) {
    case "atom": {
      const a = d.atom;
      return a.op && a.version !== undefined ? `${a.name} ${a.op} ${a.version}` : a.name;
    }
    case "and":
    case "or":
    case "with":
    case "without":
      return `(${d.terms.map((t) => formatRpmDep(t)).join(` ${d.kind} `)})`;
    case "if":
    case "unless": {
      const e = d.else ? ` else ${formatRpmDep(d.else)}` : "";
      return `(${formatRpmDep(d.then)} ${d.kind} ${formatRpmDep(d.cond)}${e})`;
    }
  }
}
