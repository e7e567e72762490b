// What applying commit TO live on top of FROM would do, decided from the dirtree diff alone (equal
// subtree checksums end the descent, so the cost follows the change): additions go live; package
// databases and /usr/etc defaults are updated by atomic replacement (they only describe the new
// state); any other modified or removed path, or a changed mode, owner or symlink target, is a
// replacement that needs --allow-replacement; a path that changes type is always refused.
import { diffCommits } from "../repo/diff.js";
import type { Repo } from "../repo/repo.js";
import { children, PathNotFoundError, rootEntry, type TreeEntry, walk } from "../repo/walk.js";

/** Files that record the package set: always updated with it, by rename. */
const DATABASE_DIRS = ["/usr/lib/sysimage/rpm/", "/usr/share/dpkg/database/", "/usr/lib/sysimage/tsostree/"];

export interface LivePlan {
  from: string;
  to: string;
  /** Roots of added subtrees (an added directory stands for everything below it). */
  added: string[];
  /** Every added path, roots and what is below them. */
  addedAll: string[];
  /** Package databases and /usr/etc defaults: replaced without asking. */
  updated: string[];
  /** Modified paths that need --allow-replacement ("/usr/bin/sed (content)"). */
  replaced: string[];
  /** Removed paths (roots), which need --allow-replacement (or an `uninstall --apply-live`). */
  removed: string[];
  /** Every removed path, roots and what was below them (the diff names only the roots). */
  removedAll: string[];
  /** Paths whose type changes (file ↔ directory): never applied live. */
  typeChanged: string[];
  /** Added files below /usr/etc, which also go to /etc where absent. */
  etcAdded: string[];
  /** The entry of a path in `to`. */
  entry: (path: string) => TreeEntry;
}

/**
 * Entries of one commit by path, each directory read once: a run looks up many paths of the same
 * few directories (the added libraries all sit in one /usr/lib/…), which are as big as the base.
 */
export function entryLookup(repo: Repo, commit: string): (path: string) => TreeEntry {
  const root = rootEntry(repo, commit);
  const dirs = new Map<string, Map<string, TreeEntry>>();
  const get = (path: string): TreeEntry => {
    if (path === "/") return root;
    const i = path.lastIndexOf("/");
    const parentPath = i === 0 ? "/" : path.slice(0, i);
    const parent = get(parentPath);
    if (parent.kind !== "dir") throw new PathNotFoundError(path);
    let names = dirs.get(parentPath);
    if (!names) {
      names = new Map(children(repo.loadDirTree(parent.tree), parentPath).map((e) => [e.name, e]));
      dirs.set(parentPath, names);
    }
    const e = names.get(path.slice(i + 1));
    if (!e) throw new PathNotFoundError(path);
    return e;
  };
  return get;
}

const under = (p: string, dirs: string[]) => dirs.some((d) => p.startsWith(d));

/** Only the roots: paths whose parent is not in the list too. */
function roots(paths: string[]): string[] {
  const set = new Set(paths);
  return paths.filter((p) => !set.has(p.slice(0, p.lastIndexOf("/")) || "/"));
}

export function planLive(repo: Repo, from: string, to: string): LivePlan {
  const d = diffCommits(repo, from, to);
  const a = entryLookup(repo, from);
  const b = entryLookup(repo, to);
  const plan: LivePlan = {
    from,
    to,
    added: roots(d.added),
    addedAll: d.added,
    updated: [],
    replaced: [],
    removed: roots(d.removed),
    removedAll: d.removed.flatMap((p) => {
      return [p, ...[...walk(repo, a(p))].map((x) => x.path)];
    }),
    typeChanged: [],
    etcAdded: d.added.filter((p) => p.startsWith("/usr/etc/")),
    entry: b,
  };
  for (const p of d.modified) {
    const ea = a(p);
    const eb = b(p);
    if (ea.kind !== eb.kind) plan.typeChanged.push(p);
    else if (eb.kind === "file" && under(p, [...DATABASE_DIRS, "/usr/etc/"])) plan.updated.push(p);
    else plan.replaced.push(p);
  }
  return plan;
}

/** What --allow-replacement would allow, one line per path, for the refusal message. */
export function needsReplacement(plan: LivePlan, removalAllowed = false): string[] {
  const removed = removalAllowed ? [] : plan.removed.map((p) => `${p} (removed)`);
  return [...plan.replaced.map((p) => `${p} (modified)`), ...removed];
}

/** Paths for a message: at most 10 named, then how many more. */
export function pathList(paths: string[], sep = " "): string {
  const more = paths.length > 10 ? ` and ${paths.length - 10} more` : "";
  return `${paths.slice(0, 10).join(sep)}${more}`;
}
