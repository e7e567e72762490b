// Helpers for the commit tests: the shared format-corner tree (fixture.ts) plus what committing adds
// (several xattrs in non-sorted creation order, an xattr on a directory, foreign ownership, nested
// empty dirs), and running the same commit with both tools.
import { chmodSync, chownSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ostree, type RunResult, sh, tsostree } from "../helpers.js";
import { buildTree } from "./fixture.js";

export function buildCommitTree(dir: string): string {
  buildTree(dir);
  const p = (...parts: string[]) => join(dir, ...parts);
  mkdirSync(p("nested/empty/dirs"), { recursive: true });
  writeFileSync(p("multi-xattr"), "xattrs\n");
  // Created zeta first: listxattr order differs from the sorted order ostree hashes.
  sh("setfattr", ["-n", "user.zeta", "-v", "z", p("multi-xattr")]);
  sh("setfattr", ["-n", "user.alpha", "-v", "0sAAEC", p("multi-xattr")]);
  sh("setfattr", ["-n", "user.dir", "-v", "d", p("nested")]);
  writeFileSync(p("owned"), "owned by someone else\n");
  chownSync(p("owned"), 1234, 5678);
  mkdirSync(p("owned-dir"));
  chownSync(p("owned-dir"), 4321, 8765);
  chmodSync(p("owned-dir"), 0o750);
  writeFileSync(p("world-writable"), "ww");
  chmodSync(p("world-writable"), 0o666);
  chmodSync(dir, 0o755);
  return dir;
}

export const COMMIT_ARGS = [
  "-s",
  "subject line",
  "-m",
  "body\nsecond line",
  "--timestamp=@1700000000",
  "--add-metadata-string=version=42.1",
];

/** Runs a commit command with one tool; throws with its stderr on failure, returns the checksum. */
export function commitWith(tool: "ostree" | "tsostree", repo: string, args: string[]): string {
  const r: RunResult =
    tool === "ostree"
      ? ostree(["commit", `--repo=${repo}`, ...args])
      : tsostree(["commit", `--repo=${repo}`, ...args]);
  if (r.status !== 0) throw new Error(`${tool} commit ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

export function initWith(tool: "ostree" | "tsostree", repo: string, mode: string): void {
  const r =
    tool === "ostree"
      ? ostree(["init", `--repo=${repo}`, `--mode=${mode}`])
      : tsostree(["init", `--repo=${repo}`, `--mode=${mode}`]);
  if (r.status !== 0) throw new Error(`${tool} init failed: ${r.stderr}`);
}

/** Every object file name (XX/REST.ext) in a repo, sorted. */
export function objectNames(repo: string): string[] {
  const out: string[] = [];
  const objects = join(repo, "objects");
  for (const d of readdirSync(objects)) for (const f of readdirSync(join(objects, d))) out.push(`${d}/${f}`);
  return out.sort();
}

export function ostreeFsck(repo: string): RunResult {
  return ostree(["fsck", `--repo=${repo}`]);
}

/** `ostree ls -R -C -X` of a commit: every path with its mode, owner, size, checksums and xattrs. */
export function ostreeListing(repo: string, rev: string): string {
  const r = ostree(["ls", `--repo=${repo}`, "-R", "-C", "-X", rev]);
  if (r.status !== 0) throw new Error(`ostree ls failed: ${r.stderr}`);
  return r.stdout;
}
