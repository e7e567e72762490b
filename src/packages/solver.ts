// The dependency resolver: apt's and dnf's own strategy (mark the candidate, then satisfy each
// dependency group with its first installable alternative), made exhaustive by backtracking: an
// alternative whose own dependencies cannot be met is undone and the next one tried. Policy: keep
// what is installed, take each package's candidate, follow Recommends unless told not to.
import type { PkgVersion } from "./index.js";
import type { Atom, Dep } from "./model.js";
import { Matcher } from "./solver-match.js";
import {
  buildTransaction,
  type InstallRequest,
  type SolveOptions,
  type Transaction,
  UnsolvableError,
} from "./solver-types.js";
import type { Universe } from "./universe.js";

interface Failure {
  chain: string[];
}

interface Group {
  dep: Dep;
  critical: boolean;
}

type State = Map<string, PkgVersion | null>;

const MAX_DEPTH = 400;

export class Solver {
  private state: State = new Map();
  private processed = new Set<PkgVersion>();
  private readonly userSlots = new Set<string>();
  private readonly original = new Map<string, PkgVersion>();
  private readonly overrides = new Map<string, PkgVersion>();
  /** Each version's Conflicts and Breaks atoms (settleConflicts reads every installed one per new package). */
  private readonly negativeAtoms = new Map<PkgVersion, Atom[]>();
  private readonly m: Matcher;
  /** Choices known to fail in the dependency group being redone (see deps()). */
  private banned = new Set<PkgVersion>();

  constructor(
    private readonly u: Universe,
    private readonly opts: SolveOptions,
  ) {
    this.m = new Matcher(
      u,
      (v) => this.inState(v),
      (v) => this.candidate(v),
    );
    for (const v of u.installed.all?.() ?? []) {
      const slot = u.dialect.slot(v);
      this.state.set(slot, v);
      this.original.set(slot, v);
    }
  }

  solve(requests: InstallRequest[]): Transaction {
    const top: PkgVersion[] = [];
    const unchanged: PkgVersion[] = [];
    for (const r of requests) {
      const t = this.pickRequested(r);
      const slot = this.u.dialect.slot(t);
      this.userSlots.add(slot);
      if (this.inState(t) && this.original.get(slot) === this.state.get(slot)) {
        unchanged.push(t);
        continue;
      }
      const f = this.shallow(t, 0);
      if (f) throw new UnsolvableError(f.chain);
      top.push(t);
    }
    for (const t of top) {
      const f = this.deps(this.state.get(this.u.dialect.slot(t)) ?? t, 0);
      if (f) throw new UnsolvableError(f.chain);
    }
    this.repairInstalled();
    this.sweepOrphans();
    return buildTransaction(this.state, this.original, unchanged);
  }

  private pickRequested(r: InstallRequest): PkgVersion {
    const d = this.u.dialect;
    const real = this.u
      .byName(r.name)
      .filter((v) => !r.arch || v.arch === r.arch || v.arch === "all" || v.arch === "noarch");
    if (r.version) {
      const exact = real.find((v) => v.evr === r.version || `${v.version}-${v.release}` === r.version);
      if (!exact) {
        const have = [...new Set(real.map((v) => v.evr))].join(", ") || "none";
        throw new UnsolvableError([
          `version '${r.version}' of '${r.name}' was not found (available: ${have})`,
        ]);
      }
      this.overrides.set(d.slot(exact), exact);
      return exact;
    }
    const cands = [...new Set(real.map((v) => this.candidate(v)).filter((c): c is PkgVersion => !!c))];
    if (cands.length) return cands.sort((a, b) => d.preferProvider(a, b, { name: r.name }))[0];
    const provs = [...new Set(this.u.providers(r.name).map((h) => this.candidate(h.pkg)))].filter(
      (c): c is PkgVersion => !!c,
    );
    const names = [...new Set(provs.map((p) => p.name))];
    if (names.length === 1) return provs[0];
    if (names.length > 1)
      throw new UnsolvableError([
        `package ${r.name} is a virtual package provided by: ${names.sort().join(", ")}; select one to install`,
      ]);
    throw new UnsolvableError([`unable to locate package ${r.name} in the configured repositories`]);
  }

  private candidate(v: PkgVersion): PkgVersion | null {
    return this.overrides.get(this.u.dialect.slot(v)) ?? this.u.candidate(v);
  }

  private inState(v: PkgVersion): boolean {
    const s = this.state.get(this.u.dialect.slot(v));
    return !!s && s.evr === v.evr && s.arch === v.arch;
  }

  private snapshot(): [State, Set<PkgVersion>] {
    return [new Map(this.state), new Set(this.processed)];
  }

  private restore(s: [State, Set<PkgVersion>]): void {
    this.state = s[0];
    this.processed = s[1];
  }

  // ---- marking --------------------------------------------------------------------------------

  private groups(v: PkgVersion): Group[] {
    const r = v.relations;
    const out: Group[] = [];
    for (const dep of r["pre-depends"] ?? []) out.push({ dep, critical: true });
    for (const dep of r.depends ?? []) out.push({ dep, critical: true });
    if (this.opts.recommends) {
      // For an upgrade, only Recommends the installed version did not already have (apt's rule).
      const old = this.original.get(this.u.dialect.slot(v));
      const had = new Set((old?.relations.recommends ?? []).map((x) => this.u.dialect.formatDep(x)));
      for (const dep of r.recommends ?? [])
        if (!had.has(this.u.dialect.formatDep(dep))) out.push({ dep, critical: false });
    }
    return out;
  }

  private label(v: PkgVersion): string {
    return v.name;
  }

  /** Marks v for installation without descending into its dependencies; settles its conflicts. */
  private shallow(v: PkgVersion, depth: number): Failure | undefined {
    if (this.inState(v)) return undefined;
    if (depth > MAX_DEPTH) return { chain: [`dependency chain through ${v.name} is too deep`] };
    const d = this.u.dialect;
    const slot = d.slot(v);
    const prev = this.state.get(slot);
    if (prev && this.userSlots.has(slot) && prev !== this.original.get(slot))
      return { chain: [`${v.name} ${v.evr} is needed but ${prev.evr} was requested`] };
    const snap = this.snapshot();
    this.state.set(slot, v);
    // apt's fail-fast: a critical group no alternative of which has any candidate cannot be met.
    for (const g of this.groups(v)) {
      if (!g.critical || this.m.satisfied(g.dep)) continue;
      const why = this.m.hopeless(g.dep);
      if (why) {
        this.restore(snap);
        return { chain: [`${this.label(v)} depends on ${d.formatDep(g.dep)} but ${why}`] };
      }
    }
    const f = this.settleConflicts(v, depth);
    if (f) {
      this.restore(snap);
      return f;
    }
    return undefined;
  }

  private negatives(v: PkgVersion): Atom[] {
    let out = this.negativeAtoms.get(v);
    if (out) return out;
    out = [];
    for (const kind of ["conflicts", "breaks"] as const)
      for (const dep of v.relations[kind] ?? []) if (dep.kind === "atom") out.push(dep.atom);
    this.negativeAtoms.set(v, out);
    return out;
  }

  private settleConflicts(v: PkgVersion, depth: number): Failure | undefined {
    const d = this.u.dialect;
    const slot = d.slot(v);
    const clashes: [PkgVersion, string][] = [];
    for (const atom of this.negatives(v))
      for (const [s, p] of this.state)
        if (p && s !== slot && this.m.matches(atom, p)) clashes.push([p, "conflicts with"]);
    for (const [s, p] of this.state) {
      if (!p || s === slot) continue;
      for (const atom of this.negatives(p))
        if (this.m.matches(atom, v)) clashes.push([p, "is in conflict with"]);
      if (d.implicitClash?.(v, p)) clashes.push([p, "cannot be installed next to"]);
    }
    // rpm: Obsoletes name packages (not what they provide) that the new one replaces.
    for (const dep of v.relations.obsoletes ?? [])
      if (dep.kind === "atom")
        for (const [s, p] of this.state)
          if (p && s !== slot && this.m.realMatches(dep.atom, p)) {
            if (p !== this.original.get(s))
              return { chain: [`${v.name} obsoletes ${p.name}, which is also to be installed`] };
            this.state.set(s, null);
          }
    for (const [p, verb] of clashes) {
      if (!this.inState(p)) continue;
      const f = this.evict(p, v, verb, depth);
      if (f) return f;
    }
    return undefined;
  }

  /**
   * Gets p out of v's way: upgrade it to a candidate that does not clash, or remove it. A package
   * marked earlier in this transaction is unmarked, as apt does; whatever needed it is repaired later.
   */
  private evict(p: PkgVersion, v: PkgVersion, verb: string, depth: number): Failure | undefined {
    const d = this.u.dialect;
    const slot = d.slot(p);
    const why = `${v.name} ${verb} ${p.name}`;
    if (this.userSlots.has(slot)) return { chain: [`${why}, which was requested`] };
    const old = this.original.get(slot);
    if (p !== old) {
      this.processed.delete(p);
      if (old && !this.clashes(old, v)) this.state.set(slot, old);
      else if (old) this.state.set(slot, null);
      else this.state.delete(slot);
      return undefined;
    }
    const cand = this.candidate(p);
    if (cand && cand.evr !== p.evr && !this.clashes(cand, v)) {
      if (!this.install(cand, depth + 1)) return undefined;
    }
    if (p.essential) return { chain: [`${why}, which is essential`] };
    this.state.set(slot, null);
    return undefined;
  }

  private clashes(a: PkgVersion, b: PkgVersion): boolean {
    return (
      this.negatives(a).some((x) => this.m.matches(x, b)) ||
      this.negatives(b).some((x) => this.m.matches(x, a)) ||
      !!this.u.dialect.implicitClash?.(a, b)
    );
  }

  /** Marks v and everything it needs; on failure the state is left as it was. */
  private install(v: PkgVersion, depth: number): Failure | undefined {
    const snap = this.snapshot();
    const f = this.shallow(v, depth) ?? this.deps(this.state.get(this.u.dialect.slot(v)) ?? v, depth);
    if (f) this.restore(snap);
    return f;
  }

  /**
   * Satisfies v's dependencies. When a choice fails only once its own dependencies are explored
   * (breadth-first mode), v's dependencies are redone with that choice banned.
   */
  private deps(v: PkgVersion, depth: number): Failure | undefined {
    if (this.processed.has(v) || v === this.original.get(this.u.dialect.slot(v))) return undefined;
    const start = this.snapshot();
    const bannedBefore = new Set(this.banned);
    let deep: Failure | undefined;
    try {
      for (let attempt = 0; attempt < 16; attempt++) {
        const r = this.depsOnce(v, depth);
        if (!r.culprit) return r.failure && deep ? deep : r.failure;
        deep ??= r.failure;
        this.restore(start);
        this.banned.add(r.culprit);
      }
      return deep;
    } finally {
      this.banned = bannedBefore;
    }
  }

  private depsOnce(v: PkgVersion, depth: number): { failure?: Failure; culprit?: PkgVersion } {
    this.processed.add(v);
    const d = this.u.dialect;
    const later: { pkg: PkgVersion; critical: boolean; dep: Dep }[] = [];
    if (d.upgradeBySource) this.upgradeSiblings(v, depth, later);
    for (const g of this.groups(v)) {
      if (this.m.satisfied(g.dep)) continue;
      const snap = this.snapshot();
      const f = this.satisfy(g.dep, depth, later, g.critical);
      if (!f) continue;
      this.restore(snap);
      if (g.critical)
        return {
          failure: { chain: [`${this.label(v)} depends on ${d.formatDep(g.dep)}`, ...f.chain].slice(0, 8) },
        };
    }
    for (const l of later) {
      const snap = this.snapshot();
      const f = this.deps(this.state.get(d.slot(l.pkg)) ?? l.pkg, depth + 1);
      if (!f) continue;
      this.restore(snap);
      if (l.critical)
        return {
          failure: { chain: [`${this.label(v)} depends on ${d.formatDep(l.dep)}`, ...f.chain].slice(0, 8) },
          culprit: l.pkg,
        };
      // A Recommends whose own dependencies fail is dropped, as apt and dnf drop it.
      const slot = d.slot(l.pkg);
      const old = this.original.get(slot);
      if (old) this.state.set(slot, old);
      else this.state.delete(slot);
    }
    return {};
  }

  private siblings?: Map<string, PkgVersion[]>;

  /** apt upgrades the other installed binaries of an upgraded package's source to the same source version. */
  private upgradeSiblings(
    v: PkgVersion,
    depth: number,
    later: { pkg: PkgVersion; critical: boolean; dep: Dep }[],
  ): void {
    const src = v.source;
    if (!src) return;
    if (!this.siblings) {
      this.siblings = new Map();
      for (const p of this.original.values()) {
        const name = p.source?.name ?? p.name;
        const list = this.siblings.get(name);
        if (list) list.push(p);
        else this.siblings.set(name, [p]);
      }
    }
    for (const p of this.siblings.get(src.name) ?? []) {
      if (p.name === v.name || this.state.get(this.u.dialect.slot(p)) !== p) continue;
      const cand = this.candidate(p);
      if (!cand || cand === p || cand.evr === p.evr || cand.source?.version !== src.version) continue;
      const snap = this.snapshot();
      if (this.shallow(cand, depth + 1)) this.restore(snap);
      else later.push({ pkg: cand, critical: false, dep: { kind: "atom", atom: { name: cand.name } } });
    }
  }

  /** Satisfies one dependency term; in breadth-first mode the chosen packages' own deps come later. */
  private satisfy(
    dep: Dep,
    depth: number,
    later: { pkg: PkgVersion; critical: boolean; dep: Dep }[],
    critical: boolean,
  ): Failure | undefined {
    if (this.m.satisfied(dep)) return undefined;
    switch (dep.kind) {
      case "atom": {
        let first: Failure | undefined;
        for (const t of this.m.targets(dep.atom)) {
          if (this.banned.has(t)) continue;
          const f = this.u.dialect.breadthFirst ? this.shallow(t, depth + 1) : this.install(t, depth + 1);
          if (!f) {
            if (this.u.dialect.breadthFirst) later.push({ pkg: t, critical, dep });
            return undefined;
          }
          first ??= f;
        }
        return (
          first ?? {
            chain: [`${this.u.dialect.formatDep(dep)} ${this.m.hopeless(dep) ?? "cannot be installed"}`],
          }
        );
      }
      case "or": {
        let first: Failure | undefined;
        for (const t of dep.terms) {
          const snap = this.snapshot();
          const f = this.satisfy(t, depth, later, critical);
          if (!f) return undefined;
          this.restore(snap);
          first ??= f;
        }
        return first;
      }
      case "and":
      case "with":
        for (const t of dep.terms) {
          const f = this.satisfy(t, depth, later, critical);
          if (f) return f;
        }
        return undefined;
      case "without":
        return this.satisfy(dep.terms[0], depth, later, critical);
      case "if":
        if (this.m.satisfied(dep.cond)) return this.satisfy(dep.then, depth, later, critical);
        return dep.else ? this.satisfy(dep.else, depth, later, critical) : undefined;
      case "unless":
        if (!this.m.satisfied(dep.cond)) return this.satisfy(dep.then, depth, later, critical);
        return dep.else ? this.satisfy(dep.else, depth, later, critical) : undefined;
    }
  }

  /**
   * Packages whose dependencies the transaction left unmet (an installed package that lost a
   * dependency, a new one whose choice was unmarked by a conflict): satisfy them again, or remove
   * installed ones, as apt's problem resolver does.
   */
  private repairInstalled(): void {
    for (let round = 0; round < 50; round++) {
      let changed = false;
      for (const [slot, p] of [...this.state]) {
        if (!p || this.state.get(slot) !== p) continue;
        const isOld = p === this.original.get(slot);
        for (const g of this.groups(p)) {
          if (!g.critical || this.m.satisfied(g.dep)) continue;
          const later: { pkg: PkgVersion; critical: boolean; dep: Dep }[] = [];
          const snap = this.snapshot();
          let f = this.satisfy(g.dep, 1, later, true);
          for (const l of later) f ??= this.deps(this.state.get(this.u.dialect.slot(l.pkg)) ?? l.pkg, 2);
          if (f) {
            this.restore(snap);
            if (!isOld || p.essential || this.userSlots.has(slot))
              throw new UnsolvableError([
                `${p.name} depends on ${this.u.dialect.formatDep(g.dep)}`,
                ...f.chain,
              ]);
            this.state.set(slot, null);
          }
          changed = true;
          break;
        }
      }
      if (!changed) return;
    }
  }

  /**
   * New packages that nothing in the result needs any more (their dependent was unmarked by a
   * conflict) are not installed: apt unmarks such garbage before it acts.
   */
  private sweepOrphans(): void {
    // Only new packages can be garbage: the walk stops once it has reached them all, starting
    // from the requested ones (last in `roots`, followed first), which usually reach them at once.
    const fresh = new Set<PkgVersion>();
    const roots: PkgVersion[] = [];
    const requested: PkgVersion[] = [];
    for (const [slot, p] of this.state) {
      if (!p) continue;
      if (!this.original.has(slot)) fresh.add(p);
      if (this.userSlots.has(slot)) requested.push(p);
      else if (this.original.has(slot) || p.essential) roots.push(p);
    }
    if (fresh.size === 0) return;
    const stateOf = (hit: PkgVersion) => this.state.get(this.u.dialect.slot(hit)) ?? undefined;
    const reached = this.m.reachable([...roots, ...requested], stateOf, fresh);
    for (const [slot, p] of [...this.state])
      if (p && !this.original.has(slot) && !reached.has(p)) this.state.delete(slot);
  }
}
