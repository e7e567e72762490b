// PackageSet adapters over a Packages index (one repository) and over dpkg's status (the installed
// set). PkgVersion objects are made only for stanzas the resolver asks about.
import type {
  PackageLocation,
  PackageSet,
  PkgVersion,
  Provide,
  ProviderHit,
} from "../../src/packages/index.js";
import type { Dep, Relations } from "../../src/packages/model.js";
import type { PackagesIndex } from "./apt-packages.js";
import { parseDebRelations } from "./relations.js";
import { parseDebVersion } from "./version.js";

const RELATION_FIELDS: [string, keyof Relations][] = [
  ["Depends", "depends"],
  ["Pre-Depends", "pre-depends"],
  ["Recommends", "recommends"],
  ["Suggests", "suggests"],
  ["Conflicts", "conflicts"],
  ["Breaks", "breaks"],
  ["Replaces", "replaces"],
  ["Enhances", "enhances"],
];

function bindArch(d: Dep, arch: string): Dep {
  if (d.kind === "atom")
    return d.atom.archQualifier ? d : { kind: "atom", atom: { ...d.atom, archQualifier: `@${arch}` } };
  if (d.kind === "or") return { kind: "or", terms: d.terms.map((t) => bindArch(t, arch)) };
  return d;
}

class DebVersion implements PkgVersion {
  readonly kind = "deb" as const;
  readonly epoch: number;
  readonly version: string;
  readonly release: string;
  readonly evr: string;
  readonly arch: string;
  readonly essential: boolean;
  readonly priority?: string;
  readonly multiArch?: string;
  readonly location?: PackageLocation;
  private rel?: Relations;
  private prov?: Provide[];
  private pinned?: number;

  constructor(
    private readonly index: PackagesIndex,
    private readonly stanza: number,
    readonly name: string,
    readonly installed: boolean,
    readonly repo: string,
    private readonly pinOf: number | ((v: DebVersion) => number),
    baseUrl: string | undefined,
    private readonly nativeArch?: string,
  ) {
    const f = index.fields(stanza);
    this.evr = f.get("Version") ?? "";
    const split = parseDebVersion(this.evr);
    this.epoch = split.epoch;
    this.version = split.upstream;
    this.release = split.revision;
    this.arch = f.get("Architecture") ?? "all";
    this.essential = f.get("Essential") === "yes";
    this.priority = f.get("Priority");
    this.multiArch = f.get("Multi-Arch");
    const filename = f.get("Filename");
    if (baseUrl && filename) {
      const sha = f.get("SHA256");
      this.location = {
        baseUrl,
        path: filename,
        size: Number(f.get("Size") ?? 0) || undefined,
        checksum: sha ? { algo: "sha256", hex: sha } : undefined,
      };
    }
  }

  /** Computed on first use: preferences pins depend on the version's name, arch and source. */
  get pin(): number {
    if (typeof this.pinOf === "number") return this.pinOf;
    this.pinned ??= this.pinOf(this);
    return this.pinned;
  }

  get seq(): number {
    return this.stanza;
  }

  get source(): { name: string; version: string } {
    const text = this.index.fields(this.stanza).get("Source");
    if (!text) return { name: this.name, version: this.evr };
    const m = /^(\S+)\s*(?:\((\S+)\))?/.exec(text);
    return { name: m?.[1] ?? this.name, version: m?.[2] ?? this.evr };
  }

  get relations(): Relations {
    if (this.rel) return this.rel;
    const f = this.index.fields(this.stanza);
    const rel: Relations = {};
    for (const [field, kind] of RELATION_FIELDS) {
      const text = f.get(field);
      if (text) rel[kind] = parseDebRelations(text);
    }
    // A foreign package's plain dependencies must be met in its own architecture (or by a
    // Multi-Arch: foreign package); "@arch" carries that to the dialect's qualifier check.
    if (this.nativeArch && this.arch !== this.nativeArch && this.arch !== "all")
      for (const kind of ["depends", "pre-depends", "recommends", "suggests"] as const)
        rel[kind] = rel[kind]?.map((d) => bindArch(d, this.arch));
    this.rel = rel;
    return rel;
  }

  get provides(): readonly Provide[] {
    if (this.prov) return this.prov;
    const text = this.index.fields(this.stanza).get("Provides");
    this.prov = [];
    if (text) {
      for (const dep of parseDebRelations(text)) {
        if (dep.kind !== "atom") continue;
        this.prov.push({
          name: dep.atom.name,
          version: dep.atom.version ?? "",
          archQualifier: dep.atom.archQualifier,
        });
      }
    }
    return this.prov;
  }
}

export interface DebSetOptions {
  id: string;
  pin: number;
  /** Per-version priority (apt preferences); `pin` when absent. */
  pinOf?: (v: PkgVersion) => number;
  installed: boolean;
  /** Where Filename paths are relative to (the repository's root URL). */
  baseUrl?: string;
  /** Architectures to keep (others are ignored, as apt ignores foreign archs it is not configured for). */
  archs?: ReadonlySet<string>;
  /** The host's architecture: dependencies of foreign-arch packages are bound to their own arch. */
  nativeArch?: string;
}

export class DebPackageSet implements PackageSet {
  readonly id: string;
  private readonly versions = new Map<number, DebVersion | null>();

  constructor(
    readonly index: PackagesIndex,
    private readonly opts: DebSetOptions,
    /** For the status file: which stanzas are really installed. */
    private readonly keep?: (stanza: number) => boolean,
  ) {
    this.id = opts.id;
  }

  private version(stanza: number): DebVersion | null {
    let v = this.versions.get(stanza);
    if (v !== undefined) return v;
    v = null;
    if (!this.keep || this.keep(stanza)) {
      const arch = this.index.field(stanza, "Architecture") ?? "all";
      if (!this.opts.archs || this.opts.archs.has(arch)) {
        v = new DebVersion(
          this.index,
          stanza,
          this.index.names[stanza],
          this.opts.installed,
          this.opts.id,
          this.opts.pinOf ?? this.opts.pin,
          this.opts.baseUrl,
          this.opts.nativeArch,
        );
      }
    }
    this.versions.set(stanza, v);
    return v;
  }

  byName(name: string): readonly PkgVersion[] {
    const out: PkgVersion[] = [];
    for (const s of this.index.byName(name)) {
      const v = this.version(s);
      if (v) out.push(v);
    }
    return out;
  }

  *all(): Iterable<PkgVersion> {
    for (let s = 0; s < this.index.size; s++) {
      const v = this.version(s);
      if (v) yield v;
    }
  }

  providers(name: string): readonly ProviderHit[] {
    const out: ProviderHit[] = [];
    for (const e of this.index.providers(name)) {
      const v = this.version(e.stanza);
      if (v) out.push({ pkg: v, provide: { name, version: e.version, archQualifier: e.archQualifier } });
    }
    return out;
  }
}
