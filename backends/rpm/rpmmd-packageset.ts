// PackageSets for rpm: from a repository's primary.xml (rpm-md) or from the rpmdb. Both produce the
// same compact records; dependency entries become Dep terms only when the resolver asks.
import type {
  PackageLocation,
  PackageSet,
  PkgVersion,
  Provide,
  ProviderHit,
} from "../../src/packages/index.js";
import type { Dep, Relations, VersionOp } from "../../src/packages/model.js";
import { formatRpmVersion } from "./version.js";

/** One dependency entry as rpm-md and rpm headers carry it. */
export interface RpmEntry {
  name: string;
  op?: VersionOp;
  /** `[epoch:]version[-release]`, "" when unversioned. */
  evr: string;
  pre?: boolean;
}

export interface RpmRecord {
  name: string;
  arch: string;
  epoch: number;
  version: string;
  release: string;
  /** Relations already as terms (rpmdb) or raw entries to be converted lazily (primary.xml). */
  relations?: Relations;
  entries?: Partial<
    Record<
      | "requires"
      | "provides"
      | "conflicts"
      | "obsoletes"
      | "recommends"
      | "suggests"
      | "supplements"
      | "enhances",
      RpmEntry[]
    >
  >;
  files: string[];
  location?: PackageLocation;
  sourceRpm?: string;
}

export interface RpmSetOptions {
  id: string;
  installed: boolean;
  /** -priority from the .repo file (dnf: a lower priority number wins). */
  pin: number;
}

type RichParser = (text: string) => Dep;

function entryDep(e: RpmEntry, parseRich: RichParser): Dep {
  if (e.name.startsWith("(")) return parseRich(e.name);
  return e.op && e.evr
    ? { kind: "atom", atom: { name: e.name, op: e.op, version: e.evr } }
    : { kind: "atom", atom: { name: e.name } };
}

/** rpm's own capabilities (rpmlib(...)) are met by rpm itself, never by a package. */
function isRpmlib(d: Dep): boolean {
  return d.kind === "atom" && d.atom.name.startsWith("rpmlib(");
}

class RpmVersion implements PkgVersion {
  readonly kind = "rpm" as const;
  readonly essential = false;
  private rel?: Relations;
  private prov?: Provide[];

  constructor(
    private readonly rec: RpmRecord,
    readonly seq: number,
    private readonly opts: RpmSetOptions,
    private readonly parseRich: RichParser,
  ) {}

  get name(): string {
    return this.rec.name;
  }
  get arch(): string {
    return this.rec.arch;
  }
  get epoch(): number {
    return this.rec.epoch;
  }
  get version(): string {
    return this.rec.version;
  }
  get release(): string {
    return this.rec.release;
  }
  get evr(): string {
    return formatRpmVersion(this.rec);
  }
  get installed(): boolean {
    return this.opts.installed;
  }
  get repo(): string {
    return this.opts.id;
  }
  get pin(): number {
    return this.opts.pin;
  }
  get location(): PackageLocation | undefined {
    return this.rec.location;
  }

  get relations(): Relations {
    if (this.rel) return this.rel;
    let rel: Relations;
    if (this.rec.relations) rel = { ...this.rec.relations };
    else {
      rel = {};
      const e = this.rec.entries ?? {};
      const conv = (list?: RpmEntry[]) => (list ?? []).map((x) => entryDep(x, this.parseRich));
      const req = e.requires ?? [];
      rel.depends = conv(req.filter((x) => !x.pre));
      rel["pre-depends"] = conv(req.filter((x) => x.pre));
      rel.conflicts = conv(e.conflicts);
      rel.obsoletes = conv(e.obsoletes);
      rel.recommends = conv(e.recommends);
      rel.suggests = conv(e.suggests);
      rel.supplements = conv(e.supplements);
      rel.enhances = conv(e.enhances);
    }
    for (const k of ["depends", "pre-depends"] as const)
      if (rel[k]) rel[k] = rel[k]?.filter((d) => !isRpmlib(d));
    this.rel = rel;
    return rel;
  }

  get provides(): readonly Provide[] {
    if (this.prov) return this.prov;
    this.prov = [];
    if (this.rec.entries)
      for (const p of this.rec.entries.provides ?? [])
        this.prov.push({ name: p.name, version: p.op === "=" ? p.evr : "" });
    else
      for (const d of this.rec.relations?.provides ?? [])
        if (d.kind === "atom")
          this.prov.push({ name: d.atom.name, version: d.atom.op === "=" ? (d.atom.version ?? "") : "" });
    return this.prov;
  }

  files(): readonly string[] {
    return this.rec.files;
  }
}

export class RpmPackageSet implements PackageSet {
  readonly id: string;
  private readonly versions: RpmVersion[];
  private readonly byNameMap = new Map<string, RpmVersion[]>();
  private provMap?: Map<string, ProviderHit[]>;
  private fileMap?: Map<string, RpmVersion[]>;

  constructor(records: RpmRecord[], opts: RpmSetOptions, parseRich: RichParser) {
    this.id = opts.id;
    this.versions = records.map((r, i) => new RpmVersion(r, i, opts, parseRich));
    for (const v of this.versions) {
      const l = this.byNameMap.get(v.name);
      if (l) l.push(v);
      else this.byNameMap.set(v.name, [v]);
    }
  }

  get size(): number {
    return this.versions.length;
  }

  byName(name: string): readonly PkgVersion[] {
    return this.byNameMap.get(name) ?? [];
  }

  providers(name: string): readonly ProviderHit[] {
    if (!this.provMap) {
      this.provMap = new Map();
      for (const v of this.versions)
        for (const p of v.provides) {
          if (p.name === v.name) continue;
          const l = this.provMap.get(p.name);
          if (l) l.push({ pkg: v, provide: p });
          else this.provMap.set(p.name, [{ pkg: v, provide: p }]);
        }
    }
    return this.provMap.get(name) ?? [];
  }

  fileOwners(path: string): readonly PkgVersion[] {
    if (!this.fileMap) {
      this.fileMap = new Map();
      for (const v of this.versions)
        for (const f of v.files()) {
          const l = this.fileMap.get(f);
          if (l) l.push(v);
          else this.fileMap.set(f, [v]);
        }
    }
    return this.fileMap.get(path) ?? [];
  }

  all(): Iterable<PkgVersion> {
    return this.versions;
  }
}
