// apt-get -s as an oracle, and our resolve in the same shape: "+name[:arch] version" / "-name version".
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { byNameArch, run, sh, tsostreePkg } from "../../helpers.js";

/**
 * Writes REPO/dists/SUITE/Release with apt-ftparchive (plus the `-o` settings given), passed through
 * `edit` first.
 */
export function writeRelease(
  repo: string,
  settings: string[],
  edit = (text: string) => text,
  suite = "test",
): void {
  const dists = join(repo, "dists", suite);
  const opts = [`APT::FTPArchive::Release::Suite=${suite}`, ...settings].flatMap((o) => ["-o", o]);
  writeFileSync(
    join(dists, "Release"),
    edit(sh("apt-ftparchive", [...opts, "release", "."], { cwd: dists })),
  );
}

/** Signs REPO/dists/SUITE/Release into InRelease with the key of the GnuPG environment `env`. */
export function clearsignRelease(repo: string, env: NodeJS.ProcessEnv, suite = "test"): void {
  const dists = join(repo, "dists", suite);
  sh(
    "gpg",
    ["--batch", "--yes", "--clearsign", "--output", join(dists, "InRelease"), join(dists, "Release")],
    { env },
  );
}

/** apt prints the arch only for foreign packages. */
function label(e: { name: string; arch: string }): string {
  return e.arch === "amd64" || e.arch === "all" || e.arch === "" ? e.name : `${e.name}:${e.arch}`;
}

/** One line of `apt-get -s`: `Inst NAME [OLD] (NEW RELEASE [ARCH])` or `Remv NAME[:ARCH] [OLD]`. */
export interface AptSimEntry {
  name: string;
  /** The version installed (Inst) or removed (Remv). */
  version: string;
  /** Always set for Inst; for Remv apt names only a foreign arch, so "" is native or all. */
  arch: string;
}

export interface AptSimResult {
  /** apt-get's exit status: of `update` when that failed (`updated` false), else of `-s install`. */
  status: number;
  updated: boolean;
  install: AptSimEntry[];
  remove: AptSimEntry[];
  /** apt-get's stdout and stderr, for assertion messages. */
  output: string;
}

export interface AptSimOptions {
  /** Scratch directory for apt's lists, caches and the empty trusted keyring. */
  dir: string;
  /** An apt sources file, one-line (.list) or deb822 (.sources); the only source apt reads. */
  sources: string;
  /** A dpkg status file: the installed set. */
  status: string;
  archs?: string[];
  preferences?: string;
}

/**
 * `apt-get update` then `apt-get -s install PKGS` in an apt of its own: only `sources`, only
 * `status`, no host keyring, lists, preferences or configuration, no lock, no network.
 */
export function aptGetSimulate(o: AptSimOptions, pkgs: string[]): AptSimResult {
  const opt = (kv: string) => ["-o", kv];
  mkdirSync(join(o.dir, "lists/partial"), { recursive: true });
  mkdirSync(join(o.dir, "apt-cache/archives/partial"), { recursive: true });
  mkdirSync(join(o.dir, "trusted.gpg.d"), { recursive: true });
  const args = [
    `Dir::State=${o.dir}`,
    `Dir::State::status=${o.status}`,
    `Dir::Etc::SourceList=${o.sources}`,
    "Dir::Etc::SourceParts=/dev/null",
    `Dir::State::Lists=${join(o.dir, "lists")}`,
    `Dir::Cache=${join(o.dir, "apt-cache")}`,
    // Keys come from the source's Signed-By only; the host's keyring must not vouch for anything.
    `Dir::Etc::Trusted=${join(o.dir, "trusted.gpg")}`,
    `Dir::Etc::TrustedParts=${join(o.dir, "trusted.gpg.d")}`,
    "Dir::Etc::Parts=/dev/null",
    `Dir::Etc::Preferences=${o.preferences ?? "/dev/null"}`,
    "Dir::Etc::PreferencesParts=/dev/null",
    "APT::Architecture=amd64",
    ...(o.archs ?? ["amd64"]).map((a) => `APT::Architectures::=${a}`),
    // As root, apt hands file:// reads to the _apt user, who cannot enter a 0700 scratch directory.
    "APT::Sandbox::User=root",
    "Debug::NoLocking=1",
  ].flatMap(opt);
  const upd = run("apt-get", [...args, "update"]);
  if (upd.status !== 0 || /^E: /m.test(upd.stderr)) {
    const output = upd.stdout + upd.stderr;
    return { status: upd.status || 100, updated: false, install: [], remove: [], output };
  }
  const r = run("apt-get", [...args, "-s", "install", ...pkgs]);
  return { status: r.status, updated: true, ...parseAptSim(r.stdout), output: r.stdout + r.stderr };
}

/** The Inst and Remv lines of `apt-get -s` output, each list sorted by name then arch. */
export function parseAptSim(stdout: string): { install: AptSimEntry[]; remove: AptSimEntry[] } {
  const install: AptSimEntry[] = [];
  const remove: AptSimEntry[] = [];
  for (const line of stdout.split("\n")) {
    const inst = /^Inst (\S+?)(?::(\S+))? (?:\[[^\]]*\] )?\((\S+) .*\[([^\]]+)\]\)/.exec(line);
    if (inst) install.push({ name: inst[1], version: inst[3], arch: inst[4] });
    const remv = /^Remv (\S+?)(?::(\S+))? \[([^\]]*)\]/.exec(line);
    if (remv) remove.push({ name: remv[1], version: remv[3], arch: remv[2] ?? "" });
  }
  return { install: install.sort(byNameArch), remove: remove.sort(byNameArch) };
}

export function aptSim(
  dir: string,
  sources: string,
  status: string,
  pkgs: string[],
  archs: string[] = ["amd64"],
  preferences = "/dev/null",
): { status: number; set: string[] } {
  const r = aptGetSimulate({ dir, sources, status, archs, preferences }, pkgs);
  assert.ok(r.updated, r.output);
  const set = [
    ...r.install.map((e) => `+${label(e)} ${e.version}`),
    ...r.remove.map((e) => `-${label(e)} ${e.version}`),
  ].sort();
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
