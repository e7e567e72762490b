// Crash safety: kill the process (SIGKILL) or fail a write at every step of a deploy and of a
// rollback, then check that the boot entries reference only complete deployments, that status
// shows exactly the old or the new set, that the repo passes ostree's fsck, and that the next run
// recovers.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree, run, tsostreeBin } from "../helpers.js";
import { commit, makeSysroot, makeTree, must, sysScratch, ts } from "./fixture.js";

function tsEnv(sysroot: string, env: Record<string, string>, ...args: string[]) {
  return run(process.execPath, [tsostreeBin, "admin", `--sysroot=${sysroot}`, ...args], {
    env: { ...process.env, TSOSTREE_QUIET: "1", ...env },
  });
}

function listed(sysroot: string): string[] {
  const out = must(ostree(["admin", `--sysroot=${sysroot}`, "status"]), "ostree admin status");
  return [...out.matchAll(/testos ([0-9a-f]{64}\.[0-9]+)/g)].map((m) => m[1]!);
}

/** Every entry's kernel, initramfs and deployment exist. */
function checkEntries(sysroot: string): void {
  const dir = join(sysroot, "boot/loader/entries");
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), "utf8");
    for (const key of ["linux", "initrd"]) {
      const p = new RegExp(`^${key} (.*)$`, "m").exec(text)![1]!;
      assert.ok(existsSync(join(sysroot, "boot", p)), `${name}: ${key} ${p} missing`);
    }
    const link = /ostree=(\S+)/.exec(text)![1]!;
    // Complete = checked out, /etc prepared and merged, origin written (the last deploy steps).
    for (const p of ["usr/lib/os-release", "etc/app.conf"])
      assert.ok(existsSync(join(sysroot, link, p)), `${name}: ${link} incomplete (no ${p})`);
    assert.ok(existsSync(`${realpathSync(join(sysroot, link))}.origin`), `${name}: ${link} has no origin`);
  }
}

function copyTree(from: string, to: string): void {
  must(run("cp", ["-a", from, to]), "cp -a");
}

/** Steps where an I/O error (not only a kill) is also injected. */
const THROW_TOO = new Set(["checkout", "etc-merged", "entries-written", "loader-tmp", "committed"]);

function crashLoop(t: { after(fn: () => void): void }, op: "deploy" | "rollback") {
  const dir = sysScratch(t);
  const base = makeSysroot(join(dir, "base"), "ts");
  // Process death, not power loss, is under test here: skip the syncfs to keep the loop fast.
  must(ostree(["config", `--repo=${base}/ostree/repo`, "set", "core.fsync", "false"]), "config");
  commit(base, makeTree(join(dir, "t1")), "1");
  ts(base, "deploy", "--os=testos", "testos/stable");
  commit(base, makeTree(join(dir, "t2"), { app: "2\n", kernel: "K2\n" }), "2");
  ts(base, "deploy", "--os=testos", "testos/stable");
  commit(base, makeTree(join(dir, "t3"), { app: "3\n", kernel: "K3\n" }), "3");
  const args = op === "deploy" ? ["deploy", "--os=testos", "testos/stable"] : ["rollback"];
  const before = listed(base);
  // A clean run, traced, gives the step names and the expected result.
  const traced = join(dir, "traced");
  copyTree(base, traced);
  const trace = join(dir, "trace.txt");
  must(tsEnv(traced, { TSOSTREE_FAULT_TRACE: trace }, ...args), `${op} (traced)`);
  const after = listed(traced);
  assert.notDeepEqual(after, before);
  const steps = [...new Set(readFileSync(trace, "utf8").trim().split("\n"))].map((l) =>
    l.slice(l.indexOf(":") + 1),
  );
  assert.ok(steps.length >= 6, `too few fault steps: ${steps.join(", ")}`);
  let i = 0;
  for (const step of steps)
    for (const how of THROW_TOO.has(step) ? ["kill", "throw"] : ["kill"]) {
      const s = join(dir, `c${i++}`);
      copyTree(base, s);
      const r = tsEnv(s, { TSOSTREE_FAULT: `${op}:${step}${how === "throw" ? ":throw" : ""}` }, ...args);
      assert.notEqual(r.status, 0, `${op}:${step} (${how}) should have failed`);
      const now = listed(s);
      assert.ok(
        JSON.stringify(now) === JSON.stringify(before) || JSON.stringify(now) === JSON.stringify(after),
        `${op}:${step} (${how}): status shows a mix: ${now.join(", ")}`,
      );
      checkEntries(s);
      must(ostree(["fsck", `--repo=${s}/ostree/repo`]), `fsck after ${op}:${step}`);
      // The next run recovers: a deploy completes; a rollback either re-flips or was done.
      if (op === "deploy") {
        must(tsEnv(s, {}, ...args), `${op} after crash at ${step}`);
        assert.equal(listed(s)[0]!.split(".")[0], after[0]!.split(".")[0]);
      }
      if (i % 4 === 0) {
        must(tsEnv(s, {}, "cleanup"), "cleanup");
        must(ostree(["admin", `--sysroot=${s}`, "cleanup"]), "ostree cleanup");
      }
    }
}

test("a deploy killed or failing at any step leaves the old or the new deployment set", (t) => {
  if (!haveTools(t, "ostree")) return;
  crashLoop(t, "deploy");
});

test("a rollback killed or failing at any step leaves the old or the new order", (t) => {
  if (!haveTools(t, "ostree")) return;
  crashLoop(t, "rollback");
});
