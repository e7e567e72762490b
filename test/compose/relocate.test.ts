// The relocation rules on small trees, checked with the real ostree (ls, cat, checkout) and, for
// the tmpfiles lines, with systemd-tmpfiles itself recreating /var from them.
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { graft, RelocateError, relocatedPath, relocateTree } from "../../src/compose/relocate.js";
import { MutableTree } from "../../src/repo/mtree.js";
import { Transaction } from "../../src/repo/transaction.js";
import { haveTools, run, scratch } from "../helpers.js";
import {
  assertHas,
  commitRelocated,
  type Entry,
  ostreeCat,
  ostreeCheckout,
  ostreeInit,
  ostreeLs,
  writeTree,
} from "./rootfs-fixture.js";
import { manifest, manifestLine } from "./tree-oracle.js";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
const GROUP = "root:x:0:\ndaemon:x:1:\nmail:x:8:\n";

async function relocated(
  t: Parameters<typeof scratch>[0],
  spec: Record<string, Entry>,
  kind: "base" | "package",
) {
  const dir = scratch(t);
  const repo = ostreeInit(join(dir, "repo"));
  writeTree(join(dir, "root"), spec);
  const r = await commitRelocated(repo, join(dir, "root"), { name: "demo", kind });
  return { dir, repoPath: repo, ...r };
}

test("etc merges into usr/etc, the etc file winning; no etc/ is left", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const { repoPath, commit, result } = await relocated(
    t,
    {
      "usr/bin/x": "x",
      "usr/etc/both.conf": "from usr/etc\n",
      "usr/etc/only-usr": "u",
      "etc/both.conf": "from etc\n",
      "etc/sub/deep.conf": "deep",
    },
    "package",
  );
  const ls = ostreeLs(repoPath, commit);
  assert.ok(!ls.some((l) => l.includes(" /etc")), ls.join("\n"));
  assertHas(
    ls,
    ["/usr/etc/both.conf", "/usr/etc/only-usr", "/usr/etc/sub/deep.conf"].map((p) => `- ${p}`),
  );
  assert.equal(ostreeCat(repoPath, commit, "/usr/etc/both.conf"), "from etc\n");
  assert.ok(result.moved.includes("etc → usr/etc"));
  assert.deepEqual(result.tmpfiles, []);
});

test("var becomes tmpfiles lines (d, L, C from usr/share/factory) that systemd-tmpfiles turns back into the same var", async (t) => {
  if (!haveTools(t, "ostree", "systemd-tmpfiles")) return;
  const spec: Record<string, Entry> = {
    "usr/bin/x": "x",
    "etc/passwd": PASSWD,
    "etc/group": GROUP,
    "var/lib/demo": { dir: true, mode: 0o750, uid: 1, gid: 1 },
    "var/lib/demo/state": { file: "state\n", mode: 0o640, uid: 1, gid: 1 },
    "var/log/current": { link: "../lib/demo/state" },
    "var/log/odd": { link: " odd\\target" },
    "var/mail": { dir: true, mode: 0o2775, uid: 0, gid: 8 },
    "var/spool/with space/100%.txt": "odd name\n",
    'var/spool/it\'s "quoted" \\back': "odder\n",
    "var/empty": { dir: true },
  };
  const { dir, repoPath, commit, result } = await relocated(t, spec, "package");
  const root = process.getuid?.() === 0;
  const owner = root ? "daemon daemon" : "root root";
  assert.deepEqual(result.tmpfiles, [
    "d /var/empty 0755 root root -",
    "d /var/lib 0755 root root -",
    `d /var/lib/demo 0750 ${owner} -`,
    "C /var/lib/demo/state - - - - /usr/share/factory/var/lib/demo/state",
    "d /var/log 0755 root root -",
    "L /var/log/current - - - - ../lib/demo/state",
    "L /var/log/odd - - - - \\x20odd\\\\target",
    `d /var/mail 2775 root ${root ? "mail" : "root"} -`,
    "d /var/spool 0755 root root -",
    'C "/var/spool/it\'s \\"quoted\\" \\\\back" - - - - /usr/share/factory/var/spool/it\'s "quoted" \\\\back',
    'd "/var/spool/with space" 0755 root root -',
    'C "/var/spool/with space/100%%.txt" - - - - /usr/share/factory/var/spool/with space/100%%.txt',
  ]);
  assert.equal(result.tmpfilesPath, "usr/lib/tmpfiles.d/tsostree-pkg-demo.conf");
  const ls = ostreeLs(repoPath, commit);
  assert.ok(ls.includes("d /var"), "an empty var stays");
  assert.ok(!ls.some((l) => l.startsWith("- /var/") || l.startsWith("d /var/")), ls.join("\n"));
  assert.ok(ls.includes("- /usr/share/factory/var/lib/demo/state"));
  assert.match(
    ostreeCat(repoPath, commit, "/usr/lib/tmpfiles.d/tsostree-pkg-demo.conf"),
    /^# .*\nd \/var\/empty/,
  );

  // The oracle: systemd-tmpfiles recreates var from the lines, as at boot (with /etc as deploy makes it).
  const co = ostreeCheckout(repoPath, commit, join(dir, "co"));
  cpSync(join(co, "usr/etc"), join(co, "etc"), { recursive: true });
  const r = run("systemd-tmpfiles", [`--root=${co}`, "--create", "--prefix=/var"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = (d: string) => manifest(join(d, "var")).map(manifestLine);
  assert.deepEqual(lines(co), lines(join(dir, "root")));
});

test("var/lib/dpkg and var/lib/rpm move under /usr as whole subtrees, linked from the old path", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const { repoPath, commit, result } = await relocated(
    t,
    {
      "usr/bin/x": "x",
      "var/lib/dpkg/status": "Package: x\n",
      "var/lib/dpkg/info/x.list": "/usr/bin/x\n",
      "var/lib/rpm/rpmdb.sqlite": "db",
      "var/lib/other/f": "f",
    },
    "base",
  );
  const ls = ostreeLs(repoPath, commit);
  assertHas(
    ls,
    [
      "/usr/share/dpkg/database/status",
      "/usr/share/dpkg/database/info/x.list",
      "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    ].map((p) => `- ${p}`),
  );
  assert.deepEqual(result.dbLinks, [
    {
      path: "usr/lib/tmpfiles.d/tsostree-dpkg.conf",
      lines: ["L /var/lib/dpkg - - - - ../../usr/share/dpkg/database"],
    },
    {
      path: "usr/lib/tmpfiles.d/tsostree-rpm.conf",
      lines: ["L /var/lib/rpm - - - - ../../usr/lib/sysimage/rpm"],
    },
  ]);
  assert.match(ostreeCat(repoPath, commit, "/usr/lib/tmpfiles.d/tsostree-dpkg.conf"), /L \/var\/lib\/dpkg /);
  assert.ok(result.tmpfiles.includes("C /var/lib/other/f - - - - /usr/share/factory/var/lib/other/f"));
  assert.ok(!result.tmpfiles.some((l) => l.includes("/var/lib/dpkg") || l.includes("/var/lib/rpm")));
  assert.equal(relocatedPath("/var/lib/dpkg/info/x.list"), "usr/share/dpkg/database/info/x.list");
  assert.equal(relocatedPath("etc/passwd"), "usr/etc/passwd");
});

test("opt/X goes to usr/lib/opt/X with a link; a base's state directories become ostree's symlinks", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const { repoPath, commit, result } = await relocated(
    t,
    {
      "usr/bin/x": "x",
      "opt/tool/bin/tool": "tool",
      "root/.profile": "profile\n",
      "root/": { dir: true, mode: 0o700 },
      home: { dir: true },
      "usr/local/bin/mine": "mine",
      tmp: { dir: true, mode: 0o1777 },
      "weird/file": "kept in a base",
    },
    "base",
  );
  const ls = ostreeLs(repoPath, commit, "/");
  assertHas(ls, [
    "l /home -> var/home",
    "l /root -> var/roothome",
    "l /srv -> var/srv",
    "l /mnt -> var/mnt",
    "l /opt -> var/opt",
    "l /media -> run/media",
    "l /usr/local -> ../var/usrlocal",
    "- /usr/lib/opt/tool/bin/tool",
    "- /weird/file",
    "d /tmp",
  ]);
  assertHas(result.tmpfiles, [
    "L /opt/tool - - - - /usr/lib/opt/tool",
    "d /var/home 0755 root root -",
    "d /var/roothome 0700 root root -",
    "C /var/roothome/.profile - - - - /usr/share/factory/var/roothome/.profile",
    "d /var/usrlocal/bin 0755 root root -",
    "C /var/usrlocal/bin/mine - - - - /usr/share/factory/var/usrlocal/bin/mine",
    "d /var/srv 0755 root root -",
    "d /var/mnt 0755 root root -",
    "d /run/media 0755 root root -",
  ]);
  assert.equal(result.tmpfilesPath, "usr/lib/tmpfiles.d/tsostree-demo.conf");
});

test("kernel files in /boot move to usr/lib/modules/KVER; a package's other boot files to usr/lib/ostree-boot", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const { repoPath, commit } = await relocated(
    t,
    {
      "boot/vmlinuz-6.1.0-9-amd64": "kernel",
      "boot/initrd.img-6.1.0-9-amd64": "initrd",
      "boot/config-6.1.0-9-amd64": "config",
      "boot/grub/unicode.pf2": "font",
      "usr/lib/modules/6.1.0-9-amd64/modules.dep": "",
    },
    "package",
  );
  const ls = ostreeLs(repoPath, commit);
  assertHas(ls, [
    "- /usr/lib/modules/6.1.0-9-amd64/vmlinuz",
    "- /usr/lib/modules/6.1.0-9-amd64/initramfs.img",
    "- /usr/lib/modules/6.1.0-9-amd64/config",
    "- /usr/lib/ostree-boot/grub/unicode.pf2",
  ]);
  assert.ok(!ls.some((l) => l.includes(" /boot")));
  assert.equal(ostreeCat(repoPath, commit, "/usr/lib/modules/6.1.0-9-amd64/vmlinuz"), "kernel");
});

test("a package path outside the rules is refused naming the package and the path; a base keeps it", async (t) => {
  if (!haveTools(t, "ostree")) return;
  await assert.rejects(
    relocated(t, { "usr/bin/x": "x", "weird/thing": "?" }, "package"),
    (e: Error) => e instanceof RelocateError && /package demo: \/weird /.test(e.message),
  );
  const { repoPath, commit } = await relocated(t, { "usr/bin/x": "x", "weird/thing": "?" }, "base");
  assert.equal(ostreeCat(repoPath, commit, "/weird/thing"), "?");
  // Merged-/usr aliases pass through (the union follows the base's lib -> usr/lib).
  await relocated(t, { "lib/x86_64-linux-gnu/libx.so": "so", "bin/sh": "sh" }, "package");
});

test("a committed etc subtree moves by checksum: its dirtree is never read", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const { repo, commit } = await relocated(
    t,
    { "usr/bin/x": "x", "etc/a/b/c.conf": "c", "etc/d.conf": "d" },
    "base",
  );
  // Put etc back at the top (a package commit as import makes it), then relocate that tree again.
  const tx = await Transaction.begin(repo);
  try {
    const tree = MutableTree.fromCommit(tx, commit);
    const usrEtc = tree.lookup("usr/etc");
    assert.equal(usrEtc?.kind, "dir");
    const etcTree = usrEtc.kind === "dir" ? usrEtc.tree : null;
    const etcCsum = etcTree!.contentsChecksum!;
    const read: string[] = [];
    const store = {
      loadDirTree: (c: string) => {
        read.push(c);
        return tx.loadDirTree(c);
      },
      loadCommit: (c: string) => tx.loadCommit(c),
      loadDirMeta: (c: string) => tx.loadDirMeta(c),
      loadFile: (c: string) => tx.loadFile(c),
      writeContentSync: tx.writeContentSync.bind(tx),
    };
    // The package tree reads its dirtrees through `store` too.
    const pkg = MutableTree.empty(tree.metadataChecksum, store);
    graft(pkg.ensureChild("etc", etcTree!.metadataChecksum), etcTree!, "etc");
    pkg.ensureDir("usr/bin").replaceFile("x", (tree.lookup("usr/bin/x") as { checksum: string }).checksum);
    relocateTree(pkg, store, { name: "demo" });
    assert.equal(pkg.lookup("etc"), null);
    const moved = pkg.lookup("usr/etc");
    assert.equal(moved?.kind === "dir" && moved.tree.contentsChecksum, etcCsum);
    assert.ok(!read.includes(etcCsum), "etc's dirtree was read");
  } finally {
    tx.abort();
  }
});
