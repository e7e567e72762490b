// Turning a checkout of one commit into a checkout of another in place: only the directories whose
// dirtree or dirmeta checksums differ are visited, so the cost follows the size of the change (a
// layered commit over its base: the packages' files and the package databases), not of the tree.
// The result is the tree a fresh checkout of `to` gives with the same options: the same entries,
// modes, owners and xattrs, and ostree's mtime 0 on every directory touched. Files are replaced by
// unlink + link (or copy), never written in place: they share inodes with the object store.
import { accessSync, chmodSync, constants, lstatSync, rmSync } from "node:fs";
import { Checkout, CheckoutError, type CheckoutOptions } from "./checkout.js";
import { resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";
import { lookupPath, rootEntry } from "./walk.js";

export interface CheckoutDiffStats {
  /** Directories whose entries or metadata were compared. */
  dirs: number;
  /** Files placed into directories that existed (added or replaced); new subtrees not counted. */
  placed: number;
  /** Files and directories removed. */
  removed: number;
}

/**
 * Makes `dest`, a complete checkout of `from` (made with the same `opts`), a checkout of `to`
 * (of their `opts.subpath`, which must be a directory in both). `opts.union` is implied. A failure
 * leaves `dest` partly changed: callers discard it.
 */
export async function applyCheckoutDiff(
  repo: Repo,
  from: string,
  to: string,
  dest: string,
  opts: Omit<CheckoutOptions, "union" | "unionAdd" | "intoEmpty" | "allowNoent">,
): Promise<CheckoutDiffStats> {
  const entry = (rev: string) => {
    const root = rootEntry(repo, resolveRev(repo, rev) as string);
    return opts.subpath && opts.subpath !== "/" ? lookupPath(repo, root, opts.subpath) : root;
  };
  const a = entry(from);
  const b = entry(to);
  const stats: CheckoutDiffStats = { dirs: 0, placed: 0, removed: 0 };
  if (a.kind !== "dir" || b.kind !== "dir")
    throw new CheckoutError(`${opts.subpath} is not a directory in both commits`);
  const co = new Checkout(repo, { ...opts, union: true });
  update(repo, co, stats, dest, a, b);
  await co.finish();
  return stats;
}

type DirEntry = { tree: string; meta: string };

function update(
  repo: Repo,
  co: Checkout,
  stats: CheckoutDiffStats,
  path: string,
  a: DirEntry,
  b: DirEntry,
): void {
  if (a.tree === b.tree && a.meta === b.meta) return;
  stats.dirs++;
  if (a.tree !== b.tree) {
    writable(path);
    const oldTree = repo.loadDirTree(a.tree);
    const newTree = repo.loadDirTree(b.tree);
    const oldFiles = new Map(oldTree.files);
    const oldDirs = new Map(oldTree.dirs.map(([n, t, m]) => [n, { tree: t, meta: m }]));
    const newNames = new Set([...newTree.files.map(([n]) => n), ...newTree.dirs.map(([n]) => n)]);
    for (const name of [...oldFiles.keys(), ...oldDirs.keys()])
      if (!newNames.has(name)) remove(`${path}/${name}`, stats);
    for (const [name, csum] of newTree.files) {
      if (oldFiles.get(name) === csum) continue;
      // A directory of that name goes first; a file is replaced by the link itself (union).
      if (oldDirs.has(name)) remove(`${path}/${name}`, stats);
      co.file(csum, `${path}/${name}`);
      stats.placed++;
    }
    for (const [name, tree, meta] of newTree.dirs) {
      const old = oldDirs.get(name);
      if (old) {
        update(repo, co, stats, `${path}/${name}`, old, { tree, meta });
        continue;
      }
      if (oldFiles.has(name)) remove(`${path}/${name}`, stats);
      co.dir({ kind: "dir", name, path: "", tree, meta }, `${path}/${name}`, false);
    }
  }
  // Entries changed (the mtime moved) or the metadata did: as a checkout leaves it.
  co.applyDirMeta(path, repo.loadDirMeta(b.meta));
}

/**
 * Without root, a read-only directory (0555) of the checkout takes no new entries: open it for the
 * change (applyDirMeta sets its mode again afterwards).
 */
function writable(path: string): void {
  if (process.geteuid?.() === 0) return;
  try {
    accessSync(path, constants.W_OK);
  } catch {
    chmodSync(path, 0o700);
  }
}

function remove(path: string, stats: CheckoutDiffStats): void {
  stats.removed++;
  if (lstatSync(path, { throwIfNoEntry: false })) rmSync(path, { recursive: true, force: true });
}
