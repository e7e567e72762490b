// `admin boot` — a simulated reboot of a sandbox sysroot, so rollback, the /etc merge and
// live-apply can be exercised without a machine. It does to SYSROOT what a boot does: /run starts
// empty, the chosen boot entry's deployment becomes the booted one, and the running root appears
// at SYSROOT/run/root the way ostree-prepare-root assembles it — the deployment's tree (here a
// hardlink farm: cheap like a checkout, and new files can be added without touching the
// deployment), with /etc being the deployment's own /etc and /var the stateroot's shared /var
// (symlinks standing in for the bind mounts, so edits land where they would on a real system).
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative, resolve } from "node:path";
import { BOOTED_RECORD, type BootedRecord, isRealRoot } from "./booted.js";
import type { Deployment } from "./deployment.js";
import { stateroot } from "./layout.js";
import { withLockedSysroot } from "./ops.js";
import { finalizeStaged } from "./staged.js";
import { stagedPath } from "./staged-plan.js";
import { requireSysroot, SysrootError } from "./sysroot.js";
import { mountOverlay, unmountBelow } from "./unlock.js";

function linkFarm(src: string, dest: string): void {
  const st = lstatSync(src);
  mkdirSync(dest, { mode: st.mode & 0o7777 });
  for (const name of readdirSync(src)) {
    const s = join(src, name);
    const d = join(dest, name);
    const cst = lstatSync(s);
    if (cst.isDirectory()) linkFarm(s, d);
    else if (cst.isSymbolicLink()) symlinkSync(readlinkSync(s), d);
    else linkSync(s, d);
  }
}

/** Drops everything a reboot forgets: SYSROOT/run is a tmpfs on a real machine. */
function clearRun(run: string): void {
  mkdirSync(run, { recursive: true });
  unmountBelow(run);
  for (const name of readdirSync(run)) rmSync(join(run, name), { recursive: true, force: true });
}

export async function bootSimulated(path: string, index = 0): Promise<Deployment> {
  // Before anything is written (SYSROOT/run is cleared below): a missing or foreign directory is no sysroot.
  requireSysroot(path);
  if (isRealRoot(path))
    throw new SysrootError(
      "`admin boot` simulates a boot of a sandbox sysroot; on a real host, reboot instead",
    );
  const root = resolve(path);
  const run = join(root, "run");
  // Shutdown first: a staged deployment is finalized (its /etc merged, its entry written).
  if (existsSync(stagedPath(root))) await withLockedSysroot(root, (s) => finalizeStaged(s));
  // The previous boot's record must go before loading: its deployment may have been undeployed.
  clearRun(run);
  return withLockedSysroot(root, (s) => {
    const d = s.deployments[index];
    if (!d)
      throw new SysrootError(
        `no boot entry ${index}: the sysroot has ${s.deployments.length} deployment(s); see \`tsostree admin status\``,
      );
    const dir = s.deploymentDir(d);
    const tmp = join(run, "root.tmp");
    mkdirSync(tmp, { mode: lstatSync(dir).mode & 0o7777 });
    for (const name of readdirSync(dir)) {
      if (name === "etc" || name === "var" || name === "sysroot" || name.startsWith(".usr-ovl-")) continue;
      const s2 = join(dir, name);
      const st = lstatSync(s2);
      if (st.isDirectory()) linkFarm(s2, join(tmp, name));
      else if (st.isSymbolicLink()) symlinkSync(readlinkSync(s2), join(tmp, name));
      else linkSync(s2, join(tmp, name));
    }
    const live = join(run, "root");
    symlinkSync(relative(live, join(dir, "etc")), join(tmp, "etc"));
    symlinkSync(relative(live, join(stateroot(root, d.osname), "var")), join(tmp, "var"));
    symlinkSync(relative(live, root), join(tmp, "sysroot"));
    renameSync(tmp, live);
    // ostree-prepare-root mounts a hotfix's persistent overlay on /usr.
    if (d.unlocked === "hotfix" && existsSync(join(dir, ".usr-ovl-upper")))
      mountOverlay(
        join(live, "usr"),
        join(dir, ".usr-ovl-upper"),
        join(dir, ".usr-ovl-work"),
        join(live, "usr"),
        false,
      );
    const options = d.bootconfig.get("options") ?? "";
    const record: BootedRecord = {
      osname: d.osname,
      csum: d.csum,
      deployserial: d.deployserial,
      bootlink: d.bootconfig.ostreeArg() ?? "",
      cmdline: options,
    };
    mkdirSync(join(run, "tsostree"), { recursive: true });
    writeFileSync(join(run, BOOTED_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    // Written last: its presence is what makes the sysroot "booted".
    writeFileSync(join(run, "ostree-booted"), "");
    return d;
  });
}
