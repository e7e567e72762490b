// The running root's linker cache after shared libraries came or went: `ldconfig -r ROOT` (chroot
// into the live root; as a normal user inside `unshare -Ur`, whose user namespace grants the
// chroot). A sandbox's live /etc is a symlink out of the live root (to the deployment's /etc), which
// a chroot cannot follow; so the cache is written to ROOT/run and moved to /etc/ld.so.cache, and the
// configuration is read from /usr/etc (the deployment's defaults, with live additions) — an admin's
// own /etc/ld.so.conf.d entries are not seen until the next boot's ldconfig. On a host (ROOT is `/`)
// it is plain `ldconfig -X`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** True for a path a linker cache indexes: a shared object in a lib directory. */
export function isSharedLibrary(path: string): boolean {
  return /\/lib[^/]*\/(.*\/)?[^/]*\.so(\.[0-9][^/]*)?$/.test(path);
}

/** Refreshes ROOT/etc/ld.so.cache; returns null when done, else why not (a note for the user). */
export function refreshLinkerCache(root: string): string | null {
  const ldconfig = ["/usr/sbin/ldconfig", "/sbin/ldconfig"].find((p) => existsSync(p));
  if (!ldconfig) return "no ldconfig on this host: the linker cache was not refreshed";
  if (root === "/") {
    // A host: its own /etc and /usr are where ldconfig looks; -X leaves the library links (the
    // package's own) alone, the cache is written by ldconfig's rename.
    const r = spawnSync(ldconfig, ["-X"], { encoding: "utf8" });
    if (r.status === 0) return null;
    return `ldconfig failed (${(r.stderr || r.error?.message || "").trim().split("\n")[0]}): the linker cache was not refreshed`;
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
  const r = asRoot
    ? spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" })
    : spawnSync("unshare", ["-Ur", ...argv], { encoding: "utf8" });
  rmSync(join(root, conf), { force: true });
  if (r.status !== 0) {
    rmSync(join(root, cache), { force: true });
    const why = (r.stderr || r.error?.message || "").trim().split("\n")[0];
    return `ldconfig ${asRoot ? "-r" : "-r inside unshare -Ur"} failed (${why}): the linker cache was not refreshed`;
  }
  renameSync(join(root, cache), join(root, "etc/ld.so.cache"));
  return null;
}
