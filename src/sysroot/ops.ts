// The small `admin` operations, each a transformation of the deployment list or an origin file:
// init-fs, os-init, rollback, undeploy, pin, set-origin, kargs edit-in-place, upgrade/switch.
// Every writer takes the sysroot lock and reloads under it, so two of them never interleave.
import { chmodSync, existsSync, mkdirSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { deleteRef, parseRefspec, resolveRev } from "../repo/refs.js";
import { Repo } from "../repo/repo.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { KeyFile } from "../util/keyfile.js";
import { cleanupSysroot } from "./cleanup.js";
import { commitDeploymentList, deployTree, simpleDeploymentList } from "./deploy.js";
import { cloneDeployment, type Deployment } from "./deployment.js";
import { setFaultOp } from "./fault.js";
import { KernelArgs } from "./kargs.js";
import { REPO_DIR, stateroot, validateOsname } from "./layout.js";
import { isPinned, originFromRefspec, originRefspec, withoutTransientState, withPinned } from "./origin.js";
import { Sysroot, SysrootError } from "./sysroot.js";

/** Runs `fn` on a freshly loaded sysroot while holding SYSROOT/ostree/lock. */
export async function withLockedSysroot<T>(path: string, fn: (s: Sysroot) => T | Promise<T>): Promise<T> {
  const lock = await Sysroot.load(path).lock();
  try {
    return await fn(Sysroot.load(path));
  } finally {
    lock.release();
  }
}

/** `admin init-fs PATH`: the top-level directories and an empty bare system repo. */
export function initFs(path: string, opts: { modern?: boolean; repoMode?: "bare" | "bare-user" } = {}): void {
  mkdirSync(join(path, "boot"), { recursive: true, mode: 0o755 });
  if (!opts.modern) {
    for (const d of ["dev", "home", "proc", "run", "sys"])
      mkdirSync(join(path, d), { recursive: true, mode: 0o755 });
    mkdirSync(join(path, "root"), { recursive: true, mode: 0o700 });
    mkdirSync(join(path, "tmp"), { recursive: true });
    chmodSync(join(path, "tmp"), 0o1777);
  }
  mkdirSync(join(path, "ostree/deploy"), { recursive: true, mode: 0o755 });
  const mode = opts.repoMode ?? (process.getuid?.() === 0 ? "bare" : "bare-user");
  if (!existsSync(join(path, REPO_DIR, "config"))) Repo.init(join(path, REPO_DIR), mode);
}

/** `admin os-init NAME`: the stateroot and its shared /var skeleton (ostree_sysroot_init_osname). */
export function osInit(path: string, osname: string): void {
  validateOsname(osname);
  const dir = stateroot(path, osname);
  if (existsSync(dir)) throw new SysrootError(`Creating ${dir}: stateroot '${osname}' already exists`);
  mkdirSync(join(path, "ostree/deploy"), { recursive: true });
  mkdirSync(dir, { mode: 0o755 });
  mkdirSync(join(dir, "var"), { mode: 0o755 });
  mkdirSync(join(dir, "var/tmp"));
  chmodSync(join(dir, "var/tmp"), 0o1777);
  mkdirSync(join(dir, "var/lib"), { mode: 0o755 });
  mkdirSync(join(dir, "var/log"), { mode: 0o755 });
  symlinkSync("../run", join(dir, "var/run"));
  symlinkSync("../run/lock", join(dir, "var/lock"));
  const now = new Date();
  utimesSync(join(path, "ostree/deploy"), now, now);
}

/**
 * `admin rollback`: the previous deployment becomes the default. Booted: the first one after
 * the booted one, or — when an update is pending — the booted one itself (so a second rollback
 * undoes the first). Not booted: the second deployment of the stateroot. Nothing is deleted.
 */
export function rollbackList(s: Sysroot, osname: string): { list: Deployment[]; target: Deployment } {
  let target: Deployment | null = null;
  if (s.booted && s.booted.osname === osname) {
    const { pending, rollback } = s.queryDeploymentsFor(osname);
    target = rollback ?? (pending ? s.booted : null);
  } else target = s.deployments.filter((d) => d.osname === osname)[1] ?? null;
  if (!target || target === s.deployments[0])
    throw new SysrootError("No rollback deployment found; there is only one deployment of this stateroot");
  return { list: [target, ...s.deployments.filter((d) => d !== target)], target };
}

export async function rollback(path: string, osname?: string): Promise<Deployment> {
  setFaultOp("rollback");
  return withLockedSysroot(path, async (s) => {
    const { list, target } = rollbackList(s, s.resolveOsname(osname));
    await commitDeploymentList(s, list);
    return target;
  });
}

export async function undeploy(path: string, index: string): Promise<Deployment> {
  setFaultOp("undeploy");
  return withLockedSysroot(path, async (s) => {
    const target = s.deploymentAt(index);
    if (target === s.booted) throw new SysrootError(`Cannot undeploy currently booted deployment ${index}`);
    await commitDeploymentList(
      s,
      s.deployments.filter((d) => d !== target),
    );
    return target;
  });
}

function writeOrigin(s: Sysroot, d: Deployment, origin: KeyFile): void {
  writeFileAtomic(s.originFile(d), origin.toString());
  const now = new Date();
  utimesSync(join(s.path, "ostree/deploy"), now, now);
}

/** `admin pin [--unpin] INDEX`; returns whether anything changed. */
export async function pin(path: string, index: string, pinned: boolean): Promise<boolean> {
  return withLockedSysroot(path, (s) => {
    const d = s.deploymentAt(index);
    if (isPinned(d.origin) === pinned) return false;
    if (d.staged) throw new SysrootError("Cannot pin staged deployment");
    writeOrigin(s, d, withPinned(d.origin, pinned));
    return true;
  });
}

/** `admin set-origin REMOTE URL [BRANCH] [--index]`: add the remote if missing, retarget the origin. */
export async function setOrigin(
  path: string,
  remote: string,
  url: string,
  branch: string | undefined,
  index: string | undefined,
  remoteOptions: string[] = [],
): Promise<void> {
  await withLockedSysroot(path, (s) => {
    const d = index === undefined ? s.booted : s.deploymentAt(index);
    if (!d) throw new SysrootError("Not currently booted into an OSTree system; pass --index=INDEX");
    const section = `remote "${remote}"`;
    if (!s.repo.config.hasGroup(section)) {
      s.repo.setConfig(section, "url", url);
      for (const kv of remoteOptions) {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new SysrootError(`--set expects KEY=VALUE, got '${kv}'`);
        s.repo.setConfig(section, kv.slice(0, eq), kv.slice(eq + 1));
      }
    }
    const old = originRefspec(d.origin);
    const ref = branch ?? (old ? parseRefspec(old).ref : null);
    if (!ref) throw new SysrootError("the deployment has no origin refspec; give BRANCH explicitly");
    writeOrigin(s, d, originFromRefspec(`${remote}:${ref}`));
  });
}

/** `admin kargs edit-in-place`: change every deployment's kernel arguments in one atomic swap. */
export async function kargsEditInPlace(path: string, append: string[], del: string[]): Promise<void> {
  setFaultOp("kargs");
  await withLockedSysroot(path, async (s) => {
    if (s.deployments.length === 0) throw new SysrootError("Unable to find a deployment in sysroot");
    const list = s.deployments.map((d) => {
      const c = cloneDeployment(d);
      const k = KernelArgs.parse(c.bootconfig.get("options"));
      for (const a of append) k.appendIfMissing(a);
      for (const a of del) k.deleteIfPresent(a);
      c.bootconfig.set("options", k.toString());
      return c;
    });
    await commitDeploymentList(s, list);
  });
}

export interface UpgradeRequest {
  sysroot: string;
  osname?: string;
  /** `switch`: the new refspec (`REMOTE:` alone keeps the ref and changes the remote). */
  switchTo?: string;
  allowDowngrade?: boolean;
  /**
   * Brings the refspec's ref up to date before it is resolved (the pull: src/sysroot does not
   * fetch, the caller wires it; src/compose/upgrade-pull.ts). Returns the commit to deploy, or null
   * to resolve the refspec in the repo. Runs under the sysroot lock.
   */
  fetch?(s: Sysroot, refspec: string, from: string): Promise<string | null>;
  /** Stop before deploying: only say whether there is an update (`--check`, `--pull-only`). */
  noDeploy?: boolean;
}

export interface UpgradeResult {
  changed: boolean;
  /** The commit that is (or would be) deployed. */
  target?: string;
  deployment?: Deployment;
}

/** ostree's date format for the downgrade message (g_date_time_format "%c" in the C locale). */
function cTime(ts: number): string {
  const d = new Date(ts * 1000);
  const [wd, mon, day, , time] = d.toUTCString().replace(",", "").split(" ");
  return `${wd} ${mon} ${String(Number(day)).padStart(2)} ${time} ${d.getUTCFullYear()}`;
}

/**
 * ostree's downgrade protection (_ostree_compare_timestamps): `to` must not be older than `from`;
 * equal timestamps pass. Throws with ostree's message.
 */
export function checkTimestamps(repo: Repo, from: string, to: string): void {
  const cur = repo.loadCommit(from).timestamp;
  const next = repo.loadCommit(to).timestamp;
  if (next >= cur || from === to) return;
  throw new SysrootError(
    `Upgrade target revision '${to}' with timestamp '${cTime(next)}' is chronologically older than current revision '${from}' with timestamp '${cTime(cur)}'; use --allow-downgrade to permit`,
  );
}

/** `admin upgrade` / `admin switch`: resolve (after `req.fetch`, when given) and deploy. */
export async function upgrade(req: UpgradeRequest): Promise<UpgradeResult> {
  setFaultOp(req.switchTo ? "switch" : "upgrade");
  return withLockedSysroot(req.sysroot, async (s) => {
    const osname = s.resolveOsname(req.osname);
    const merge = s.mergeDeployment(osname);
    if (!merge?.origin) throw new SysrootError(`no deployment of '${osname}' with an origin to upgrade from`);
    let origin = withoutTransientState(merge.origin);
    const oldSpec = originRefspec(origin);
    if (!oldSpec) throw new SysrootError("the merge deployment's origin has no refspec");
    const old = parseRefspec(oldSpec);
    if (req.switchTo) {
      const next = req.switchTo.endsWith(":")
        ? { remote: req.switchTo.slice(0, -1), ref: old.ref }
        : parseRefspec(req.switchTo);
      const remote = next.remote ?? old.remote;
      const spec = remote ? `${remote}:${next.ref}` : next.ref;
      if (spec === oldSpec) throw new SysrootError(`Old and new refs are equal: ${spec}`);
      origin = originFromRefspec(spec);
    }
    const spec = originRefspec(origin)!;
    const fetched = req.fetch ? await req.fetch(s, spec, merge.csum) : null;
    const csum = origin.get("origin", "override-commit") ?? fetched ?? (resolveRev(s.repo, spec) as string);
    // ostree compares only with the merge deployment and would redeploy an already pending
    // update; an identical pending default is "no update" here too.
    const pendingDefault = s.deployments.find((d) => d.osname === osname);
    if (!req.switchTo && (csum === merge.csum || csum === pendingDefault?.csum))
      return { changed: false, target: csum };
    if (!req.switchTo && !req.allowDowngrade) checkTimestamps(s.repo, merge.csum, csum);
    if (req.noDeploy) return { changed: true, target: csum };
    await cleanupSysroot(s);
    const d = await deployTree(s, osname, csum, origin, merge, null);
    await commitDeploymentList(s, simpleDeploymentList(s, osname, d, merge, {}));
    if (req.switchTo) {
      process.stdout.write(`Deleting ref '${oldSpec}'\n`);
      deleteRef(s.repo, oldSpec);
    }
    return { changed: true, target: csum, deployment: d };
  });
}
