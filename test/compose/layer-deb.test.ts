// End to end on Debian: a debootstrap minbase composed into a base, deployed into a sandbox sysroot,
// then `tsostree-pkg install strace` from a local signed apt repository of real Debian packages,
// checked against apt-get -s, dpkg-query, the real ostree and by running strace; rollback and
// uninstall. Needs root (the minbase tree and a bare repo keep real owners), as CI runs it.
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { fixture, needRoot, ostree, projectRoot, run, tsostree, tsostreePkg } from "../helpers.js";
import { describeTree } from "../repo/treewalk.js";
import { sysScratch } from "../sysroot/fixture.js";
import { type AptRepo, aptGetSimulateInstall, installAptSource, makeAptRepo } from "./apt-fixture.js";
import { deployedBase } from "./base-sysroot.js";

const MINBASE = join(projectRoot, "fixtures/out/minbase");
const DEBS = join(projectRoot, "fixtures/out/debs");
const OS = "debian";
const REF = "debian/bookworm";

interface Ctx {
  dir: string;
  sysroot: string;
  repo: string;
  apt: AptRepo;
}

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function pkg(ctx: Ctx, ...args: string[]) {
  return tsostreePkg([...args, `--sysroot=${ctx.sysroot}`]);
}

function statusJson(ctx: Ctx) {
  return JSON.parse(ok(pkg(ctx, "status", "--json"), "status")) as {
    deployments: {
      checksum: string;
      serial: number;
      baseCommit: string;
      requestedPackages: string[];
      layeredPackages: { name: string; version: string; arch: string }[];
    }[];
  };
}

function deployDir(ctx: Ctx, d: { checksum: string; serial: number }): string {
  return join(ctx.sysroot, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`);
}

function setup(): Ctx {
  const dir = sysScratch({ after: (fn) => cleanups.push(fn) });
  const { sysroot, repo } = deployedBase(dir, MINBASE, OS, REF);
  const debs = readdirSync(DEBS)
    .filter((f) => f.endsWith(".deb"))
    .map((f) => join(DEBS, f));
  const apt = makeAptRepo(dir, debs);
  const c: Ctx = { dir, sysroot, repo, apt };
  const etc = join(deployDir(c, statusJson(c).deployments[0]!), "etc");
  // The admin points apt at the local repository instead of Debian's mirrors.
  rmSync(join(etc, "apt/sources.list"), { force: true });
  installAptSource(etc, apt);
  return c;
}

/** dpkg-query's --showformat for these fields, space-separated. */
function fmt(...fields: string[]): string {
  return `-f=${fields.map((f) => `\${${f}}`).join(" ")}`;
}

let shared: Ctx | undefined;

/** The shared sysroot, made by the first test that needs it; undefined (skipped) when it cannot be. */
function need(t: TestContext): Ctx | undefined {
  // The minbase tree keeps real owners: composing it as another user would not be the same base.
  if (!needRoot(t, "layering on minbase")) return undefined;
  fixture("minbase");
  fixture("debs");
  shared ??= setup();
  return shared;
}

/** The shared sysroot lives for the whole file: removed after the last test. */
const cleanups: (() => void)[] = [];

describe("layering on a Debian minbase", { concurrency: false }, () => {
  after(() => {
    for (const fn of cleanups) fn();
  });
  it("install strace: a new default deployment with strace and what it needs", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const before = statusJson(ctx).deployments;
    assert.equal(before.length, 1);
    ok(pkg(ctx, "install", "strace"), "install strace");
    const list = statusJson(ctx).deployments;
    assert.equal(list.length, 2);
    const [layered, base] = list as [(typeof list)[0], (typeof list)[0]];
    assert.equal(base.checksum, before[0]!.checksum);
    assert.equal(layered.baseCommit, base.checksum);
    assert.deepEqual(layered.requestedPackages, ["strace"]);
    assert.ok(layered.layeredPackages.some((p) => p.name === "strace"));
    const root = deployDir(ctx, layered);
    assert.ok(existsSync(join(root, "usr/bin/strace")));
    const v = run("bwrap", [
      "--bind",
      root,
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--unshare-net",
      "/usr/bin/strace",
      "-V",
    ]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /strace -- version 6\./);
    assert.equal(existsSync(join(deployDir(ctx, base), "usr/bin/strace")), false);
    // libc-bin's ldconfig trigger ran in the sandbox: the linker cache knows the new library.
    assert.match(
      readFileSync(join(root, "usr/etc/ld.so.cache")).toString("latin1"),
      /libunwind-ptrace\.so\.0/,
    );
    assert.doesNotMatch(
      readFileSync(join(deployDir(ctx, base), "usr/etc/ld.so.cache")).toString("latin1"),
      /libunwind-ptrace/,
    );
  });

  it("the layered deployment (the base's early checkout changed in place) equals a checkout of its commit", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const [layered] = statusJson(ctx).deployments;
    const fresh = join(ctx.dir, "fresh-layered");
    ok(tsostree(["checkout", `--repo=${ctx.repo}`, layered!.checksum, fresh]), "checkout");
    // Everything but /etc (the merge's, from the admin's changes): entries, modes, owners, contents.
    const withoutEtc = (l: string[]) => l.filter((x) => !/^[dfl] \/etc(\/| )/.test(x));
    assert.deepEqual(withoutEtc(describeTree(deployDir(ctx, layered!))), withoutEtc(describeTree(fresh)));
  });

  it("db diff lists exactly what apt-get -s install strace would add", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const diff = JSON.parse(ok(pkg(ctx, "db", "diff", "--json"), "db diff")) as Record<string, unknown[]>;
    const apt = aptGetSimulateInstall({
      dpkgStatus: join(MINBASE, "var/lib/dpkg/status"),
      repo: ctx.apt,
      packages: ["strace"],
    });
    assert.deepEqual(diff.added, apt);
    assert.deepEqual(diff.removed, []);
    assert.deepEqual(diff.upgraded, []);
    assert.deepEqual(diff.downgraded, []);
  });

  it("dpkg-query in the new deployment agrees", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const d = statusJson(ctx).deployments[0]!;
    const admindir = join(deployDir(ctx, d), "usr/share/dpkg/database");
    const q = run("dpkg-query", [`--admindir=${admindir}`, "-W", fmt("Status", "Version"), "strace"]);
    assert.equal(q.status, 0, q.stderr);
    assert.match(q.stdout, /^install ok installed 6\./);
    const files = run("dpkg-query", [`--admindir=${admindir}`, "-L", "strace"]);
    assert.match(files.stdout, /^\/usr\/bin\/strace$/m);
  });

  it("the real ostree reads the sysroot and the repo", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const st = ostree(["admin", "status", `--sysroot=${ctx.sysroot}`]);
    assert.equal(st.status, 0, st.stderr);
    assert.equal(st.stdout.match(new RegExp(`^. ${OS} [0-9a-f]{64}\\.\\d`, "gm"))?.length, 2, st.stdout);
    const fsck = ostree(["fsck", `--repo=${ctx.repo}`]);
    assert.equal(fsck.status, 0, fsck.stderr + fsck.stdout);
  });

  it("rollback flips the default, and again flips it back", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const [a, b] = statusJson(ctx).deployments;
    ok(pkg(ctx, "rollback"), "rollback");
    assert.deepEqual(
      statusJson(ctx).deployments.map((d) => d.checksum),
      [b!.checksum, a!.checksum],
    );
    ok(pkg(ctx, "rollback"), "rollback again");
    assert.deepEqual(
      statusJson(ctx).deployments.map((d) => d.checksum),
      [a!.checksum, b!.checksum],
    );
  });

  it("uninstall strace gives a tree without strace", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    ok(pkg(ctx, "uninstall", "strace"), "uninstall");
    const d = statusJson(ctx).deployments[0]!;
    assert.deepEqual(d.requestedPackages, []);
    assert.equal(existsSync(join(deployDir(ctx, d), "usr/bin/strace")), false);
  });

  it("nano: maintainer scripts (update-alternatives) and a conffile reach the new deployment", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    ok(pkg(ctx, "install", "nano"), "install nano");
    const d = statusJson(ctx).deployments[0]!;
    const root = deployDir(ctx, d);
    // The conffile is a default in usr/etc and reaches /etc through the deploy's merge.
    assert.ok(existsSync(join(root, "usr/etc/nanorc")));
    assert.ok(existsSync(join(root, "etc/nanorc")));
    // postinst ran update-alternatives: the link chain exists and its state is versioned in /usr.
    assert.equal(readlinkSync(join(root, "usr/bin/editor")), "/etc/alternatives/editor");
    assert.equal(readlinkSync(join(root, "etc/alternatives/editor")), "/bin/nano");
    assert.ok(existsSync(join(root, "usr/share/dpkg/database/alternatives/editor")));
    const admindir = join(root, "usr/share/dpkg/database");
    const q = run("dpkg-query", [`--admindir=${admindir}`, "-W", fmt("Status"), "nano"]);
    assert.equal(q.stdout, "install ok installed");
    const conf = run("dpkg-query", [`--admindir=${admindir}`, "-W", fmt("Conffiles"), "nano"]);
    assert.match(conf.stdout, /\/etc\/nanorc [0-9a-f]{32}/);
    const v = run("bwrap", [
      "--ro-bind",
      root,
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--unshare-net",
      "/usr/bin/editor",
      "--version",
    ]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /GNU nano/);
  });

  it("a local .deb file is layered with its dependencies from the repository, and uninstalled by name", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const src = join(ctx.dir, "tso-local");
    mkdirSync(join(src, "DEBIAN"), { recursive: true });
    mkdirSync(join(src, "usr/bin"), { recursive: true });
    writeFileSync(
      join(src, "DEBIAN/control"),
      "Package: tso-local\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@example.org>\nDepends: libunwind8\nDescription: a local package\n",
    );
    writeFileSync(join(src, "usr/bin/tso-local"), "#!/bin/sh\necho local\n", { mode: 0o755 });
    const deb = join(ctx.dir, "tso-local_1.0-1_all.deb");
    const b = run("dpkg-deb", ["--root-owner-group", "--build", src, deb]);
    assert.equal(b.status, 0, b.stderr);
    ok(pkg(ctx, "install", deb), "install ./tso-local.deb");
    const d = statusJson(ctx).deployments[0]!;
    assert.ok(d.layeredPackages.some((p) => p.name === "tso-local"));
    assert.ok(d.layeredPackages.some((p) => p.name === "libunwind8"));
    assert.ok(existsSync(join(deployDir(ctx, d), "usr/bin/tso-local")));
    ok(pkg(ctx, "uninstall", "tso-local"), "uninstall tso-local");
    const after = statusJson(ctx).deployments[0]!;
    assert.equal(
      after.layeredPackages.some((p) => p.name === "tso-local"),
      false,
    );
    assert.equal(existsSync(join(deployDir(ctx, after), "usr/bin/tso-local")), false);
  });

  it("override replace swaps a base package for a package file; override reset brings the base's back", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const src = join(ctx.dir, "hostname-9");
    mkdirSync(join(src, "DEBIAN"), { recursive: true });
    mkdirSync(join(src, "bin"), { recursive: true });
    writeFileSync(
      join(src, "DEBIAN/control"),
      "Package: hostname\nVersion: 9.9\nArchitecture: amd64\nEssential: yes\nMaintainer: t <t@example.org>\nDescription: a replacement\n",
    );
    writeFileSync(join(src, "bin/hostname"), "#!/bin/sh\necho replaced\n", { mode: 0o755 });
    const deb = join(ctx.dir, "hostname_9.9_amd64.deb");
    const b = run("dpkg-deb", ["--root-owner-group", "--build", src, deb]);
    assert.equal(b.status, 0, b.stderr);
    ok(pkg(ctx, "override", "replace", deb), "override replace");
    const d = statusJson(ctx).deployments[0]!;
    const root = deployDir(ctx, d);
    // bin is usrmerge's link to usr/bin: the file lands where dpkg would put it.
    assert.equal(readFileSync(join(root, "usr/bin/hostname"), "utf8"), "#!/bin/sh\necho replaced\n");
    const admindir = join(root, "usr/share/dpkg/database");
    assert.equal(
      run("dpkg-query", [`--admindir=${admindir}`, "-W", fmt("Version"), "hostname"]).stdout,
      "9.9",
    );
    const diff = JSON.parse(ok(pkg(ctx, "db", "diff", "--json", "1", "0"), "db diff")) as Record<
      string,
      { name: string; version: string }[]
    >;
    assert.deepEqual(diff.upgraded, [{ name: "hostname", version: "9.9", arch: "amd64" }]);
    ok(pkg(ctx, "override", "reset", "hostname"), "override reset");
    const back = deployDir(ctx, statusJson(ctx).deployments[0]!);
    assert.notEqual(readFileSync(join(back, "usr/bin/hostname"), "utf8").slice(0, 9), "#!/bin/sh");
    assert.notEqual(
      run("dpkg-query", [
        `--admindir=${join(back, "usr/share/dpkg/database")}`,
        "-W",
        fmt("Version"),
        "hostname",
      ]).stdout,
      "9.9",
    );
  });

  it("file conflicts are refused naming both owners, unless the package Replaces the other", (t) => {
    const ctx = need(t);
    if (!ctx) return;
    const before = statusJson(ctx);
    const a = localDeb(ctx, "tso-a", "usr/bin/tso-same", "a");
    const b = localDeb(ctx, "tso-b", "usr/bin/tso-same", "b");
    const both = pkg(ctx, "install", a, b);
    assert.notEqual(both.status, 0);
    assert.match(both.stderr, /tso-[ab] .* and tso-[ab] both contain \/usr\/bin\/tso-same/);
    const base = localDeb(ctx, "tso-c", "usr/bin/zcat", "c");
    const over = pkg(ctx, "install", base);
    assert.notEqual(over.status, 0);
    assert.match(over.stderr, /tso-c .* and gzip \(base\) both contain \/usr\/bin\/zcat/);
    assert.deepEqual(statusJson(ctx), before);
    const replacing = localDeb(ctx, "tso-d", "usr/bin/zcat", "d", "Replaces: gzip\n");
    ok(pkg(ctx, "install", replacing), "install a package that Replaces gzip");
    const root = deployDir(ctx, statusJson(ctx).deployments[0]!);
    assert.equal(readFileSync(join(root, "usr/bin/zcat"), "utf8"), "d\n");
  });
});

/** A one-file .deb built with dpkg-deb. */
function localDeb(ctx: Ctx, name: string, path: string, content: string, extra = ""): string {
  const src = join(ctx.dir, `${name}-src`);
  mkdirSync(join(src, "DEBIAN"), { recursive: true });
  mkdirSync(join(src, path, ".."), { recursive: true });
  writeFileSync(
    join(src, "DEBIAN/control"),
    `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n${extra}Description: test\n`,
  );
  writeFileSync(join(src, path), `${content}\n`);
  const deb = join(ctx.dir, `${name}_1.0_all.deb`);
  const r = run("dpkg-deb", ["--root-owner-group", "--build", src, deb]);
  assert.equal(r.status, 0, r.stderr);
  return deb;
}
