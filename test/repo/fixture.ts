// A tree that exercises every format corner ostree cares about, committed with the real ostree.
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ostree, sh } from "../helpers.js";

export function buildTree(dir: string): void {
  const p = (...parts: string[]) => join(dir, ...parts);
  for (const d of ["usr/bin", "usr/share/empty", "dir with space", "ünï", "a/b/c/d", "sticky"])
    mkdirSync(p(d), { recursive: true });
  writeFileSync(p("usr/bin/hello"), "hello\n");
  chmodSync(p("usr/bin/hello"), 0o4755);
  writeFileSync(p("empty"), "");
  symlinkSync("hello", p("usr/bin/hi"));
  symlinkSync("/nonexistent/abs", p("dangling"));
  symlinkSync("../usr", p("abs-rel"));
  writeFileSync(p("dir with space/file name"), "x");
  writeFileSync(p("ünï/dätä"), "ü");
  writeFileSync(p("sgid"), "sg");
  chmodSync(p("sgid"), 0o2755);
  chmodSync(p("sticky"), 0o1777);
  writeFileSync(p("hl1"), "hl");
  linkSync(p("hl1"), p("hl2"));
  writeFileSync(p("xa"), "xa");
  sh("setfattr", ["-n", "user.foo", "-v", "bar", p("xa")]);
  writeFileSync(p("a/b/c/d/e"), "deep\n");
  writeFileSync(p("usr/bin/tool"), "#!/bin/sh\necho tool\n");
  chmodSync(p("usr/bin/tool"), 0o755);
}

/** Commits `tree` to `branch` with the real ostree; returns the commit checksum. */
export function ostreeCommit(
  repo: string,
  branch: string,
  tree: string,
  subject = "subj",
  extra: string[] = [],
): string {
  const r = ostree(["commit", `--repo=${repo}`, "-b", branch, "-s", subject, ...extra, tree]);
  if (r.status !== 0) throw new Error(`ostree commit failed: ${r.stderr}`);
  return r.stdout.trim();
}

export function ostreeInit(repo: string, mode: string): void {
  const r = ostree(["init", `--repo=${repo}`, `--mode=${mode}`]);
  if (r.status !== 0) throw new Error(`ostree init failed: ${r.stderr}`);
}

/** Two commits on `test`: the fixture, then a change that adds, removes and modifies paths. */
export function buildRepo(
  root: string,
  mode: string,
): { repo: string; first: string; second: string; tree: string } {
  const repo = join(root, `repo-${mode}`);
  const tree = join(root, "tree");
  const tree2 = join(root, "tree2");
  buildTree(tree);
  ostreeInit(repo, mode);
  const first = ostreeCommit(repo, "test", tree, "subj", [
    "--body=body line",
    "--add-metadata-string=version=1.0",
  ]);
  sh("cp", ["-a", tree, tree2]);
  writeFileSync(join(tree2, "newfile"), "new\n");
  sh("rm", [join(tree2, "hl2")]);
  writeFileSync(join(tree2, "usr/bin/hello"), "modified\n");
  mkdirSync(join(tree2, "newdir/sub"), { recursive: true });
  writeFileSync(join(tree2, "newdir/sub/f"), "f");
  chmodSync(join(tree2, "a/b"), 0o700);
  const second = ostreeCommit(repo, "test", tree2, "second");
  return { repo, first, second, tree: tree2 };
}
