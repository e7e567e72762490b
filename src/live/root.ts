// The running root live-apply writes into, and where each path of a commit lands in it.
// - Sandbox sysroot: SYSROOT/run/root, the link farm `tsostree admin boot` lays out; its directories
//   are its own, so paths are renamed in directly (staging under SYSROOT/run).
// - Real host (the sysroot is `/`): the booted deployment is `/` itself and must not change, so /usr
//   gets the transient overlay `ostree admin unlock --transient` mounts (sysroot/unlock.ts), its upper
//   directory under /run — gone at reboot, read-only to everyone else. The writes go through a
//   private read-write bind of that overlay (/run/tsostree/live-usr: a remount there makes the
//   overlay's superblock writable while /usr itself stays a read-only mount), staged in
//   /usr/.tsostree-live so a rename never crosses a mount. /etc is the host's own writable /etc
//   (additions only where absent, staged in /etc/.tsostree-live). Nothing else of `/` is written:
//   a change outside /usr waits for the reboot.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isRealRoot, runDir } from "../sysroot/booted.js";
import type { Deployment } from "../sysroot/deployment.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { mountUsrOverlay, unmountBelow } from "../sysroot/unlock.js";

export class LiveRootError extends Error {
  override name = "LiveRootError";
}

export interface LiveRoot {
  /** The running root as its processes see it: "/" or SYSROOT/run/root. */
  root: string;
  /** True on a real host (overlay on /usr). */
  real: boolean;
  /** Where the commit's path `p` ("/usr/bin/x", "/etc/x") is read and written, or null: not live-writable. */
  path(p: string): string | null;
  /** A directory on the same mount as `path(p)`, for checkouts renamed into place. */
  staging(p: string): string;
  /** Checkouts into the running root must be copies (another filesystem than the repo). */
  copy: boolean;
  /** Drops the staging directories and the read-write bind. */
  close(): void;
}

/** Mount points from /proc/self/mountinfo with their filesystem type. */
function mounts(): { point: string; fstype: string }[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const f = l.split(" ");
      const dash = f.indexOf("-");
      return { point: (f[4] ?? "").replace(/\\040/g, " "), fstype: f[dash + 1] ?? "" };
    });
}

function mountPointType(p: string): string | null {
  const m = mounts().filter((x) => x.point === p);
  return m.length ? m[m.length - 1]!.fstype : null;
}

function mount(args: string[]): void {
  const r = spawnSync("mount", args, { encoding: "utf8" });
  if (r.status !== 0)
    throw new LiveRootError(
      `mount ${args.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim()}; apply-live on a host needs root (CAP_SYS_ADMIN)`,
    );
}

function sandboxRoot(s: Sysroot, root: string): LiveRoot {
  const staging = join(runDir(s.path), "tsostree/live-staging");
  // What a killed run left half-made here is never in the running root: start empty.
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  return {
    root,
    real: false,
    path: (p) => join(root, p),
    staging: () => staging,
    copy: false,
    close: () => rmSync(staging, { recursive: true, force: true }),
  };
}

/** Where the read-write view of the /usr overlay is mounted while live-apply writes. */
export const LIVE_USR = "/run/tsostree/live-usr";

function hostRoot(s: Sysroot, booted: Deployment): LiveRoot {
  if (booted.unlocked === "none") mountUsrOverlay(s, booted, "transient", "/run/ostree");
  else if (mountPointType("/usr") !== "overlay")
    throw new LiveRootError(
      `the booted deployment is marked unlocked (${booted.unlocked}) but /usr is no overlay in this mount namespace; run apply-live where the unlock was made, or reboot`,
    );
  // A bind of /usr that a killed run left is still the same overlay: unmount and make it again.
  unmountBelow(LIVE_USR);
  mkdirSync(LIVE_USR, { recursive: true, mode: 0o700 });
  mount(["--bind", "/usr", LIVE_USR]);
  mount(["-o", "remount,rw", LIVE_USR]);
  const usrStaging = join(LIVE_USR, ".tsostree-live");
  const etcStaging = "/etc/.tsostree-live";
  for (const d of [usrStaging, etcStaging]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { mode: 0o700 });
  }
  const onUsr = (p: string) => p === "/usr" || p.startsWith("/usr/");
  return {
    root: "/",
    real: true,
    path: (p) => (onUsr(p) ? join(LIVE_USR, p.slice(4)) : p === "/etc" || p.startsWith("/etc/") ? p : null),
    staging: (p) => (onUsr(p) ? usrStaging : etcStaging),
    copy: true,
    close: () => {
      for (const d of [usrStaging, etcStaging]) rmSync(d, { recursive: true, force: true });
      unmountBelow(LIVE_USR);
    },
  };
}

/** The running root of the booted deployment (read-only checks), or why live-apply cannot use it. */
export function liveRootPath(s: Sysroot, booted: Deployment): string {
  if (isRealRoot(s.path)) {
    if (booted.unlocked === "hotfix")
      throw new LiveRootError(
        "the booted deployment is hotfix-unlocked (its /usr overlay persists); apply-live does not combine with it — reboot into a locked deployment first",
      );
    return "/";
  }
  if (booted.unlocked !== "none")
    throw new LiveRootError(
      `the booted deployment is unlocked (${booted.unlocked}); apply-live does not combine with \`admin unlock\` on a sandbox, reboot first`,
    );
  const root = join(s.path, "run/root");
  if (!existsSync(root))
    throw new LiveRootError(`the running root ${root} is missing; boot again (\`tsostree admin boot\`)`);
  return root;
}

/** The running root prepared for writing: on a host this mounts the transient /usr overlay. */
export function openLiveRoot(s: Sysroot, booted: Deployment): LiveRoot {
  const root = liveRootPath(s, booted);
  return root === "/" ? hostRoot(s, booted) : sandboxRoot(s, root);
}

/** Paths of a plan a running root cannot take: on a host, anything outside /usr (and /etc). */
export function notLive(real: boolean, paths: string[]): string[] {
  if (!real) return [];
  return paths.filter((p) => !(p === "/usr" || p.startsWith("/usr/")));
}
