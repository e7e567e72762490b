// Small trees for the script tests: a few of the host's own programs (with the libraries ldd names)
// in a merged-/usr layout, enough for sh scripts to run in the sandbox.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeCommitObject } from "../../src/repo/commit.js";
import { MutableTree } from "../../src/repo/mtree.js";
import { Repo } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";

export const HOST_TOOLS = ["sh", "cat", "mkdir", "rm", "chmod", "ln", "ls", "mv", "cp", "touch"];

/** Copies host programs into `dir/usr/bin` with their shared libraries; adds bin, lib, lib64 links. */
export function hostTools(dir: string, tools: string[] = HOST_TOOLS): void {
  mkdirSync(join(dir, "usr/bin"), { recursive: true });
  for (const l of ["bin", "lib", "lib64", "sbin"]) {
    mkdirSync(join(dir, "usr", l === "bin" ? "bin" : l), { recursive: true });
    if (!existsSync(join(dir, l))) symlinkSync(`usr/${l}`, join(dir, l));
  }
  const libs = new Set<string>();
  for (const t of tools) {
    const src = realpathSync(execFileSync("sh", ["-c", `command -v ${t}`], { encoding: "utf8" }).trim());
    copyFileSync(src, join(dir, "usr/bin", t));
    chmodSync(join(dir, "usr/bin", t), 0o755);
    const ldd = execFileSync("ldd", [src], { encoding: "utf8" });
    for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) libs.add(m[1]!);
  }
  for (const lib of libs) {
    // /lib/x86_64-linux-gnu/libc.so.6 → usr/lib/x86_64-linux-gnu/libc.so.6 (merged /usr)
    const rel = lib.replace(/^\/(usr\/)?/, "usr/");
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    if (!existsSync(join(dir, rel))) copyFileSync(realpathSync(lib), join(dir, rel));
  }
}

/** Commits directory `dir` with the real ostree into `repo` (bare or bare-user); returns the commit. */
export function ostreeCommitDir(repo: string, dir: string, branch = "base"): string {
  return execFileSync("ostree", [`--repo=${repo}`, "commit", "-b", branch, "--timestamp=2024-01-01", dir], {
    encoding: "utf8",
  }).trim();
}

/** Writes `tree` (plus dirtrees held by `flushFrom`) and a commit of it; returns the commit. */
export function commitTree(
  tx: Transaction,
  tree: MutableTree,
  flushFrom?: { flush(root: string): number },
): string {
  const root = tree.write(tx);
  flushFrom?.flush(root.tree);
  return writeCommitObject(tx, { rootTree: root.tree, rootMeta: root.meta, timestamp: 0 });
}

export { MutableTree, Repo, Transaction };
