// removeTree (native/remove_tree.c): rm -rf that never follows a symlink — a link to a directory
// outside the tree is removed, not emptied; a link at the top is removed, not followed — that
// removes what plain `rm -rf` removes (deep trees, read-only files, thousands of entries), is
// quiet about a path that is not there, and says which path and errno when it cannot.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { removeTree, removeTreeAsync } from "../../src/util/remove-tree.js";
import { needRoot, scratch } from "../helpers.js";

function tree(root: string, outside: string): void {
  let deep = root;
  for (let i = 0; i < 40; i++) deep = join(deep, `d${i}`);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, "leaf"), "x");
  mkdirSync(join(root, "many"));
  for (let i = 0; i < 3000; i++) writeFileSync(join(root, "many", `f${i}`), "");
  writeFileSync(join(root, "ro"), "read-only");
  chmodSync(join(root, "ro"), 0o444);
  symlinkSync(outside, join(root, "to-outside"));
  symlinkSync("dangling", join(root, "dangling"));
}

test("removeTree removes a whole tree and nothing a symlink in it points to", (t) => {
  const dir = scratch(t);
  const outside = join(dir, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "keep"), "keep");
  const root = join(dir, "root");
  tree(root, outside);
  removeTree(root);
  assert.equal(existsSync(root), false);
  assert.deepEqual(readdirSync(outside), ["keep"]);
  // The same tree as `rm -rf` sees it: both leave nothing.
  const other = join(dir, "other");
  tree(other, outside);
  assert.equal(spawnSync("rm", ["-rf", other]).status, 0);
  assert.equal(existsSync(other), false);
  // A symlink at the top is removed, not followed; a missing path is no error.
  symlinkSync(outside, join(dir, "top-link"));
  removeTree(join(dir, "top-link"));
  assert.equal(existsSync(join(dir, "top-link")), false);
  assert.deepEqual(readdirSync(outside), ["keep"]);
  removeTree(join(dir, "not-there"));
});

test("removeTree takes usr/share on a second thread and still follows no symlink", (t) => {
  const dir = scratch(t);
  const outside = join(dir, "outside");
  mkdirSync(join(outside, "share"), { recursive: true });
  writeFileSync(join(outside, "share/keep"), "keep");
  const root = join(dir, "deployment");
  tree(join(root, "usr/share/doc"), outside);
  tree(join(root, "usr/lib"), outside);
  tree(join(root, "etc"), outside);
  writeFileSync(join(root, "usr/top"), "t");
  removeTree(root);
  assert.equal(existsSync(root), false);
  // usr/share or usr as symlinks out of the tree: the links go, what they point to stays.
  for (const link of ["usr/share", "usr"]) {
    const other = join(dir, `other-${link.replace("/", "-")}`);
    mkdirSync(join(other, link, ".."), { recursive: true });
    symlinkSync(link === "usr" ? outside : join(outside, "share"), join(other, link));
    writeFileSync(join(other, "file"), "f");
    removeTree(other);
    assert.equal(existsSync(other), false);
  }
  assert.deepEqual(readdirSync(join(outside, "share")), ["keep"]);
});

test("removeTreeAsync removes on the pool what removeTree removes, an immutable root too", async (t) => {
  const dir = scratch(t);
  const outside = join(dir, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "keep"), "keep");
  const root = join(dir, "deployment");
  tree(join(root, "usr/share"), outside);
  tree(join(root, "etc"), outside);
  await removeTreeAsync(root);
  assert.equal(existsSync(root), false);
  assert.deepEqual(readdirSync(outside), ["keep"]);
  await removeTreeAsync(join(dir, "not-there"));
  if (process.getuid?.() !== 0) return;
  mkdirSync(join(root, "usr/share"), { recursive: true });
  writeFileSync(join(root, "usr/share/f"), "f");
  if (spawnSync("chattr", ["+i", root]).status !== 0) return;
  await removeTreeAsync(root);
  assert.equal(existsSync(root), false);
});

test("removeTree clears the immutable attribute ostree sets on deployment roots", (t) => {
  if (!needRoot(t, "chattr +i")) return;
  const dir = scratch(t);
  const root = join(dir, "deployment");
  mkdirSync(join(root, "usr"), { recursive: true });
  writeFileSync(join(root, "usr/f"), "f");
  if (spawnSync("chattr", ["+i", root]).status !== 0)
    return t.skip("this file system has no immutable attribute");
  removeTree(root);
  assert.equal(existsSync(root), false);
});

test("removeTree names the path and the errno when it cannot remove", (t) => {
  const dir = scratch(t);
  const root = join(dir, "locked");
  mkdirSync(join(root, "sub"), { recursive: true });
  writeFileSync(join(root, "sub/f"), "f");
  // A directory its owner cannot write: only root gets past that.
  chmodSync(join(root, "sub"), 0o555);
  const unprivileged =
    process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
  if (unprivileged.length) {
    // As root: hand the tree to nobody and try as nobody.
    spawnSync("chown", ["-R", "65534:65534", dir]);
  }
  const r = spawnSync(
    unprivileged[0] ?? process.execPath,
    [
      ...unprivileged.slice(1),
      ...(unprivileged.length ? [process.execPath] : []),
      "--input-type=module",
      "-e",
      `import { removeTree } from ${JSON.stringify(join(import.meta.dirname, "../../src/util/remove-tree.js"))}; try { removeTree(${JSON.stringify(root)}); } catch (e) { console.log(e.code, e.message); }`,
    ],
    { encoding: "utf8" },
  );
  assert.match(r.stdout, /^EACCES EACCES: rm -rf '.*locked'/, r.stderr);
  chmodSync(join(root, "sub"), 0o755);
});
