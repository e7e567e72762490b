// The layering transaction killed with SIGKILL at every step it passes (TSOSTREE_FAULT=layer:STEP,
// the steps listed by a traced clean run, plus the repo's own commit points), then run again: the
// kill leaves the sysroot as it was (status, deployment directories, both fscks), and the re-run
// ends where a clean run ends. Two installs at once: the second waits for the sysroot lock and says
// so, then layers on top of the first.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { haveTools, skipOrFail, tsostreePkgBin } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import {
  assertFailedCleanly,
  assertFsck,
  before,
  copySysroot,
  ok,
  pkg,
  type RpmSysroot,
  rpmSysroot,
  type SysrootState,
  sysrootState,
  unreachableObjects,
} from "./layer-faults-fixture.js";

/** The repo's own kill points (src/repo/fault.ts), reached first by the package import's commit. */
const REPO_STEPS = ["staged-write", "before-rename", "mid-rename", "before-ref"];

/**
 * The points killed at by default: the transaction's own and one per phase of the deploy and of the
 * repo commit (TSOSTREE_TEST_ALL_FAULTS=1: every point the trace lists, and all the repo's).
 */
const SOME_STEPS = new Set([
  "layer:downloaded",
  "layer:imported",
  "layer:assembled",
  "layer:early-checkout",
  "layer:checkout",
  "layer:etc-merged",
  "layer:origin-written",
  "layer:synced",
  "layer:committed",
  "layer:refs-written",
  "layer:deployed",
  "mid-rename",
  "before-ref",
]);

const cleanups: (() => void)[] = [];
let dir = "";
let template: RpmSysroot | undefined;
let copies = 0;

function need(t: TestContext): RpmSysroot | undefined {
  if (!haveTools(t, "ostree", "rpm", "rpmbuild", "createrepo_c", "bwrap")) return undefined;
  if (!template) {
    dir = sysScratch({ after: (fn) => cleanups.push(fn) });
    template = rpmSysroot(dir);
  }
  return template;
}

/** A fresh copy of the template sysroot: the base deployed, nothing layered, nothing imported. */
function fresh(c: RpmSysroot): RpmSysroot {
  copies++;
  return copySysroot(c, join(dir, `copy-${copies}`));
}

interface Clean {
  steps: string[];
  state: SysrootState;
  unreachable: number;
}

let clean: Clean | undefined;

/** One traced clean `install tso-hello`: the kill points it passes and where it ends. */
function cleanRun(c: RpmSysroot): Clean {
  if (clean) return clean;
  const s = fresh(c);
  const trace = join(dir, "trace");
  ok(pkg(s, ["install", "tso-hello"], { TSOSTREE_FAULT_TRACE: trace }), "traced install");
  const steps = [...new Set(readFileSync(trace, "utf8").split("\n").filter(Boolean))];
  clean = { steps, state: sysrootState(s), unreachable: unreachableObjects(s) };
  return clean;
}

after(() => {
  for (const fn of cleanups) fn();
});

/**
 * A state with deployment serials left out: a kill during the deploy leaves a CSUM.SERIAL directory
 * that no boot entry names, and the next deploy of that commit takes the next serial, as ostree's
 * allocate_deployserial does (the deploy's cleanup then removes the leftover). A leftover that stays
 * still shows: the same commit twice.
 */
function withoutSerials(st: SysrootState): unknown {
  return JSON.parse(
    JSON.stringify(st)
      .replace(/([0-9a-f]{64})\.\d+/g, "$1.N")
      .replace(/"serial":\d+/g, '"serial":"N"'),
  );
}

/** After a kill: the same deployments; any extra directory belongs to no deployment. */
function assertUntouched(now: SysrootState, was: SysrootState, fault: string): void {
  assert.deepEqual(now.status, was.status, `status after a kill at ${fault}`);
  const extra = now.dirs.filter((d) => !was.dirs.includes(d));
  assert.deepEqual(
    was.dirs.filter((d) => !now.dirs.includes(d)),
    [],
    `a directory went away at ${fault}`,
  );
  // (A kill before the deploy may leave the early checkout of the base, BASE.SERIAL, which is no
  // deployment either.)
  const deployments = (now.status as { deployments: { checksum: string; serial: number }[] }).deployments;
  const deployed = new Set(deployments.map((d) => `${d.checksum}.${d.serial}`));
  for (const d of extra)
    assert.ok(!deployed.has(d.replace(/\.origin$/, "")), `${d} is deployed after a kill at ${fault}`);
}

describe("install killed at every step, then run again", { concurrency: false }, () => {
  it("a clean run passes the transaction's own points and the deploy's", (t) => {
    const c = need(t);
    if (!c) return;
    const { steps } = cleanRun(c);
    t.diagnostic(steps.join(" "));
    for (const s of [
      "layer:downloaded",
      "layer:imported",
      "layer:assembled",
      "layer:early-checkout",
      "layer:checkout",
      "layer:deployed",
    ])
      assert.ok(steps.includes(s), `${s} not reached; trace: ${steps.join(" ")}`);
  });

  it("each kill leaves the previous state; the re-run ends as a clean run does", (t) => {
    const c = need(t);
    if (!c) return;
    const want = cleanRun(c);
    const initial = sysrootState(c);
    const faults = [...want.steps, ...REPO_STEPS].filter(
      (f) => process.env.TSOSTREE_TEST_ALL_FAULTS || SOME_STEPS.has(f),
    );
    for (const fault of faults) {
      const s = fresh(c);
      const killed = pkg(s, ["install", "tso-hello"], { TSOSTREE_FAULT: fault });
      assert.notEqual(killed.status, 0, `TSOSTREE_FAULT=${fault} was not reached:\n${killed.stdout}`);
      // From the boot entries' swap on (layer:committed) the new deployment is the default: a kill
      // there has deployed, and running the install again has nothing left to do.
      const done = want.steps.indexOf(fault) >= want.steps.indexOf("layer:committed");
      if (done)
        assert.deepEqual(
          withoutSerials(sysrootState(s)),
          withoutSerials(want.state),
          `after a kill at ${fault}`,
        );
      else assertUntouched(sysrootState(s), initial, fault);
      assertFsck(s);
      const again = pkg(s, ["install", "tso-hello", ...(done ? ["--idempotent"] : [])]);
      ok(again, `install after a kill at ${fault}`);
      assert.deepEqual(
        withoutSerials(sysrootState(s)),
        withoutSerials(want.state),
        `re-run after a kill at ${fault}`,
      );
      assertFsck(s);
      const unreachable = unreachableObjects(s);
      assert.ok(
        unreachable <= want.unreachable,
        `after a kill at ${fault} and a re-run, prune finds ${unreachable} unreachable objects, a clean run ${want.unreachable}`,
      );
    }
  });
});

describe("two installs at once", () => {
  it("the second waits for the sysroot lock, says so, and layers on top of the first", async (t) => {
    const c = need(t);
    if (!c) return;
    const s = fresh(c);
    const start = (name: string) => {
      const child = spawn(process.execPath, [tsostreePkgBin, "install", name, `--sysroot=${s.sysroot}`]);
      const out = { stdout: "", stderr: "" };
      child.stdout.on("data", (d: Buffer) => {
        out.stdout += d;
      });
      child.stderr.on("data", (d: Buffer) => {
        out.stderr += d;
      });
      const done = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
      return { child, out, done };
    };
    const first = start("tso-slow");
    // Progress is printed under the lock: from the first line on, the first install holds it.
    await new Promise<void>((resolve) => first.child.stdout.once("data", () => resolve()));
    const second = start("tso-extra");
    const [a, b] = await Promise.all([first.done, second.done]);
    assert.equal(a, 0, first.out.stderr);
    assert.equal(b, 0, second.out.stderr);
    assert.match(second.out.stderr, /^Waiting for sysroot lock .*held by another/);
    assert.equal(second.out.stderr.trimEnd().split("\n").length, 1, second.out.stderr);
    const st = sysrootState(s).status as { deployments: { requestedPackages: string[] }[] };
    assert.deepEqual(st.deployments[0]!.requestedPackages, ["tso-slow", "tso-extra"]);
    assertFsck(s);
  });
});

describe("a full disk", () => {
  it("while the layered commit is written: one line, nothing deployed, the repo consistent", (t) => {
    const c = need(t);
    if (!c) return;
    const mnt = join(dir, "mnt");
    mkdirSync(mnt);
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", mnt]).status !== 0) {
      skipOrFail(t, "cannot mount a tmpfs here: run the tests as root (`sudo npm test`)");
      return;
    }
    t.after(() => spawnSync("umount", ["-l", mnt]));
    const s = copySysroot(c, join(mnt, "S"));
    // The packages imported (a kill right after the import), so that the assembly is what fills up.
    assert.notEqual(pkg(s, ["install", "tso-hello"], { TSOSTREE_FAULT: "layer:imported" }).status, 0);
    const b = before(s);
    const free = Number(
      spawnSync("df", ["--output=avail", "-B1", mnt], { encoding: "utf8" }).stdout.split("\n")[1],
    );
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - 64 * 1024)));
    const r = pkg(s, ["install", "tso-hello"]);
    t.diagnostic(assertFailedCleanly(s, r, b, /space/, /free/));
    rmSync(filler);
    ok(pkg(s, ["install", "tso-hello"]), "install with space again");
    assertFsck(s);
  });
});
