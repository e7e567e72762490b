// Oracle: an rpm-md repository built at test time (rpmbuild + createrepo_c); our resolution must
// equal what `dnf --installroot=… --assumeno install` would do on the same repo and rpmdb.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { gpgTestKey, haveTools, scratch, sh, tsostreePkg } from "../../helpers.js";
import { dnfAssumeNo } from "./dnf-oracle.js";

interface Spec {
  version?: string;
  arch?: string;
  tags?: string;
  files?: string[];
}

const REPO: Record<string, Spec> = {
  app: { tags: "Requires: lib >= 2\nRecommends: extra" },
  lib: { version: "2.1" },
  extra: {},
  // virtual provides with two providers (libsolv picks by name), versioned provides
  mailer: { tags: "Requires: mta" },
  postfix: { tags: "Provides: mta" },
  exim: { tags: "Provides: mta" },
  apiuser: { tags: "Requires: api >= 2" },
  apiprov: { tags: "Provides: api = 3" },
  // rich dependencies
  rich: { tags: "Requires: (nothere or alt)\nRequires: (cond-dep if extra)" },
  alt: {},
  "cond-dep": {},
  // file dependency satisfied by a file in /usr/bin (listed in primary.xml)
  fileuser: { tags: "Requires: /usr/bin/tool" },
  toolpkg: { files: ["/usr/bin/tool"] },
  // obsoletes and conflicts against the installed set
  newpkg: { version: "2.0", tags: "Obsoletes: old < 2\nProvides: old = 2.0" },
  clasher: { tags: "Conflicts: victim < 2" },
  victim: { version: "2.0" },
  // arch: an x86_64 package next to noarch ones
  native: { arch: "x86_64", tags: "Requires: lib" },
  needy: { tags: "Requires: lib >= 9" },
};

const INSTALLED: Record<string, Spec> = { old: {}, victim: {} };

const CASES = [
  "app",
  "mailer",
  "apiuser",
  "rich",
  "fileuser",
  "newpkg",
  "clasher",
  "native",
  "app mailer rich fileuser",
];

function build(dir: string, name: string, s: Spec, out: string): void {
  const files = s.files ?? [];
  const install = files.map(
    (f) => `mkdir -p %{buildroot}$(dirname ${f}) && echo x > %{buildroot}${f} && chmod 755 %{buildroot}${f}`,
  );
  const spec = [
    `Name: ${name}`,
    `Version: ${s.version ?? "1.0"}`,
    "Release: 1",
    "Summary: test",
    "License: MIT",
    `BuildArch: ${s.arch ?? "noarch"}`,
    s.tags ?? "",
    "%description",
    "test",
    "%install",
    ...install,
    "%files",
    ...files,
    "",
  ].join("\n");
  const path = join(dir, "SPECS", `${name}.spec`);
  writeFileSync(path, spec);
  sh("rpmbuild", [
    "-bb",
    "--quiet",
    "--define",
    `_topdir ${join(dir, "rpmbuild")}`,
    "--define",
    `_rpmdir ${out}`,
    "--define",
    "debug_package %{nil}",
    path,
  ]);
}

function dnfSet(
  dir: string,
  rootDir: string,
  pkgs: string[],
): { status: number; set: string[]; out: string } {
  const r = dnfAssumeNo(join(dir, "dnf.conf"), rootDir, pkgs);
  const set = [
    ...r.install.map((e) => `+${e.name} ${e.version}`),
    ...r.remove.map((e) => `-${e.name} ${e.version}`),
  ];
  return { status: r.status, set: set.sort(), out: r.output };
}

test("rpm-md test repository: resolve equals dnf --assumeno install", { timeout: 80_000 }, async (t) => {
  if (!haveTools(t, "rpmbuild", "createrepo_c", "dnf", "rpm")) return;
  const dir = scratch(t);
  mkdirSync(join(dir, "SPECS"), { recursive: true });
  const repo = join(dir, "repo");
  for (const [n, s] of Object.entries(REPO)) build(dir, n, s, repo);
  sh("createrepo_c", ["-q", repo]);
  const inst = join(dir, "inst");
  for (const [n, s] of Object.entries(INSTALLED)) build(dir, n, s, inst);
  const root = join(dir, "root");
  mkdirSync(root);
  const dbpath = sh("rpm", ["--eval", "%_dbpath"]).trim();
  sh("sh", ["-c", `rpm --root=${root} -i --nodeps ${inst}/noarch/*.rpm 2>/dev/null`]);
  mkdirSync(join(dir, "repos.d"));
  const repoFile = join(dir, "repos.d/test.repo");
  writeFileSync(repoFile, `[test]\nname=test\nbaseurl=file://${repo}\ngpgcheck=0\n`);
  writeFileSync(
    join(dir, "dnf.conf"),
    `[main]\nreposdir=${join(dir, "repos.d")}\ncachedir=${join(dir, "dnf-cache")}\ngpgcheck=0\ninstall_weak_deps=True\n`,
  );
  const base = [
    "--repo-file",
    repoFile,
    "--rpmdb",
    join(root, dbpath, "rpmdb.sqlite"),
    "--cache-dir",
    join(dir, "md"),
  ];
  for (const c of CASES) {
    const pkgs = c.split(" ");
    const d = dnfSet(dir, root, pkgs);
    assert.equal(d.status, 1, d.out); // --assumeno: "Operation aborted"
    const r = tsostreePkg(["resolve", "--json", ...base, ...pkgs]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, { name: string; version: string }[]>;
    const ours = [
      ...[...j.install, ...j.upgrade].map((e) => `+${e.name} ${e.version}`),
      ...j.remove.map((e) => `-${e.name} ${e.version}`),
    ].sort();
    assert.deepEqual(ours, d.set, `${c}\n${d.out}`);
    if (process.env.SHOW) console.log(c, JSON.stringify(ours));
  }
  const bad = tsostreePkg(["resolve", ...base, "needy"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /needy depends on lib >= 9 but only 2\.1-1 is available/);

  // Signed repomd (repo_gpgcheck) and bad metadata: each refused, the previous cache kept.
  const env = gpgTestKey(dir, "tsostree rpm <t@example.org>");
  sh("gpg", ["--batch", "--armor", "--output", join(dir, "key.asc"), "--export"], { env });
  const repomd = join(repo, "repodata/repomd.xml");
  const sign = () =>
    sh("gpg", ["--batch", "--yes", "--armor", "--detach-sign", "--output", `${repomd}.asc`, repomd], { env });
  sign();
  writeFileSync(
    repoFile,
    `[test]\nname=test\nbaseurl=file://${repo}\nrepo_gpgcheck=1\ngpgkey=file://${join(dir, "key.asc")}\n`,
  );
  const cache = join(dir, "md");
  const refresh = () => tsostreePkg(["refresh-md", "--force", "--repo-file", repoFile, "--cache-dir", cache]);
  const ok = refresh();
  assert.equal(ok.status, 0, ok.stderr);
  const snapshot = () => sh("sh", ["-c", `cd ${cache} && find . -type f | sort | xargs sha256sum`]);
  const before = snapshot();
  const refused = (what: string, re: RegExp) => {
    const r = refresh();
    assert.equal(r.status, 1, what);
    assert.match(r.stderr, re, what);
    assert.equal(snapshot(), before, `${what}: cache changed`);
  };
  const goodMd = readFileSync(repomd, "utf8");
  writeFileSync(repomd, goodMd.replace("<revision>", "<revision>1"));
  refused("bad signature", /signature/i);
  writeFileSync(repomd, goodMd);
  const primaryHref = /href="(repodata\/[^"]*primary\.xml\.gz)"/.exec(goodMd)?.[1] ?? "";
  const primaryPath = join(repo, primaryHref);
  const goodPrimary = readFileSync(primaryPath);
  writeFileSync(primaryPath, gzipSync(Buffer.from("<metadata>")));
  refused("repomd checksum mismatch", /checksum mismatch/);
  writeFileSync(primaryPath, goodPrimary);
});
