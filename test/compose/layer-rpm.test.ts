// End to end on an RPM base: packages built with rpmbuild installed with `rpm --root`, composed,
// deployed; install/uninstall/rollback from a createrepo_c repository, checked with the real rpm
// and dnf, and a package whose %post fails changes nothing.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { haveTools, run, tsostree, tsostreePkg } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import { deployedBase } from "./base-sysroot.js";
import {
  dnfSimulateInstall,
  installRpmRepo,
  makeRpmBase,
  makeRpmRepo,
  RPM_DBPATH,
  rpmWorld,
} from "./rpm-fixture.js";

const OS = "tso";
const REF = "tso/base";

interface Ctx {
  sysroot: string;
  tree: string;
  repo: ReturnType<typeof makeRpmRepo>;
}

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

interface Status {
  deployments: { checksum: string; serial: number; requestedPackages: string[] }[];
}

function pkg(c: Ctx, ...args: string[]) {
  return tsostreePkg([...args, `--sysroot=${c.sysroot}`]);
}

function status(c: Ctx): Status {
  return JSON.parse(ok(pkg(c, "status", "--json"), "status")) as Status;
}

function deployDir(c: Ctx, d: { checksum: string; serial: number }): string {
  return join(c.sysroot, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`);
}

function rpmQa(root: string): string[] {
  const r = run("rpm", [`--root=${root}`, `--dbpath=${RPM_DBPATH}`, "-qa", "--qf", "%{NAME}\\n"]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).sort();
}

/** The regular files of an installed package, as rpm lists them. */
function rpmFiles(root: string, name: string): string[] {
  const r = run("rpm", [`--root=${root}`, `--dbpath=${RPM_DBPATH}`, "-ql", "--noconfig", name]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((f) => f.startsWith("/usr/") && !f.endsWith("/"));
}

let shared: Ctx | undefined;

function need(t: TestContext): Ctx | undefined {
  if (!haveTools(t, "rpm", "rpmbuild", "createrepo_c", "bwrap")) return undefined;
  if (shared) return shared;
  const dir = sysScratch({ after: (fn) => cleanups.push(fn) });
  const w = rpmWorld();
  const tree = makeRpmBase(join(dir, "tree"));
  const { sysroot } = deployedBase(dir, tree, OS, REF);
  const repo = makeRpmRepo(dir, [w.hello, w.greeting, w.bad]);
  const c: Ctx = { sysroot, tree, repo };
  installRpmRepo(join(deployDir(c, status(c).deployments[0]!), "etc"), repo);
  shared = c;
  return c;
}

/** The shared sysroot lives for the whole file: removed after the last test. */
const cleanups: (() => void)[] = [];

describe("layering on an RPM base", { concurrency: false }, () => {
  after(() => {
    for (const fn of cleanups) fn();
  });
  it("install tso-hello layers it and tso-greeting; rpm -qa lists them", (t) => {
    const c = need(t);
    if (!c) return;
    const base = rpmQa(c.tree);
    ok(pkg(c, "install", "tso-hello"), "install");
    const list = status(c).deployments;
    assert.equal(list.length, 2);
    assert.deepEqual(list[0]!.requestedPackages, ["tso-hello"]);
    const root = deployDir(c, list[0]!);
    assert.deepEqual(rpmQa(root), [...base, "tso-greeting", "tso-hello"].sort());
    assert.ok(existsSync(join(root, "usr/bin/tso-hello")));
    // %config files reach /etc through usr/etc and the deploy's /etc merge.
    assert.ok(existsSync(join(root, "usr/etc/tso-greeting.conf")));
    assert.ok(existsSync(join(root, "etc/tso-greeting.conf")));
    // The package database inside the commit tells requests from dependencies and from the base.
    const db = JSON.parse(ok(pkg(c, "db", "list", "--json", "tso-*"), "db list")) as {
      name: string;
      origin: string;
      requested: boolean;
    }[];
    const by = (n: string) => db.find((p) => p.name === n);
    assert.deepEqual(
      [by("tso-hello"), by("tso-greeting"), by("tso-shell")].map((p) => p && [p.origin, p.requested]),
      [
        ["layered", true],
        ["layered", false],
        ["base", false],
      ],
    );
  });

  it("db diff agrees with dnf", (t) => {
    const c = need(t);
    if (!c) return;
    const diff = JSON.parse(ok(pkg(c, "db", "diff", "--json"), "db diff")) as { added: unknown[] };
    const dnf = dnfSimulateInstall({ tree: c.tree, repos: [c.repo], packages: ["tso-hello"] });
    assert.deepEqual(diff.added, dnf);
  });

  it("a package whose %post fails changes nothing and says which script", (t) => {
    const c = need(t);
    if (!c) return;
    const before = status(c);
    const r = pkg(c, "install", "tso-bad");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /tso-bad/);
    assert.match(r.stderr, /%?post/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    // The script's own output is shown with the progress lines.
    assert.match(r.stdout, /tso-bad: %post fails on purpose/);
    assert.deepEqual(status(c), before);
    const fsck = run("setpriv", [
      "--bounding-set=-sys_admin",
      "ostree",
      "fsck",
      `--repo=${join(c.sysroot, "ostree/repo")}`,
    ]);
    assert.equal(fsck.status, 0, fsck.stderr);
  });

  it("rollback flips back to the base and uninstall removes the layer", (t) => {
    const c = need(t);
    if (!c) return;
    const [a, b] = status(c).deployments;
    ok(pkg(c, "rollback"), "rollback");
    assert.equal(status(c).deployments[0]!.checksum, b!.checksum);
    ok(pkg(c, "rollback"), "rollback again");
    assert.equal(status(c).deployments[0]!.checksum, a!.checksum);
    ok(pkg(c, "uninstall", "tso-hello"), "uninstall");
    const d = status(c).deployments[0]!;
    assert.deepEqual(d.requestedPackages, []);
    assert.equal(rpmQa(deployDir(c, d)).includes("tso-hello"), false);
    assert.equal(existsSync(join(deployDir(c, d), "usr/bin/tso-hello")), false);
  });

  it("re-install costs no download; upgrade moves to a new base and newer layered packages", (t) => {
    const c = need(t);
    if (!c) return;
    const again = ok(pkg(c, "install", "tso-hello"), "install again");
    assert.doesNotMatch(again, /Downloading|Importing/);
    const dir = join(c.sysroot, "..");
    // A new base (one more file, version 2) and a newer tso-hello in the repository.
    const tree2 = makeRpmBase(join(dir, "tree2"));
    writeFileSync(join(tree2, "usr/share/base-v2"), "2\n");
    ok(
      tsostreePkg([
        "compose",
        "rootfs",
        tree2,
        `--repo=${join(c.sysroot, "ostree/repo")}`,
        `--branch=${REF}`,
        "--version=2",
      ]),
      "compose rootfs v2",
    );
    makeRpmRepo(dir, [rpmWorld().hello2]);
    const check = pkg(c, "upgrade", "--check");
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^Base: [0-9a-f]{64} -> [0-9a-f]{64}$/m);
    assert.match(check.stdout, /tso-hello 1\.0-1 -> 2\.0-1/);
    ok(pkg(c, "upgrade"), "upgrade");
    const st = JSON.parse(ok(pkg(c, "status", "--json"), "status")) as {
      deployments: {
        checksum: string;
        serial: number;
        baseCommit: string;
        version: string;
        layeredPackages: { name: string; version: string }[];
      }[];
    };
    const top = st.deployments[0]!;
    assert.equal(top.version, "2");
    assert.ok(top.layeredPackages.some((p) => p.name === "tso-hello" && p.version === "2.0-1"));
    assert.ok(existsSync(join(deployDir(c, top), "usr/share/base-v2")));
    assert.equal(pkg(c, "upgrade", "--check").status, 77);
  });

  it("override remove takes a base package out (refused when a package needs it); override reset brings it back", (t) => {
    const c = need(t);
    if (!c) return;
    const refused = pkg(c, "override", "remove", "tso-libfoo");
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /tso-hello depends on tso-libfoo/);
    ok(pkg(c, "uninstall", "tso-hello"), "uninstall tso-hello");
    ok(pkg(c, "override", "remove", "tso-libfoo"), "override remove tso-libfoo");
    const st = JSON.parse(ok(pkg(c, "status", "--json"), "status")) as {
      deployments: { checksum: string; serial: number; overrides: { remove: string[] } }[];
    };
    const top = st.deployments[0]!;
    assert.deepEqual(top.overrides.remove, ["tso-libfoo"]);
    const root = deployDir(c, top);
    assert.equal(rpmQa(root).includes("tso-libfoo"), false);
    const libs = rpmFiles(c.tree, "tso-libfoo");
    assert.ok(libs.length > 0);
    for (const f of libs) assert.equal(existsSync(join(root, f)), false, f);
    const diff = JSON.parse(ok(pkg(c, "db", "diff", "--json", "1", "0"), "db diff")) as {
      removed: { name: string }[];
    };
    assert.deepEqual(
      diff.removed.map((r) => r.name),
      ["tso-libfoo"],
    );
    ok(pkg(c, "override", "reset", "--all"), "override reset");
    const back = deployDir(c, status(c).deployments[0]!);
    assert.ok(rpmQa(back).includes("tso-libfoo"));
    for (const f of libs) assert.ok(existsSync(join(back, f)), f);
  });

  it("booted: a second install before the reboot adds to the pending deployment; cleanup -p drops it", (t) => {
    const c = need(t);
    if (!c) return;
    ok(tsostree(["admin", "boot", `--sysroot=${c.sysroot}`]), "admin boot");
    const booted = status(c).deployments[0]!;
    ok(pkg(c, "install", "tso-hello"), "install tso-hello");
    ok(pkg(c, "install", "tso-greeting"), "install tso-greeting");
    const list = status(c).deployments;
    assert.equal(list.length, 2);
    assert.deepEqual(list[0]!.requestedPackages, ["tso-hello", "tso-greeting"]);
    assert.equal(list[1]!.checksum, booted.checksum);
    ok(pkg(c, "cleanup", "-p"), "cleanup -p");
    assert.deepEqual(
      status(c).deployments.map((d) => d.checksum),
      [booted.checksum],
    );
  });

  it("uninstall --all drops every layered package", (t) => {
    const c = need(t);
    if (!c) return;
    ok(pkg(c, "install", "tso-hello", "tso-greeting"), "install two");
    assert.equal(status(c).deployments[0]!.requestedPackages.length, 2);
    ok(pkg(c, "uninstall", "--all"), "uninstall --all");
    assert.deepEqual(status(c).deployments[0]!.requestedPackages, []);
    assert.equal(pkg(c, "uninstall").status, 2);
  });
});
