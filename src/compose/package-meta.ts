// What a package commit carries (src/packages/import.ts, `tsostree.pkg.*`), read back typed: what the
// layering steps need without the .deb/.rpm file.
import type { Variant } from "../gvariant/index.js";
import type { PackageKind } from "../packages/model.js";
import { metadataGet } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";

export interface PackageCommitMeta {
  kind: PackageKind;
  name: string;
  epoch: number;
  version: string;
  release: string;
  evr: string;
  arch: string;
  summary: string;
  sha256: string;
  /** Relationship kind → terms as the native tool writes them. */
  relations: Record<string, string[]>;
  conffiles: string[];
  scripts: { phase: string; interpreter: string; body: string }[];
  triggers: { kind: string; condition: string; interpreter: string; body: string }[];
  /** Non-root owners by name: path → [user, group]. */
  owners: Map<string, [string, string]>;
  /** deb: the control.tar members. */
  debControl?: [string, Buffer][];
  /** rpm: the header as rpmdb stores it. */
  rpmHeader?: Buffer;
}

export class PackageMetaError extends Error {
  override name = "PackageMetaError";
}

export function readPackageMeta(repo: Repo, commit: string): PackageCommitMeta {
  const m = repo.loadCommit(commit).metadata;
  const get = (k: string): unknown => metadataGet(m, k)?.value;
  const str = (k: string): string => {
    const v = get(`tsostree.pkg.${k}`);
    if (typeof v !== "string")
      throw new PackageMetaError(`package commit ${commit.slice(0, 12)} lacks tsostree.pkg.${k}`);
    return v;
  };
  const list = <T>(k: string): T[] => (get(`tsostree.pkg.${k}`) as T[] | undefined) ?? [];
  return {
    kind: str("kind") as PackageKind,
    name: str("name"),
    epoch: Number(get("tsostree.pkg.epoch") ?? 0),
    version: str("version"),
    release: str("release"),
    evr: str("evr"),
    arch: str("arch"),
    summary: str("summary"),
    sha256: str("sha256"),
    relations: Object.fromEntries(list<[string, string[]]>("relations")),
    conffiles: list<string>("conffiles"),
    scripts: list<[string, string, string]>("script-bodies").map(([phase, interpreter, body]) => ({
      phase,
      interpreter,
      body,
    })),
    triggers: list<[string, string, string, string]>("triggers").map(
      ([kind, condition, interpreter, body]) => ({
        kind,
        condition,
        interpreter,
        body,
      }),
    ),
    owners: new Map(list<[string, string, string]>("owners").map(([p, u, g]) => [p, [u, g]])),
    debControl: (get("tsostree.pkg.deb-control") as [string, Buffer][] | undefined)?.map(([n, b]) => [
      n,
      Buffer.from(b),
    ]),
    rpmHeader: asBuffer(metadataGet(m, "tsostree.pkg.rpm-header")),
  };
}

function asBuffer(v: Variant | undefined): Buffer | undefined {
  if (!v) return undefined;
  const x = v.value as unknown;
  return Buffer.isBuffer(x) ? x : x instanceof Uint8Array ? Buffer.from(x) : undefined;
}
