// The pure parts: kernel arguments, BLS entries, version ordering, bootlinks, origins, the
// deployment-list policy of a new deployment, rollback order.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BootConfig, compareBootConfigs, parseBootlink, strverscmp } from "../../src/sysroot/bls.js";
import { computeKargs, simpleDeploymentList } from "../../src/sysroot/deploy.js";
import { type Deployment, newDeployment } from "../../src/sysroot/deployment.js";
import { diffDirs } from "../../src/sysroot/etc-merge.js";
import { KernelArgs } from "../../src/sysroot/kargs.js";
import { findKernel } from "../../src/sysroot/kernel.js";
import { isPinned, originFromRefspec, withoutTransientState, withPinned } from "../../src/sysroot/origin.js";
import type { Sysroot } from "../../src/sysroot/sysroot.js";
import { scratch } from "../helpers.js";

test("kernel arguments follow ostree's replace/append/delete rules", () => {
  const k = KernelArgs.parse("root=/dev/sda quiet console=tty0 console=ttyS0,115200");
  k.replace("root=LABEL=r");
  k.append("console=hvc0");
  assert.equal(k.toString(), "root=LABEL=r quiet console=tty0 console=ttyS0,115200 console=hvc0");
  assert.throws(() => k.delete("console"), /Multiple values for key 'console' found/);
  k.delete("console=tty0");
  k.replace("console=x");
  assert.equal(k.toString(), "root=LABEL=r quiet console=x");
  assert.throws(() => k.delete("quiet=1"), /No karg 'quiet=1' found/);
  k.appendIfMissing("quiet");
  k.deleteIfPresent("nope");
  assert.equal(k.toString(), "root=LABEL=r quiet console=x");
  assert.equal(KernelArgs.parse("").toString(), "");
});

test("kargs of a new deployment: inherited unless overridden", () => {
  const merge = newDeployment(
    "os",
    "a".repeat(64),
    0,
    "b".repeat(64),
    null,
    "root=x quiet ostree=/ostree/boot.0/os/b/0",
  );
  assert.equal(computeKargs(merge, {}), null);
  assert.equal(
    computeKargs(merge, { kargAppend: ["debug"] }),
    "root=x quiet ostree=/ostree/boot.0/os/b/0 debug",
  );
  assert.equal(computeKargs(merge, { kargNone: true, karg: ["a=1"] }), "a=1");
  assert.equal(computeKargs(null, { karg: ["a=1", "a=2"] }), "a=2");
  assert.throws(() => computeKargs(merge, { kargNone: true, kargDelete: "x" }), /Can't specify both/);
});

test("BLS entries parse and serialize in ostree's key order", () => {
  const text =
    "linux /vmlinuz\ntitle T\nversion 3\ninitrd /a.img\ninitrd /ovl.img\ncustom yes\noptions ostree=/ostree/boot.1/os/c/0 quiet\n";
  const bc = BootConfig.parse(text);
  assert.deepEqual(bc.overlayInitrds, ["/ovl.img"]);
  assert.equal(bc.ostreeArg(), "/ostree/boot.1/os/c/0");
  assert.equal(
    bc.serialize(),
    "title T\nversion 3\noptions ostree=/ostree/boot.1/os/c/0 quiet\nlinux /vmlinuz\ninitrd /a.img\ninitrd /ovl.img\ncustom yes\n",
  );
  assert.deepEqual(parseBootlink("/ostree/boot.1/os/c/12"), {
    bootversion: 1,
    osname: "os",
    bootcsum: "c",
    bootserial: 12,
  });
  assert.throws(() => parseBootlink("/ostree/boot.2/os/c/0"), /Invalid ostree= argument/);
});

test("strverscmp orders entry versions like glibc", () => {
  assert.ok(strverscmp("2", "10") < 0);
  assert.ok(strverscmp("10", "9") > 0);
  assert.equal(strverscmp("7", "7"), 0);
  const a = BootConfig.parse("version 2\n");
  const b = BootConfig.parse("version 10\n");
  assert.ok(compareBootConfigs(a, b) > 0, "higher version sorts first");
});

test("origins: pin and transient state", () => {
  const o = originFromRefspec("remote:os/stable");
  assert.equal(o.toString(), "[origin]\nrefspec=remote:os/stable\n");
  const p = withPinned(o, true);
  assert.equal(isPinned(p), true);
  assert.equal(p.toString(), "[origin]\nrefspec=remote:os/stable\n\n[libostree-transient]\npinned=true\n");
  assert.equal(
    withPinned(p, false).toString(),
    "[origin]\nrefspec=remote:os/stable\n\n[libostree-transient]\n",
  );
  p.set("origin", "unlocked", "hotfix");
  assert.equal(withoutTransientState(p).toString(), "[origin]\nrefspec=remote:os/stable\n");
});

function dep(id: string, osname = "os"): Deployment {
  return newDeployment(osname, id.repeat(64).slice(0, 64), 0, "b".repeat(64), null, "");
}

test("a new deployment replaces all but booted, merge, pinned and other stateroots", () => {
  const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => dep(x));
  const other = dep("e", "other");
  const fake = (deployments: Deployment[], booted: Deployment | null) =>
    ({ deployments, booted }) as unknown as Sysroot;
  const n = dep("f");
  // Not booted: the merge deployment (first) survives.
  assert.deepEqual(simpleDeploymentList(fake([a!, b!, other], null), "os", n, a!, {}), [n, a, other]);
  // Booted b with pending a: a goes, b stays; --retain-pending keeps a.
  assert.deepEqual(simpleDeploymentList(fake([a!, b!, c!], b!), "os", n, b!, {}), [n, b]);
  assert.deepEqual(simpleDeploymentList(fake([a!, b!, c!], b!), "os", n, b!, { retainPending: true }), [
    n,
    a,
    b,
  ]);
  assert.deepEqual(simpleDeploymentList(fake([a!, b!, c!], b!), "os", n, b!, { retainRollback: true }), [
    n,
    b,
    c,
  ]);
  // --not-as-default: right after the booted one.
  assert.deepEqual(
    simpleDeploymentList(fake([a!, b!, c!, d!], b!), "os", n, b!, { notDefault: true, retain: true }),
    [a, b, n, c, d],
  );
});

test("the /etc diff reports modified, removed and added like ostree", async (t) => {
  const dir = scratch(t);
  const orig = join(dir, "usr-etc");
  const live = join(dir, "etc");
  for (const d of [orig, live]) mkdirSync(join(d, "sub"), { recursive: true });
  writeFileSync(join(orig, "same"), "1");
  writeFileSync(join(live, "same"), "1");
  writeFileSync(join(orig, "mod"), "1");
  writeFileSync(join(live, "mod"), "2");
  writeFileSync(join(orig, "sub/gone"), "x");
  mkdirSync(join(live, "newdir/deep"), { recursive: true });
  writeFileSync(join(live, "newdir/deep/f"), "n");
  assert.deepEqual(await diffDirs(orig, live), {
    modified: ["mod"],
    removed: ["sub/gone"],
    added: ["newdir", "newdir/deep", "newdir/deep/f"],
  });
});

test("the /etc diff compares type, mode, target and every byte, follows no symlink and reads no fifo", async (t) => {
  const dir = scratch(t);
  const orig = join(dir, "usr-etc");
  const live = join(dir, "etc");
  const outside = join(dir, "outside");
  mkdirSync(join(outside, "d"), { recursive: true });
  writeFileSync(join(outside, "d/secret"), "s");
  const big = Buffer.alloc(200_000, 7);
  for (const d of [orig, live]) {
    mkdirSync(join(d, "sub"), { recursive: true });
    writeFileSync(join(d, "big-same"), big);
    writeFileSync(join(d, "mode"), "m");
    spawnSync("mkfifo", [join(d, "fifo")]);
  }
  const changed = Buffer.from(big);
  changed[150_000] = 8; // past the first read of 64 KiB
  writeFileSync(join(orig, "big-diff"), big);
  writeFileSync(join(live, "big-diff"), changed);
  writeFileSync(join(orig, "shorter"), "abc");
  writeFileSync(join(live, "shorter"), "ab");
  chmodSync(join(live, "mode"), 0o600);
  symlinkSync("a", join(orig, "link"));
  symlinkSync("b", join(live, "link"));
  writeFileSync(join(orig, "was-file"), "f");
  mkdirSync(join(live, "was-file"));
  writeFileSync(join(orig, "hard"), "h");
  linkSync(join(orig, "hard"), join(live, "hard"));
  // The same name as a directory in one tree and a symlink to a directory in the other: never followed.
  mkdirSync(join(orig, "d"));
  writeFileSync(join(orig, "d/secret"), "s");
  symlinkSync(join(outside, "d"), join(live, "d"));
  symlinkSync(join(outside, "d"), join(live, "new-link"));
  const d = await diffDirs(orig, live);
  assert.deepEqual(d, {
    modified: ["big-diff", "d", "link", "mode", "shorter", "was-file"],
    removed: [],
    added: ["new-link"],
  });
  // Each side is the other's mirror image.
  assert.deepEqual(await diffDirs(live, orig), {
    modified: ["big-diff", "d", "link", "mode", "shorter", "was-file"],
    removed: ["new-link"],
    added: [],
  });
  await assert.rejects(diffDirs(join(dir, "missing"), live), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, "ENOENT");
    assert.match(e.message, /missing/);
    return true;
  });
});

test("kernel discovery and bootcsum: sha256 of vmlinuz then initramfs", (t) => {
  const root = scratch(t);
  const mod = join(root, "usr/lib/modules/6.1.0-test");
  mkdirSync(mod, { recursive: true });
  writeFileSync(join(mod, "vmlinuz"), "KERNEL");
  writeFileSync(join(mod, "initramfs.img"), "INITRD");
  const k = findKernel(root);
  assert.equal(k.kernelNamever, "vmlinuz-6.1.0-test");
  assert.equal(k.initramfsNamever, "initramfs-6.1.0-test.img");
  assert.equal(k.bootcsum, createHash("sha256").update("KERNELINITRD").digest("hex"));
});
