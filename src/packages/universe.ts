// All package versions the resolver may choose from (repositories) or must start from (the installed
// set), with apt's/dnf's idea of each package's candidate version.
import type { Dialect, PackageSet, PkgVersion, ProviderHit } from "./index.js";

export class Universe {
  private readonly candidates = new Map<string, PkgVersion | null>();

  constructor(
    readonly dialect: Dialect,
    readonly repos: readonly PackageSet[],
    readonly installed: PackageSet,
  ) {}

  /** Every version named `name`, repositories first, then the installed one(s). */
  byName(name: string): PkgVersion[] {
    const out: PkgVersion[] = [];
    for (const r of this.repos)
      for (const v of r.byName(name)) if (this.dialect.archInstallable(v.arch)) out.push(v);
    for (const v of this.installed.byName(name)) out.push(v);
    return out;
  }

  providers(name: string): ProviderHit[] {
    const out: ProviderHit[] = [];
    for (const r of this.repos)
      for (const h of r.providers(name)) if (this.dialect.archInstallable(h.pkg.arch)) out.push(h);
    for (const h of this.installed.providers(name)) out.push(h);
    return out;
  }

  fileOwners(path: string): PkgVersion[] {
    const out: PkgVersion[] = [];
    for (const r of this.repos)
      for (const v of r.fileOwners?.(path) ?? []) if (this.dialect.archInstallable(v.arch)) out.push(v);
    for (const v of this.installed.fileOwners?.(path) ?? []) out.push(v);
    return out;
  }

  installedIn(slot: string, name: string): PkgVersion | undefined {
    return this.installed.byName(name).find((v) => this.dialect.slot(v) === slot);
  }

  /**
   * The version apt/dnf would install for this slot: the highest version among the highest-priority
   * origins, but never a downgrade of what is installed (apt: pins below 1000 do not downgrade).
   */
  candidate(pkg: PkgVersion): PkgVersion | null {
    const slot = this.dialect.slot(pkg);
    const cached = this.candidates.get(slot);
    if (cached !== undefined) return cached;
    let best: PkgVersion | null = null;
    for (const r of this.repos)
      for (const v of r.byName(pkg.name)) {
        if (!this.dialect.archInstallable(v.arch) || this.dialect.slot(v) !== slot) continue;
        if (!best || v.pin > best.pin || (v.pin === best.pin && this.dialect.compare(v, best) > 0)) best = v;
      }
    const inst = this.installedIn(slot, pkg.name);
    if (inst && (!best || this.dialect.compare(best, inst) <= 0 || best.pin < inst.pin)) best = inst;
    this.candidates.set(slot, best);
    return best;
  }
}
