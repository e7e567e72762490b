// Small trees for the script tests: a few of the host's own programs (with the libraries ldd names)
// in a merged-/usr layout, enough for sh scripts to run in the sandbox.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { ScriptPackage } from "../../src/compose/scripts.js";
import { writeCommitObject } from "../../src/repo/commit.js";
import type { MemoryTreeSink } from "../../src/repo/memory-sink.js";
import { MutableTree } from "../../src/repo/mtree.js";
import { Repo } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { projectRoot } from "../helpers.js";

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

/** Writes `tree` (through `memory` after scripts ran) and a commit of it; returns the commit. */
export function commitTree(tx: Transaction, tree: MutableTree, memory?: MemoryTreeSink | null): string {
  const root = memory ? memory.writeTree(tree) : tree.write(tx);
  return writeCommitObject(tx, { rootTree: root.tree, rootMeta: root.meta, timestamp: 0 });
}

/**
 * A .deb as layering sees it: its payload committed (etc/ moved to usr/etc, as import + union
 * do) and its scripts, triggers and paths as a ScriptPackage.
 */
export function debPackage(deb: string, work: string, repo: string): { pkg: ScriptPackage; commit: string } {
  const dir = join(work, "payload");
  const ctl = join(work, "control");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  execFileSync("dpkg-deb", ["-x", deb, dir]);
  execFileSync("dpkg-deb", ["-e", deb, ctl]);
  const field = (f: string) => execFileSync("dpkg-deb", ["-f", deb, f], { encoding: "utf8" }).trim();
  const newPaths = execFileSync("find", [".", "!", "-type", "d"], { cwd: dir, encoding: "utf8" })
    .split("\n")
    .filter(Boolean)
    .map((p) => p.slice(1))
    .sort();
  // merged /usr: the base has bin, sbin, lib as symlinks into usr/
  for (const l of ["bin", "sbin", "lib", "lib64"])
    if (existsSync(join(dir, l))) {
      mkdirSync(join(dir, "usr", l), { recursive: true });
      execFileSync("cp", ["-a", `${join(dir, l)}/.`, join(dir, "usr", l)]);
      rmSync(join(dir, l), { recursive: true });
    }
  if (existsSync(join(dir, "etc"))) {
    mkdirSync(join(dir, "usr"), { recursive: true });
    renameSync(join(dir, "etc"), join(dir, "usr/etc"));
  }
  const scripts = ["preinst", "postinst", "prerm", "postrm"]
    .filter((ph) => existsSync(join(ctl, ph)))
    .map((phase) => ({ phase, interpreter: "", body: readFileSync(join(ctl, phase), "utf8") }));
  const triggers = existsSync(join(ctl, "triggers"))
    ? readFileSync(join(ctl, "triggers"), "utf8")
        .split("\n")
        .map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
        .filter((w) => w.length === 2)
        .map(([kind, condition]) => ({ kind: kind!, condition: condition!, interpreter: "", body: "" }))
    : [];
  const name = field("Package");
  const commit = ostreeCommitDir(repo, dir, `pkg/${name}`);
  return {
    pkg: {
      kind: "deb",
      name,
      arch: field("Architecture"),
      version: field("Version"),
      scripts,
      triggers,
      newPaths,
    },
    commit,
  };
}

/** Builds a .deb with dpkg-deb from files (path → content) and maintainer scripts. */
export function buildDeb(
  out: string,
  work: string,
  name: string,
  files: Record<string, string>,
  scripts: Record<string, string>,
): string {
  const root = join(work, `${name}-build`);
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  writeFileSync(
    join(root, "DEBIAN/control"),
    `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n`,
  );
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), c, { mode: 0o755 });
  }
  for (const [ph, body] of Object.entries(scripts))
    writeFileSync(join(root, "DEBIAN", ph), body, { mode: 0o755 });
  execFileSync("dpkg-deb", ["--root-owner-group", "-b", root, out], { stdio: "ignore" });
  return out;
}

/**
 * fixtures/out/minbase as an ostree-ready base (etc → usr/etc, var/lib/dpkg →
 * usr/share/dpkg/database, no device nodes), committed to `repo`; the tree is a hardlink copy.
 */
export function minbaseCommit(work: string, repo: string): string {
  const tree = join(work, "minbase");
  execFileSync("cp", ["-al", MINBASE, tree]);
  rmSync(join(tree, "dev"), { recursive: true, force: true });
  mkdirSync(join(tree, "dev"));
  renameSync(join(tree, "etc"), join(tree, "usr/etc"));
  mkdirSync(join(tree, "usr/share/dpkg"), { recursive: true });
  renameSync(join(tree, "var/lib/dpkg"), join(tree, "usr/share/dpkg/database"));
  return ostreeCommitDir(repo, tree);
}

export const MINBASE = join(projectRoot, "fixtures/out/minbase");
export const DEBS = join(projectRoot, "fixtures/out/debs");

export { MutableTree, Repo, Transaction };
