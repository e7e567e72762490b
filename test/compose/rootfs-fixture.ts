// Small root filesystems written from a spec, for the relocation and compose rootfs tests.
import assert from "node:assert/strict";
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  type RelocateOptions,
  type RelocateResult,
  relocateTree,
  writeRelocation,
} from "../../src/compose/relocate.js";
import { commitFromDirectory, writeCommitObject } from "../../src/repo/commit.js";
import { Repo } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { run } from "../helpers.js";

export type Entry =
  | string
  | { file: string; mode?: number; uid?: number; gid?: number }
  | { link: string }
  | { dir: true; mode?: number; uid?: number; gid?: number };

/** Writes `spec` under `dir` (parents made 0755); returns `dir`. */
export function writeTree(dir: string, spec: Record<string, Entry>): string {
  mkdirSync(dir, { recursive: true });
  for (const [path, e] of Object.entries(spec)) {
    const abs = join(dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof e === "string") writeFileSync(abs, e);
    else if ("link" in e) symlinkSync(e.link, abs);
    else {
      if ("file" in e) writeFileSync(abs, e.file);
      else mkdirSync(abs, { recursive: true });
      if (e.mode !== undefined) chmodSync(abs, e.mode);
      if (e.uid !== undefined && process.getuid?.() === 0) chownSync(abs, e.uid, e.gid ?? e.uid);
    }
  }
  return dir;
}

/** Commits `dir` (our commitFromDirectory), relocates, writes the tmpfiles files; returns the commit. */
export async function commitRelocated(
  repoPath: string,
  dir: string,
  opts: RelocateOptions,
): Promise<{ repo: Repo; commit: string; result: RelocateResult }> {
  const repo = Repo.open(repoPath);
  const tx = await Transaction.begin(repo);
  try {
    const tree = await commitFromDirectory(tx, dir);
    const result = relocateTree(tree, tx, opts);
    writeRelocation(tx, tree, result);
    const root = tree.write(tx);
    const commit = writeCommitObject(tx, { rootTree: root.tree, rootMeta: root.meta, timestamp: 0 });
    tx.setRef("test", commit);
    await tx.commit();
    return { repo, commit, result };
  } catch (e) {
    tx.abort();
    throw e;
  }
}

/** Every line of `wanted` is in `lines`; the failure names the missing ones and shows `lines`. */
export function assertHas(lines: string[], wanted: string[]): void {
  const missing = wanted.filter((w) => !lines.includes(w));
  assert.deepEqual(missing, [], `missing ${missing.join(", ")} in:\n${lines.join("\n")}`);
}

/** `ostree init --mode=MODE` with the real ostree. */
export function ostreeInit(repo: string, mode = "bare"): string {
  const r = run("ostree", ["init", `--repo=${repo}`, `--mode=${mode}`]);
  if (r.status !== 0) throw new Error(`ostree init: ${r.stderr}`);
  return repo;
}

/** The real ostree's `ls -R` of REV, as "TYPE PATH[ -> TARGET]" lines (modes and owners left out). */
export function ostreeLs(repo: string, rev: string, path = "/"): string[] {
  const r = run("ostree", [`--repo=${repo}`, "ls", "-R", rev, path]);
  if (r.status !== 0) throw new Error(`ostree ls ${rev} ${path}: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return `${f[0]![0]} ${f.slice(4).join(" ")}`;
    });
}

/** The real ostree's `cat`. */
export function ostreeCat(repo: string, rev: string, path: string): string {
  const r = run("ostree", [`--repo=${repo}`, "cat", rev, path]);
  if (r.status !== 0) throw new Error(`ostree cat ${rev} ${path}: ${r.stderr}`);
  return r.stdout;
}

/** `ostree checkout` (real ostree) of REV into DEST. */
export function ostreeCheckout(repo: string, rev: string, dest: string): string {
  const r = run("ostree", [`--repo=${repo}`, "checkout", rev, dest]);
  if (r.status !== 0) throw new Error(`ostree checkout ${rev}: ${r.stderr}`);
  return dest;
}

/**
 * Every entry under `root` by lstat (type, mode, owner, size, mtime, ctime, inode): any write, chmod,
 * chown, rename or new link shows up, without reading the content.
 */
export function statSnapshot(root: string, opts: { ctime?: boolean } = {}): string[] {
  const ctime = opts.ctime ?? true;
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path), { bigint: true });
      out.push(
        `${path} ${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.mtimeNs}${ctime ? ` ${st.ctimeNs}` : ""} ${st.ino}`,
      );
      if (st.isDirectory()) walk(path);
    }
  };
  walk("");
  return out;
}
