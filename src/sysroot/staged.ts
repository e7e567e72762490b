// Staged deployments (`ostree admin deploy --stage`): the tree is checked out now, but the /etc
// merge and the boot entries wait for shutdown, so config edits made until then are not lost.
// The plan lives in RUN/ostree/staged-deployment as ostree's own a{sv} GVariant; a simulated
// boot (`admin boot`) finalizes it the way ostree-finalize-staged.service does at shutdown.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { removeTree } from "../util/remove-tree.js";
import { bumpMtime } from "./bootswap.js";
import { cleanupSysroot } from "./cleanup.js";
import { commitDeploymentList, finalizeDeployment, simpleDeploymentList } from "./deploy.js";
import { type Deployment, sameDeployment } from "./deployment.js";
import { faultPoint } from "./fault.js";
import { readPlan, serializePlan, stagedLockedPath, stagedPath } from "./staged-plan.js";
import { Sysroot, SysrootError } from "./sysroot.js";

/** Records `d` (initialized, not finalized) as the staged deployment, replacing an older one. */
export async function writeStaged(
  s: Sysroot,
  d: Deployment,
  merge: Deployment | null,
  kargs: string | null,
): Promise<void> {
  const p = stagedPath(s.path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileAtomic(p, serializePlan(d, merge, kargs === null ? null : kargs.split(" ").filter(Boolean)), {
    fsync: false,
  });
  faultPoint("staged-written");
  const old = s.deployments.find((x) => x.staged);
  if (old && !sameDeployment(old, d)) {
    removeTree(s.deploymentDir(old));
    rmSync(s.originFile(old), { force: true });
  }
  bumpMtime(s.path);
  await cleanupSysroot(Sysroot.load(s.path));
}

/** ostree-finalize-staged at (simulated) shutdown: /etc merge now, then the boot entries. */
export async function finalizeStaged(s: Sysroot): Promise<Deployment | null> {
  const staged = s.deployments.find((d) => d.staged);
  if (!staged || existsSync(stagedLockedPath(s.path))) return null;
  const plan = readPlan(s.path);
  const merge = plan?.merge
    ? s.deployments.find(
        (d) =>
          !d.staged &&
          d.osname === plan.merge!.osname &&
          d.csum === plan.merge!.csum &&
          d.deployserial === plan.merge!.serial,
      )
    : null;
  if (plan?.merge && !merge)
    throw new SysrootError(
      `Failed to find merge deployment ${plan.merge.csum}.${plan.merge.serial} for staged`,
    );
  // Unlinked first, like ostree: an interrupted finalization must not be retried half-merged.
  rmSync(stagedPath(s.path), { force: true });
  const current = s.deployments.filter((d) => !d.staged);
  const d: Deployment = { ...staged, staged: false };
  await finalizeDeployment(s, d, merge ?? null);
  const list = simpleDeploymentList(
    { deployments: current, booted: s.booted },
    d.osname,
    d,
    merge ?? null,
    {},
  );
  s.deployments.splice(0, s.deployments.length, ...current);
  await commitDeploymentList(s, list, false);
  return d;
}
