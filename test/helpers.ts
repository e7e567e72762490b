// Shared test plumbing: scratch directories, the project root, and oracle tools that must exist.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  type Stats,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";

/** The repository root (tests run from dist/test/...). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const tsostreeBin = join(projectRoot, "bin", "tsostree.js");
export const tsostreePkgBin = join(projectRoot, "bin", "tsostree-pkg.js");

/** A fresh scratch directory, removed after the test unless KEEP_TMP is set. */
export function scratch(t: TestContext | { after(fn: () => void): void }, prefix = "tsostree-test-"): string {
  const dir = mkdtempSync(join(process.env.TSOSTREE_TEST_TMP ?? tmpdir(), prefix));
  if (!process.env.KEEP_TMP) t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const toolPackages: Record<string, string> = {
  ostree: "ostree",
  "dpkg-deb": "dpkg",
  "dpkg-scanpackages": "dpkg-dev",
  "apt-ftparchive": "apt-utils",
  "apt-get": "apt",
  rpmbuild: "rpm",
  rpm: "rpm",
  rpm2cpio: "rpm2cpio",
  cpio: "cpio",
  createrepo_c: "createrepo-c",
  dnf: "dnf",
  gpg: "gnupg",
  bwrap: "bubblewrap",
  nginx: "nginx",
  getfattr: "attr",
  setfattr: "attr",
  zstd: "zstd",
  xz: "xz-utils",
  bzip2: "bzip2",
  debootstrap: "debootstrap",
  script: "bsdutils",
};

/**
 * Returns true when every tool is on PATH. Otherwise the test is skipped with the apt package to
 * install — except in CI (CI=true), where a missing oracle is a failure, never a silent skip.
 */
export function haveTools(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  if (missing.length === 0) return true;
  const pkgs = [...new Set(missing.map((m) => toolPackages[m] ?? m))].join(" ");
  const msg = `missing ${missing.join(", ")}: run \`npm run setup:system\` or \`apt-get install ${pkgs}\``;
  if (process.env.CI) throw new Error(msg);
  t.skip(msg);
  return false;
}

/**
 * For what a test cannot make itself (root, a host's apt lists): skips outside CI, fails in CI
 * (CI set), where nothing may be skipped. `msg` says what is missing and the exact command that fixes it.
 */
export function skipOrFail(t: TestContext, msg: string): void {
  if (process.env.CI) throw new Error(msg);
  t.skip(msg);
}

/** Skips (fails in CI) unless running as root; `why` names what needs it. */
export function needRoot(t: TestContext, why: string): boolean {
  if (process.getuid?.() === 0) return true;
  skipOrFail(t, `${why} needs root: run the tests as root (\`sudo npm test\`)`);
  return false;
}

/** The fixtures that test/setup.mjs makes before every `npm test`, each with the script that makes it. */
const FIXTURES = {
  /** debootstrap --variant=minbase bookworm, plus a placeholder kernel in usr/lib/modules/KVER/. */
  minbase: { script: "fixtures/minbase.sh", root: true },
  /** Real Debian .deb files: strace, nano and their closures, logrotate, cron. */
  debs: { script: "fixtures/fetch-debian-packages.sh", root: false },
  /** The boot proof's bootable tree: kernel, dracut initramfs with ostree-prepare-root, systemd. */
  boottree: { script: "fixtures/boottree.sh", root: true },
} as const;

/** The kernel version of the placeholder kernel in the minbase fixture. */
export const MINBASE_KVER = "6.1.0-0-tsostree-placeholder";

/**
 * The path of a fixture under fixtures/out/ (`minbase`, `debs` or `boottree`). It is made by the README's own
 * `npm test` (test/setup.mjs), so when it is missing or older than its script (its NAME.sha256 stamp
 * differs from the script's sha256), this throws: the test fails with the command that makes it.
 */
export function fixture(name: keyof typeof FIXTURES): string {
  const f = FIXTURES[name];
  const out = join(projectRoot, "fixtures", "out", name);
  const stamp = `${out}.sha256`;
  const built = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (built === sha256OfFile(join(projectRoot, f.script))) return out;
  const sudo = f.root && process.getuid?.() !== 0 ? "sudo " : "";
  throw new Error(
    `fixtures/out/${name} is ${built ? "older than its script" : "missing"}: run \`${sudo}bash ${f.script}\``,
  );
}

/** This host's own apt source files (one-line and deb822), as apt itself reads them. */
export function hostAptSources(): string[] {
  const dir = "/etc/apt/sources.list.d";
  const parts = existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => n.endsWith(".list") || n.endsWith(".sources"))
        .sort()
        .map((n) => join(dir, n))
    : [];
  return ["/etc/apt/sources.list", ...parts].filter((p) => existsSync(p));
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and returns its status and output (never throws on a non-zero exit). */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    env: opts.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs this Node with `args` and returns its stdout; a non-zero exit fails the test with stderr. */
export function nodeOutput(args: string[]): string {
  const r = run(process.execPath, args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * A throwaway GnuPG home under `dir` with one ed25519 signing key for `uid` (valid a day); returns
 * the environment that makes gpg use it.
 */
export function gpgTestKey(dir: string, uid: string): NodeJS.ProcessEnv {
  const home = join(dir, "gnupg");
  mkdirSync(home, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  sh("gpg", ["--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "1d"], { env });
  return env;
}

/** Runs a command that must succeed; returns stdout. */
export function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): string {
  try {
    return execFileSync(cmd, args, {
      cwd: opts.cwd,
      input: opts.input,
      env: opts.env,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; status?: number };
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${err.status}): ${err.stderr ?? ""}${err.stdout ?? ""}`,
    );
  }
}

/** Runs the real ostree without CAP_SYS_ADMIN, so that it can never freeze this machine's root fs. */
export function ostree(args: string[], opts: { cwd?: string; input?: string } = {}): RunResult {
  return run("setpriv", ["--bounding-set=-sys_admin", "--", "ostree", ...args], opts);
}

export function tsostree(
  args: string[],
  opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): RunResult {
  return run(process.execPath, [tsostreeBin, ...args], opts);
}

export function tsostreePkg(
  args: string[],
  opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): RunResult {
  return run(process.execPath, [tsostreePkgBin, ...args], opts);
}

/** Every path under `root` ("/a", "/a/b", …) with its lstat, for comparing extracted trees. */
export function walk(root: string, rel = ""): Map<string, Stats> {
  const out = new Map<string, Stats>();
  for (const name of readdirSync(join(root, rel))) {
    const p = `${rel}/${name}`;
    const st = lstatSync(join(root, p));
    out.set(p, st);
    if (st.isDirectory()) for (const [k, v] of walk(root, p)) out.set(k, v);
  }
  return out;
}

/** Order of package lists from the oracles (apt-get -s, dnf): by name, then arch. */
export function byNameArch(a: { name: string; arch: string }, b: { name: string; arch: string }): number {
  return a.name === b.name ? a.arch.localeCompare(b.arch) : a.name < b.name ? -1 : 1;
}

/** sha256 (hex) of a stream of chunks, e.g. a payload entry's data. */
export async function sha256Chunks(chunks: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash("sha256");
  for await (const c of chunks) h.update(c);
  return h.digest("hex");
}

/** sha256 (hex) of a file's content. */
export function sha256OfFile(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
