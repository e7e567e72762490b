// Overrides of base packages (`override remove`, `override replace`): the base package's files go
// from the layered tree before the union (a replacement's files then land where they were), its
// entries go from the native and our package database, and no remaining package may lose what it
// depends on. Directories stay: other packages may share them, and an empty directory costs nothing.
import type { PackageSet, PkgVersion } from "../packages/index.js";
import type { Dep } from "../packages/model.js";
import type { PackageDb } from "../packages/pkgdb.js";
import type { MutableTree } from "../repo/mtree.js";
import { relocatedPath } from "./relocate.js";
import { resolveDirLink } from "./union.js";

export class OverrideError extends Error {
  override name = "OverrideError";
}

/** The installed set without the named packages (what the resolver starts from after an override). */
export function withoutPackages(set: PackageSet, names: ReadonlySet<string>): PackageSet {
  if (!names.size) return set;
  const keep = (v: PkgVersion) => !names.has(v.name);
  return {
    id: set.id,
    byName: (n) => set.byName(n).filter(keep),
    providers: (n) => set.providers(n).filter((h) => keep(h.pkg)),
    fileOwners: set.fileOwners ? (p) => set.fileOwners!(p).filter(keep) : undefined,
    all: () => [...(set.all?.() ?? [])].filter(keep),
  };
}

function satisfied(d: Dep, have: (name: string) => boolean): boolean {
  switch (d.kind) {
    case "atom":
      return have(d.atom.name);
    case "or":
      return d.terms.some((t) => satisfied(t, have));
    case "and":
    case "with":
      return d.terms.every((t) => satisfied(t, have));
    default:
      // Rich conditionals (if/unless/without): not judged here; the resolver checked the request.
      return true;
  }
}

/**
 * Refuses removals that leave a remaining package without something it depends on, naming both:
 * `remaining` is the installed set after the override plus what the transaction installs.
 */
export function checkRemovals(removed: ReadonlySet<string>, remaining: readonly PkgVersion[]): void {
  const names = new Set<string>();
  for (const v of remaining) {
    names.add(v.name);
    for (const p of v.provides) names.add(p.name);
  }
  const have = (n: string) => names.has(n) || n.startsWith("rpmlib(") || n.startsWith("/");
  const broken: string[] = [];
  for (const v of remaining)
    for (const d of [...(v.relations["pre-depends"] ?? []), ...(v.relations.depends ?? [])])
      if (!satisfied(d, have)) {
        // Only what the override takes away counts; the base's own loose ends are not ours to judge.
        const gone = [...removed].filter((r) => mentions(d, r));
        if (gone.length) broken.push(`${v.name} depends on ${gone.join(", ")}`);
      }
  if (broken.length)
    throw new OverrideError(
      `removing ${[...removed].join(", ")} would break ${broken.join("; ")}; remove those packages too or keep it`,
    );
}

function mentions(d: Dep, name: string): boolean {
  if (d.kind === "atom") return d.atom.name === name;
  if ("terms" in d) return d.terms.some((t) => mentions(t, name));
  return false;
}

/** Removes the files (not directories) of the named base packages from the tree. */
export function removePackageFiles(
  root: MutableTree,
  db: PackageDb,
  names: readonly string[],
  symlinkTarget: (csum: string) => string | null,
): number {
  let n = 0;
  for (const name of names) {
    const files = db.files(name);
    // A path the package has children under is one of its directories, whatever is on disk now
    // (usrmerge makes /bin a symlink to usr/bin: removing it would take every program along).
    const dirs = new Set(files.flatMap((f) => parents(f.path)));
    for (const f of files) {
      if (f.type === "dir" || dirs.has(f.path)) continue;
      const rel = relocatedPath(f.path);
      const slash = rel.lastIndexOf("/");
      const parent = slash < 0 ? "" : rel.slice(0, slash);
      const dir = resolveDirLink(root, [], parent, { symlinkTarget });
      if (dir?.tree.removeChild(rel.slice(slash + 1))) n++;
    }
  }
  return n;
}

/** "/a/b/c" → ["/a", "/a/b"]. */
function parents(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf("/", 1); i > 0; i = path.indexOf("/", i + 1)) out.push(path.slice(0, i));
  return out;
}
