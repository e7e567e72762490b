// Debian's rules for the resolver: dpkg version order, Provides and Multi-Arch matching, and apt's
// order among several packages that satisfy one dependency (pkgDepCache::CompareProviders).
import type { Dialect, PkgVersion, Provide } from "../../src/packages/index.js";
import type { Atom, Dep, VersionOp } from "../../src/packages/model.js";
import { formatDebDep } from "./relations.js";
import { compareDebVersions } from "./version.js";

const PRIORITY_RANK: Record<string, number> = {
  required: 1,
  important: 2,
  standard: 3,
  optional: 4,
  extra: 5,
};

export function debOpMatches(cmp: number, op: VersionOp): boolean {
  switch (op) {
    case "<":
      return cmp < 0;
    case "<=":
      return cmp <= 0;
    case "=":
      return cmp === 0;
    case ">=":
      return cmp >= 0;
    case ">":
      return cmp > 0;
  }
}

export class DebDialect implements Dialect {
  readonly kind = "deb" as const;
  // apt 2.6 descends into each dependency as soon as it marks it (its Debug::pkgDepCache::AutoInstall
  // trace shows it); checked against apt on the desktop metapackages of bookworm.
  readonly breadthFirst = false;
  readonly upgradeBySource = true;
  private readonly archs: ReadonlySet<string>;

  constructor(
    readonly nativeArch: string,
    foreignArchs: readonly string[] = [],
  ) {
    this.archs = new Set([nativeArch, "all", ...foreignArchs]);
  }

  compare(a: PkgVersion, b: PkgVersion): number {
    return compareDebVersions(a.evr, b.evr);
  }

  versionMatches(have: string, op: VersionOp, want: string): boolean {
    return debOpMatches(compareDebVersions(have, want), op);
  }

  provideMatches(provide: Provide, atom: Atom): boolean {
    if (!atom.op) return true;
    // An unversioned Provides never satisfies a versioned dependency (Debian policy 7.5).
    return provide.version !== "" && this.versionMatches(provide.version, atom.op, atom.version ?? "");
  }

  archInstallable(arch: string): boolean {
    return this.archs.has(arch);
  }

  private isNative(arch: string): boolean {
    return arch === this.nativeArch || arch === "all";
  }

  qualifierAccepts(atom: Atom, pkg: PkgVersion, viaProvide: boolean): boolean {
    const q = atom.archQualifier;
    if (!q) return this.isNative(pkg.arch) || pkg.multiArch === "foreign";
    if (q === "any")
      return pkg.multiArch === "allowed" || (viaProvide && pkg.multiArch === "foreign") || pkg.arch === "all";
    if (q === "native") return this.isNative(pkg.arch);
    // "@arch": a plain dependency of a foreign-arch package (see apt-packageset's bindArch).
    if (q[0] === "@")
      return (
        pkg.arch === q.slice(1) ||
        pkg.multiArch === "foreign" ||
        (pkg.arch === "all" && pkg.multiArch === "foreign")
      );
    return pkg.arch === q || (pkg.arch === "all" && q === this.nativeArch);
  }

  /** Two architectures of one package coexist only when both are Multi-Arch: same, at one version. */
  implicitClash(a: PkgVersion, b: PkgVersion): boolean {
    if (a.name !== b.name || this.slot(a) === this.slot(b)) return false;
    return !(a.multiArch === "same" && b.multiArch === "same" && a.evr === b.evr);
  }

  slot(pkg: PkgVersion): string {
    return this.isNative(pkg.arch) ? pkg.name : `${pkg.name}:${pkg.arch}`;
  }

  formatDep(dep: Dep): string {
    return formatDebDep(dep);
  }

  preferProvider(a: PkgVersion, b: PkgVersion, atom: Atom): number {
    // The real package of that name first, then essential, installed, by Priority, then cache order.
    const ra = a.name === atom.name ? 0 : 1;
    const rb = b.name === atom.name ? 0 : 1;
    if (ra !== rb) return ra - rb;
    if (a.essential !== b.essential) return a.essential ? -1 : 1;
    if (a.installed !== b.installed) return a.installed ? -1 : 1;
    if (this.isNative(a.arch) !== this.isNative(b.arch)) return this.isNative(a.arch) ? -1 : 1;
    const pa = PRIORITY_RANK[a.priority ?? ""] ?? 6;
    const pb = PRIORITY_RANK[b.priority ?? ""] ?? 6;
    if (pa !== pb) return pa - pb;
    // apt falls back to the package cache order, in which the last provider read wins.
    return b.seq - a.seq;
  }
}
