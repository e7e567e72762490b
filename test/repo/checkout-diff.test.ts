// applyCheckoutDiff: a checkout of one commit changed in place into a checkout of another equals a
// fresh checkout of the other (entries, modes, owners, content, directory mtimes), both ways, and
// visits only the directories that differ.
import assert from "node:assert/strict";
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkout } from "../../src/repo/checkout.js";
import { applyCheckoutDiff } from "../../src/repo/checkout-diff.js";
import { Repo } from "../../src/repo/repo.js";
import { haveTools, scratch, sh } from "../helpers.js";
import { buildRepo, ostreeCommit } from "./fixture.js";
import { describeTree } from "./treewalk.js";

/** describeTree plus every directory's mtime (a checkout leaves 0). */
function describe(root: string): string[] {
  const mtimes: string[] = [];
  const visit = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const st = lstatSync(join(dir, name));
      if (!st.isDirectory()) continue;
      mtimes.push(`mtime ${rel}/${name} ${st.mtimeMs}`);
      visit(join(dir, name), `${rel}/${name}`);
    }
  };
  visit(root, "");
  return [...describeTree(root), ...mtimes];
}

/** A third commit: a file becomes a directory and back, a subtree goes, a read-only dir gains a file. */
function thirdCommit(repo: string, dir: string, tree2: string): string {
  const t = join(dir, "tree3");
  sh("cp", ["-a", tree2, t]);
  rmSync(join(t, "newfile"));
  mkdirSync(join(t, "newfile/inner"), { recursive: true });
  writeFileSync(join(t, "newfile/inner/x"), "x\n");
  rmSync(join(t, "a/b"), { recursive: true });
  writeFileSync(join(t, "a/b"), "now a file\n");
  rmSync(join(t, "dir with space"), { recursive: true });
  mkdirSync(join(t, "ro/sub"), { recursive: true });
  writeFileSync(join(t, "ro/sub/added"), "added\n");
  chmodSync(join(t, "ro/sub"), 0o555);
  chmodSync(join(t, "ro"), 0o555);
  return ostreeCommit(repo, "test", t, "third");
}

const cases: [string, { userMode?: boolean }][] = [
  ["bare", {}],
  ["bare-user", { userMode: true }],
  ["archive", {}],
];

for (const [mode, opts] of cases) {
  test(`a checkout changed in place equals a fresh one (${mode}${opts.userMode ? ", user mode" : ""})`, async (t) => {
    if (!haveTools(t, "ostree", "setfattr")) return;
    const dir = scratch(t);
    const { repo: path, first, second } = buildRepo(dir, mode);
    // The read-only directory exists (empty) in the second commit too, so the third adds into it.
    const t2 = join(dir, "tree2");
    mkdirSync(join(t2, "ro/sub"), { recursive: true });
    chmodSync(join(t2, "ro/sub"), 0o555);
    chmodSync(join(t2, "ro"), 0o555);
    const second2 = ostreeCommit(path, "test", t2, "second, with ro");
    const third = thirdCommit(path, dir, t2);
    const repo = Repo.open(path);
    const commits = [first, second, second2, third];
    for (const [from, to] of [
      [first, second],
      [second, first],
      [second2, third],
      [third, second2],
      [first, third],
    ] as const) {
      const tag = `${commits.indexOf(from)}-${commits.indexOf(to)}`;
      const fresh = join(dir, `fresh-${tag}`);
      await checkout(repo, to, fresh, opts);
      const changed = join(dir, `changed-${tag}`);
      await checkout(repo, from, changed, opts);
      const stats = await applyCheckoutDiff(repo, from, to, changed, opts);
      assert.deepEqual(describe(changed), describe(fresh), `${tag}: ${JSON.stringify(stats)}`);
      assert.ok(stats.dirs > 0);
    }
    // Equal commits: nothing visited.
    const same = join(dir, "same");
    await checkout(repo, second, same, opts);
    assert.deepEqual(await applyCheckoutDiff(repo, second, second, same, opts), {
      dirs: 0,
      placed: 0,
      removed: 0,
    });
    // Only what differs: first → second changes the root, usr/bin (hello), a (b's mode) and adds newdir.
    const only = join(dir, "only");
    await checkout(repo, first, only, opts);
    const s = await applyCheckoutDiff(repo, first, second, only, opts);
    assert.equal(s.placed, 2, JSON.stringify(s)); // newfile, usr/bin/hello (newdir comes as a new subtree)
    assert.equal(s.removed, 1, JSON.stringify(s)); // hl2
  });
}

test("only the changed names are touched where files and directories interleave in byte order", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const path = join(dir, "repo");
  sh("ostree", ["init", `--repo=${path}`, "--mode=bare-user"]);
  // Byte (strcmp) order, which dirtrees keep: "B" < "a" < "a-b" < "a.d" < "é" < "\uFFFD" < "😀"
  // (JavaScript's string order puts the emoji, a surrogate pair, before U+FFFD).
  const names = ["B", "a", "a-b", "a.d", "é", "\uFFFD", "😀", "z"];
  const tree = join(dir, "tree");
  mkdirSync(tree);
  for (const [i, name] of names.entries()) {
    if (i % 2) writeFileSync(join(tree, name), `${name}\n`, { flag: "w" });
    else mkdirSync(join(tree, name, "inner"), { recursive: true });
  }
  const from = ostreeCommit(path, "test", tree, "from");
  // Beside every entry, a new one; and the emoji directory gains a file.
  for (const name of names) writeFileSync(join(tree, `${name}0`), "new\n");
  writeFileSync(join(tree, "😀", "inner", "f"), "f\n");
  const to = ostreeCommit(path, "test", tree, "to");
  const repo = Repo.open(path);
  const changed = join(dir, "changed");
  await checkout(repo, from, changed, { userMode: true });
  const stats = await applyCheckoutDiff(repo, from, to, changed, { userMode: true });
  assert.deepEqual(stats, { dirs: 3, placed: names.length + 1, removed: 0 });
  const fresh = join(dir, "fresh");
  await checkout(repo, to, fresh, { userMode: true });
  assert.deepEqual(describe(changed), describe(fresh));
});
