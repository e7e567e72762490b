// What a layered deployment asks for, kept in its origin file the way rpm-ostree keeps it: the base
// refspec, the requested packages (by name, and local package files by their sha256), and the
// overrides of base packages. A deployment without layering keeps ostree's plain `refspec=`, so the
// real `ostree admin status` and `admin upgrade` keep working on it.
import { KeyFile } from "../util/keyfile.js";

/** A package given as a file: its import ref's identity, so it can be layered again without the file. */
export interface LocalPackage {
  sha256: string;
  /** `NAME-EVR.ARCH` as rpm-ostree writes it, for people reading the origin. */
  nevra: string;
}

export interface LayerRequest {
  /** The base the packages are layered on: `[REMOTE:]REF`. */
  baseRefspec: string;
  /** A commit the base is held at (ostree's `override-commit`), when not the ref's head. */
  baseCommit?: string;
  /** Packages named by the user, in the order first asked for. */
  packages: string[];
  /** Packages given as files (`install ./foo.deb`). */
  localPackages: LocalPackage[];
  /** Base packages removed (`override remove`). */
  removals: string[];
  /** Base packages replaced by package files (`override replace`). */
  replacements: LocalPackage[];
}

export class OriginError extends Error {
  override name = "OriginError";
}

/** True when the request changes nothing of the base: the deployment is the plain base commit. */
export function isPlainBase(r: LayerRequest): boolean {
  return !r.packages.length && !r.localPackages.length && !r.removals.length && !r.replacements.length;
}

function parseLocal(list: string[] | undefined): LocalPackage[] {
  return (list ?? []).map((v) => {
    const colon = v.indexOf(":");
    if (colon !== 64 || !/^[0-9a-f]{64}$/.test(v.slice(0, 64)))
      throw new OriginError(`origin: bad local package entry '${v}' (expected SHA256:NEVRA)`);
    return { sha256: v.slice(0, 64), nevra: v.slice(65) };
  });
}

/** Reads a deployment origin (plain ostree or layered); null when it names no base. */
export function parseLayerRequest(origin: KeyFile | null): LayerRequest | null {
  if (!origin) return null;
  const baseRefspec = origin.get("origin", "baserefspec") ?? origin.get("origin", "refspec");
  if (!baseRefspec) return null;
  return {
    baseRefspec,
    baseCommit: origin.get("origin", "override-commit"),
    packages: origin.getList("packages", "requested") ?? [],
    localPackages: parseLocal(origin.getList("packages", "requested-local")),
    removals: origin.getList("overrides", "remove") ?? [],
    replacements: parseLocal(origin.getList("overrides", "replace-local")),
  };
}

/**
 * The origin file of a deployment made from `r`, keeping every group and key of `previous` that
 * this module does not own (custom keys, ostree's transient group is dropped as on upgrade).
 */
export function formatLayerRequest(r: LayerRequest, previous: KeyFile | null = null): KeyFile {
  const kf = KeyFile.parse(previous?.toString() ?? "");
  kf.remove("libostree-transient");
  kf.remove("origin", "refspec");
  kf.remove("origin", "baserefspec");
  kf.remove("origin", "override-commit");
  kf.remove("origin", "unlocked");
  kf.remove("packages");
  kf.remove("overrides");
  if (isPlainBase(r)) kf.set("origin", "refspec", r.baseRefspec);
  else kf.set("origin", "baserefspec", r.baseRefspec);
  if (r.baseCommit) kf.set("origin", "override-commit", r.baseCommit);
  const local = (l: LocalPackage[]) => l.map((p) => `${p.sha256}:${p.nevra}`);
  if (r.packages.length) kf.setList("packages", "requested", r.packages);
  if (r.localPackages.length) kf.setList("packages", "requested-local", local(r.localPackages));
  if (r.removals.length) kf.setList("overrides", "remove", r.removals);
  if (r.replacements.length) kf.setList("overrides", "replace-local", local(r.replacements));
  return kf;
}
