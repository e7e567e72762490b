import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { runSandboxed } from "../../src/compose/sandbox.js";
import { readTreeFile } from "../../src/compose/tree-file.js";
import { checkoutTree } from "../../src/repo/checkout.js";
import { MemoryTreeSink } from "../../src/repo/memory-sink.js";
import { haveTools, needRoot, projectRoot, scratch } from "../helpers.js";
import { commitTree, hostTools, MutableTree, ostreeCommitDir, Repo, Transaction } from "./fixture.js";

/** A tree with config, data, a symlink and a file the script appends to. */
function baseTree(dir: string): void {
  hostTools(dir);
  for (const d of ["usr/etc", "usr/share/data", "usr/share/modedir", "usr/lib", "var"])
    mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "usr/etc/keep.conf"), "keep\n");
  writeFileSync(join(dir, "usr/etc/change.conf"), "c1\n");
  writeFileSync(join(dir, "usr/etc/gone.conf"), "gone\n");
  writeFileSync(join(dir, "usr/share/data/a"), "a\n");
  writeFileSync(join(dir, "usr/share/data/b"), "b\n");
  symlinkSync("a", join(dir, "usr/share/link"));
  chmodSync(join(dir, "usr/share/modedir"), 0o755);
  writeFileSync(join(dir, "usr/lib/append.txt"), "base\n");
}

/** baseTree committed by the real ostree into a new repo of `mode` under a scratch dir. */
function committedBase(t: TestContext, mode: "bare" | "bare-user") {
  const dir = scratch(t);
  baseTree(join(dir, "tree"));
  const repoPath = join(dir, "repo");
  execFileSync("ostree", ["init", `--repo=${repoPath}`, `--mode=${mode}`]);
  return { dir, repoPath, base: ostreeCommitDir(repoPath, join(dir, "tree")) };
}

/** committedBase, opened, with a transaction and the base as a MutableTree. */
async function openBase(t: TestContext) {
  const b = committedBase(t, "bare");
  const repo = Repo.open(b.repoPath);
  const tx = await Transaction.begin(repo);
  return { ...b, repo, tx, tree: MutableTree.fromCommit(tx, b.base) };
}

const SCRIPT = `
echo new > /etc/new.conf
echo c2 >> /etc/change.conf
rm /etc/gone.conf
rm -r /usr/share/data
mkdir /usr/share/data
echo c > /usr/share/data/c
rm /usr/share/link
ln -s other /usr/share/link
ln -s target /usr/share/newlink
chmod 700 /usr/share/modedir
echo more >> /usr/lib/append.txt
mkdir -p /usr/share/newdir/sub
echo n > /usr/share/newdir/sub/f
echo scratch > /var/lib/scratch
echo t > /tmp/t
`;

const os = (repo: string, ...args: string[]) =>
  execFileSync("ostree", [`--repo=${repo}`, ...args], { encoding: "utf8" });

function objectDigest(repo: string, commit: string, path: string): string {
  const csum =
    os(repo, "rev-parse", `${commit}`) && os(repo, "ls", "-C", commit, path).trim().split(/\s+/)[4]!;
  const file = join(repo, "objects", csum.slice(0, 2), `${csum.slice(2)}.file`);
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** What every capture test checks on the commit the script produced. */
function checkCapture(repo: string, base: string, out: string): void {
  const cat = (p: string) => os(repo, "cat", out, p);
  assert.equal(cat("/usr/etc/new.conf"), "new\n");
  assert.equal(cat("/usr/etc/change.conf"), "c1\nc2\n");
  assert.equal(cat("/usr/etc/keep.conf"), "keep\n");
  assert.equal(cat("/usr/share/data/c"), "c\n");
  assert.equal(cat("/usr/lib/append.txt"), "base\nmore\n");
  assert.equal(cat("/usr/share/newdir/sub/f"), "n\n");
  const ls = os(repo, "ls", "-R", out, "/");
  assert.doesNotMatch(ls, /gone\.conf/);
  assert.doesNotMatch(ls, /\/usr\/share\/data\/a/, "the opaque dir lost its old entries");
  assert.match(ls, /\/usr\/share\/link -> other/);
  assert.match(ls, /\/usr\/share\/newlink -> target/);
  assert.match(os(repo, "ls", "-d", out, "/usr/share/modedir"), /^d00700 /);
  assert.doesNotMatch(
    ls,
    /scratch|\s\/(etc|run|proc|tmp|dev|var\/lib)(\/|\n|$)/,
    "mount points and scratch stay out",
  );
  // The object the script appended to through the hardlinked checkout is intact.
  assert.equal(os(repo, "cat", base, "/usr/lib/append.txt"), "base\n");
  execFileSync("ostree", [`--repo=${repo}`, "fsck"], { stdio: "pipe" });
  assert.deepEqual(
    readdirSync(join(repo, "tmp")).filter((n) => n.startsWith("scripts-")),
    [],
    "scratch removed",
  );
}

test("sandbox: a script's adds, changes, removals, opaque dirs, symlinks and modes become the new tree (root, bare)", async (t) => {
  if (!haveTools(t, "ostree", "bwrap", "unshare")) return;
  const { repoPath, base, tx, tree } = await openBase(t);
  const before = objectDigest(repoPath, base, "/usr/lib/append.txt");
  const r = await runSandboxed(tx, tree, [
    { label: "test script", argv: ["/bin/sh", "-ec", SCRIPT], env: {} },
  ]);
  assert.equal(r.failed, null, r.results.map((x) => x.output).join("\n"));
  assert.ok(r.changes && r.changes.written >= 6 && r.changes.removed >= 2);
  const out = commitTree(tx, tree, r.memory);
  await tx.commit();
  checkCapture(repoPath, base, out);
  assert.equal(objectDigest(repoPath, base, "/usr/lib/append.txt"), before);
});

test("sandbox: a failing step stops the run and leaves the tree unchanged", async (t) => {
  if (!haveTools(t, "ostree", "bwrap", "unshare")) return;
  const { base, repo, tx, tree } = await openBase(t);
  const r = await runSandboxed(tx, tree, [
    { label: "first", argv: ["/bin/sh", "-c", "echo one > /etc/one; echo ran"], env: {} },
    { label: "second", argv: ["/bin/sh", "-c", "echo oops >&2; exit 3"], env: {} },
    { label: "third", argv: ["/bin/sh", "-c", "echo never"], env: {} },
  ]);
  assert.equal(r.results.length, 2);
  assert.equal(r.failed?.label, "second");
  assert.equal(r.failed?.status, 3);
  assert.match(r.failed!.output, /oops/);
  assert.equal(r.changes, null);
  assert.equal(tree.write(tx).tree, repo.loadCommit(base).rootTree, "tree unchanged");
  tx.abort();
});

test("sandbox: the steps share one sandbox, each with only its own environment and stdin; a sandbox that stops early is an error", async (t) => {
  if (!haveTools(t, "ostree", "bwrap", "unshare")) return;
  const { tx, tree } = await openBase(t);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's parameter expansion
  const show = 'echo "${FOO-unset}|${BAR-unset}|$(cat)" >';
  const r = await runSandboxed(tx, tree, [
    { label: "a", argv: ["/bin/sh", "-c", `${show} /etc/a`], env: { FOO: "a b'c" }, stdin: "in-a" },
    { label: "b", argv: ["/bin/sh", "-c", `${show} /etc/b`], env: { BAR: "x" } },
  ]);
  assert.equal(r.failed, null);
  assert.deepEqual(
    r.results.map((x) => [x.label, x.status]),
    [
      ["a", 0],
      ["b", 0],
    ],
  );
  assert.equal(readTreeFile(tree, tx, "usr/etc/a")?.toString(), "a b'c|unset|in-a\n");
  assert.equal(readTreeFile(tree, tx, "usr/etc/b")?.toString(), "unset|x|\n");
  // A step that kills the shell running the steps: the next one never runs, and nothing applies.
  await assert.rejects(
    runSandboxed(tx, tree, [
      { label: "killer", argv: ["/bin/sh", "-c", "echo k > /etc/k; kill -9 $PPID"], env: {} },
      { label: "next", argv: ["/bin/sh", "-c", "echo never > /etc/never"], env: {} },
    ]),
    /the script sandbox stopped before killer/,
  );
  assert.equal(readTreeFile(tree, tx, "usr/etc/k"), null);
  tx.abort();
});

test("sandbox: unprivileged (bare-user repo owned by the user, setpriv to 65534)", async (t) => {
  if (!haveTools(t, "ostree", "bwrap", "unshare", "setpriv")) return;
  if (!needRoot(t, "switching to an unprivileged user")) return;
  const { dir, repoPath, base } = committedBase(t, "bare-user");
  const before = objectDigest(repoPath, base, "/usr/lib/append.txt");
  execFileSync("chown", ["-R", "65534:65534", dir]);
  const child = join(projectRoot, "dist/test/compose/sandbox-child.js");
  const r = spawnSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      process.execPath,
      child,
      JSON.stringify({ repo: repoPath, commit: base, script: SCRIPT }),
    ],
    { encoding: "utf8", env: { ...process.env, HOME: "/nonexistent" } },
  );
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { commit: string | null; failed: unknown };
  assert.equal(res.failed, null);
  checkCapture(repoPath, base, res.commit!);
  assert.equal(objectDigest(repoPath, base, "/usr/lib/append.txt"), before);
  // Files the user created inside, as root there, belong to root in the tree.
  assert.match(os(repoPath, "ls", res.commit!, "/usr/etc/new.conf"), /^-00644 0 0 /);
});

test("checkoutTree: dirtrees held in memory and objects only staged check out completely (staged files hardlinked)", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const { dir, repoPath, repo, tx, tree } = await openBase(t);
  const meta = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };
  for (let i = 0; i < 300; i++)
    tree.setFile(`usr/share/new/f${i}`, tx.writeContentSync(meta, Buffer.from(`staged ${i}\n`)));
  const memory = new MemoryTreeSink(tx);
  const root = tree.write(memory);
  assert.ok(memory.has(root.tree) && !repo.hasObject(root.tree, "dirtree"));
  const dest = join(dir, "co");
  await checkoutTree(repo, memory, root, dest);
  assert.equal(readFileSync(join(dest, "usr/share/new/f299"), "utf8"), "staged 299\n");
  assert.equal(statSync(join(dest, "usr/share/new/f7")).nlink, 2, "linked to the staged object");
  assert.equal(readFileSync(join(dest, "usr/lib/append.txt"), "utf8"), "base\n");
  assert.equal(readdirSync(join(dest, "usr/bin")).length, readdirSync(join(dir, "tree/usr/bin")).length);
  // The final tree goes to the transaction through the sink: every dirtree it references is staged.
  const final = memory.writeTree(tree);
  const c = commitTree(tx, tree, memory);
  await tx.commit();
  assert.equal(repo.loadCommit(c).rootTree, final.tree);
  execFileSync("ostree", [`--repo=${repoPath}`, "fsck"], { stdio: "pipe" });
});
