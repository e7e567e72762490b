// Removing a directory tree, as the sysroot and layering code remove deployments, hardlink farms
// and checkouts: rm -rf in C (native/remove_tree.c).
import { spawnSync } from "node:child_process";
import { constants } from "node:os";
import { errnoError, errnoName } from "./errno.js";
import { removeTreeAt, removeTreeAtAsync } from "./native.js";

/**
 * rm -rf (in C: native/remove_tree.c) that also clears the immutable attribute ostree puts on
 * deployment roots (our own deployments in a sandbox never get it; see docs/sysroot.md).
 */
export function removeTree(path: string): void {
  let err = removeTreeAt(path);
  if (err === constants.errno.EPERM || err === constants.errno.EACCES) {
    spawnSync("chattr", ["-i", path], { stdio: "ignore" });
    err = removeTreeAt(path);
  }
  if (err) throw errnoError(errnoName(err), "rm -rf", path);
}

/** removeTree on a pool thread, for removals this thread has other work to do beside. */
export async function removeTreeAsync(path: string): Promise<void> {
  // What the pool could not remove (an immutable root, say) goes the synchronous way, which
  // clears the attribute or says why not.
  if ((await removeTreeAtAsync(path)) !== 0) removeTree(path);
}
