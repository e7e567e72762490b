// The read-only lower layers the script sandbox mounts its overlay on, without checking out the
// whole tree for every transaction: a hardlink checkout of the base commit, made once per base and
// kept under REPO/tmp, below a small "delta" checkout of only what the layered tree has that the base
// has not (the packages' files, the directories they change, the package databases). Overlayfs
// merges the two into the layered tree. What a delta cannot express without whiteouts — a path of
// the base the layered tree lacks, or a file that became a directory — makes the caller fall back to
// a full checkout.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { checkout, checkoutTree } from "../repo/checkout.js";
import type { MemoryTreeSink } from "../repo/memory-sink.js";
import { MutableTree, type TreeSource } from "../repo/mtree.js";
import type { Repo } from "../repo/repo.js";
import { removeTree } from "../util/remove-tree.js";

interface Root {
  tree: string;
  meta: string;
}

const PREFIX = "tsostree-lower-";

/**
 * The delta of `next` over `base` as a tree of its own (only changed entries; new subtrees attached
 * by checksum), or null when it would need whiteouts.
 */
export function deltaTree(source: TreeSource, next: Root, base: Root): MutableTree | null {
  const root = MutableTree.empty(next.meta, source);
  return fill(source, next.tree, base.tree, root) ? root : null;
}

function fill(source: TreeSource, nextTree: string, baseTree: string, node: MutableTree): boolean {
  const a = source.loadDirTree(nextTree);
  const b = source.loadDirTree(baseTree);
  const baseFiles = new Map(b.files);
  const baseDirs = new Map(b.dirs.map(([n, t, m]) => [n, { t, m }]));
  const nextNames = new Set([...a.files.map(([n]) => n), ...a.dirs.map(([n]) => n)]);
  for (const [name] of [...b.files, ...b.dirs]) if (!nextNames.has(name)) return false;
  for (const [name, csum] of a.files) {
    if (baseDirs.has(name)) return false;
    if (baseFiles.get(name) !== csum) node.replaceFile(name, csum);
  }
  for (const [name, t, m] of a.dirs) {
    if (baseFiles.has(name)) return false;
    const had = baseDirs.get(name);
    if (had && had.t === t && had.m === m) continue;
    const child = node.ensureChild(name, m);
    if (!had) child.overlay(t, m);
    else if (had.t !== t && !fill(source, t, had.t, child)) return false;
  }
  return true;
}

/**
 * The hardlink checkout of `base` under REPO/tmp, made now if missing (atomically: checkout renames
 * it into place complete). Checkouts of other bases are removed: one base is layered at a time.
 */
export async function baseLower(repo: Repo, base: string, userMode: boolean): Promise<string> {
  const name = `${PREFIX}${base}${userMode ? "-u" : ""}`;
  const path = join(repo.tmpDir(), name);
  if (existsSync(path)) return path;
  dropBaseLowers(repo, name);
  await checkout(repo, base, path, { userMode });
  return path;
}

/** Removes the cached base checkouts (but `keep`). */
export function dropBaseLowers(repo: Repo, keep?: string): void {
  if (!existsSync(repo.tmpDir())) return;
  for (const old of readdirSync(repo.tmpDir()))
    if (old.startsWith(PREFIX) && old !== keep) removeTree(join(repo.tmpDir(), old));
}

/**
 * The lower layers for `next` (top first): [delta, base checkout] when the delta can express it, else
 * null (check out the whole tree instead). `deltaDir` must not exist.
 */
export async function layeredLowers(
  repo: Repo,
  memory: MemoryTreeSink,
  next: Root,
  base: string,
  deltaDir: string,
  userMode: boolean,
): Promise<string[] | null> {
  const c = repo.loadCommit(base);
  const delta = deltaTree(memory, next, { tree: c.rootTree, meta: c.rootMeta });
  if (!delta) return null;
  const d = delta.write(memory);
  const lower = await baseLower(repo, base, userMode);
  await checkoutTree(repo, memory, d, deltaDir, { userMode });
  return [deltaDir, lower];
}
