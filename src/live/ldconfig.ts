// The running root's linker cache after shared libraries came or went: `ldconfig -r ROOT` (chroot
// into the live root; as a normal user inside `unshare -Ur`, whose user namespace grants the
// chroot). A sandbox's live /etc is a symlink out of the live root (to the deployment's /etc), which
// a chroot cannot follow; so the cache is written to ROOT/run and moved to /etc/ld.so.cache, and the
// configuration is read from /usr/etc (the deployment's defaults, with live additions) — an admin's
// own /etc/ld.so.conf.d entries are not seen until the next boot's ldconfig. On a host (ROOT is `/`)
// it is plain `ldconfig -X`.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** True for a path a linker cache indexes: a shared object in a lib directory. */
export function isSharedLibrary(path: string): boolean {
  return /\/lib[^/]*\/(.*\/)?[^/]*\.so(\.[0-9][^/]*)?$/.test(path);
}

/** A program's exit status and stderr, without blocking the event loop (the live triggers run meanwhile). */
function run(argv: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    child.on("error", (e) => resolve({ status: null, stderr: e.message }));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

/** Refreshes ROOT/etc/ld.so.cache; resolves to null when done, else why not (a note for the user). */
export async function refreshLinkerCache(root: string): Promise<string | null> {
  const ldconfig = ["/usr/sbin/ldconfig", "/sbin/ldconfig"].find((p) => existsSync(p));
  if (!ldconfig) return "no ldconfig on this host: the linker cache was not refreshed";
  if (root === "/") {
    // A host: its own /etc and /usr are where ldconfig looks; -X leaves the library links (the
    // package's own) alone, the cache is written by ldconfig's rename.
    const r = await run([ldconfig, "-X"]);
    if (r.status === 0) return null;
    return `ldconfig failed (${r.stderr.trim().split("\n")[0]}): the linker cache was not refreshed`;
  }
  if (!existsSync(join(root, "run")))
    return "the running root has no /run to write the cache into: the linker cache was not refreshed";
  const conf = "/run/.tsostree-ld.so.conf";
  const cache = "/run/.tsostree-ld.so.cache";
  const defaults = join(root, "usr/etc/ld.so.conf");
  const text = existsSync(defaults) ? readFileSync(defaults, "utf8") : "";
  writeFileSync(join(root, conf), text.replace(/^(\s*include\s+)\/etc\//gm, "$1/usr/etc/"));
  const argv = [ldconfig, "-r", root, "-f", conf, "-C", cache];
  const asRoot = process.geteuid?.() === 0;
  const r = await run(asRoot ? argv : ["unshare", "-Ur", ...argv]);
  rmSync(join(root, conf), { force: true });
  if (r.status !== 0) {
    rmSync(join(root, cache), { force: true });
    const why = r.stderr.trim().split("\n")[0];
    return `ldconfig ${asRoot ? "-r" : "-r inside unshare -Ur"} failed (${why}): the linker cache was not refreshed`;
  }
  renameSync(join(root, cache), join(root, "etc/ld.so.cache"));
  return null;
}
