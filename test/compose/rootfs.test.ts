// compose rootfs against the real tools: ostree (fsck, ls, checkout), systemd-tmpfiles recreating
// /var from the generated lines, dpkg-query and rpm reading the moved databases, on a handmade tree,
// on the debootstrap minbase fixture (composed once for this file) and on rpm --root bases.
import assert from "node:assert/strict";
import { cpSync, existsSync, lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { composeRootfs } from "../../src/compose/rootfs.js";
import { PackageDb, PKGDB_PATH } from "../../src/packages/pkgdb.js";
import { metadataGet } from "../../src/repo/objects.js";
import { Repo } from "../../src/repo/repo.js";
import {
  fixture,
  haveTools,
  MINBASE_KVER,
  needRoot,
  run,
  scratch,
  tsostreePkg,
  tsostreePkgBin,
} from "../helpers.js";
import {
  assertHas,
  ostreeCat,
  ostreeCheckout,
  ostreeInit,
  ostreeLs,
  statSnapshot,
  writeTree,
} from "./rootfs-fixture.js";
import { makeRpmBase, RPM_DBPATH, rpmWorld } from "./rpm-fixture.js";
import {
  DPKG_ADMINDIR,
  dpkgQuery,
  type ManifestEntry,
  manifest,
  manifestLine,
  rpmQuery,
} from "./tree-oracle.js";

const STATUS = `Package: tso-x
Status: install ok installed
Priority: optional
Section: misc
Installed-Size: 1
Maintainer: t <t@example.org>
Architecture: all
Version: 1.0-1
Description: a test package
 for compose rootfs
`;

/** The package database of checkout `co`, open for `fn`. */
function withPackageDb(co: string, fn: (db: PackageDb) => void): void {
  const db = PackageDb.fromBytes(readFileSync(join(co, PKGDB_PATH)));
  try {
    fn(db);
  } finally {
    db.close();
  }
}

function handmade(dir: string, kernel = true): string {
  writeTree(dir, {
    "usr/bin/x": { file: "#!/bin/sh\n", mode: 0o755 },
    "usr/lib/os-release": "ID=tso\n",
    bin: { link: "usr/bin" },
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "var/lib/dpkg/status": STATUS,
    "var/lib/dpkg/info/tso-x.list": "/.\n/usr\n/usr/bin\n/usr/bin/x\n",
    "var/log/dpkg.log": "log\n",
    "var/cache/apt/archives/tso-x_1.0-1_all.deb": "a cached download",
    "var/cache/apt/pkgcache.bin": "cache",
    "root/.profile": "p\n",
    home: { dir: true },
    ...(kernel ? { "boot/vmlinuz-1.0-tso": "KERNEL", "boot/initrd.img-1.0-tso": "INITRD" } : {}),
  });
  run("mkfifo", [join(dir, "var/fifo")]);
  if (process.getuid?.() === 0) run("mknod", [join(dir, "null"), "c", "1", "3"]);
  return dir;
}

test("a handmade tree: fsck-clean base commit, reproducible, DIR untouched, --json summary", async (t) => {
  if (!haveTools(t, "ostree", "dpkg-query")) return;
  const dir = scratch(t);
  const root = handmade(join(dir, "root"));
  const repo = ostreeInit(join(dir, "repo"));
  const before = statSnapshot(root);
  const args = ["compose", "rootfs", root, `--repo=${repo}`, "--timestamp=@86400", "--version=1.0", "--json"];
  const r1 = tsostreePkg([...args, "--branch=os/base"]);
  assert.equal(r1.status, 0, r1.stderr);
  const out = JSON.parse(r1.stdout) as Record<string, unknown>;
  const devices = process.getuid?.() === 0 ? 2 : 1;
  assert.deepEqual(
    { ...out, commit: typeof out.commit },
    {
      commit: "string",
      branch: "os/base",
      packages: 1,
      files: 11,
      dropped: devices,
      kernel: "1.0-tso",
      warnings: [],
    },
  );
  assert.deepEqual(statSnapshot(root), before, "DIR changed");
  // Same tree, same options, a fresh branch (no parent): the same commit.
  const r2 = tsostreePkg([...args, "--branch=os/again"]);
  assert.equal(r2.status, 0, r2.stderr);
  assert.equal((JSON.parse(r2.stdout) as { commit: string }).commit, out.commit);

  const fsck = run("ostree", [`--repo=${repo}`, "fsck"]);
  assert.equal(fsck.status, 0, fsck.stderr);
  const ls = ostreeLs(repo, "os/base");
  assertHas(ls, [
    "- /usr/etc/passwd",
    "- /usr/share/dpkg/database/status",
    "- /usr/lib/modules/1.0-tso/vmlinuz",
    "- /usr/lib/modules/1.0-tso/initramfs.img",
    "- /usr/share/factory/var/log/dpkg.log",
    `- /${PKGDB_PATH}`,
    "l /home -> var/home",
    "l /root -> var/roothome",
    // What ostree-prepare-root needs: the physical root's mount point and /ostree into it.
    "d /sysroot",
    "l /ostree -> sysroot/ostree",
  ]);
  const paths = ls.map((l) => l.split(" ")[1]!);
  for (const gone of [
    /^\/etc(\/|$)/,
    /^\/var\//,
    /^\/null$/,
    /fifo$/,
    /\/cache\/apt\//,
    /\.deb$/,
    /pkgcache/,
  ])
    assert.ok(!paths.some((p) => gone.test(p)), `${gone} in the commit:\n${paths.join("\n")}`);
  const show = (key: string) =>
    run("ostree", [`--repo=${repo}`, "show", `--print-metadata-key=${key}`, "os/base"]);
  assert.equal(show("tsostree.base").stdout.trim(), "true");
  const md = Repo.open(repo).loadCommit(out.commit as string).metadata;
  assert.equal(metadataGet(md, "tsostree.packages")?.value, 1);
  assert.equal(show("version").stdout.trim(), "'1.0'");

  const co = ostreeCheckout(repo, "os/base", join(dir, "co"));
  assert.deepEqual(dpkgQuery(co, ["-W"]).stdout, "tso-x\t1.0-1\n");
  withPackageDb(co, (db) => {
    assert.deepEqual(
      db.packages().map((p) => [p.name, p.evr, p.origin]),
      [["tso-x", "1.0-1", "base"]],
    );
    assert.deepEqual(
      db.owners("/usr/bin/x").map((p) => p.name),
      ["tso-x"],
    );
  });
});

test("a tree without kernel: a warning, or with --require-kernel a refusal that leaves no ref", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const root = handmade(join(dir, "root"), false);
  const repo = ostreeInit(join(dir, "repo"));
  const refused = tsostreePkg([
    "compose",
    "rootfs",
    root,
    `--repo=${repo}`,
    "--branch=b",
    "--require-kernel",
  ]);
  assert.equal(refused.status, 1);
  assert.match(
    refused.stderr,
    /^tsostree-pkg: compose rootfs: no kernel in usr\/lib\/modules\/KVER\/vmlinuz/,
  );
  assert.equal(run("ostree", [`--repo=${repo}`, "refs"]).stdout, "");
  const warned = tsostreePkg(["compose", "rootfs", root, `--repo=${repo}`, "--branch=b"]);
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(warned.stderr, /warning: no kernel/);
  assert.match(warned.stdout, /^b [0-9a-f]{64}: \d+ files, 1 packages \(deb\), kernel none/);
  const notRoot = tsostreePkg(["compose", "rootfs", join(root, "usr"), `--repo=${repo}`, "--branch=c"]);
  assert.equal(notRoot.status, 1);
  assert.match(notRoot.stderr, /has no usr\/ directory; give the root of a tree made by debootstrap/);
});

test("run as another user, the files of the base become root:root (ostree commit --owner-uid=0 --owner-gid=0)", async (t) => {
  if (!haveTools(t, "ostree", "setpriv") || !needRoot(t, "switching to another user")) return;
  const dir = scratch(t);
  const root = writeTree(join(dir, "root"), { "usr/bin/x": { file: "x", mode: 0o755 }, "etc/motd": "hi\n" });
  const repo = ostreeInit(join(dir, "repo"), "bare-user");
  run("chown", ["-R", "65534:65534", dir]);
  const r = run("setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    process.execPath,
    tsostreePkgBin,
    "compose",
    "rootfs",
    root,
    `--repo=${repo}`,
    "--branch=b",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const owners = run("ostree", [`--repo=${repo}`, "ls", "-R", "b"])
    .stdout.split("\n")
    .filter((l) => / \/usr\/(bin\/x|etc\/motd)$/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(0, 3).join(" "));
  assert.deepEqual(owners, ["-00755 0 0", "-00644 0 0"]);
});

// ---- minbase (debootstrap --variant=minbase bookworm), composed once for the tests below ----

let composed:
  | Promise<{ repo: string; commit: string; co: string; stats: unknown; minbase: string }>
  | undefined;

function minbaseComposed() {
  composed ??= (async () => {
    const minbase = fixture("minbase");
    const dir = scratch({ after: (fn: () => void) => process.on("exit", fn) }, "tsostree-rootfs-");
    const repo = ostreeInit(join(dir, "repo"));
    // No ctimes: the fixture is shared, and other test files running beside this one hardlink its
    // files (test/live/host-ns.ts `cp -a --link`), which changes every ctime.
    const before = statSnapshot(minbase, { ctime: false });
    const { commit, stats } = await composeRootfs({
      repo: Repo.open(repo),
      dir: minbase,
      branch: "debian/base",
      version: "12",
      timestamp: 0,
    });
    assert.deepEqual(
      statSnapshot(minbase, { ctime: false }),
      before,
      "compose rootfs changed the minbase tree",
    );
    const co = ostreeCheckout(repo, commit, join(dir, "co"));
    return { repo, commit, co, stats, minbase };
  })();
  return composed;
}

test("minbase: ostree fsck passes; usr/etc/passwd and no etc/; the placeholder kernel is found", async (t) => {
  if (!haveTools(t, "ostree") || !needRoot(t, "composing the root-owned minbase fixture")) return;
  const { repo, commit, stats } = await minbaseComposed();
  const fsck = run("ostree", [`--repo=${repo}`, "fsck"]);
  assert.equal(fsck.status, 0, fsck.stderr);
  const top = ostreeLs(repo, commit, "/");
  assert.ok(!top.some((l) => / \/etc$/.test(l)), top.join("\n"));
  assert.equal(ostreeCat(repo, commit, "/usr/etc/passwd").split("\n")[0], "root:x:0:0:root:/root:/bin/bash");
  assert.equal((stats as { kernel: string }).kernel, MINBASE_KVER);
});

test("minbase: systemd-tmpfiles recreates /var (and the state directories) from the lines", async (t) => {
  if (!haveTools(t, "ostree", "systemd-tmpfiles") || !needRoot(t, "composing the root-owned minbase fixture"))
    return;
  const { co, minbase } = await minbaseComposed();
  // As deploy does: /etc is a copy of usr/etc (tmpfiles resolves owner names through it).
  cpSync(join(co, "usr/etc"), join(co, "etc"), { recursive: true });
  const r = run("systemd-tmpfiles", [`--root=${co}`, "--create", "--prefix=/var", "--prefix=/run"]);
  assert.equal(r.status, 0, r.stderr);
  const cache = /^cache\/apt\/(archives\/(partial\/)?[^/]+\.deb|[^/]+\.bin)$/;
  const moved = (src: string, prefix: string): ManifestEntry[] => [
    ...(existsSync(src) ? manifest(src).map((e) => ({ ...e, path: `${prefix}/${e.path}` })) : []),
  ];
  const dirEntry = (src: string, path: string): ManifestEntry[] => {
    const st = lstatSync(src);
    return [{ path, type: "dir", mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid }];
  };
  const expected = [
    ...manifest(join(minbase, "var"), (rel) => rel === "lib/dpkg" || cache.test(rel)),
    {
      path: "lib/dpkg",
      type: "symlink",
      mode: "777",
      uid: 0,
      gid: 0,
      target: "../../usr/share/dpkg/database",
    },
    ...[
      ["home", "home"],
      ["root", "roothome"],
      ["srv", "srv"],
      ["mnt", "mnt"],
      ["opt", "opt"],
      ["usr/local", "usrlocal"],
    ].flatMap(([from, to]) => [...dirEntry(join(minbase, from!), to!), ...moved(join(minbase, from!), to!)]),
  ].map((e) => manifestLine(e as ManifestEntry));
  // var/opt exists in minbase too: the top-level opt merges into it (later lines win, as there).
  const byPath = [...new Map(expected.map((l) => [l.split(" ")[0], l])).values()].sort();
  const got = manifest(join(co, "var")).map(manifestLine).sort();
  assert.deepEqual(got, byPath);
});

test("minbase: dpkg-query reads the moved database as it read var/lib/dpkg; the package db has the same count", async (t) => {
  if (!haveTools(t, "ostree", "dpkg-query") || !needRoot(t, "composing the root-owned minbase fixture"))
    return;
  const { co, minbase, stats } = await minbaseComposed();
  const ours = dpkgQuery(co, ["-W"]);
  assert.equal(ours.status, 0, ours.stderr);
  const theirs = run("dpkg-query", [`--admindir=${join(minbase, "var/lib/dpkg")}`, "-W"]);
  assert.equal(ours.stdout, theirs.stdout);
  assert.ok(existsSync(join(co, DPKG_ADMINDIR, "status")));
  withPackageDb(co, (db) => {
    const n = theirs.stdout.trim().split("\n").length;
    assert.equal(db.packages().length, n);
    assert.equal((stats as { packages: number }).packages, n);
    assert.ok(db.packages().every((p) => p.origin === "base" && p.kind === "deb"));
  });
});

// ---- rpm bases ----

async function rpmBase(t: Parameters<typeof scratch>[0], dbpath: string) {
  const dir = scratch(t);
  const root = join(dir, "root");
  if (dbpath === RPM_DBPATH) makeRpmBase(root);
  else {
    const r = run("rpm", [
      `--root=${root}`,
      `--dbpath=${dbpath}`,
      "-i",
      "--nodeps",
      "--noscripts",
      ...rpmWorld().base,
    ]);
    assert.equal(r.status, 0, r.stderr);
  }
  const repo = ostreeInit(join(dir, "repo"));
  const { commit, stats } = await composeRootfs({ repo: Repo.open(repo), dir: root, branch: "rpm/base" });
  const co = ostreeCheckout(repo, commit, join(dir, "co"));
  const names = (r: { stdout: string }) => r.stdout.trim().split("\n").sort();
  return { root, repo, commit, stats, co, names };
}

test("an rpm --root base: rpm -qa on the checkout lists the packages; the kernel is found", async (t) => {
  if (!haveTools(t, "ostree", "rpm", "rpmbuild")) return;
  const { co, stats, names } = await rpmBase(t, RPM_DBPATH);
  const qa = rpmQuery(co, ["-qa"]);
  assert.equal(qa.status, 0, qa.stderr);
  assert.deepEqual(
    names(qa).map((n) => n.replace(/-1\.0-1\.noarch$/, "")),
    ["tso-filesystem", "tso-kernel", "tso-libfoo", "tso-release", "tso-shell"],
  );
  assert.equal(stats.kernel, "6.1.0-tso");
  assert.equal(stats.packageKind, "rpm");
  assert.equal(stats.packages, 5);
  withPackageDb(co, (db) => {
    assert.deepEqual(
      db.packages().map((p) => `${p.name}-${p.evr}.${p.arch} ${p.kind} ${p.origin}`),
      names(qa).map((n) => `${n} rpm base`),
    );
    assert.deepEqual(
      db.owners("/usr/lib/modules/6.1.0-tso/vmlinuz").map((p) => p.name),
      ["tso-kernel"],
    );
  });
});

test("an rpm base with its database in var/lib/rpm: moved to usr/lib/sysimage/rpm, rpm still reads it", async (t) => {
  if (!haveTools(t, "ostree", "rpm", "rpmbuild")) return;
  const { root, repo, commit, co, names } = await rpmBase(t, "/var/lib/rpm");
  assert.ok(existsSync(join(root, "var/lib/rpm/rpmdb.sqlite")));
  assert.ok(existsSync(join(co, RPM_DBPATH, "rpmdb.sqlite")));
  assert.ok(!existsSync(join(co, "var/lib/rpm")));
  assert.equal(
    ostreeCat(repo, commit, "/usr/lib/tmpfiles.d/tsostree-rpm.conf").split("\n")[1],
    "L /var/lib/rpm - - - - ../../usr/lib/sysimage/rpm",
  );
  const theirs = run("rpm", [`--root=${root}`, "--dbpath=/var/lib/rpm", "-qa"]);
  assert.deepEqual(names(rpmQuery(co, ["-qa"])), names(theirs));
});
