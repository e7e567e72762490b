// The layering end-to-end fixtures checked against the real tools before the end-to-end tests lean
// on them: the signed apt repository (apt-get update trusts its key and no other; our resolver and
// apt-get -s agree on it), the tamper helpers, the rpm world (rpm --root, createrepo_c, dnf, our
// resolver) and the tree oracles.
import assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import { aptGetSimulate } from "../backends/deb/apt-oracle.js";
import { gpgTestKey, haveTools, projectRoot, run, scratch, sh, skipOrFail, tsostreePkg } from "../helpers.js";
import {
  aptGetSimulateInstall,
  aptSourcesEntry,
  hostileDeb,
  installAptSource,
  makeAptRepo,
  tamperAptRepo,
} from "./apt-fixture.js";
import {
  dnfSimulateInstall,
  installRpmRepo,
  makeRpmBase,
  makeRpmRepo,
  RPM_DBPATH,
  rpmWorld,
} from "./rpm-fixture.js";
import { DPKG_ADMINDIR, diffManifests, dpkgQuery, manifest, rpmQuery, runInTree } from "./tree-oracle.js";

const DEBS = join(projectRoot, "fixtures/out/debs");
const MINBASE = join(projectRoot, "fixtures/out/minbase");

function realDebs(t: Parameters<typeof skipOrFail>[0]): string[] | undefined {
  const debs = existsSync(DEBS) ? readdirSync(DEBS).filter((f) => f.endsWith(".deb")) : [];
  if (!debs.some((f) => f.startsWith("strace_"))) {
    skipOrFail(t, "no Debian packages in fixtures/out/debs: run `bash fixtures/fetch-debian-packages.sh`");
    return undefined;
  }
  return debs.map((f) => join(DEBS, f));
}

type Entry = { name: string; version: string; arch: string };
const names = (es: Entry[]) => es.map((e) => `${e.name} ${e.version} ${e.arch}`);

function resolveJson(args: string[]): Record<"install" | "upgrade" | "remove", Entry[]> {
  const r = tsostreePkg(["resolve", "--json", ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("apt repo: apt-get update trusts its key and refuses another", (t) => {
  if (!haveTools(t, "apt-ftparchive", "apt-get", "gpg", "dpkg-deb")) return;
  const debs = realDebs(t);
  if (!debs) return;
  const dir = scratch(t);
  const repo = makeAptRepo(dir, debs);
  assert.match(repo.uri, /^file:\/\/\//);
  assert.ok(existsSync(join(repo.root, "dists/tsostree/InRelease")));
  assert.match(
    readFileSync(join(repo.root, "dists/tsostree/Release"), "utf8"),
    /^Architectures: amd64 all$/m,
  );
  const status = join(dir, "empty-status");
  writeFileSync(status, "");
  const update = (name: string, keyring: string) => {
    const sources = join(dir, `${name}.sources`);
    writeFileSync(sources, aptSourcesEntry(repo, keyring));
    return aptGetSimulate({ dir: join(dir, `apt-${name}`), sources, status }, ["strace"]);
  };
  const good = update("good", repo.keyring);
  assert.ok(good.updated, good.output);
  assert.equal(good.status, 0, good.output);
  const other = join(dir, "other.gpg");
  mkdirSync(join(dir, "other"));
  const otherEnv = gpgTestKey(join(dir, "other"), "someone else <x@example.org>");
  sh("gpg", ["--batch", "--output", other, "--export"], { env: otherEnv });
  const bad = update("bad", other);
  assert.equal(bad.updated, false, "apt-get update accepted a repository signed by another key");
  assert.match(bad.output, /NO_PUBKEY/);
});

test("apt repo: apt-get -s install strace over minbase's dpkg status equals our resolve", (t) => {
  if (!haveTools(t, "apt-ftparchive", "apt-get", "gpg")) return;
  const debs = realDebs(t);
  if (!debs) return;
  const status = join(MINBASE, "var/lib/dpkg/status");
  if (!existsSync(join(MINBASE, ".complete")))
    return skipOrFail(t, "fixtures/out/minbase is missing: run `sudo bash fixtures/minbase.sh`");
  const dir = scratch(t);
  const repo = makeAptRepo(dir, debs);
  const apt = aptGetSimulateInstall({ dpkgStatus: status, repo, packages: ["strace"] });
  assert.deepEqual(
    apt.map((e) => e.name),
    ["libunwind8", "strace"],
  );
  // Our resolver, given the same sources entry and status file…
  const sources = join(dir, "repo.sources");
  writeFileSync(sources, repo.sourcesEntry);
  const ours = resolveJson([
    "--sources-list",
    sources,
    "--dpkg-status",
    status,
    "--cache-dir",
    join(dir, "md"),
    "strace",
  ]);
  assert.deepEqual(names(ours.install), names(apt));
  // …and reading both from a tree, with the key and source installed the way the e2e tests do.
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "var/lib/dpkg"), { recursive: true });
  writeFileSync(join(tree, "var/lib/dpkg/status"), readFileSync(status));
  installAptSource(join(tree, "etc"), repo);
  const viaRoot = resolveJson(["--root", tree, "--cache-dir", join(dir, "md2"), "strace"]);
  assert.deepEqual(names(viaRoot.install), names(apt));
  // The ostree-ready layout: dpkg's database under /usr, as a deployment has it.
  const ready = join(dir, "ready");
  mkdirSync(join(ready, DPKG_ADMINDIR), { recursive: true });
  writeFileSync(join(ready, DPKG_ADMINDIR, "status"), readFileSync(status));
  installAptSource(join(ready, "etc"), repo);
  const viaReady = resolveJson(["--root", ready, "--cache-dir", join(dir, "md3"), "strace"]);
  assert.deepEqual(names(viaReady.install), names(apt));
  assert.match(dpkgQuery(tree, ["-W", `-f=\${Status}`, "libc6"]).stdout, /^install ok installed$/);
});

test("apt repo: each tamper is caught where it should be", (t) => {
  if (!haveTools(t, "apt-ftparchive", "apt-get", "gpg")) return;
  const debs = realDebs(t);
  if (!debs) return;
  const dir = scratch(t);
  const refresh = (repo: ReturnType<typeof makeAptRepo>, name: string) => {
    const sources = join(dir, `${name}.sources`);
    writeFileSync(sources, repo.sourcesEntry);
    return tsostreePkg([
      "refresh-md",
      "--force",
      "--sources-list",
      sources,
      "--cache-dir",
      join(dir, `md-${name}`),
    ]);
  };
  const strace = debs.filter((d) => /\/(strace|libunwind8)_/.test(d));
  // An index changed after signing: its hash no longer matches Release.
  for (const how of ["packages-sha256", "packages-size"] as const) {
    const repo = makeAptRepo(join(dir, how), strace);
    assert.equal(refresh(repo, `${how}-before`).status, 0);
    tamperAptRepo(repo, how, { pkg: "strace" });
    const r = refresh(repo, how);
    assert.equal(r.status, 1, `${how}: refresh-md accepted a changed index`);
    assert.match(r.stderr, /checksum mismatch/);
  }
  // Re-signed: the metadata verifies, and only the entry's checksum disagrees with the .deb.
  const resigned = makeAptRepo(join(dir, "resigned"), strace);
  tamperAptRepo(resigned, "packages-sha256", { pkg: "strace", resign: true });
  assert.equal(refresh(resigned, "resigned").status, 0);
  const entry = (repo: ReturnType<typeof makeAptRepo>) => {
    const text = readFileSync(join(repo.root, "dists/tsostree/main/binary-amd64/Packages"), "utf8");
    const stanza = text.split("\n\n").find((s) => s.startsWith("Package: strace\n")) ?? "";
    const file = join(repo.root, /^Filename: (.+)$/m.exec(stanza)?.[1] ?? "");
    return { listed: /^SHA256: (\S+)$/m.exec(stanza)?.[1], actual: sh("sha256sum", [file]).split(" ")[0] };
  };
  const e1 = entry(resigned);
  assert.notEqual(e1.listed, e1.actual);
  // A .deb byte flipped: the signed index is intact, the file is not what it lists.
  const flipped = makeAptRepo(join(dir, "flipped"), strace);
  assert.deepEqual(Object.values(entry(flipped)).length, 2);
  assert.equal(entry(flipped).listed, entry(flipped).actual);
  tamperAptRepo(flipped, "deb-byte", { pkg: "strace" });
  assert.equal(refresh(flipped, "flipped").status, 0);
  assert.notEqual(entry(flipped).listed, entry(flipped).actual);
  // The original fixture is untouched (the pool holds copies).
  const orig = debs.find((d) => /\/strace_/.test(d)) ?? "";
  assert.equal(sh("sha256sum", [orig]).split(" ")[0], entry(makeAptRepo(join(dir, "fresh"), strace)).listed);
});

test("hostile .deb: our reader refuses it in one line", async (t) => {
  const dir = scratch(t);
  const deb = await hostileDeb(dir);
  const r = tsostreePkg(["inspect", deb]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tsostree-pkg: .*\.\..*\n$/);
});

test("rpm world: rpm --root base, createrepo_c repo; our resolver and dnf agree", (t) => {
  if (!haveTools(t, "rpmbuild", "rpm", "createrepo_c", "dnf")) return;
  const dir = scratch(t);
  const w = rpmWorld();
  const tree = makeRpmBase(join(dir, "tree"));
  assert.deepEqual(rpmQuery(tree, ["-qa", "--qf", "%{NAME}\\n"]).stdout.split("\n").filter(Boolean).sort(), [
    "tso-filesystem",
    "tso-kernel",
    "tso-libfoo",
    "tso-release",
    "tso-shell",
  ]);
  assert.ok(existsSync(join(tree, RPM_DBPATH, "rpmdb.sqlite")));
  assert.equal(readFileSync(join(tree, "usr/lib/modules/6.1.0-tso/vmlinuz"), "utf8"), "KERNEL\n");
  // The base's /bin/sh runs, so rpm scriptlets and the tree's scripts can.
  assert.equal(runInTree(tree, ["/usr/bin/tso-sh", "hi"]).stdout, "tso-sh hi\n");
  const repo = makeRpmRepo(dir, [w.hello, w.greeting, w.bad]);
  installRpmRepo(join(tree, "etc"), repo);
  const dnf = dnfSimulateInstall({ tree, repos: [repo], packages: ["tso-hello"] });
  assert.deepEqual(names(dnf), ["tso-greeting 1.0-1 noarch", "tso-hello 1.0-1 noarch"]);
  const ours = resolveJson(["--root", tree, "--cache-dir", join(dir, "md"), "tso-hello"]);
  assert.deepEqual(names(ours.install), names(dnf));
  // A signed repomd (repo_gpgcheck=1) and the upgrade repository.
  const signed = makeRpmRepo(dir, [w.hello2, w.greeting], { id: "tsostree-next", sign: true });
  assert.match(signed.repoFile, /repo_gpgcheck=1/);
  const f = join(dir, "next.repo");
  writeFileSync(f, signed.repoFile);
  const next = resolveJson([
    "--repo-file",
    f,
    "--rpmdb",
    join(tree, RPM_DBPATH, "rpmdb.sqlite"),
    "--cache-dir",
    join(dir, "md"),
    "tso-hello",
  ]);
  assert.deepEqual(names(next.install), ["tso-greeting 1.0-1 noarch", "tso-hello 2.0-1 noarch"]);
});

test("rpm world: scriptlets and tso-hello run under the real rpm", (t) => {
  if (!haveTools(t, "rpmbuild", "rpm", "bwrap")) return;
  if (process.getuid?.() !== 0)
    return skipOrFail(t, "rpm runs scriptlets in a chroot: run as root, as CI does");
  const dir = scratch(t);
  const w = rpmWorld();
  const tree = makeRpmBase(join(dir, "tree"));
  const rpm = (...args: string[]) => run("rpm", [`--root=${tree}`, `--dbpath=${RPM_DBPATH}`, ...args]);
  const inst = rpm("-i", w.hello, w.greeting);
  assert.equal(inst.status, 0, inst.stderr);
  assert.match(inst.stdout, /tso-greeting: no useradd in this tree/);
  assert.equal(readFileSync(join(tree, "usr/share/tso-greeting/post-ran"), "utf8"), "tso-greeting post 1\n");
  assert.equal(runInTree(tree, ["/usr/bin/tso-hello"]).stdout, "Hello from tso-hello 1.0\n");
  const bad = rpm("-i", w.bad);
  assert.match(bad.stderr, /%post\(tso-bad-1\.0-1\.noarch\) scriptlet failed, exit status 1/);
  assert.equal(rpm("-U", w.hello2).status, 0);
  assert.equal(runInTree(tree, ["/usr/bin/tso-hello"]).stdout, "Hello from tso-hello 2.0\n");
});

test("rpm world: the base installs unprivileged", (t) => {
  if (!haveTools(t, "rpmbuild", "rpm")) return;
  if (process.getuid?.() !== 0) return; // already unprivileged: the other tests show it
  const dir = scratch(t);
  const w = rpmWorld();
  const tree = join(dir, "tree");
  mkdirSync(tree);
  sh("chown", ["65534:65534", tree]);
  // The world's rpms sit in a 0700 temporary directory: give the user copies it can read.
  chmodSync(dir, 0o755);
  const rpms = w.base.map((p) => join(dir, basename(p)));
  for (const [i, p] of w.base.entries()) copyFileSync(p, rpms[i]);
  makeRpmBase(tree, rpms, { uid: 65534 });
  assert.equal(lstatSync(join(tree, "usr/bin/tso-sh")).uid, 65534);
  assert.ok(existsSync(join(tree, "usr/bin/tso-sh")));
});

test("tree oracles: manifest, diff, read-only runs and queries leave the tree alone", (t) => {
  if (!haveTools(t, "bwrap", "rpmbuild", "rpm")) return;
  const dir = scratch(t);
  const tree = makeRpmBase(join(dir, "tree"));
  mkdirSync(join(tree, "usr/share/x"));
  writeFileSync(join(tree, "usr/share/x/a"), "a\n");
  symlinkSync("a", join(tree, "usr/share/x/l"));
  const before = manifest(tree);
  const a = before.find((e) => e.path === "usr/share/x/a");
  assert.deepEqual(a && { ...a, sha256: a.sha256?.slice(0, 8) }, {
    path: "usr/share/x/a",
    type: "file",
    mode: "644",
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    sha256: "87428fc5",
  });
  assert.equal(before.find((e) => e.path === "usr/share/x/l")?.target, "a");
  assert.equal(before.find((e) => e.path === "tmp")?.mode, "1777");
  assert.deepEqual(
    before.map((e) => e.path),
    [...before.map((e) => e.path)].sort(),
  );
  // Running, querying: nothing written.
  assert.equal(rpmQuery(tree, ["-q", "tso-shell"]).stdout, "tso-shell-1.0-1.noarch\n");
  assert.equal(runInTree(tree, ["/usr/bin/sh", "-c", "echo x > /usr/share/x/a"]).status === 0, false);
  assert.deepEqual(diffManifests(before, manifest(tree)), { added: [], removed: [], changed: [] });
  // A byte, a mode and a new file: each shows.
  writeFileSync(join(tree, "usr/share/x/a"), "b\n");
  chmodSync(join(tree, "usr/bin/tso-sh"), 0o700);
  writeFileSync(join(tree, "usr/share/x/new"), "");
  const d = diffManifests(before, manifest(tree));
  assert.deepEqual(
    d.changed.map((l) => l.split(" ")[0]),
    ["usr/bin/tso-sh", "usr/share/x/a"],
  );
  assert.deepEqual(
    d.added.map((l) => l.split(" ")[0]),
    ["usr/share/x/new"],
  );
  assert.deepEqual(d.removed, []);
  // dpkg-query finds an ostree-ready tree's database under /usr.
  const deb = join(dir, "deb");
  mkdirSync(join(deb, "usr/share/dpkg/database/info"), { recursive: true });
  writeFileSync(
    join(deb, "usr/share/dpkg/database/status"),
    "Package: tso\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@e>\nDescription: x\n",
  );
  assert.equal(dpkgQuery(deb, ["-W", `-f=\${Package} \${Version}`, "tso"]).stdout, "tso 1.0");
});
