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
import type { MutableTree } from "../repo/mtree.js";
import type { Repo } from "../repo/repo.js";
import { removeTree } from "../util/remove-tree.js";

const PREFIX = "tsostree-lower-";

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
 * The lower layers for `tree` (top first): [delta, base checkout] when a tree of additions over
 * `base` can express it (MutableTree.deltaOver: its dirtrees go to `memory`), else null (check out
 * the whole tree instead). `deltaDir` must not exist.
 */
export async function layeredLowers(
  repo: Repo,
  memory: MemoryTreeSink,
  tree: MutableTree,
  base: string,
  deltaDir: string,
  userMode: boolean,
): Promise<string[] | null> {
  const delta = tree.deltaOver(repo.loadCommit(base).rootTree, memory);
  if (!delta) return null;
  const d = delta.write(memory);
  const lower = await baseLower(repo, base, userMode);
  await checkoutTree(repo, memory, d, deltaDir, { userMode });
  return [deltaDir, lower];
}
