// The base commit checked out as the future deployment while the layered commit is still being
// assembled. A layering transaction knows its base long before its commit: the native tree walk
// (checkout_tree.c, on a pool thread) writes the base's hardlink farm, the part of a deploy that
// grows with the base, in parallel with fetching, importing, scripts and the commit; the deploy
// then renames it into place and changes only what the layered commit changed (checkout-diff.ts).
//
// The directory is named as a deployment of the base commit with a serial no deployment has
// (CSUM.SERIAL), so that a transaction killed before the deploy leaves a directory that our cleanup
// and ostree's both recognize as unreferenced and remove.
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { CheckoutError, checkout } from "../repo/checkout.js";
import { applyCheckoutDiff } from "../repo/checkout-diff.js";
import { PathNotFoundError } from "../repo/walk.js";
import { syncfsPathAsync } from "../util/atomic.js";
import { removeTree } from "../util/remove-tree.js";
import { allocateDeployserial, checkoutMode } from "./deploy.js";
import { prepareEtc } from "./etc-merge.js";
import { faultPoint } from "./fault.js";
import { deploymentRelPath, stateroot } from "./layout.js";
import type { Sysroot } from "./sysroot.js";

export interface EarlyCheckout {
  readonly base: string;
  readonly dir: string;
  /** True once the checkout is complete; false when it failed (its directory is gone then). */
  ready: Promise<boolean>;
  /** Set once a deploy took the directory over. */
  taken: boolean;
  /** Whether its /etc was made from usr/etc (the base has usr/etc and no /etc of its own). */
  etcMade: boolean;
  /** Stops the checkout where it is (discardEarlyCheckout). */
  readonly abort: AbortController;
}

/** Starts checking out `base` for a deployment in `osname`; null when the stateroot has no deploy dir. */
export function startEarlyCheckout(s: Sysroot, osname: string, base: string): EarlyCheckout | null {
  const deployDir = join(stateroot(s.path, osname), "deploy");
  const dir = join(s.path, deploymentRelPath(osname, base, allocateDeployserial(s, osname, base)));
  try {
    mkdirSync(deployDir, { recursive: true, mode: 0o775 });
    mkdirSync(dir, { mode: 0o755 });
  } catch {
    return null;
  }
  // The walk runs in C on a pool thread (checkout_tree.c), then /etc is copied from usr/etc
  // (copy_tree.c), then what they wrote starts going to disk (syncfs on the pool, so the deploy's
  // own syncfs has little left): nothing of it on this thread.
  const abort = new AbortController();
  const e: EarlyCheckout = { base, dir, ready: Promise.resolve(false), taken: false, etcMade: false, abort };
  const signal = abort.signal;
  e.ready = checkout(s.repo, base, dir, { ...checkoutMode(s), union: true, intoEmpty: true, signal })
    .then(async () => {
      signal.throwIfAborted();
      // A base shipping a lone /etc keeps it: the deploy moves and copies it as ostree does.
      if (existsSync(join(dir, "etc")) || !existsSync(join(dir, "usr/etc"))) return;
      await prepareEtc(dir);
      e.etcMade = true;
    })
    .then(() => {
      signal.throwIfAborted();
      return syncfsPathAsync(dir);
    })
    .then(
      () => true,
      () => {
        removeTree(dir);
        return false;
      },
    );
  return e;
}

/**
 * Fills `root` (which must not exist) with a checkout of `commit` and its /etc made from usr/etc:
 * the early checkout renamed and changed from its base to `commit`. False when the early checkout
 * failed: the caller checks out.
 */
export async function takeEarlyCheckout(
  e: EarlyCheckout,
  s: Sysroot,
  commit: string,
  root: string,
): Promise<boolean> {
  const repo = s.repo;
  if (!(await e.ready)) return false;
  e.taken = true;
  renameSync(e.dir, root);
  faultPoint("early-checkout");
  const mode = checkoutMode(s);
  await applyCheckoutDiff(repo, e.base, commit, root, mode);
  // /etc, a copy of the base's usr/etc: the same changes, as copies.
  const etc = join(root, "etc");
  if (!e.etcMade) {
    await prepareEtc(root);
    return true;
  }
  try {
    await applyCheckoutDiff(repo, e.base, commit, etc, { ...mode, subpath: "/usr/etc", forceCopy: true });
  } catch (err) {
    if (!(err instanceof PathNotFoundError) && !(err instanceof CheckoutError)) throw err;
    // usr/etc appeared, went or stopped being a directory: make /etc afresh.
    removeTree(etc);
    await prepareEtc(root);
  }
  return true;
}

/** Removes an early checkout no deploy took, stopping it first where it is. */
export async function discardEarlyCheckout(e: EarlyCheckout | null): Promise<void> {
  if (!e || e.taken) return;
  e.abort.abort();
  if (await e.ready) removeTree(e.dir);
}
