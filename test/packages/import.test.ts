// Package import against the real tools: the tree committed for a package must equal what
// `dpkg-deb -x` or `rpm2cpio | cpio -idmu` extract, checked out by the real `ostree`.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Repo } from "../../src/repo/repo.js";
import { buildDeb, craftDeb, demoTree } from "../backends/deb/build.js";
import { walk } from "../backends/deb/oracle.js";
import { buildRpm } from "../backends/rpm/build.js";
import { haveTools, ostree, scratch, sh, tsostreePkg } from "../helpers.js";

function initRepo(dir: string, mode = "bare"): string {
  const repo = join(dir, "repo");
  const r = ostree(["init", `--repo=${repo}`, `--mode=${mode}`]);
  assert.equal(r.status, 0, r.stderr);
  return repo;
}

function importJson(
  repo: string,
  files: string[],
): { ref: string; commit: string; unchanged: boolean; name: string }[] {
  const r = tsostreePkg(["import", `--repo=${repo}`, "--json", ...files]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** How many distinct root trees the imported commits have. */
function rootTrees(repo: string, results: { commit: string }[]): number {
  const r = Repo.open(repo);
  return new Set(results.map((x) => r.loadCommit(x.commit).rootTree)).size;
}

function objectCount(repo: string): number {
  let n = 0;
  for (const d of readdirSync(join(repo, "objects"))) n += readdirSync(join(repo, "objects", d)).length;
  return n;
}

/** Compares two extracted trees: types, permission bits, owners, content and symlink targets. */
function assertSameTree(ours: string, theirs: string, ignore: (p: string) => boolean = () => false): void {
  const a = walk(ours);
  const b = walk(theirs);
  const names = (m: Map<string, unknown>) => [...m.keys()].filter((p) => !ignore(p)).sort();
  assert.deepEqual(names(a), names(b), "same paths");
  for (const p of names(b)) {
    const x = a.get(p)!;
    const y = b.get(p)!;
    assert.equal(x.mode.toString(8), y.mode.toString(8), `mode of ${p}`);
    assert.equal(`${x.uid}:${x.gid}`, `${y.uid}:${y.gid}`, `owner of ${p}`);
    if (y.isSymbolicLink())
      assert.equal(readlinkSync(join(ours, p)), readlinkSync(join(theirs, p)), `target of ${p}`);
    else if (y.isFile())
      assert.ok(readFileSync(join(ours, p)).equals(readFileSync(join(theirs, p))), `content of ${p}`);
  }
}

test("a .deb imports to the tree dpkg-deb -x extracts, in every compression", async (t) => {
  if (!haveTools(t, "dpkg-deb", "ostree")) return;
  const dir = scratch(t);
  demoTree(dir);
  const repo = initRepo(dir);
  const debs = ["gzip", "xz", "zstd", "none"].map((c) => buildDeb(dir, c));
  const results = importJson(repo, debs);
  assert.equal(rootTrees(repo, results), 1, "the same payload gives the same tree");
  assert.equal(results[0]!.ref, "tsostree/pkg/deb/tso-demo/1_3A2.0_7Erc1-3.all");
  const fsck = ostree(["fsck", `--repo=${repo}`]);
  assert.equal(fsck.status, 0, fsck.stderr);
  const ours = join(dir, "ours");
  assert.equal(ostree(["checkout", `--repo=${repo}`, results[0]!.ref, ours]).status, 0);
  const theirs = join(dir, "theirs");
  sh("dpkg-deb", ["-x", debs[0]!, theirs]);
  assertSameTree(ours, theirs);
  // Hardlinked members share one content object, as they share an inode in the package.
  const ls = ostree(["ls", `--repo=${repo}`, "-C", results[0]!.ref, "/usr/bin"]).stdout;
  const csum = (name: string) =>
    ls
      .split("\n")
      .find((l) => l.endsWith(`/usr/bin/${name}`))
      ?.split(/\s+/)[4];
  assert.equal(csum("demo-hardlink"), csum("demo"));
  const show = ostree(["show", `--repo=${repo}`, "--print-metadata-key=tsostree.pkg.name", results[0]!.ref]);
  assert.equal(show.stdout.trim(), "'tso-demo'");
});

test("an .rpm imports to the tree rpm2cpio | cpio extracts, without %ghost files", async (t) => {
  if (!haveTools(t, "rpmbuild", "rpm2cpio", "cpio", "ostree")) return;
  const dir = scratch(t);
  const repo = initRepo(dir);
  const rpms = ["gzip", "xz", "zstd"].map((c) => buildRpm(dir, c));
  const results = importJson(repo, rpms);
  assert.equal(rootTrees(repo, results), 1, "the same payload gives the same tree");
  assert.match(results[0]!.ref, /^tsostree\/pkg\/rpm\/tso-demo\/1_3A2\.0_7Erc1-3\.fc40\.noarch$/);
  assert.equal(ostree(["fsck", `--repo=${repo}`]).status, 0);
  const ours = join(dir, "ours");
  assert.equal(ostree(["checkout", `--repo=${repo}`, results[0]!.ref, ours]).status, 0);
  const theirs = join(dir, "theirs");
  sh("sh", [
    "-c",
    `mkdir -p "$2" && cd "$2" && umask 022 && rpm2cpio "$1" | cpio -idmu --quiet`,
    "sh",
    rpms[0]!,
    theirs,
  ]);
  assertSameTree(ours, theirs);
  assert.ok(!walk(ours).has("/var/lib/tso-demo/state.db"), "%ghost files are not created");
});

test("importing the same file twice is a no-op", async (t) => {
  if (!haveTools(t, "dpkg-deb", "ostree")) return;
  const dir = scratch(t);
  demoTree(dir);
  const repo = initRepo(dir, "bare-user");
  const deb = buildDeb(dir, "gzip");
  const first = importJson(repo, [deb])[0]!;
  const before = objectCount(repo);
  const again = importJson(repo, [deb])[0]!;
  assert.equal(again.unchanged, true);
  assert.equal(again.commit, first.commit);
  assert.equal(objectCount(repo), before);
  assert.equal(ostree(["fsck", `--repo=${repo}`]).status, 0);
});

test("a hostile package fails with one line, exit 1, and leaves no ref and no object", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const repo = initRepo(dir, "archive");
  const cases: [string, Parameters<typeof craftDeb>[0]][] = [
    [
      "dotdot",
      [
        { name: "./usr/", type: "directory" },
        { name: "./usr/ok", content: "fine" },
        { name: "./../escape", content: "x" },
      ],
    ],
    [
      "through-symlink",
      [
        { name: "./usr/", type: "directory" },
        { name: "./usr/ok", content: "fine" },
        { name: "./usr/lib", type: "symlink", linkname: "/etc" },
        { name: "./usr/lib/passwd", content: "owned" },
      ],
    ],
    [
      "device",
      [
        { name: "./dev/", type: "directory" },
        { name: "./dev/sda", type: "block-device" },
      ],
    ],
  ];
  for (const [name, entries] of cases) {
    const p = join(dir, `${name}.deb`);
    writeFileSync(p, await craftDeb(entries));
    const r = tsostreePkg(["import", `--repo=${repo}`, p]);
    assert.equal(r.status, 1, `${name}: ${r.stdout}`);
    assert.match(r.stderr, /^tsostree-pkg: .*crafted|^tsostree-pkg: .+\.deb/, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line`);
  }
  assert.equal(objectCount(repo), 0, "no object left behind");
  assert.deepEqual(readdirSync(join(repo, "refs/heads")), []);
  assert.deepEqual(
    readdirSync(join(repo, "tmp")).filter((n) => n.startsWith("staging")),
    [],
    "no staging directory left behind",
  );
});

for (const parallel of [false, true]) {
  test(`a hostile package among good ones is refused alone (${parallel ? "worker threads" : "in process"})`, async (t) => {
    if (!haveTools(t, "dpkg-deb", "rpmbuild", "ostree")) return;
    const dir = scratch(t);
    demoTree(dir);
    const repo = initRepo(dir, "bare-user");
    const bad = join(dir, "bad.deb");
    writeFileSync(
      bad,
      await craftDeb([
        { name: "./usr/", type: "directory" },
        { name: "./../escape", content: "x" },
      ]),
    );
    const files = [buildDeb(dir, "xz"), bad, buildRpm(dir, "zstd")];
    const env = { ...process.env, TSOSTREE_IMPORT_PARALLEL_MIN_BYTES: parallel ? "0" : String(1 << 40) };
    const r = tsostreePkg(["import", `--repo=${repo}`, "--json", ...files], { env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /bad\.deb.*escape/);
    const ok = JSON.parse(r.stdout) as { name: string; ref: string }[];
    assert.deepEqual(ok.map((x) => x.name).sort(), ["tso-demo", "tso-demo"]);
    const refs = ostree(["refs", `--repo=${repo}`])
      .stdout.trim()
      .split("\n")
      .sort();
    assert.deepEqual(refs, ok.map((x) => x.ref).sort());
    assert.equal(ostree(["fsck", `--repo=${repo}`]).status, 0);
    // Nothing of the refused package: every object is reachable from the two refs.
    const pruned = ostree(["prune", `--repo=${repo}`, "--refs-only", "--no-prune"]).stdout;
    assert.match(pruned, /Total objects: \d+\nNo unreachable objects/);
  });
}
