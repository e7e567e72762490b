// INTERIM: Debian relationship field parser, only until backends/deb/relations.ts
// (parseDebRelations) lands; then the resolver switches to it and this file is deleted.
import type { Atom, Dep, VersionOp } from "../../src/packages/model.js";

const OPS: Record<string, VersionOp> = { "<<": "<", "<=": "<=", "=": "=", ">=": ">=", ">>": ">", "<": "<=", ">": ">=" };

function parseAtom(text: string): Atom | undefined {
  let s = text.trim();
  if (!s) return undefined;
  // Build profiles and arch restrictions only matter to source packages.
  const close = s.indexOf(")");
  const tail = s.slice(close + 1).search(/[[<]/);
  if (tail >= 0) s = s.slice(0, close + 1 + tail).trim();
  const paren = s.indexOf("(");
  let namePart = paren >= 0 ? s.slice(0, paren).trim() : s;
  const atom: Atom = { name: namePart };
  const colon = namePart.indexOf(":");
  if (colon >= 0) {
    atom.archQualifier = namePart.slice(colon + 1);
    namePart = namePart.slice(0, colon);
    atom.name = namePart;
  }
  if (paren >= 0) {
    const inner = s.slice(paren + 1, s.indexOf(")", paren)).trim();
    const m = /^(<<|<=|=|>=|>>|<|>)\s*(\S+)$/.exec(inner);
    if (m) {
      atom.op = OPS[m[1]];
      atom.version = m[2];
    }
  }
  return atom;
}

export function parseDebRelations(text: string): Dep[] {
  const out: Dep[] = [];
  for (const group of text.split(",")) {
    const atoms: Dep[] = [];
    for (const alt of group.split("|")) {
      const atom = parseAtom(alt);
      if (atom) atoms.push({ kind: "atom", atom });
    }
    if (atoms.length === 1) out.push(atoms[0]);
    else if (atoms.length > 1) out.push({ kind: "or", terms: atoms });
  }
  return out;
}
