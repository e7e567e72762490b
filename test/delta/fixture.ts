// Two commits made by the real ostree in an archive "server" repo: v1, and v2 where one large
// text file changed (a bsdiff candidate), one file was added and a symlink retargeted. A few hundred
// files, so each test runs in seconds.
import { mkdirSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ostree, sh } from "../helpers.js";

export interface DeltaFixture {
  server: string;
  v1: string;
  v2: string;
}

function ok(args: string[]): string {
  const r = ostree(args);
  if (r.status !== 0) throw new Error(`ostree ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

function bigText(version: number): string {
  const lines: string[] = [];
  for (let i = 0; i < 4000; i++)
    lines.push(`line ${i} of the library ${i % 7 === 0 ? version : "x"} ${"abc".repeat(i % 5)}`);
  return `${lines.join("\n")}\n`;
}

export function buildDeltaFixture(dir: string): DeltaFixture {
  const server = join(dir, "server");
  const tree = join(dir, "tree");
  ok(["init", `--repo=${server}`, "--mode=archive"]);
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(tree, "usr", `d${d}`), { recursive: true });
    for (let f = 0; f < 20; f++)
      writeFileSync(join(tree, "usr", `d${d}`, `f${f}.txt`), `dir ${d} file ${f}\n`);
  }
  mkdirSync(join(tree, "usr/lib"), { recursive: true });
  writeFileSync(join(tree, "usr/lib/libbig.so.1"), bigText(1));
  writeFileSync(join(tree, "usr/empty"), "");
  writeFileSync(join(tree, "usr/xattr"), "with an xattr\n");
  sh("setfattr", ["-n", "user.tsostree", "-v", "delta", join(tree, "usr/xattr")]);
  symlinkSync("d0/f0.txt", join(tree, "usr/link"));
  const v1 = ok(["commit", `--repo=${server}`, "-b", "main", "-s", "v1", tree]).trim();
  writeFileSync(join(tree, "usr/lib/libbig.so.1"), bigText(2));
  writeFileSync(join(tree, "usr/d3/new.txt"), "a new file\n");
  unlinkSync(join(tree, "usr/link"));
  symlinkSync("d1/f1.txt", join(tree, "usr/link"));
  const v2 = ok(["commit", `--repo=${server}`, "-b", "main", "-s", "v2", tree]).trim();
  return { server, v1, v2 };
}

/** A fresh repo of `mode` holding `commit` (none for ""), pulled from the server by ostree. */
export function clientRepo(
  dir: string,
  name: string,
  mode: string,
  fx: DeltaFixture,
  commit: string,
): string {
  const repo = join(dir, name);
  ok(["init", `--repo=${repo}`, `--mode=${mode}`]);
  if (commit) ok(["pull-local", `--repo=${repo}`, fx.server, commit]);
  return repo;
}

/** `ostree fsck` succeeds and `ostree ls -R` of `commit` is the server's. */
export function sameAsServer(
  repo: string,
  fx: DeltaFixture,
  commit: string,
): { fsck: number; same: boolean } {
  const fsck = ostree(["fsck", `--repo=${repo}`]).status;
  const ls = (r: string) => ostree(["ls", "-R", "-X", "-C", `--repo=${r}`, commit]).stdout;
  const mine = ls(repo);
  return { fsck, same: mine.length > 0 && mine === ls(fx.server) };
}

/** Every file under objects/, refs/ and state/ with its size: "unchanged" means this is equal. */
export function repoSnapshot(repo: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of readdirSync(join(repo, rel), { withFileTypes: true })) {
      const p = join(rel, e.name);
      if (e.isDirectory()) visit(p);
      else out.push(`${p} ${statSync(join(repo, p)).size}`);
    }
  };
  for (const d of ["objects", "refs", "state"]) visit(d);
  return out.sort();
}
