// The compatibility contract of `commit`: the same tree committed by the real ostree 2022.7 and by
// tsostree, with the same subject, body, timestamp, bindings and metadata, yields the same commit
// checksum and the same objects, in every repo mode; each tool accepts the other's repos.
import assert from "node:assert/strict";
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree, scratch, sh, tsostree } from "../helpers.js";
import {
  buildCommitTree,
  COMMIT_ARGS,
  commitWith,
  initWith,
  objectNames,
  ostreeFsck,
  ostreeListing,
} from "./commit-fixture.js";

for (const mode of ["bare", "bare-user", "bare-user-only", "archive"]) {
  test(`commit in ${mode}: same commit, same objects as ostree; ostree fsck passes`, (t) => {
    if (!haveTools(t, "ostree", "setfattr")) return;
    const dir = scratch(t);
    const tree = buildCommitTree(join(dir, "tree"));
    const args = ["-b", "main", ...COMMIT_ARGS, tree];
    initWith("ostree", join(dir, "o"), mode);
    initWith("tsostree", join(dir, "t"), mode);
    const o = commitWith("ostree", join(dir, "o"), args);
    const ours = commitWith("tsostree", join(dir, "t"), args);
    assert.equal(ours, o);
    assert.deepEqual(objectNames(join(dir, "t")), objectNames(join(dir, "o")));
    assert.equal(ostreeListing(join(dir, "t"), "main"), ostreeListing(join(dir, "o"), "main"));
    assert.equal(readFileSync(join(dir, "t/refs/heads/main"), "utf8"), `${o}\n`);
    const fsck = ostreeFsck(join(dir, "t"));
    assert.equal(fsck.status, 0, fsck.stderr);
    const ourFsck = tsostree(["fsck", `--repo=${join(dir, "t")}`]);
    assert.equal(ourFsck.status, 0, ourFsck.stderr);
    // The staging directory and its lock are gone.
    assert.deepEqual(
      sh("ls", ["-A", join(dir, "t/tmp")])
        .split("\n")
        .filter((n) => n.startsWith("staging")),
      [],
    );
  });
}

test("bare-mode objects carry ostree's on-disk metadata (mode, owner, xattrs, mtime 0)", (t) => {
  if (!haveTools(t, "ostree", "setfattr", "getfattr")) return;
  const dir = scratch(t);
  const tree = buildCommitTree(join(dir, "tree"));
  for (const tool of ["ostree", "tsostree"] as const) {
    initWith(tool, join(dir, tool), "bare");
    commitWith(tool, join(dir, tool), ["-b", "main", ...COMMIT_ARGS, tree]);
  }
  for (const name of objectNames(join(dir, "ostree")).filter((n) => n.endsWith(".file"))) {
    const [a, b] = ["ostree", "tsostree"].map((tool) => {
      const p = join(dir, tool, "objects", name);
      const st = sh("stat", ["-c", "%f %u %g %s %Y %F", p]);
      // Symlinks' mtime is whenever they were created; only regular files get mtime 0.
      const x = sh("getfattr", ["-h", "-d", "-m", "-", "--absolute-names", p]).replace(/^# file: .*\n/m, "");
      return st.includes("symbolic") ? st.split(" ").slice(0, 4).join(" ") + x : st + x;
    });
    assert.equal(b, a, name);
  }
});

test("metadata options give ostree's exact commit bytes", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const tree = join(dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "f"), "f\n");
  initWith("ostree", join(dir, "o"), "archive");
  initWith("tsostree", join(dir, "t"), "archive");
  const cases: string[][] = [
    ["-b", "x", "--timestamp=@0"],
    ["--orphan", "--timestamp=@0"],
    ["--orphan", "--no-bindings", "--timestamp=2020-01-02T03:04:05Z"],
    ["-b", "x", "--no-bindings", "--timestamp=@1"],
    ["-b", "a/b", "--bind-ref=zz", "--bind-ref=aa", "--timestamp=@5", "-s", "ünïcödé subject"],
    [
      "-b",
      "y",
      "--timestamp=@7",
      "--add-metadata-string=version=1",
      "--add-metadata-string=a=b",
      "--add-metadata=n=42",
      "--add-metadata=l=['q', 'r']",
      "--add-metadata=t=uint64 5",
      "--add-metadata-string=a=c",
      "-m",
      "",
    ],
    ["-b", "y", "--timestamp=@8", "--keep-metadata=version", "--add-metadata=zz=<(1, 'x')>"],
  ];
  for (const c of cases) {
    const o = commitWith("ostree", join(dir, "o"), [...c, tree]);
    const ours = commitWith("tsostree", join(dir, "t"), [...c, tree]);
    assert.equal(ours, o, c.join(" "));
    const path = `objects/${o.slice(0, 2)}/${o.slice(2)}.commit`;
    assert.deepEqual(readFileSync(join(dir, "t", path)), readFileSync(join(dir, "o", path)));
  }
  // Local-time timestamps parse the way parse_datetime does (TZ decides).
  const env = { ...process.env, TZ: "Europe/Berlin" };
  const o = sh(
    "setpriv",
    [
      "--bounding-set=-sys_admin",
      "--",
      "ostree",
      "commit",
      `--repo=${join(dir, "o")}`,
      "--orphan",
      "--timestamp=2021-06-01 12:00:00",
      tree,
    ],
    { env },
  ).trim();
  const ours = tsostree(
    ["commit", `--repo=${join(dir, "t")}`, "--orphan", "--timestamp=2021-06-01 12:00:00", tree],
    { env },
  );
  assert.equal(ours.stdout.trim(), o, ours.stderr);
});

test("each tool commits into a repo the other created, and reads the result", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const tree = buildCommitTree(join(dir, "tree"));
  for (const mode of ["bare", "archive"]) {
    const byOstree = join(dir, `init-o-${mode}`);
    const byUs = join(dir, `init-t-${mode}`);
    initWith("ostree", byOstree, mode);
    initWith("tsostree", byUs, mode);
    const ours = commitWith("tsostree", byOstree, ["-b", "main", ...COMMIT_ARGS, tree]);
    const theirs = commitWith("ostree", byUs, ["-b", "main", ...COMMIT_ARGS, tree]);
    assert.equal(ours, theirs);
    assert.equal(ostreeFsck(byOstree).status, 0);
    assert.equal(tsostree(["fsck", `--repo=${byUs}`]).status, 0);
    // A second commit on top of the other tool's commit: parents chain across tools.
    writeFileSync(join(tree, "added"), `${mode}\n`);
    const next = commitWith("tsostree", byUs, ["-b", "main", "--timestamp=@1700000001", tree]);
    const log = ostree(["log", `--repo=${byUs}`, "main"]);
    assert.match(log.stdout, new RegExp(`commit ${next}[\\s\\S]*commit ${theirs}`));
  }
});

test("--tree overlays (dir, tar, ref) in order, and tar imports match ostree's", (t) => {
  if (!haveTools(t, "ostree", "setfattr", "xz", "zstd")) return;
  const dir = scratch(t);
  const tree = buildCommitTree(join(dir, "tree"));
  const over = join(dir, "over");
  mkdirSync(join(over, "usr/bin"), { recursive: true });
  writeFileSync(join(over, "usr/bin/hello"), "replaced\n");
  writeFileSync(join(over, "new-top"), "new\n");
  sh("tar", ["--xattrs", "--numeric-owner", "-C", tree, "-cf", join(dir, "tree.tar"), "."]);
  sh("tar", ["--numeric-owner", "-C", over, "-czf", join(dir, "over.tar.gz"), "."]);
  // xz and zstd go through the native decoder (native/decoder.c).
  sh("sh", ["-c", `xz -T2 --block-size=4KiB -c '${join(dir, "tree.tar")}' > '${join(dir, "tree.tar.xz")}'`]);
  sh("tar", ["--numeric-owner", "--zstd", "-C", over, "-cf", join(dir, "over.tar.zst"), "."]);
  initWith("ostree", join(dir, "o"), "bare");
  initWith("tsostree", join(dir, "t"), "bare");
  const base = ["--timestamp=@3", "--no-bindings"];
  for (const tool of ["ostree", "tsostree"] as const)
    commitWith(tool, join(dir, tool === "ostree" ? "o" : "t"), ["-b", "base", ...base, tree]);
  const cases: string[][] = [
    ["--tree=tar=" + join(dir, "tree.tar")],
    ["--tree=tar=" + join(dir, "tree.tar"), "--tree=tar=" + join(dir, "over.tar.gz")],
    ["--tree=tar=" + join(dir, "tree.tar.xz"), "--tree=tar=" + join(dir, "over.tar.zst")],
    ["--tree=ref=base", `--tree=dir=${over}`],
    [`--tree=dir=${tree}`, `--tree=dir=${over}`],
    ["--base=base", `--tree=dir=${over}`],
  ];
  for (const c of cases) {
    const o = commitWith("ostree", join(dir, "o"), ["--orphan", ...base, ...c]);
    const ours = commitWith("tsostree", join(dir, "t"), ["--orphan", ...base, ...c]);
    assert.equal(ours, o, c.join(" "));
  }
  assert.equal(ostreeFsck(join(dir, "t")).status, 0);
});

test("modifiers: --owner-uid/gid, --canonical-permissions, --no-xattrs match ostree", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const tree = buildCommitTree(join(dir, "tree"));
  initWith("ostree", join(dir, "o"), "bare");
  initWith("tsostree", join(dir, "t"), "bare");
  for (const c of [
    ["--owner-uid=0", "--owner-gid=42"],
    ["--canonical-permissions"],
    ["--no-xattrs"],
    ["--owner-uid=7"],
  ]) {
    const args = ["--orphan", "--timestamp=@9", ...c, tree];
    assert.equal(
      commitWith("tsostree", join(dir, "t"), args),
      commitWith("ostree", join(dir, "o"), args),
      c.join(" "),
    );
  }
  const bad = tsostree([
    "commit",
    `--repo=${join(dir, "t")}`,
    "--orphan",
    "--canonical-permissions",
    "--owner-uid=5",
    tree,
  ]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Cannot specify both --canonical-permissions and non-zero --owner-uid/);
  assert.equal(ostreeFsck(join(dir, "t")).status, 0);
});

test("--skip-if-unchanged, --link-checkout-speedup and --consume", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const tree = buildCommitTree(join(dir, "tree"));
  const repo = join(dir, "repo");
  initWith("tsostree", repo, "bare");
  const first = commitWith("tsostree", repo, ["-b", "main", "--timestamp=@1", tree]);
  const again = commitWith("tsostree", repo, ["-b", "main", "--timestamp=@2", "--skip-if-unchanged", tree]);
  assert.equal(again, first);
  assert.equal(readFileSync(join(repo, "refs/heads/main"), "utf8"), `${first}\n`);

  // A hardlink checkout (by the real ostree) plus one new file: the speedup reuses the objects'
  // checksums without reading them, and gives the same tree as a plain commit.
  const co = join(dir, "co");
  assert.equal(ostree(["checkout", `--repo=${repo}`, "-H", "main", co]).status, 0);
  writeFileSync(join(co, "added"), "added\n");
  const fast = commitWith("tsostree", repo, [
    "--orphan",
    "--timestamp=@3",
    "--link-checkout-speedup",
    "--table-output",
    co,
  ]);
  const slow = commitWith("tsostree", repo, ["--orphan", "--timestamp=@3", co]);
  assert.equal(fast.split("\n")[0], `Commit: ${slow}`);
  assert.match(fast, /Content Written: 1\n/);

  // --consume empties the source (regular files are adopted into the repo when possible).
  const src = join(dir, "consume");
  sh("cp", ["-a", tree, src]);
  const consumed = commitWith("tsostree", repo, [
    "--orphan",
    "--timestamp=@1",
    "--no-bindings",
    "--consume",
    src,
  ]);
  assert.throws(() => statSync(src));
  const expect = commitWith("tsostree", repo, ["--orphan", "--timestamp=@1", "--no-bindings", tree]);
  assert.equal(consumed, expect);
  assert.equal(ostreeFsck(repo).status, 0);
});

test("device nodes are refused with a clear error; the repo is left clean", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const tree = join(dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "f"), "f");
  sh("mknod", [join(tree, "null"), "c", "1", "3"]);
  initWith("tsostree", join(dir, "repo"), "bare");
  const r = tsostree(["commit", `--repo=${join(dir, "repo")}`, "-b", "main", tree]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /null: a character device cannot be committed/);
  assert.deepEqual(objectNames(join(dir, "repo")), []);
  assert.equal(sh("ls", ["-A", join(dir, "repo/tmp")]).trim(), "");
});

test("a file over 4 GiB (sparse) commits fast, stays sparse, and has ostree's checksum", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const tree = join(dir, "tree");
  mkdirSync(tree, { mode: 0o755 });
  const big = join(tree, "sparse");
  sh("truncate", ["-s", "4G", big]);
  const fd = openSync(big, "a");
  writeSync(fd, "tail");
  closeSync(fd);
  sh("chmod", ["0644", big]);
  sh("chmod", ["0755", tree]);
  initWith("tsostree", join(dir, "repo"), "bare");
  const c = commitWith("tsostree", join(dir, "repo"), ["--orphan", "--timestamp=@0", tree]);
  // Computed by ostree 2022.7 itself (`ostree commit` of this tree takes ~40 s: it writes 4 GiB).
  assert.equal(c, "acf0952155d5049e0ddc1c0f6d8ab7ce1161b39d2bbc5d5fa32f66a61e98e2eb");
  const ls = ostree(["ls", `--repo=${join(dir, "repo")}`, "-C", c, "/sparse"]).stdout;
  assert.match(ls, /4294967300 86d3fad59c4f7714941a3231428fa63622df34d9906837f1213f23c770984acb \/sparse/);
  const obj = join(
    dir,
    "repo/objects/86/d3fad59c4f7714941a3231428fa63622df34d9906837f1213f23c770984acb.file",
  );
  const st = statSync(obj);
  assert.equal(st.size, 4294967300);
  assert.ok(st.blocks * 512 < 1 << 20, `object should be sparse, uses ${st.blocks * 512} bytes`);
});
