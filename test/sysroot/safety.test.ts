// The sysroot lock excludes the real ostree (both directions), and a deploy that runs out of space
// fails with a clear message and leaves the previous state intact.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FileLock } from "../../src/util/lock.js";
import { haveTools, ostree, run, skipOrFail, tsostreeBin } from "../helpers.js";
import { commit, deploymentDirs, makeSysroot, makeTree, must, os, sysScratch, ts } from "./fixture.js";

test("our sysroot lock blocks ostree admin, and ostree's blocks us", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"));
  commit(S, makeTree(join(dir, "t1")), "1");
  ts(S, "deploy", "--os=testos", "testos/stable");
  // We hold SYSROOT/ostree/lock: ostree's undeploy must wait until we let go.
  const lock = await FileLock.acquire(join(S, "ostree/lock"), "exclusive", 1000);
  const child = spawn("setpriv", [
    "--bounding-set=-sys_admin",
    "--",
    "ostree",
    "admin",
    `--sysroot=${S}`,
    "cleanup",
  ]);
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r("waiting"), 1500))]);
  assert.equal(early, "waiting", "ostree admin ran while we held the sysroot lock");
  lock.release();
  assert.equal(await exited, 0);
  // A POSIX record lock conflicts with ostree's OFD lock the same way; hold one and deploy.
  if (spawnSync("sh", ["-c", "command -v python3"]).status !== 0) {
    t.diagnostic("python3 missing: skipped holding a foreign fcntl lock");
    return;
  }
  const holder = spawn("python3", [
    "-c",
    "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
    join(S, "ostree/lock"),
  ]);
  await new Promise<void>((r) => holder.stdout.once("data", () => r()));
  const r = run(
    process.execPath,
    [tsostreeBin, "admin", `--sysroot=${S}`, "deploy", "--os=testos", "testos/stable"],
    {
      env: { ...process.env, TSOSTREE_LOCK_TIMEOUT_MS: "800" },
    },
  );
  holder.kill("SIGKILL");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /another ostree or tsostree process holds it/);
});

test("a deploy that runs out of space fails cleanly and leaves the previous state", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const mnt = join(dir, "mnt");
  mkdirSync(mnt);
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]).status !== 0) {
    skipOrFail(t, "cannot mount a tmpfs here: run the tests as root (`sudo npm test`)");
    return;
  }
  t.after(() => spawnSync("umount", ["-l", mnt]));
  const S = makeSysroot(join(mnt, "S"));
  commit(S, makeTree(join(dir, "t1")), "1");
  ts(S, "deploy", "--os=testos", "testos/stable");
  // /etc is copied (never hardlinked), so a big config file needs real space at deploy time.
  commit(S, makeTree(join(dir, "t2"), { files: { "usr/etc/big.bin": "x".repeat(3 * 1024 * 1024) } }), "2");
  const before = os(S, "status");
  const free = Number(
    spawnSync("df", ["--output=avail", "-B1", mnt], { encoding: "utf8" }).stdout.split("\n")[1],
  );
  writeFileSync(join(mnt, "filler"), Buffer.alloc(Math.max(0, free - 1024 * 1024)));
  const r = run(process.execPath, [
    tsostreeBin,
    "admin",
    `--sysroot=${S}`,
    "deploy",
    "--os=testos",
    "testos/stable",
  ]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /out of disk space .*nothing was changed/);
  assert.equal(os(S, "status"), before);
  assert.equal(deploymentDirs(S).length, 1);
  must(ostree(["fsck", `--repo=${S}/ostree/repo`]), "fsck");
});
