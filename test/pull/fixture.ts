// Server-side repos for pull tests, written by the real ostree: a small tree (a couple of hundred
// files, symlinks, odd modes, one file big enough to stream in many chunks) in an archive repo.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ostree, tsostree } from "../helpers.js";

/** Fills `dir` with a deterministic tree; `variant` changes a few files. */
export function makeTree(dir: string, variant = 0): void {
  for (let d = 0; d < 8; d++) {
    const sub = join(dir, "usr", `d${d}`, "nested");
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 24; f++)
      writeFileSync(join(dir, "usr", `d${d}`, `f${f}`), `file ${d}/${f}\n`.repeat(f + 1));
    writeFileSync(join(sub, "deep"), `deep ${d} ${variant}\n`);
    symlinkSync(`../f${d}`, join(sub, "link"));
  }
  mkdirSync(join(dir, "usr", "bin"), { recursive: true });
  writeFileSync(join(dir, "usr", "bin", "tool"), "#!/bin/sh\necho hi\n");
  chmodSync(join(dir, "usr", "bin", "tool"), 0o4755);
  mkdirSync(join(dir, "empty"));
  // 3 MB of varied bytes: streamed through inflate and the store in many pieces.
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 10) + variant) & 0xff;
  writeFileSync(join(dir, "usr", "big.bin"), big);
  writeFileSync(join(dir, "version"), `v${variant}\n`);
}

export function ok(args: string[]): string {
  const r = ostree(args);
  assert.equal(r.status, 0, `ostree ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Runs tsostree, which must succeed; returns stdout. */
export function ts(args: string[]): string {
  const r = tsostree(args);
  assert.equal(r.status, 0, `tsostree ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** An archive repo at `repo` with `ref` committed from a fresh tree; returns the commit. */
export function serverRepo(base: string, repo: string, ref = "main", variant = 0, summary = true): string {
  const tree = join(base, `tree-${variant}`);
  makeTree(tree, variant);
  ok(["init", `--repo=${repo}`, "--mode=archive"]);
  const commit = ok([
    `--repo=${repo}`,
    "commit",
    `--branch=${ref}`,
    `--tree=dir=${tree}`,
    `--subject=v${variant}`,
  ]).trim();
  if (summary) ok([`--repo=${repo}`, "summary", "-u"]);
  return commit;
}

/** `ostree ls -R` of a rev with checksums: the whole tree, modes, ownership and content identities. */
export function lsR(repo: string, rev: string): string {
  return ok([`--repo=${repo}`, "ls", "-R", "-C", rev]);
}

export function fsckClean(repo: string): void {
  const r = ostree([`--repo=${repo}`, "fsck"]);
  assert.equal(r.status, 0, `ostree fsck ${repo}: ${r.stderr}${r.stdout}`);
}
