// The boot proof (npm run test:boot; not part of npm test: it needs root and takes minutes): a sysroot
// written by tsostree boots under QEMU with Debian's kernel, a dracut initramfs running ostree's own
// ostree-prepare-root and systemd in the real root — the base, then the deployment with strace
// layered by `tsostree-pkg install`, the rollback entry picked in the menu, the base again after
// `tsostree-pkg rollback` — and a kernel argument pointing nowhere does not boot (the runner can fail).
// Boot counting (sysroot.boot-counting-tries=2): each new deployment's entry is on trial until its
// boot completes; a deployment whose boot never completes is tried twice, then the previous one boots
// and `status` says why.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BootError, bootSysroot } from "./qemu.js";
import { type BootSysroot, bootedDeployment, bootLog, OS, prepareBootSysroot, REF } from "./sysroot.js";

describe("boot proof: tsostree's sysroot boots under QEMU", { concurrency: false }, () => {
  let s: BootSysroot;
  const cleanups: (() => void)[] = [];
  before(() => {
    s = prepareBootSysroot({ after: (fn) => cleanups.push(fn) });
  });
  after(() => {
    for (const fn of cleanups) fn();
  });

  it("the boot tree commits to the same checksum every time", () => {
    assert.equal(s.recompose(), s.baseCommit);
  });

  it("the base deployment boots: strace absent; the completed boot confirms its entry", async () => {
    const d = s.deployments()[0];
    assert.deepEqual(
      d?.bootCounting,
      { triesLeft: 2, triesDone: 0, failed: false },
      "a new entry is on trial",
    );
    const r = await bootSysroot(s.sysroot, { work: s.work });
    bootLog("base", r);
    bootedDeployment(r, d);
    assert.equal(r.marker.commit, s.baseCommit);
    assert.equal(r.marker.strace, "absent");
    assert.deepEqual(r.blessed, ["ostree-1-debian.conf"], "the guest marked the boot good");
    assert.equal(s.deployments()[0]?.bootCounting, null);
  });

  it("negative control: an ostree= argument pointing nowhere does not boot", async () => {
    await assert.rejects(
      bootSysroot(s.sysroot, {
        work: s.work,
        options: (o) => o.replace(/ostree=\S+/, "ostree=/ostree/boot.1/debian/nowhere/0"),
        timeoutSeconds: 420,
      }),
      BootError,
    );
  });

  it("tsostree-pkg install strace: the new deployment boots, strace runs", async () => {
    s.pkg("install", "strace");
    const [layered, base] = s.deployments();
    assert.ok(layered && base && layered.checksum !== base.checksum);
    const r = await bootSysroot(s.sysroot, { work: s.work });
    bootLog("layered", r);
    bootedDeployment(r, layered);
    assert.match(r.marker.strace, /^strace_--_version_\d/, "strace -V in the guest");
    assert.deepEqual(r.blessed, ["ostree-2-debian.conf"]);
  });

  it("the rollback entry, picked in the menu, boots the base", async () => {
    const base = s.deployments()[1];
    const r = await bootSysroot(s.sysroot, { work: s.work, entry: 1 });
    bootLog("menu entry 1", r);
    bootedDeployment(r, base);
    assert.equal(r.marker.strace, "absent");
  });

  it("after tsostree-pkg rollback the base boots by default", async () => {
    s.pkg("rollback");
    const base = s.deployments()[0];
    assert.equal(base?.checksum, s.baseCommit);
    const r = await bootSysroot(s.sysroot, { work: s.work });
    bootLog("after rollback", r);
    bootedDeployment(r, base);
    assert.equal(r.marker.strace, "absent");
  });

  it("a deployment whose boot never completes is tried twice, then the previous one boots", async () => {
    // The same base, deployed with a kernel argument that makes the marker unit fail: boot-complete.target
    // is never reached, so nothing confirms the entry.
    s.admin("deploy", `--os=${OS}`, "--karg-append=tsostree.marker=fail", REF);
    const [failing, previous] = s.deployments();
    assert.ok(failing && previous);
    for (const [i, left] of [1, 0].entries()) {
      const r = await bootSysroot(s.sysroot, { work: s.work });
      bootLog(`failing try ${i + 1}`, r);
      bootedDeployment(r, failing);
      assert.equal(r.marker.fail, true);
      assert.deepEqual(r.blessed, []);
      assert.deepEqual(s.deployments()[0]?.bootCounting, {
        triesLeft: left,
        triesDone: i + 1,
        failed: left === 0,
      });
    }
    const r = await bootSysroot(s.sysroot, { work: s.work });
    bootLog("fallback", r);
    bootedDeployment(r, previous);
    assert.equal(r.marker.fail, false);
    const st = s.statusJson();
    assert.equal(st.nextBoot, `${OS} ${previous.checksum}.${previous.serial}`, "status: what boots next");
    assert.match(
      s.pkg("status"),
      /BootFailed: no boot completed in 2 tries; the bootloader starts the next entry/,
    );
  });
});
