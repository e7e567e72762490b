// apt-get -s as an oracle, and our resolve in the same shape: "+name[:arch] version" / "-name version".
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, sh, tsostreePkg } from "../../helpers.js";

/**
 * Writes REPO/dists/test/Release with apt-ftparchive (suite "test", plus the `-o` settings given),
 * passed through `edit` first.
 */
export function writeRelease(repo: string, settings: string[], edit = (text: string) => text): void {
  const dists = join(repo, "dists/test");
  const opts = ["APT::FTPArchive::Release::Suite=test", ...settings].flatMap((o) => ["-o", o]);
  writeFileSync(
    join(dists, "Release"),
    edit(sh("apt-ftparchive", [...opts, "release", "."], { cwd: dists })),
  );
}

/** Signs REPO/dists/test/Release into InRelease with the key of the GnuPG environment `env`. */
export function clearsignRelease(repo: string, env: NodeJS.ProcessEnv): void {
  const dists = join(repo, "dists/test");
  sh(
    "gpg",
    ["--batch", "--yes", "--clearsign", "--output", join(dists, "InRelease"), join(dists, "Release")],
    {
      env,
    },
  );
}

/** apt prints the arch only for foreign packages. */
function label(e: { name: string; arch: string }): string {
  return e.arch === "amd64" || e.arch === "all" ? e.name : `${e.name}:${e.arch}`;
}

export function aptSim(
  dir: string,
  sources: string,
  status: string,
  pkgs: string[],
  archs: string[] = ["amd64"],
  preferences = "/dev/null",
): { status: number; set: string[] } {
  const o = [
    "-o",
    `Dir::State::status=${status}`,
    "-o",
    `Dir::Etc::SourceList=${sources}`,
    "-o",
    "Dir::Etc::SourceParts=/dev/null",
    "-o",
    `Dir::State::Lists=${join(dir, "lists")}`,
    "-o",
    `Dir::Cache=${join(dir, "apt-cache")}`,
    "-o",
    "Dir::Etc::Parts=/dev/null",
    "-o",
    `Dir::Etc::Preferences=${preferences}`,
    "-o",
    "Dir::Etc::PreferencesParts=/dev/null",
    "-o",
    "APT::Architecture=amd64",
    ...archs.flatMap((a) => ["-o", `APT::Architectures::=${a}`]),
    "-o",
    "Debug::NoLocking=1",
  ];
  mkdirSync(join(dir, "lists/partial"), { recursive: true });
  mkdirSync(join(dir, "apt-cache/archives/partial"), { recursive: true });
  const upd = run("apt-get", [...o, "update"]);
  assert.equal(upd.status, 0, upd.stderr);
  const r = run("apt-get", [...o, "-s", "install", ...pkgs]);
  const set = r.stdout
    .split("\n")
    .filter((l) => /^(Inst|Remv) /.test(l))
    .map((l) => {
      const m = /^(Inst|Remv) (\S+) ?(?:\[([^\]]*)\])? ?(?:\((\S+))?/.exec(l)!;
      return m[1] === "Inst" ? `+${m[2]} ${m[4]}` : `-${m[2]} ${m[3]}`;
    })
    .sort();
  return { status: r.status, set };
}

export function ours(args: string[]): { status: number; set: string[]; stderr: string } {
  const r = tsostreePkg(["resolve", "--json", ...args]);
  if (r.status !== 0) return { status: r.status, set: [], stderr: r.stderr };
  const j = JSON.parse(r.stdout) as Record<string, { name: string; version: string; arch: string }[]>;
  const set = [
    ...[...j.install, ...j.upgrade].map((e) => `+${label(e)} ${e.version}`),
    ...j.remove.map((e) => `-${label(e)} ${e.version}`),
  ].sort();
  return { status: 0, set, stderr: r.stderr };
}
