// What satisfies what: the resolver's questions about atoms and dependency terms against the
// universe and the current target state. Kept apart from the marking strategy in solver.ts.
import type { PkgVersion } from "./index.js";
import type { Atom, Dep } from "./model.js";
import type { Universe } from "./universe.js";

export class Matcher {
  constructor(
    private readonly u: Universe,
    /** Is exactly this version part of the current target state? */
    private readonly inState: (v: PkgVersion) => boolean,
    /** The version that would be installed for v's slot. */
    private readonly candidate: (v: PkgVersion) => PkgVersion | null,
  ) {}

  realMatches(atom: Atom, v: PkgVersion): boolean {
    const d = this.u.dialect;
    return (
      v.name === atom.name &&
      d.qualifierAccepts(atom, v, false) &&
      (!atom.op || d.versionMatches(v.evr, atom.op, atom.version ?? ""))
    );
  }

  /** Does this one version satisfy the atom (by its name, a Provides, or a file it owns)? */
  matches(atom: Atom, v: PkgVersion): boolean {
    if (this.realMatches(atom, v)) return true;
    const d = this.u.dialect;
    for (const p of v.provides)
      if (p.name === atom.name && d.provideMatches(p, atom) && d.qualifierAccepts(atom, v, true)) return true;
    if (atom.name.startsWith("/") && v.files) return v.files().includes(atom.name);
    return false;
  }

  atomSatisfied(atom: Atom): boolean {
    const d = this.u.dialect;
    for (const v of this.u.byName(atom.name)) if (this.inState(v) && this.realMatches(atom, v)) return true;
    for (const h of this.u.providers(atom.name))
      if (this.inState(h.pkg) && d.provideMatches(h.provide, atom) && d.qualifierAccepts(atom, h.pkg, true))
        return true;
    if (atom.name.startsWith("/"))
      for (const v of this.u.fileOwners(atom.name)) if (this.inState(v)) return true;
    return false;
  }

  satisfied(dep: Dep): boolean {
    switch (dep.kind) {
      case "atom":
        return this.atomSatisfied(dep.atom);
      case "or":
        return dep.terms.some((t) => this.satisfied(t));
      case "and":
      case "with":
        return dep.terms.every((t) => this.satisfied(t));
      case "without":
        return this.satisfied(dep.terms[0]) && !dep.terms.slice(1).some((t) => this.satisfied(t));
      case "if":
        return this.satisfied(dep.cond)
          ? this.satisfied(dep.then)
          : dep.else
            ? this.satisfied(dep.else)
            : true;
      case "unless":
        return this.satisfied(dep.cond)
          ? dep.else
            ? this.satisfied(dep.else)
            : true
          : this.satisfied(dep.then);
    }
  }

  /** Candidate versions that would satisfy the atom, in the order apt/dnf would try them. */
  targets(atom: Atom): PkgVersion[] {
    const d = this.u.dialect;
    const out: PkgVersion[] = [];
    const add = (c: PkgVersion | null, hit: PkgVersion) => {
      if (c && c.evr === hit.evr && c.arch === hit.arch && !out.includes(c)) out.push(c);
    };
    for (const v of this.u.byName(atom.name)) if (this.realMatches(atom, v)) add(this.candidate(v), v);
    for (const h of this.u.providers(atom.name))
      if (d.provideMatches(h.provide, atom) && d.qualifierAccepts(atom, h.pkg, true))
        add(this.candidate(h.pkg), h.pkg);
    if (atom.name.startsWith("/")) for (const v of this.u.fileOwners(atom.name)) add(this.candidate(v), v);
    return out.sort((a, b) => d.preferProvider(a, b, atom));
  }

  /** Versions in the target state that satisfy any atom of the term (for reachability). */
  inStateSatisfying(dep: Dep): PkgVersion[] {
    const out: PkgVersion[] = [];
    const visit = (t: Dep) => {
      if (t.kind !== "atom") {
        if ("terms" in t) t.terms.forEach(visit);
        else {
          visit(t.cond);
          visit(t.then);
          if (t.else) visit(t.else);
        }
        return;
      }
      const atom = t.atom;
      for (const v of this.u.byName(atom.name)) if (this.inState(v) && this.realMatches(atom, v)) out.push(v);
      for (const h of this.u.providers(atom.name))
        if (this.inState(h.pkg) && this.u.dialect.provideMatches(h.provide, atom)) out.push(h.pkg);
      if (atom.name.startsWith("/"))
        for (const v of this.u.fileOwners(atom.name)) if (this.inState(v)) out.push(v);
    };
    visit(dep);
    return out;
  }

  /**
   * Everything the roots need through Pre-Depends, Depends and Recommends, as state versions (the
   * roots last in the list are followed first). With `want`, the walk may stop once all of those
   * are reached: then only they are sure to be in the result.
   */
  reachable(
    roots: PkgVersion[],
    stateOf: (hit: PkgVersion) => PkgVersion | undefined,
    want?: ReadonlySet<PkgVersion>,
  ): Set<PkgVersion> {
    const reached = new Set<PkgVersion>(roots);
    let missing = want ? [...want].filter((p) => !reached.has(p)).length : -1;
    const queue = [...roots];
    while (queue.length && missing !== 0) {
      const r = (queue.pop() as PkgVersion).relations;
      for (const dep of [...(r["pre-depends"] ?? []), ...(r.depends ?? []), ...(r.recommends ?? [])])
        for (const hit of this.inStateSatisfying(dep)) {
          const q = stateOf(hit);
          if (q && !reached.has(q)) {
            reached.add(q);
            queue.push(q);
            if (want?.has(q)) missing--;
          }
        }
    }
    return reached;
  }

  /** Why no alternative of a group has any candidate at all (undefined when one has). */
  hopeless(dep: Dep): string | undefined {
    if (dep.kind === "or") {
      const whys = dep.terms.map((t) => this.hopeless(t));
      return whys.every((w) => w) ? whys[whys.length - 1] : undefined;
    }
    if (dep.kind !== "atom" || this.targets(dep.atom).length) return undefined;
    const known = new Set(this.u.byName(dep.atom.name).map((v) => this.candidate(v)?.evr));
    known.delete(undefined);
    return known.size ? `only ${[...known].join(", ")} is available` : "it is not available";
  }
}
