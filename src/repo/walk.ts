// Walking a commit's tree of dirtree objects: path lookup and a depth-first walk in the order ostree
// itself enumerates (each directory's files, then its subdirectories, in dirtree order). Nothing
// here reads file content; callers decide whether they need the file objects' metadata.
import type { DirTree } from "./objects.js";
import { type Repo, RepoError } from "./repo.js";

export type TreeEntry =
  | { kind: "file"; name: string; path: string; checksum: string }
  | { kind: "dir"; name: string; path: string; tree: string; meta: string };

export class PathNotFoundError extends RepoError {
  override name = "PathNotFoundError";
  constructor(readonly treePath: string) {
    super(`No such file or directory: ${treePath}`);
  }
}

/** Splits a tree path (`/usr/bin`, `usr/bin/`, `.`) into its names. */
export function splitTreePath(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

export function joinTreePath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** The root directory of a commit as a tree entry. */
export function rootEntry(repo: Repo, commit: string): TreeEntry {
  const c = repo.loadCommit(commit);
  return { kind: "dir", name: "", path: "/", tree: c.rootTree, meta: c.rootMeta };
}

/** Looks up a path below a directory entry; symlinks are not followed. */
export function lookupPath(repo: Repo, root: TreeEntry, path: string): TreeEntry {
  let cur = root;
  for (const name of splitTreePath(path)) {
    if (cur.kind !== "dir") throw new PathNotFoundError(joinTreePath(cur.path, name));
    const child = findChild(repo.loadDirTree(cur.tree), cur.path, name);
    if (!child) throw new PathNotFoundError(joinTreePath(cur.path, name));
    cur = child;
  }
  return cur;
}

/** The entry named `name` in a dirtree, or null. */
export function findChild(tree: DirTree, parentPath: string, name: string): TreeEntry | null {
  const path = joinTreePath(parentPath, name);
  const f = tree.files.find(([n]) => n === name);
  if (f) return { kind: "file", name, path, checksum: f[1] };
  const d = tree.dirs.find(([n]) => n === name);
  if (d) return { kind: "dir", name, path, tree: d[1], meta: d[2] };
  return null;
}

/** The children of a directory entry, files first, each group in dirtree (strcmp) order. */
export function children(tree: DirTree, parentPath: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  for (const [name, checksum] of tree.files)
    out.push({ kind: "file", name, path: joinTreePath(parentPath, name), checksum });
  for (const [name, t, m] of tree.dirs)
    out.push({ kind: "dir", name, path: joinTreePath(parentPath, name), tree: t, meta: m });
  return out;
}

/**
 * Yields every entry below `dir` (not `dir` itself), pre-order: each child, and right after a
 * directory child, its own contents when `maxDepth` allows (-1 = unlimited, 1 = children only).
 */
export function* walk(repo: Repo, dir: TreeEntry, maxDepth = -1): Generator<TreeEntry> {
  if (dir.kind !== "dir" || maxDepth === 0) return;
  for (const child of children(repo.loadDirTree(dir.tree), dir.path)) {
    yield child;
    if (child.kind === "dir") yield* walk(repo, child, maxDepth < 0 ? -1 : maxDepth - 1);
  }
}
