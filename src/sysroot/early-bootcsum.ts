// The boot checksum computed from the repository while the checkout runs: the kernel files are
// objects already (bare and bare-user store regular files verbatim), so a worker thread can hash
// them in parallel with the hardlink farm being written. Only a hint: the deploy uses it when the
// checked-out tree's kernel turns out to be the same KVER, and hashes the tree otherwise.
import { Worker } from "node:worker_threads";
import type { Repo } from "../repo/repo.js";
import { findChild, lookupPath, PathNotFoundError, rootEntry } from "../repo/walk.js";

export interface EarlyBootcsum {
  kver: string;
  bootcsum: Promise<string | null>;
}

export function startEarlyBootcsum(repo: Repo, commit: string): EarlyBootcsum | null {
  if (repo.mode !== "bare" && repo.mode !== "bare-user") return null;
  try {
    const modules = lookupPath(repo, rootEntry(repo, commit), "/usr/lib/modules");
    if (modules.kind !== "dir") return null;
    const tree = repo.loadDirTree(modules.tree);
    for (const [kver, t] of tree.dirs) {
      const dir = repo.loadDirTree(t);
      const kernel = findChild(dir, "/", "vmlinuz");
      if (kernel?.kind !== "file") continue;
      // devicetree/dtb layouts are rare; leave them to the exact path.
      if (findChild(dir, "/", "devicetree") || findChild(dir, "/", "dtb")) return null;
      const initrd = findChild(dir, "/", "initramfs.img") ?? findChild(dir, "/", "initramfs");
      const files = [kernel, ...(initrd?.kind === "file" ? [initrd] : [])].map((f) =>
        repo.objectPath((f as { checksum: string }).checksum, "file"),
      );
      const worker = new Worker(new URL("./bootcsum-worker.js", import.meta.url), { workerData: files });
      const bootcsum = new Promise<string | null>((resolve) => {
        worker.once("message", (m) => resolve(m as string));
        worker.once("error", () => resolve(null));
        worker.once("exit", () => resolve(null));
      });
      return { kver, bootcsum };
    }
  } catch {
    // Anything unexpected: the checkout-side computation is authoritative anyway.
  }
  return null;
}

/** Where a tree's kernel may be (kernel.ts): equal subtrees here give the same kernel and bootcsum. */
const KERNEL_DIRS = ["/usr/lib/modules", "/usr/lib/ostree-boot", "/boot"];

function kernelTrees(repo: Repo, commit: string): string {
  const root = rootEntry(repo, commit);
  return KERNEL_DIRS.map((p) => {
    try {
      const e = lookupPath(repo, root, p);
      return e.kind === "dir" ? e.tree : `file ${e.checksum}`;
    } catch (err) {
      if (err instanceof PathNotFoundError) return "none";
      throw err;
    }
  }).join(" ");
}

/**
 * The boot checksum of a deployment whose commit has the same kernel directories as `commit`
 * (equal dirtrees, so the same files), without hashing anything: a layered commit keeps its base's
 * kernel. Null when no deployment shares them.
 */
export function knownBootcsum(
  repo: Repo,
  commit: string,
  deployments: readonly { csum: string; bootcsum: string }[],
): string | null {
  if (deployments.length === 0) return null;
  try {
    const key = kernelTrees(repo, commit);
    for (const d of deployments) if (d.bootcsum && kernelTrees(repo, d.csum) === key) return d.bootcsum;
  } catch {
    // An unreadable commit: the tree's own hash decides.
  }
  return null;
}
