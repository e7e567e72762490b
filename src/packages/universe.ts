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
    const avail: PkgVersion[] = [];
    for (const r of this.repos)
      for (const v of r.byName(pkg.name))
        if (this.dialect.archInstallable(v.arch) && this.dialect.slot(v) === slot) avail.push(v);
    const inst = this.installedIn(slot, pkg.name);
    const best =
      this.dialect.kind === "deb" ? this.aptCandidate(avail, inst) : this.priorityCandidate(avail, inst);
    this.candidates.set(slot, best);
    return best;
  }

  /** dnf: the best repository priority, then the highest version; the installed one unless beaten. */
  private priorityCandidate(avail: PkgVersion[], inst: PkgVersion | undefined): PkgVersion | null {
    let best: PkgVersion | null = null;
    for (const v of avail)
      if (!best || v.pin > best.pin || (v.pin === best.pin && this.dialect.compare(v, best) > 0)) best = v;
    if (inst && (!best || this.dialect.compare(best, inst) <= 0 || best.pin < inst.pin)) best = inst;
    return best;
  }

  /**
   * apt's pkgPolicy::GetCandidateVer: versions from the highest down, each with the best priority
   * of its copies; a strictly higher priority takes over; priorities <= 0 never do. Reaching the
   * installed version lifts the bar to 999, so only a pin >= 1000 can choose a lower version.
   */
  private aptCandidate(avail: PkgVersion[], inst: PkgVersion | undefined): PkgVersion | null {
    const all = inst ? [...avail, inst] : avail;
    // Stable sort: among copies of one version, index order (then the installed copy) is kept.
    const sorted = [...all].sort((a, b) => this.dialect.compare(b, a));
    let max = 0;
    let pref: PkgVersion | null = null;
    for (let i = 0; i < sorted.length; ) {
      let j = i;
      let prio = Number.NEGATIVE_INFINITY;
      let rep = sorted[i];
      for (; j < sorted.length && this.dialect.compare(sorted[j], sorted[i]) === 0; j++) {
        if (sorted[j] === inst) rep = inst;
        else if (rep !== inst && sorted[j].pin > rep.pin) rep = sorted[j];
        prio = Math.max(prio, sorted[j].pin);
      }
      if (prio > max) {
        pref = rep;
        max = prio;
      }
      if (rep === inst && max < 1000) {
        pref ??= rep;
        max = 999;
      }
      i = j;
    }
    return pref;
  }
}
