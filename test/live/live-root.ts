// The running root of a booted sandbox sysroot (SYSROOT/run/root) for the live-apply tests: run a
// program of it, and the manifest of the booted deployment that must never change.
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { type RunResult, run } from "../helpers.js";

export const liveRoot = (sysroot: string) => join(sysroot, "run/root");

/** For manifests of a deployment: /etc is the running system's writable config, checked apart. */
export const noEtc = (rel: string) => rel === "etc";

/**
 * Runs a program of the running root with bubblewrap: each top-level entry of the live root bound
 * read-only at /NAME, its symlinks kept, except the ones that leave the live root (/etc, /var: the
 * stand-ins for the boot's bind mounts), which are bound to where they point.
 */
export function runLive(sysroot: string, argv: string[]): RunResult {
  const root = liveRoot(sysroot);
  const binds: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) {
      const to = readlinkSync(p);
      if (!to.startsWith("..")) binds.push("--symlink", to, `/${name}`);
      else if (existsSync(p)) binds.push("--ro-bind", realpathSync(p), `/${name}`);
    } else if (st.isDirectory() && name !== "proc" && name !== "dev") binds.push("--ro-bind", p, `/${name}`);
  }
  return run("bwrap", [
    ...binds,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--unshare-net",
    "--die-with-parent",
    "--clearenv",
    "--setenv",
    "PATH",
    "/usr/sbin:/usr/bin:/sbin:/bin",
    "--",
    ...argv,
  ]);
}
