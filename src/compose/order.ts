// The order packages are configured in: dependencies before their dependents (dpkg configures a
// package only after what it Depends/Pre-Depends on; rpm orders by Requires), name order among
// equals so the result is the same every time. Cycles are broken where they are found, as both
// package managers do.
import type { Dialect, PkgVersion } from "../packages/index.js";
import type { Dep } from "../packages/model.js";

function atomNames(d: Dep, out: Set<string>): void {
  if (d.kind === "atom") out.add(d.atom.name);
  else if ("terms" in d) for (const t of d.terms) atomNames(t, out);
  else {
    atomNames(d.cond, out);
    atomNames(d.then, out);
    if (d.else) atomNames(d.else, out);
  }
}

export function installOrder(_dialect: Dialect, pkgs: readonly PkgVersion[]): PkgVersion[] {
  const byName = new Map<string, PkgVersion[]>();
  const add = (name: string, v: PkgVersion) => {
    const l = byName.get(name) ?? [];
    l.push(v);
    byName.set(name, l);
  };
  for (const v of pkgs) {
    add(v.name, v);
    for (const p of v.provides) add(p.name, v);
  }
  const sorted = [...pkgs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: PkgVersion[] = [];
  const state = new Map<PkgVersion, "visiting" | "done">();
  const visit = (v: PkgVersion): void => {
    if (state.has(v)) return;
    state.set(v, "visiting");
    const names = new Set<string>();
    for (const d of [...(v.relations["pre-depends"] ?? []), ...(v.relations.depends ?? [])])
      atomNames(d, names);
    for (const n of [...names].sort()) for (const dep of byName.get(n) ?? []) if (dep !== v) visit(dep);
    state.set(v, "done");
    out.push(v);
  };
  for (const v of sorted) visit(v);
  return out;
}
