// Shared by the layering fault tests: a small RPM sysroot (the rpm world's base, composed and
// deployed, a createrepo_c repository configured in its /etc) with packages made to fail, and the
// checks every failed transaction must pass: one line on stderr, nothing deployed, both fscks clean,
// nothing new for prune.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpioNewc, craftRpm } from "../backends/rpm/craft.js";
import { ostree, type RunResult, run, tsostree, tsostreePkg } from "../helpers.js";
import { deployedBase } from "./base-sysroot.js";
import { installRpmRepo, makeRpmBase, makeRpmRepo, type RpmRepo, rpmbuild, rpmWorld } from "./rpm-fixture.js";

export const OS = "tso";
const REF = "tso/base";

export interface FaultCtx {
  sysroot: string;
  /** The deployment directories' parent. */
  deployDir: string;
}

export function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function pkg(c: FaultCtx, args: string[], env?: NodeJS.ProcessEnv): RunResult {
  return tsostreePkg([...args, `--sysroot=${c.sysroot}`], env ? { env: { ...process.env, ...env } } : {});
}

export function faultCtx(sysroot: string, os = OS): FaultCtx {
  return { sysroot, deployDir: join(sysroot, "ostree/deploy", os, "deploy") };
}

/** What a failed transaction must leave as it was. */
export interface SysrootState {
  /** `tsostree-pkg status --json`: the deployments, their order (the default first) and marks. */
  status: unknown;
  /** The deployment directories (CSUM.SERIAL) and origin files. */
  dirs: string[];
}

export function sysrootState(c: FaultCtx): SysrootState {
  return {
    status: JSON.parse(ok(pkg(c, ["status", "--json"]), "status --json")),
    dirs: readdirSync(c.deployDir).sort(),
  };
}

/** How many objects `ostree prune --refs-only --no-prune` would delete (unreachable from every ref). */
export function unreachableObjects(c: FaultCtx): number {
  const out = ok(
    ostree(["prune", `--repo=${join(c.sysroot, "ostree/repo")}`, "--refs-only", "--no-prune"]),
    "ostree prune",
  );
  if (/No unreachable objects/.test(out)) return 0;
  const n = /Would delete: (\d+) objects/.exec(out)?.[1];
  assert.ok(n, `unexpected ostree prune output: ${out}`);
  return Number(n);
}

/** The real ostree's fsck and ours pass on the sysroot's repo. */
export function assertFsck(c: FaultCtx): void {
  const repo = `--repo=${join(c.sysroot, "ostree/repo")}`;
  ok(ostree(["fsck", repo]), "ostree fsck");
  ok(tsostree(["fsck", repo]), "tsostree fsck");
}

export interface Before {
  state: SysrootState;
  unreachable: number;
}

export function before(c: FaultCtx): Before {
  return { state: sysrootState(c), unreachable: unreachableObjects(c) };
}

/**
 * `r` failed with one line on stderr matching every pattern (what went wrong, what to do), and the
 * sysroot is as `b` saw it: same deployments and default, same directories, fsck clean, nothing
 * more for prune.
 */
export function assertFailedCleanly(c: FaultCtx, r: RunResult, b: Before, ...patterns: RegExp[]): string {
  assert.notEqual(r.status, 0, `expected a failure, got exit 0:\n${r.stdout}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  for (const p of patterns) assert.match(lines[0]!, p);
  assert.deepEqual(sysrootState(c), b.state);
  assertFsck(c);
  const now = unreachableObjects(c);
  assert.ok(now <= b.unreachable, `prune finds ${now} unreachable objects, ${b.unreachable} before`);
  return lines[0]!;
}

export interface FaultRpms {
  /** tso-orphan 1.0: requires tso-missing, which no repository has. */
  orphan: string;
  /** tso-chain 1.0: requires tso-orphan (a two-step chain of why). */
  chain: string;
  /** tso-extra 1.0: one file, no scripts. */
  extra: string;
  /**
   * tso-slow 1.0: its %post counts to 2 million (about 2 s; the base has no sleep), which holds the
   * transaction open for the lock test.
   */
  slow: string;
  /** crafted 1.0: header lists /a, payload writes ./../../etc/passwd. */
  hostile: string;
}

let rpms: FaultRpms | undefined;

/** The fault tests' own rpms, built once per test process under `dir`. */
export function faultRpms(dir: string): FaultRpms {
  if (rpms) return rpms;
  const pkgSpec = (name: string, preamble: string, files: string, scripts = "") =>
    `%package -n ${name}\nSummary: ${name}\nAutoReqProv: no\n${preamble}\n%description -n ${name}\n${name}.\n${scripts}\n%files -n ${name}\n${files}\n`;
  const spec = [
    "Name: tso-faults\nVersion: 1.0\nRelease: 1\nSummary: tsostree fault tests\nLicense: MIT\nBuildArch: noarch",
    "%description\ntsostree fault tests.",
    pkgSpec("tso-orphan", "Requires: tso-missing", "/usr/share/tso-orphan"),
    pkgSpec("tso-chain", "Requires: tso-orphan", "/usr/share/tso-chain"),
    pkgSpec("tso-extra", "", "/usr/share/tso-extra"),
    pkgSpec(
      "tso-slow",
      "",
      "/usr/share/tso-slow",
      `%post -n tso-slow\ni=0; while [ "$i" -lt 2000000 ]; do i=$((i+1)); done`,
    ),
    "%install",
    ...["orphan", "chain", "extra", "slow"].map(
      (n) => `mkdir -p %{buildroot}/usr/share/tso-${n}\necho ${n} > %{buildroot}/usr/share/tso-${n}/README`,
    ),
    "",
  ].join("\n");
  mkdirSync(dir, { recursive: true });
  const built = rpmbuild(dir, "tso-faults", spec);
  const find = (n: string) => built.find((p) => p.includes(`/${n}-1.0-1.`))!;
  const hostile = join(dir, "crafted-1.0-1.noarch.rpm");
  writeFileSync(
    hostile,
    craftRpm(
      [{ path: "/a", mode: 0o100644, size: 1 }],
      cpioNewc([{ name: "./../../etc/passwd", mode: 0o100644, content: "x" }]),
    ),
  );
  rpms = {
    orphan: find("tso-orphan"),
    chain: find("tso-chain"),
    extra: find("tso-extra"),
    slow: find("tso-slow"),
    hostile,
  };
  return rpms;
}

export interface RpmSysroot extends FaultCtx {
  repo: RpmRepo;
}

/**
 * Under DIR: the rpm world's base composed and deployed as `tso/base` in DIR/sysroot, and a
 * repository (DIR/tsostree-test) of the world's layered packages, tso-libfoo (also in the base) and
 * the fault rpms, configured in the deployment's /etc.
 */
export function rpmSysroot(dir: string): RpmSysroot {
  const w = rpmWorld();
  const f = faultRpms(join(dir, "build"));
  const tree = makeRpmBase(join(dir, "tree"));
  const { sysroot } = deployedBase(dir, tree, OS, REF);
  const libfoo = w.base.find((p) => p.includes("/tso-libfoo-"))!;
  const repo = makeRpmRepo(dir, [
    w.hello,
    w.greeting,
    w.bad,
    libfoo,
    f.orphan,
    f.chain,
    f.extra,
    f.slow,
    f.hostile,
  ]);
  const c = { ...faultCtx(sysroot), repo };
  const [d] = readdirSync(c.deployDir).filter((n) => !n.endsWith(".origin"));
  installRpmRepo(join(c.deployDir, d!, "etc"), repo);
  return c;
}

/** A copy of a sysroot (hardlinks between checkouts and the repo kept) at DEST. */
export function copySysroot<T extends FaultCtx>(c: T, dest: string): T {
  mkdirSync(dest, { recursive: true });
  const r = run("cp", ["-a", `${c.sysroot}/.`, dest]);
  assert.equal(r.status, 0, r.stderr);
  return { ...c, ...faultCtx(dest) };
}
