// Live-apply on a booted (simulated) RPM sandbox: `install --apply-live` puts the new files into the
// running root (SYSROOT/run/root) while the booted deployment and the repo stay as they were; a
// replacement of a base file is refused unless --allow-replacement; --reset gives back the booted
// tree; a kill in the middle is completed by the next run; the next boot forgets it all.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { deployedBase } from "../compose/base-sysroot.js";
import { installRpmRepo, makeRpmBase, makeRpmRepo, rpmbuild, rpmWorld } from "../compose/rpm-fixture.js";
import { diffManifests, type ManifestEntry, manifest } from "../compose/tree-oracle.js";
import { haveTools, run, tsostree, tsostreePkg } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import { liveRoot, noEtc, runLive as runLiveIn } from "./live-root.js";

const OS = "tso";
const REF = "tso/base";

interface Ctx {
  sysroot: string;
  /** The booted deployment's directory. */
  booted: string;
  /** Its manifest (without /etc, the running system's writable config) at boot. */
  bootedManifest: ManifestEntry[];
  /** The running root's manifest right after the boot. */
  liveAtBoot: ManifestEntry[];
  /** tso-libfoo 1.1: another /usr/lib64/libfoo.so.1 than the base's. */
  libfoo2: string;
  /** tso-svc: a systemd unit and a file trigger (on a path nothing has). */
  svc: string;
  /** tso-plugins: a file trigger on its own files that only adds files (an index, a cache named by a uuid). */
  plugins: string;
  /** tso-reg: a file trigger on its own files that appends to /etc/group. */
  reg: string;
}

interface Live {
  commit: string | null;
  state: string;
  target: string | null;
  added: string[];
  replaced: string[];
  etcAdded: string[];
  triggerAdded: string[];
}
interface Status {
  live: Live | null;
  deployments: { checksum: string; serial: number; booted: boolean }[];
}

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function pkg(c: Ctx, args: string[], env: Record<string, string> = {}) {
  return tsostreePkg([...args, `--sysroot=${c.sysroot}`], { env: { ...process.env, ...env } });
}

function status(c: Ctx): Status {
  return JSON.parse(ok(pkg(c, ["status", "--json"]), "status")) as Status;
}

const live = (c: Ctx) => liveRoot(c.sysroot);
const liveManifest = (c: Ctx) => manifest(live(c));

/** The booted deployment is never written (its /etc is the running /etc, checked apart). */
function assertBootedUnchanged(c: Ctx): void {
  assert.deepEqual(diffManifests(c.bootedManifest, manifest(c.booted, noEtc)), {
    added: [],
    removed: [],
    changed: [],
  });
}

function runLive(c: Ctx, argv: string[]) {
  return runLiveIn(c.sysroot, argv);
}

function libfoo2Spec(): string {
  return [
    "Name: tso-libfoo\nVersion: 1.1\nRelease: 1\nSummary: tso-libfoo rebuilt\nLicense: MIT\nBuildArch: noarch",
    "AutoReqProv: no\nProvides: libfoo.so.1()(64bit)",
    "%description\ntso-libfoo 1.1.",
    "%install\nmkdir -p %{buildroot}/usr/lib64\necho 'fake libfoo 1.1' > %{buildroot}/usr/lib64/libfoo.so.1",
    "%files\n/usr/lib64/libfoo.so.1\n",
  ].join("\n");
}

function svcSpec(): string {
  return [
    "Name: tso-svc\nVersion: 1.0\nRelease: 1\nSummary: a unit\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no",
    "%description\ntso-svc.",
    "%install\nmkdir -p %{buildroot}/usr/lib/systemd/system",
    "printf '[Service]\\nExecStart=/bin/true\\n' > %{buildroot}/usr/lib/systemd/system/tso-svc.service",
    "%transfiletriggerin -p /bin/sh -- /usr/share/tso-plugins\necho plugins",
    "%files\n/usr/lib/systemd/system/tso-svc.service\n",
  ].join("\n");
}

function pluginsSpec(): string {
  return [
    "Name: tso-plugins\nVersion: 1.0\nRelease: 1\nSummary: plugins\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no",
    "%description\ntso-plugins.",
    "%install\nmkdir -p %{buildroot}/usr/share/tso-plugins\necho a > %{buildroot}/usr/share/tso-plugins/a.plugin",
    "%filetriggerin -p /usr/bin/sh -- /usr/share/tso-plugins",
    'while read -r p; do echo "$p"; done > /usr/share/tso-plugins.index',
    "read -r id < /proc/sys/kernel/random/uuid",
    'echo "$id" > "/usr/share/tso-plugins.cache-$id"',
    "%files\n/usr/share/tso-plugins\n",
  ].join("\n");
}

function regSpec(): string {
  return [
    "Name: tso-reg\nVersion: 1.0\nRelease: 1\nSummary: registers a group\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no",
    "%description\ntso-reg.",
    "%install\nmkdir -p %{buildroot}/usr/share/tso-reg\necho r > %{buildroot}/usr/share/tso-reg/r.conf",
    "%filetriggerin -p /usr/bin/sh -- /usr/share/tso-reg",
    "echo 'tsoreg:x:990:' >> /etc/group",
    "%files\n/usr/share/tso-reg\n",
  ].join("\n");
}

const cleanups: (() => void)[] = [];
let shared: Ctx | undefined;

function need(t: TestContext): Ctx | undefined {
  if (!haveTools(t, "rpm", "rpmbuild", "createrepo_c", "bwrap", "ostree")) return undefined;
  if (shared) return shared;
  const dir = sysScratch({ after: (fn) => cleanups.push(fn) });
  const w = rpmWorld();
  const tree = makeRpmBase(join(dir, "tree"));
  const { sysroot } = deployedBase(dir, tree, OS, REF);
  const repo = makeRpmRepo(dir, [w.hello, w.greeting]);
  const [libfoo2] = rpmbuild(dir, "tso-libfoo-2", libfoo2Spec());
  const [svc] = rpmbuild(dir, "tso-svc", svcSpec());
  const [plugins] = rpmbuild(dir, "tso-plugins", pluginsSpec());
  const [reg] = rpmbuild(dir, "tso-reg", regSpec());
  const st = JSON.parse(ok(tsostreePkg(["status", "--json", `--sysroot=${sysroot}`]), "status")) as Status;
  const d = st.deployments[0]!;
  const booted = join(sysroot, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`);
  installRpmRepo(join(booted, "etc"), repo);
  ok(tsostree(["admin", "boot", `--sysroot=${sysroot}`]), "admin boot");
  shared = {
    sysroot,
    booted,
    bootedManifest: manifest(booted, noEtc),
    liveAtBoot: manifest(join(sysroot, "run/root")),
    libfoo2: libfoo2!,
    svc: svc!,
    plugins: plugins!,
    reg: reg!,
  };
  return shared;
}

describe("apply-live on an RPM sandbox", { concurrency: false }, () => {
  after(() => {
    for (const fn of cleanups) fn();
  });

  it("install --apply-live tso-hello: it runs from the running root; booted deployment and repo untouched", (t) => {
    const c = need(t);
    if (!c) return;
    const out = ok(pkg(c, ["install", "--apply-live", "tso-hello"]), "install --apply-live");
    assert.match(out, /Applied [0-9a-f]{64} live/);
    assert.ok(existsSync(join(live(c), "usr/bin/tso-hello")));
    // The config it reads came to /etc (absent there before), from /usr/etc.
    const r = runLive(c, ["/usr/bin/tso-hello"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "Hello from tso-hello 1.0\n");
    assertBootedUnchanged(c);
    const fsck = run("setpriv", [
      "--bounding-set=-sys_admin",
      "ostree",
      "fsck",
      `--repo=${join(c.sysroot, "ostree/repo")}`,
    ]);
    assert.equal(fsck.status, 0, fsck.stderr);
    const st = status(c);
    const pending = st.deployments[0]!;
    assert.equal(pending.booted, false);
    assert.equal(st.live?.commit, pending.checksum);
    assert.equal(st.live?.state, "complete");
    assert.ok(st.live?.added.includes("/usr/bin/tso-hello"), JSON.stringify(st.live));
    assert.ok(st.live?.etcAdded.includes("/etc/tso-greeting.conf"));
    assert.match(ok(pkg(c, ["status"]), "status"), new RegExp(`LiveCommit: ${pending.checksum}`));
    // Only what the diff adds: the running root is the boot's plus the new paths.
    const d = diffManifests(c.liveAtBoot, liveManifest(c));
    assert.deepEqual(d.removed, []);
    assert.ok(
      d.changed.every((l) => /usr\/lib\/sysimage\//.test(l)),
      d.changed.join("\n"),
    );
  });

  it("applying again is a no-op", (t) => {
    const c = need(t);
    if (!c) return;
    const before = liveManifest(c);
    assert.match(ok(pkg(c, ["apply-live"]), "apply-live again"), /already live/);
    assert.deepEqual(liveManifest(c), before);
  });

  it("a replaced base file is refused without --allow-replacement; with it only the running root changes", (t) => {
    const c = need(t);
    if (!c) return;
    ok(pkg(c, ["override", "replace", c.libfoo2]), "override replace");
    const before = liveManifest(c);
    const stBefore = status(c).live;
    const refused = pkg(c, ["apply-live"]);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /\/usr\/lib64\/libfoo\.so\.1 \(modified\)/);
    assert.match(refused.stderr, /--allow-replacement/);
    assert.deepEqual(liveManifest(c), before);
    assert.deepEqual(status(c).live, stBefore);
    const out = ok(pkg(c, ["apply-live", "--allow-replacement"]), "apply-live --allow-replacement");
    // A library changed: the running system's linker cache was refreshed (ldconfig -r, as root).
    assert.doesNotMatch(out, /note:/);
    assert.ok(existsSync(join(live(c), "etc/ld.so.cache")));
    assert.equal(readFileSync(join(live(c), "usr/lib64/libfoo.so.1"), "utf8"), "fake libfoo 1.1\n");
    assert.equal(readFileSync(join(c.booted, "usr/lib64/libfoo.so.1"), "utf8"), "fake libfoo 1.0\n");
    assertBootedUnchanged(c);
    assert.ok(status(c).live?.replaced.includes("/usr/lib64/libfoo.so.1"));
  });

  it("--reset makes the running root the booted deployment again", (t) => {
    const c = need(t);
    if (!c) return;
    ok(pkg(c, ["apply-live", "--reset"]), "reset");
    assert.deepEqual(diffManifests(c.liveAtBoot, liveManifest(c)), { added: [], removed: [], changed: [] });
    assert.equal(existsSync(join(c.booted, "etc/tso-greeting.conf")), false);
    assert.equal(status(c).live, null);
    assertBootedUnchanged(c);
  });

  it("killed during apply (kill -9): the next run completes it, nothing twice", (t) => {
    const c = need(t);
    if (!c) return;
    const killed = pkg(c, ["apply-live", "--allow-replacement"], { TSOSTREE_FAULT: "live:added-one" });
    assert.notEqual(killed.status, 0, killed.stdout);
    const st = status(c);
    assert.equal(st.live?.state, "interrupted");
    assert.match(ok(pkg(c, ["status"]), "status"), /LiveApply: interrupted/);
    // Another target is refused while one is interrupted.
    const other = pkg(c, ["apply-live", `--target=${st.deployments[1]!.checksum}`]);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /interrupted/);
    ok(pkg(c, ["apply-live", "--allow-replacement"]), "apply-live again");
    assert.equal(status(c).live?.state, "complete");
    // The same tree an uninterrupted apply makes: reset, apply in one go, compare.
    const resumed = liveManifest(c);
    ok(pkg(c, ["apply-live", "--reset"]), "reset");
    ok(pkg(c, ["apply-live", "--allow-replacement"]), "apply-live in one go");
    assert.deepEqual(diffManifests(liveManifest(c), resumed), { added: [], removed: [], changed: [] });
    assert.equal(runLive(c, ["/usr/bin/tso-hello"]).stdout, "Hello from tso-hello 1.0\n");
    assertBootedUnchanged(c);
  });

  it("booting the new deployment forgets the live state", (t) => {
    const c = need(t);
    if (!c) return;
    ok(tsostree(["admin", "boot", `--sysroot=${c.sysroot}`]), "admin boot");
    const st = status(c);
    assert.equal(st.live, null);
    assert.equal(
      st.deployments.find((d) => d.booted),
      st.deployments[0],
    );
    assert.match(ok(pkg(c, ["apply-live"]), "apply-live"), /Nothing applied live|already/);
    assert.equal(runLive(c, ["/usr/bin/tso-hello"]).stdout, "Hello from tso-hello 1.0\n");
  });

  it("a new unit: a sandbox says what a host would reload; a trigger the layering did not run does not run", (t) => {
    const c = need(t);
    if (!c) return;
    const out = ok(pkg(c, ["install", "--apply-live", c.svc]), "install --apply-live tso-svc");
    assert.ok(existsSync(join(live(c), "usr/lib/systemd/system/tso-svc.service")));
    assert.match(
      out,
      /note: systemd units changed \(tso-svc\.service\): a host would run `systemctl daemon-reload`/,
    );
    // Its trigger watches a path nothing has: the layering did not run it, so nothing runs live.
    assert.doesNotMatch(out, /trigger/);
    // --reset takes the unit away again, and says so.
    assert.match(
      ok(pkg(c, ["apply-live", "--reset"]), "reset"),
      /systemd units changed \(tso-svc\.service\)/,
    );
    assert.equal(existsSync(join(live(c), "usr/lib/systemd/system/tso-svc.service")), false);
  });

  it("the added packages' triggers: an additive one runs against the live root, one that changes /etc waits for the boot; kill -9, rerun, --reset", (t) => {
    const c = need(t);
    if (!c) return;
    const atStart = liveManifest(c);
    const b = status(c).deployments.find((d) => d.booted)!;
    const bootedDir = join(c.sysroot, "ostree/deploy", OS, "deploy", `${b.checksum}.${b.serial}`);
    const bootedAtStart = manifest(bootedDir, noEtc);
    const bootedUnchanged = () =>
      assert.deepEqual(diffManifests(bootedAtStart, manifest(bootedDir, noEtc)), {
        added: [],
        removed: [],
        changed: [],
      });
    const caches = () =>
      readdirSync(join(live(c), "usr/share")).filter((n) => n.startsWith("tso-plugins.cache-"));
    const out = ok(pkg(c, ["install", "--apply-live", c.plugins, c.reg]), "install --apply-live");
    assert.match(
      out,
      // tso-svc (still requested) watches /usr/share/tso-plugins too: the layering ran it, so does this.
      /note: triggers run against the live root: tso-plugins %filetriggerin; tso-svc %transfiletriggerin \(added \/usr\/share\/tso-plugins\.cache-/,
    );
    assert.match(
      out,
      /note: trigger tso-reg %filetriggerin: runs at the next boot \(its effect is in the new deployment\) — it changes \/usr\/etc\/group/,
    );
    // Its index came with the commit; its cache once from the layering, once from the live run.
    assert.equal(
      readFileSync(join(live(c), "usr/share/tso-plugins.index"), "utf8"),
      "/usr/share/tso-plugins/a.plugin\n",
    );
    assert.equal(caches().length, 2);
    assert.doesNotMatch(readFileSync(join(live(c), "etc/group"), "utf8"), /tsoreg/);
    bootedUnchanged();
    assert.equal(status(c).live?.triggerAdded.length, 1);

    ok(pkg(c, ["apply-live", "--reset"]), "reset");
    assert.deepEqual(diffManifests(atStart, liveManifest(c)), { added: [], removed: [], changed: [] });
    const killed = pkg(c, ["apply-live"], { TSOSTREE_FAULT: "live:trigger-added" });
    assert.notEqual(killed.status, 0, killed.stdout);
    assert.equal(status(c).live?.state, "interrupted");
    assert.equal(caches().length, 2);
    ok(pkg(c, ["apply-live"]), "apply-live after the kill");
    assert.equal(status(c).live?.state, "complete");
    assert.equal(caches().length, 2, "the killed run's cache was replaced, not kept beside the new one");
    assert.equal(status(c).live?.triggerAdded.length, 1);
    ok(pkg(c, ["apply-live", "--reset"]), "reset");
    assert.deepEqual(diffManifests(atStart, liveManifest(c)), { added: [], removed: [], changed: [] });
    bootedUnchanged();
  });
});
