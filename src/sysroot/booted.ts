// Which deployment is running. On a real host (sysroot is `/`) ostree's rule applies:
// `/run/ostree-booted` exists and the deployment directory is the same inode as `/`. A sandbox
// sysroot booted with `tsostree admin boot` records the deployment under SYSROOT/run instead,
// because nothing there is mounted; see docs/sysroot.md.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export interface BootedRecord {
  osname: string;
  csum: string;
  deployserial: number;
  /** The `ostree=` value the simulated bootloader passed, for the record. */
  bootlink: string;
  /** Kernel command line of the simulated boot. */
  cmdline: string;
}

export type BootedIdentity =
  | { kind: "record"; record: BootedRecord }
  | { kind: "inode"; dev: number; ino: number; bootlink: string | null }
  | null;

/** True when PATH is this machine's `/`. */
export function isRealRoot(sysroot: string): boolean {
  const a = statSync(resolve(sysroot));
  const b = statSync("/");
  return a.dev === b.dev && a.ino === b.ino;
}

/** The directory that plays /run for this sysroot: the real /run, or SYSROOT/run in a sandbox. */
export function runDir(sysroot: string): string {
  return isRealRoot(sysroot) ? "/run" : join(resolve(sysroot), "run");
}

export const BOOTED_RECORD = "tsostree/booted.json";

export function readBootedIdentity(sysroot: string): BootedIdentity {
  if (isRealRoot(sysroot)) {
    if (!existsSync("/run/ostree-booted")) return null;
    const st = statSync("/");
    let bootlink: string | null = null;
    try {
      const arg = readFileSync("/proc/cmdline", "utf8")
        .trim()
        .split(" ")
        .find((a) => a.startsWith("ostree="));
      bootlink = arg ? arg.slice("ostree=".length) : null;
    } catch {
      // No /proc: the inode comparison alone decides.
    }
    return { kind: "inode", dev: st.dev, ino: st.ino, bootlink };
  }
  const run = join(resolve(sysroot), "run");
  if (!existsSync(join(run, "ostree-booted"))) return null;
  const p = join(run, BOOTED_RECORD);
  if (!existsSync(p)) return null;
  return { kind: "record", record: JSON.parse(readFileSync(p, "utf8")) as BootedRecord };
}

/** Runstate flag files (`unlocked-development`, `unlocked-transient`) of a deployment. */
export function runstatePath(sysroot: string, csum: string, serial: number, key: string): string {
  return join(runDir(sysroot), "ostree/deployment-state", `${csum}.${serial}`, key);
}
