// Our commit against the real ostree on one repo: ostree's exclusive repo lock (what prune and
// `ostree fsck --delete` hold) makes our commit wait and then fail cleanly; released in time, we
// proceed; and a tsostree commit running at the same time as an ostree commit both land.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree, scratch, tsostree, tsostreeBin } from "../helpers.js";
import { buildCommitTree, commitWith, initWith, objectNames, ostreeFsck } from "./commit-fixture.js";

/** Holds REPO/.lock exclusively with POSIX lockf (conflicts with ostree's OFD locks) for `secs`. */
function holdLock(repo: string, secs: number): { ready: Promise<void>; done: Promise<void> } {
  const py = `import fcntl,sys,time\nf=open(sys.argv[1],'a')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(float(sys.argv[2]))`;
  const p = spawn("python3", ["-c", py, join(repo, ".lock"), String(secs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<void>((resolve) => p.stdout.once("data", () => resolve()));
  const done = new Promise<void>((resolve) => p.on("exit", () => resolve()));
  return { ready, done };
}

function runAsync(
  cmd: string,
  args: string[],
  env = process.env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

test("an exclusive ostree lock makes our commit wait, then fail cleanly at the timeout", async (t) => {
  if (!haveTools(t, "ostree", "python3")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  initWith("ostree", repo, "bare");
  appendFileSync(join(repo, "config"), "lock-timeout-secs=1\n");
  writeFileSync(join(dir, "f"), "x");
  const before = commitWith("ostree", repo, ["-b", "main", "--timestamp=@1", dir]);
  const lock = holdLock(repo, 4);
  await lock.ready;
  const t0 = Date.now();
  const r = await runAsync(process.execPath, [
    tsostreeBin,
    "commit",
    `--repo=${repo}`,
    "-b",
    "main",
    "--timestamp=@2",
    dir,
  ]);
  assert.equal(r.status, 1);
  assert.ok(Date.now() - t0 >= 900, "waited for the lock");
  assert.match(r.stderr, /shared lock on .*\.lock/);
  assert.equal(readFileSync(join(repo, "refs/heads/main"), "utf8"), `${before}\n`);
  assert.equal(readdirSync(join(repo, "tmp")).filter((n) => n.startsWith("staging")).length, 0);
  // The real ostree is locked out the same way while the holder lives.
  const o = ostree(["commit", `--repo=${repo}`, "-b", "other", dir]);
  assert.notEqual(o.status, 0);
  await lock.done;
});

test("a lock released before the timeout only delays our commit", async (t) => {
  if (!haveTools(t, "ostree", "python3")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  initWith("ostree", repo, "bare");
  appendFileSync(join(repo, "config"), "lock-timeout-secs=20\n");
  writeFileSync(join(dir, "f"), "x");
  const lock = holdLock(repo, 1);
  await lock.ready;
  const r = await runAsync(process.execPath, [tsostreeBin, "commit", `--repo=${repo}`, "-b", "main", dir]);
  assert.equal(r.status, 0, r.stderr);
  await lock.done;
  assert.equal(ostreeFsck(repo).status, 0);
});

test("tsostree and ostree committing into one repo at the same time both succeed", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  initWith("ostree", repo, "bare");
  const a = buildCommitTree(join(dir, "a"));
  const b = join(dir, "b");
  for (let i = 0; i < 300; i++) writeFileSync(`${b}-${i}`, "");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(b);
  for (let i = 0; i < 300; i++) writeFileSync(join(b, `f${i}`), `content ${i % 50}\n`);
  for (let round = 0; round < 3; round++) {
    const [ours, theirs] = await Promise.all([
      runAsync(process.execPath, [
        tsostreeBin,
        "commit",
        `--repo=${repo}`,
        "-b",
        `ours${round}`,
        "--timestamp=@1",
        b,
      ]),
      runAsync("setpriv", [
        "--bounding-set=-sys_admin",
        "--",
        "ostree",
        "commit",
        `--repo=${repo}`,
        "-b",
        `theirs${round}`,
        "--timestamp=@1",
        a,
      ]),
    ]);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(theirs.status, 0, theirs.stderr);
  }
  const fsck = ostreeFsck(repo);
  assert.equal(fsck.status, 0, fsck.stderr);
  assert.equal(tsostree(["fsck", `--repo=${repo}`]).status, 0);
  assert.ok(objectNames(repo).length > 50);
});
