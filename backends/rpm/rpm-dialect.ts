// rpm's rules for the resolver: EVR order (a missing release matches any release), unversioned
// Provides satisfying versioned Requires, noarch, and libsolv's preferences among providers.
import type { Dialect, PkgVersion, Provide } from "../../src/packages/index.js";
import type { Atom, Dep, VersionOp } from "../../src/packages/model.js";
import { formatRpmDep } from "./relations.js";
import { compareEVR } from "./version.js";

function opMatches(cmp: number, op: VersionOp): boolean {
  if (op === "<") return cmp < 0;
  if (op === "<=") return cmp <= 0;
  if (op === "=") return cmp === 0;
  if (op === ">=") return cmp >= 0;
  return cmp > 0;
}

export class RpmDialect implements Dialect {
  readonly kind = "rpm" as const;
  readonly breadthFirst = false;
  readonly upgradeBySource = false;
  private readonly archs: ReadonlySet<string>;

  constructor(readonly nativeArch: string) {
    this.archs = new Set([nativeArch, "noarch"]);
  }

  compare(a: PkgVersion, b: PkgVersion): number {
    return compareEVR(a.evr, b.evr);
  }

  versionMatches(have: string, op: VersionOp, want: string): boolean {
    return opMatches(compareEVR(have, want), op);
  }

  provideMatches(provide: Provide, atom: Atom): boolean {
    // rpm: a Provides without a version satisfies any versioned Requires on that name.
    if (!atom.op || provide.version === "") return true;
    return this.versionMatches(provide.version, atom.op, atom.version ?? "");
  }

  archInstallable(arch: string): boolean {
    return this.archs.has(arch);
  }

  qualifierAccepts(): boolean {
    return true;
  }

  slot(pkg: PkgVersion): string {
    return pkg.arch === "noarch" || pkg.arch === this.nativeArch ? pkg.name : `${pkg.name}.${pkg.arch}`;
  }

  formatDep(dep: Dep): string {
    return formatRpmDep(dep);
  }

  preferProvider(a: PkgVersion, b: PkgVersion, atom: Atom): number {
    // libsolv: installed first, then the package named like the dependency, then the best version
    // of each name, then names in order.
    if (a.installed !== b.installed) return a.installed ? -1 : 1;
    const ra = a.name === atom.name ? 0 : 1;
    const rb = b.name === atom.name ? 0 : 1;
    if (ra !== rb) return ra - rb;
    if (a.pin !== b.pin) return b.pin - a.pin;
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    return compareEVR(b.evr, a.evr);
  }
}
