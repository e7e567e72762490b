// Running commands (maintainer scripts) against a tree that is not committed yet, and capturing what
// they change. The tree is the read-only lower layer of an overlayfs: the base's cached hardlink
// checkout below a checkout of only what differs from it (lower.ts), or the whole tree checked out by
// hardlinks into REPO/tmp where that cannot be expressed; every write lands in the upper dir, so no hardlinked object is ever
// written (DESIGN.md #4), and the upper dir is exactly the change set (upper.ts applies it).
// bubblewrap 0.8 cannot mount an overlay itself, so a driver shell script runs in its own mount
// namespace (`unshare -m`; unprivileged `unshare -Urm` with overlay's `userxattr`), mounts the
// overlay once and starts one bwrap with the overlay as /, `usr/etc` as /etc and a scratch /var
// whose package databases point back into /usr; inside it, the tree's own /bin/sh runs the steps
// one after the other (each with its own environment, stdin and log), stopping at the first
// failure. One sandbox for all the steps: setting one up (its network namespace above all) costs
// 7–14 ms.
import { spawn, spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { checkoutTree } from "../repo/checkout.js";
import { MemoryTreeSink } from "../repo/memory-sink.js";
import type { MutableTree } from "../repo/mtree.js";
import { RepoError } from "../repo/repo.js";
import type { StagingScope, Transaction } from "../repo/transaction.js";
import { layeredLowers } from "./lower.js";
import { applyUpper, type UpperStats } from "./upper.js";

export class SandboxError extends RepoError {
  override name = "SandboxError";
}

/** One command run inside the sandbox. */
export interface SandboxStep {
  /** What the step is, for messages: "cron postinst". */
  label: string;
  /** Command and arguments, as seen inside the sandbox. */
  argv: string[];
  env: Record<string, string>;
  stdin?: string;
}

/** A file placed read-only at /run/tsostree/NAME inside the sandbox (scripts to execute). */
export interface SandboxFile {
  name: string;
  data: string | Buffer;
  mode?: number;
}

export interface StepResult {
  label: string;
  /** Exit status (128 + signal for a signal); -1 when it never ran because the sandbox failed. */
  status: number;
  /** Everything it wrote to stdout and stderr, interleaved. */
  output: string;
}

export interface SandboxResult {
  /** The steps that ran, in order; the last one failed when `failed` is set. */
  results: StepResult[];
  failed: StepResult | null;
  /** What was applied to the tree (null when a step failed: then nothing was). */
  changes: UpperStats | null;
  /**
   * Holds the dirtrees of the tree as it was checked out, some of which the tree still references:
   * write the final tree with `memory.writeTree(tree)` (not `tree.write(tx)`), which stages the
   * dirtrees it references.
   */
  memory: MemoryTreeSink;
}

/** Where scripts and files given to the sandbox appear inside it. */
export const SANDBOX_FILES = "/run/tsostree";
/** Where the steps' stdin, output and exit status are, inside the sandbox. */
const SANDBOX_LOG = "/run/tsostree-log";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Kept as rpm-ostree keeps them for scripts run as root: file ownership and modes, users, no admin. */
const CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_SETFCAP",
  "CAP_SYS_CHROOT",
  "CAP_AUDIT_WRITE",
];

/** Mount points inside the sandbox root: their copy in the upper dir is bwrap's, not a script's. */
const MOUNT_POINTS = ["dev", "proc", "tmp", "run", "var", "etc"];

/** dpkg's services policy for chroots: start nothing (exit 101 = action forbidden). */
const POLICY_RC_D = "usr/sbin/policy-rc.d";

/** Lines of output kept for a step. */
const OUTPUT_MAX = 256 * 1024;

/**
 * Runs `steps` in order against `tree` (as it is now, with everything staged in `writer`'s
 * transaction) and applies what they changed to `tree` through `writer`. A step that exits non-zero
 * stops the run; the tree is then unchanged. Scratch directories are removed whatever happens.
 */
export async function runSandboxed(
  writer: Transaction | StagingScope,
  tree: MutableTree,
  steps: SandboxStep[],
  files: SandboxFile[] = [],
  /** The commit `tree` was made from: its cached checkout then serves as the bottom layer. */
  base?: string,
  /**
   * Looks at the upper dir instead of applying it to `tree` (live-apply's trigger runs, which judge
   * and copy what the steps made); called only when every step succeeded, before the scratch goes
   * (which waits for it).
   */
  inspect?: (upper: string, o: { lower: string[]; skip: ReadonlySet<string> }) => void | Promise<void>,
): Promise<SandboxResult> {
  const tx = "tx" in writer ? writer.tx : writer;
  const repo = tx.repo;
  if (repo.mode !== "bare" && repo.mode !== "bare-user")
    throw new SandboxError(`scripts need a bare or bare-user repository, not ${repo.mode}`);
  const unprivileged = repo.mode === "bare-user";
  if (!unprivileged && process.geteuid?.() !== 0)
    throw new SandboxError(
      "scripts in a bare repository must run as root; run as root or use a bare-user repository",
    );
  const memory = new MemoryTreeSink(writer);
  mkdirSync(repo.tmpDir(), { recursive: true });
  const scratch = mkdtempSync(join(repo.tmpDir(), "scripts-"));
  try {
    let lowers = base
      ? await layeredLowers(repo, memory, tree, base, join(scratch, "lower"), unprivileged)
      : null;
    if (!lowers) {
      const root = tree.write(memory);
      await checkoutTree(repo, memory, root, join(scratch, "lower"), { userMode: unprivileged });
      lowers = [join(scratch, "lower")];
    }
    // Overlay's option string cannot hold a comma or colon of an absolute path: relative names.
    lowers.forEach((l, i) => {
      if (i > 0) symlinkSync(l, join(scratch, `lower${i}`));
    });
    const inLower = (rel: string) => lowers.some((l) => existsSync(join(l, rel)));
    for (const d of ["upper", "work", "mnt", "log", "files"]) mkdirSync(join(scratch, d), { mode: 0o700 });
    makeScratchVar(join(scratch, "var"));
    for (const f of files) writeFileSync(join(scratch, "files", f.name), f.data, { mode: f.mode ?? 0o755 });
    const skip = new Set(MOUNT_POINTS);
    const policy = !inLower(POLICY_RC_D) && inLower("usr/sbin");
    if (policy) {
      writeFileSync(join(scratch, "policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
      skip.add(POLICY_RC_D);
    }
    if (!inLower("bin/sh") && !inLower("usr/bin/sh"))
      throw new SandboxError(
        "the tree has no /bin/sh to run its packages' scripts with; install a shell in the base",
      );
    const hasEtc = inLower("usr/etc");
    const lowerdir = lowers.map((_, i) => (i ? `lower${i}` : "lower")).join(":");
    const driver = driverScript({ scratch, unprivileged, policy, hasEtc, lowerdir });
    for (const [i, s] of steps.entries()) writeFileSync(join(scratch, "log", `in.${i}`), s.stdin ?? "");
    writeFileSync(join(scratch, "steps.sh"), stepsScript(steps));
    writeFileSync(join(scratch, "driver.sh"), driver);
    const runner = unprivileged ? ["-Urm"] : ["-m", "--propagation", "private"];
    const { status, stderr } = await spawnCollect(
      "unshare",
      [...runner, "sh", join(scratch, "driver.sh")],
      scratch,
    );
    if (status !== 0)
      throw new SandboxError(`the script sandbox could not start (exit ${status}): ${lastLines(stderr, 5)}`);
    const results = collect(scratch, steps);
    const failed = results.find((r) => r.status !== 0) ?? null;
    if (!failed && results.length < steps.length) {
      const why = lastLines(readFileSync(join(scratch, "log", "sandbox"), "utf8"), 5) || "no output";
      throw new SandboxError(`the script sandbox stopped before ${steps[results.length]!.label}: ${why}`);
    }
    if (failed) return { results, failed, changes: null, memory };
    if (inspect) {
      await inspect(join(scratch, "upper"), { lower: lowers, skip });
      return { results, failed: null, changes: null, memory };
    }
    const uid = process.geteuid?.() ?? 0;
    const gid = process.getegid?.() ?? 0;
    const changes = await applyUpper(join(scratch, "upper"), tree, writer, {
      lower: lowers,
      skip,
      unprivileged: unprivileged ? { uid, gid } : undefined,
    });
    return { results, failed: null, changes, memory };
  } finally {
    removeScratch(scratch);
  }
}

/** /var inside the sandbox: scratch, except the package databases, which live in /usr. */
function makeScratchVar(v: string): void {
  for (const d of ["lib", "cache", "log", "tmp", "spool", "backups", "mail", "local", "opt"])
    mkdirSync(join(v, d), { recursive: true, mode: 0o755 });
  symlinkSync("../../usr/share/dpkg/database", join(v, "lib/dpkg"));
  symlinkSync("../../usr/lib/sysimage/rpm", join(v, "lib/rpm"));
  symlinkSync("../run", join(v, "run"));
  symlinkSync("../run/lock", join(v, "lock"));
  chownSync(v, process.geteuid?.() ?? 0, process.getegid?.() ?? 0);
}

/** Single-quotes a word for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function driverScript(o: {
  scratch: string;
  unprivileged: boolean;
  policy: boolean;
  hasEtc: boolean;
  lowerdir: string;
}): string {
  // Relative paths: overlay's option string cannot hold a comma or colon of an absolute path.
  // metacopy=off: a chmod must copy the data up too, or the upper file would have none. Renaming
  // a lower directory then fails with EXDEV (redirect_dir off; userxattr implies "nofollow"),
  // and mv copies instead, which the upper dir records as an opaque new directory.
  const opts = `lowerdir=${o.lowerdir},upperdir=upper,workdir=work,metacopy=off${o.unprivileged ? ",userxattr" : ",redirect_dir=off,index=off"}`;
  const at = (name: string) => shq(join(o.scratch, name));
  const bw = [
    "bwrap",
    `--bind ${at("mnt")} /`,
    o.hasEtc ? `--bind ${at("mnt/usr/etc")} /etc` : "",
    `--dev /dev --proc /proc --tmpfs /tmp --tmpfs /run --bind ${at("var")} /var`,
    `--ro-bind ${at("files")} ${SANDBOX_FILES}`,
    `--bind ${at("log")} ${SANDBOX_LOG} --ro-bind ${at("steps.sh")} ${SANDBOX_LOG}.sh`,
    o.policy ? `--ro-bind ${at("policy-rc.d")} /${POLICY_RC_D}` : "",
    "--unshare-net --unshare-ipc --unshare-pid --unshare-uts --unshare-cgroup-try --die-with-parent",
    "--cap-drop ALL",
    ...CAPS.map((c) => `--cap-add ${c}`),
    "--clearenv",
    `--setenv PATH ${PATH}`,
    "--chdir /",
    `-- /bin/sh ${SANDBOX_LOG}.sh`,
  ]
    .filter(Boolean)
    .join(" ");
  return `set -u
cd ${shq(o.scratch)} || exit 90
mount -t overlay overlay -o ${opts} mnt || exit 91
${bw} </dev/null >log/sandbox 2>&1 || exit 0
`;
}

/**
 * The steps as the sandbox's /bin/sh runs them: each in a subshell with only PATH and its own
 * environment exported, its stdin and output in the log directory; the first that fails ends the
 * run (the missing exit statuses after it say which steps never ran).
 */
function stepsScript(steps: SandboxStep[]): string {
  const lines = ["cd /"];
  steps.forEach((s, i) => {
    for (const k of Object.keys(s.env))
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        throw new SandboxError(`${s.label}: ${JSON.stringify(k)} is not an environment variable name`);
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${shq(v)}`);
    const log = `${SANDBOX_LOG}/`;
    lines.push(
      `(${env.length ? `export ${env.join(" ")}; ` : ""}exec ${s.argv.map(shq).join(" ")}) <${log}in.${i} >${log}out.${i} 2>&1`,
      `rc=$?; echo $rc >${log}rc.${i}; [ $rc = 0 ] || exit 0`,
    );
  });
  return `${lines.join("\n")}\n`;
}

function collect(scratch: string, steps: SandboxStep[]): StepResult[] {
  const out: StepResult[] = [];
  for (let i = 0; i < steps.length; i++) {
    const rc = join(scratch, "log", `rc.${i}`);
    if (!existsSync(rc)) break;
    const status = Number(readFileSync(rc, "utf8").trim());
    let output = readFileSync(join(scratch, "log", `out.${i}`), "utf8");
    if (output.length > OUTPUT_MAX) output = output.slice(-OUTPUT_MAX);
    out.push({ label: steps[i]!.label, status: Number.isNaN(status) ? -1 : status, output });
    if (status !== 0) break;
  }
  return out;
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

function spawnCollect(cmd: string, args: string[], cwd: string): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-16384);
    });
    p.on("error", (e) => reject(new SandboxError(`cannot run ${cmd}: ${e.message}; install util-linux`)));
    p.on("close", (code, signal) => resolve({ status: code ?? 128 + (signal ? 9 : 0), stderr }));
  });
}

/** The scratch dir; an overlay work dir keeps a 0000 "work" subdir that rm must be allowed into. */
function removeScratch(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    spawnSyncQuiet("chmod", ["-R", "u+rwx", dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnSyncQuiet(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { stdio: "ignore" });
}
