// The resolver's view of the package world, shared by both backends: package versions from
// repositories and from the installed set, looked up by name, by what they provide, and (rpm) by the
// files they own. Backends build PackageSets lazily; nothing here parses a native format.
import type { Atom, Dep, PackageKind, Relations, VersionOp } from "./model.js";

/** Where a package version can be fetched from (filled by repository indexes, not by the installed db). */
export interface PackageLocation {
  baseUrl: string;
  path: string;
  size?: number;
  checksum?: { algo: string; hex: string };
}

export interface Provide {
  name: string;
  /** Provided version as written ("" when unversioned). */
  version: string;
  archQualifier?: string;
}

/** One version of one package, from one origin. Relations are parsed on first access. */
export interface PkgVersion {
  readonly kind: PackageKind;
  readonly name: string;
  readonly arch: string;
  readonly epoch: number;
  readonly version: string;
  readonly release: string;
  /** The version as apt/dnf print it. */
  readonly evr: string;
  /** True for the version in the installed set. */
  readonly installed: boolean;
  /** Repository id ("@installed" for the installed set). */
  readonly repo: string;
  /** Candidate priority: apt pin priority (500, 100 installed, 1 NotAutomatic); rpm: -repo priority. */
  readonly pin: number;
  readonly essential: boolean;
  /** Debian Priority field (required/important/standard/optional/extra); apt's provider order uses it. */
  readonly priority?: string;
  readonly multiArch?: string;
  readonly relations: Relations;
  readonly provides: readonly Provide[];
  readonly location?: PackageLocation;
  /** The source package and its version (apt upgrades installed binaries of one source together). */
  readonly source?: { name: string; version: string };
  /** Order of appearance in its index: the last tie-breaker, as in apt's cache. */
  readonly seq: number;
  /** rpm: files the package owns (only those the index carries, unless filelists are loaded). */
  files?(): readonly string[];
}

export interface ProviderHit {
  pkg: PkgVersion;
  provide: Provide;
}

/** A queryable set of package versions: one repository index, or the installed set. */
export interface PackageSet {
  readonly id: string;
  byName(name: string): readonly PkgVersion[];
  /** Versions whose Provides name `name` (not counting their own package name). */
  providers(name: string): readonly ProviderHit[];
  /** rpm: versions that own `path`. Undefined when the set carries no file lists. */
  fileOwners?(path: string): readonly PkgVersion[];
  /** Every version in the set; required of the installed set (the solver walks it), optional otherwise. */
  all?(): Iterable<PkgVersion>;
}

/** The backend's rules the solver needs: version order and what satisfies an atom. */
export interface Dialect {
  readonly kind: PackageKind;
  compare(a: PkgVersion, b: PkgVersion): number;
  /** Does the version text `have` satisfy `op want`? (rpm: missing release matches any release) */
  versionMatches(have: string, op: VersionOp, want: string): boolean;
  /** Does a Provide (unversioned or versioned) satisfy the atom's version constraint? */
  provideMatches(provide: Provide, atom: Atom): boolean;
  /** Can a package of this arch be installed on the host (native, all/noarch, configured foreign)? */
  archInstallable(arch: string): boolean;
  /** Does the atom's arch qualifier (deb `:any`, `:native`; rpm `(x86-64)`) accept this package? */
  qualifierAccepts(atom: Atom, pkg: PkgVersion, viaProvide: boolean): boolean;
  /** Versions that cannot be installed together although nothing declares it (deb: two archs of one package). */
  implicitClash?(a: PkgVersion, b: PkgVersion): boolean;
  /** The key under which two versions are "the same package" (deb: name:arch, rpm: name.arch). */
  slot(pkg: PkgVersion): string;
  /** Formats a relationship term the way the native tool prints it, for error messages. */
  formatDep(dep: Dep): string;
  /** Order among several versions that satisfy one atom: negative when `a` is preferred. */
  preferProvider(a: PkgVersion, b: PkgVersion, atom: Atom): number;
  /** Mark all direct dependencies of a package before descending into any of them (else depth first). */
  readonly breadthFirst: boolean;
  /** apt ≥ 2.3 (APT::Get::Upgrade-By-Source-Package): upgrading one binary upgrades its installed siblings. */
  readonly upgradeBySource: boolean;
}
