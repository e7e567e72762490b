// Reachability: every object a commit needs (its dirtrees, dirmetas and file objects) and,
// to a depth, its ancestors. fsck and prune are built on it. Missing parents end the walk quietly,
// as in ostree (history may be shallow); missing objects of partial commits are skipped.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ObjectType } from "./objects.js";
import type { Repo } from "./repo.js";

/** Object names as `CHECKSUM.TYPE`, ostree's spelling in messages and on disk. */
export type ObjectName = string;

export function objectName(csum: string, type: ObjectType): ObjectName {
  return `${csum}.${type}`;
}

export function parseObjectName(name: ObjectName): { checksum: string; type: ObjectType } {
  const i = name.indexOf(".");
  return { checksum: name.slice(0, i), type: name.slice(i + 1) as ObjectType };
}

export function isPartialCommit(repo: Repo, csum: string): boolean {
  return existsSync(join(repo.path, "state", `${csum}.commitpartial`));
}

export interface TraverseOptions {
  /** Ancestors to include: 0 = the commit only, -1 = all. */
  depth?: number;
  /**
   * Called for every (object, parent) edge, as ostree records them: a commit's root dirtree and
   * dirmeta have the commit as parent, everything else the dirtree that lists it. Edges into an
   * already-reached dirtree are reported too (its subtree is not walked again).
   */
  onParent?: (name: ObjectName, parent: ObjectName) => void;
  /** Objects that could not be read are reported here instead of failing the walk. */
  onMissing?: (name: ObjectName) => void;
}

/**
 * Adds to `reachable` every object of `commit` (and its ancestors, per depth). Like ostree, the
 * walk stops at a commit already reached or not present (history may be shallow), and a partial
 * commit's missing objects are not errors.
 */
export function traverseCommit(
  repo: Repo,
  commit: string,
  reachable: Set<ObjectName>,
  opts: TraverseOptions = {},
): void {
  let depth = opts.depth ?? 0;
  let csum: string | null = commit;
  while (csum) {
    const cname = objectName(csum, "commit");
    if (reachable.has(cname) || !repo.hasObject(csum, "commit")) return;
    reachable.add(cname);
    let c: ReturnType<Repo["loadCommit"]>;
    try {
      c = repo.loadCommit(csum);
    } catch (e) {
      // An unreadable commit is reported like a missing one when the caller collects problems.
      if (!opts.onMissing) throw e;
      opts.onMissing(cname);
      return;
    }
    const tolerant = isPartialCommit(repo, csum) ? { ...opts, onMissing: () => {} } : opts;
    walkDir(repo, c.rootTree, c.rootMeta, cname, reachable, tolerant);
    if (depth === 0) return;
    if (depth > 0) depth--;
    csum = c.parent;
  }
}

function walkDir(
  repo: Repo,
  tree: string,
  meta: string,
  parent: ObjectName,
  reachable: Set<ObjectName>,
  opts: TraverseOptions,
): void {
  const metaName = objectName(meta, "dirmeta");
  opts.onParent?.(metaName, parent);
  reachable.add(metaName);
  const treeName = objectName(tree, "dirtree");
  opts.onParent?.(treeName, parent);
  if (reachable.has(treeName)) return;
  reachable.add(treeName);
  let t: ReturnType<Repo["loadDirTree"]>;
  try {
    t = repo.loadDirTree(tree);
  } catch (e) {
    if (!opts.onMissing) throw e;
    opts.onMissing(treeName);
    return;
  }
  for (const [, csum] of t.files) {
    const n = objectName(csum, "file");
    opts.onParent?.(n, treeName);
    reachable.add(n);
  }
  for (const [, st, sm] of t.dirs) walkDir(repo, st, sm, treeName, reachable, opts);
}

const LISTED: Record<string, ObjectType> = {
  file: "file",
  filez: "file",
  dirtree: "dirtree",
  dirmeta: "dirmeta",
  commit: "commit",
};

/** Every loose object in the repo (commitmeta and other side files excluded, as in ostree). */
export function listObjects(repo: Repo): ObjectName[] {
  const out: ObjectName[] = [];
  const objdir = join(repo.path, "objects");
  for (const prefix of readdirSync(objdir)) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    for (const f of readdirSync(join(objdir, prefix))) {
      const dot = f.indexOf(".");
      const ext = f.slice(dot + 1);
      const type = LISTED[ext];
      if (!type || dot !== 62) continue;
      if ((ext === "filez") !== repo.isArchive && type === "file") continue;
      out.push(objectName(prefix + f.slice(0, dot), type));
    }
  }
  return out;
}
