// Debian relationship fields (Depends, Pre-Depends, ..., Provides): a comma-separated AND of
// '|'-separated alternatives, each `name[:arch] [(op version)] [[archs]] [<profiles>]`.
import type { Atom, Dep, VersionOp } from "../../src/packages/model.js";

export class DebRelationError extends Error {
  override readonly name = "DebRelationError";
}

const OPS: Record<string, VersionOp> = {
  "<<": "<",
  "<=": "<=",
  "=": "=",
  ">=": ">=",
  ">>": ">",
  // Obsolete spellings that dpkg still accepts: a bare '<' or '>' means "or equal".
  "<": "<=",
  ">": ">=",
};

const ATOM =
  /^([a-zA-Z0-9][a-zA-Z0-9+.\-_]*)(?::([a-zA-Z0-9][a-zA-Z0-9-]*))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([0-9A-Za-z][^)\s]*)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/;

/** Parses one atom ("libc6:any (>= 2.36)"). */
export function parseDebAtom(text: string): Atom {
  const t = text.trim();
  const m = ATOM.exec(t);
  if (!m) throw new DebRelationError(`cannot parse relation "${t}"`);
  const atom: Atom = { name: m[1] };
  if (m[2]) atom.archQualifier = m[2];
  if (m[3]) {
    atom.op = OPS[m[3]];
    atom.version = m[4];
  }
  return atom;
}

/**
 * Parses a relationship field into a conjunction of terms: a plain atom, or an "or" of atoms for
 * `a | b`. Folded (multi-line) values are fine; empty items (a trailing comma) are ignored.
 */
export function parseDebRelations(text: string): Dep[] {
  const deps: Dep[] = [];
  for (const group of text.replace(/\s+/g, " ").split(",")) {
    if (group.trim() === "") continue;
    const alts = group.split("|").map((a) => parseDebAtom(a));
    deps.push(alts.length === 1 ? { kind: "atom", atom: alts[0] } : { kind: "or", terms: alts.map(atomDep) });
  }
  return deps;
}

function atomDep(atom: Atom): Dep {
  return { kind: "atom", atom };
}

const SPELL: Record<VersionOp, string> = { "<": "<<", "<=": "<=", "=": "=", ">=": ">=", ">": ">>" };

/** Renders an atom the way dpkg writes it ("libc6:any (>= 2.36)"). */
export function formatDebAtom(a: Atom): string {
  const name = a.archQualifier ? `${a.name}:${a.archQualifier}` : a.name;
  return a.op && a.version !== undefined ? `${name} (${SPELL[a.op]} ${a.version})` : name;
}

/** Renders one term of a relationship field ("a (>= 1) | b"). */
export function formatDebDep(d: Dep): string {
  if (d.kind === "atom") return formatDebAtom(d.atom);
  if (d.kind === "or") return d.terms.map(formatDebDep).join(" | ");
  throw new DebRelationError(`a Debian relationship cannot express "${d.kind}"`);
}
