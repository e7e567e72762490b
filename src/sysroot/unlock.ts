// `admin unlock`: a writable overlay on the booted deployment's /usr (`ostree_sysroot_deployment_unlock`).
// development/transient: the upper layer lives in /var/tmp and is forgotten at the next boot (the
// runstate flag under /run says so); --hotfix first clones the deployment as the (non-default)
// rollback target, then keeps the overlay in the deployment (`.usr-ovl-upper`, where
// ostree-prepare-root looks for it) and marks the origin `unlocked=hotfix`. An overlay mount needs
// privileges: on a sandbox sysroot it goes on SYSROOT/run/root/usr, or fails with what to do.
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { KeyFile } from "../util/keyfile.js";
import { isRealRoot, runstatePath } from "./booted.js";
import { commitDeploymentList, deployTree, simpleDeploymentList } from "./deploy.js";
import type { Deployment, UnlockedState } from "./deployment.js";
import { setFaultOp } from "./fault.js";
import { stateroot } from "./layout.js";
import { withLockedSysroot } from "./ops.js";
import { type Sysroot, SysrootError } from "./sysroot.js";

const MESSAGES: Record<Exclude<UnlockedState, "none">, string> = {
  hotfix:
    "Hotfix mode enabled.  A writable overlayfs is now mounted on /usr\nfor this booted deployment.  A non-hotfixed clone has been created\nas the non-default rollback target.",
  development:
    "Development mode enabled.  A writable overlayfs is now mounted on /usr.\nAll changes there will be discarded on reboot.",
  transient:
    "A writable overlayfs is prepared for /usr, but is mounted read-only by default.\nAll changes there will be discarded on reboot.",
};

export function mountOverlay(
  lower: string,
  upper: string,
  work: string,
  target: string,
  readOnly: boolean,
): void {
  const opts = `lowerdir=${lower},upperdir=${upper},workdir=${work}${readOnly ? ",ro" : ""}`;
  const r = spawnSync("mount", ["-t", "overlay", "overlay", "-o", opts, target], { encoding: "utf8" });
  if (r.status !== 0)
    throw new SysrootError(
      `Failed overlayfs mount on ${target}: ${(r.stderr || r.error?.message || "").trim()}; unlocking needs root (CAP_SYS_ADMIN) and overlayfs — this platform does not allow it here`,
    );
}

/** Unmounts every mount below `dir` (deepest first); used when a simulated boot wipes /run. */
export function unmountBelow(dir: string): void {
  let info: string;
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return;
  }
  const points = info
    .split("\n")
    .map((l) => l.split(" ")[4]?.replace(/\\040/g, " "))
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync("umount", ["-l", p], { stdio: "ignore" });
}

export async function unlock(path: string, state: Exclude<UnlockedState, "none">): Promise<string> {
  setFaultOp("unlock");
  return withLockedSysroot(path, async (s) => {
    const booted = s.booted;
    if (!booted)
      throw new SysrootError(
        "Not currently booted into an OSTree system; boot it first (`tsostree admin boot`)",
      );
    if (booted.unlocked !== "none")
      throw new SysrootError(`Deployment is already in unlocked state: ${booted.unlocked}`);
    const real = isRealRoot(s.path);
    const usr = real ? "/usr" : join(s.path, "run/root/usr");
    const dir = s.deploymentDir(booted);
    const usrMode = lstatSync(join(dir, "usr")).mode & 0o7777;
    if (state === "hotfix") {
      const clone = await deployTree(
        s,
        booted.osname,
        booted.csum,
        booted.origin,
        booted,
        booted.bootconfig.get("options") ?? "",
      );
      await commitDeploymentList(
        s,
        simpleDeploymentList(s, booted.osname, clone, booted, { notDefault: true }),
      );
      const upper = join(dir, ".usr-ovl-upper");
      const work = join(dir, ".usr-ovl-work");
      mkdirSync(upper, { mode: usrMode });
      mkdirSync(work, { mode: usrMode });
      mountOverlay(real ? join(dir, "usr") : usr, upper, work, usr, false);
      const origin = KeyFile.parse(booted.origin?.toString() ?? "");
      origin.set("origin", "unlocked", "hotfix");
      writeFileAtomic(s.originFile(booted), origin.toString());
    } else mountUsrOverlay(s, booted, state);
    return MESSAGES[state];
  });
}

/**
 * The development or transient overlay on the booted deployment's /usr (the caller holds the
 * sysroot lock): upper and work directories in a new directory below `base` (default /var/tmp, the
 * stateroot's on a sandbox), and the runstate flag that makes the state visible until the next boot.
 * Live-apply uses it with `base` under /run.
 */
export function mountUsrOverlay(
  s: Sysroot,
  booted: Deployment,
  state: "development" | "transient",
  base?: string,
): void {
  const real = isRealRoot(s.path);
  const usr = real ? "/usr" : join(s.path, "run/root/usr");
  const dir = s.deploymentDir(booted);
  const usrMode = lstatSync(join(dir, "usr")).mode & 0o7777;
  const parent = base ?? (real ? "/var/tmp" : join(stateroot(s.path, booted.osname), "var/tmp"));
  mkdirSync(parent, { recursive: true });
  const ovl = mkdtempSync(join(parent, "ostree-unlock-ovl."));
  mkdirSync(join(ovl, "upper"), { mode: usrMode });
  mkdirSync(join(ovl, "work"), { mode: usrMode });
  mountOverlay(
    real ? join(dir, "usr") : usr,
    join(ovl, "upper"),
    join(ovl, "work"),
    usr,
    state === "transient",
  );
  const flag = runstatePath(s.path, booted.csum, booted.deployserial, `unlocked-${state}`);
  mkdirSync(join(flag, ".."), { recursive: true });
  writeFileSync(flag, "");
}
