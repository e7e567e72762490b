// `admin deploy`: check out a commit as a new deployment directory, give it an /etc (defaults +
// the admin's changes), and make it the next boot — `ostree_sysroot_deploy_tree` followed by
// `ostree_sysroot_simple_write_deployment`. Nothing live changes until the boot-entry swap in
// bootswap.ts; a failure before it leaves only an unreferenced directory that cleanup removes.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkout } from "../repo/checkout.js";
import { resolveRev } from "../repo/refs.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { KeyFile } from "../util/keyfile.js";
import { removeTree } from "../util/remove-tree.js";
import { bootCountingTries } from "./boot-counting.js";
import { isRealRoot } from "./booted.js";
import { writeDeployments } from "./bootswap.js";
import { cleanupSysroot } from "./cleanup.js";
import { type Deployment, deploymentPinned, newDeployment, sameDeployment } from "./deployment.js";
import { knownBootcsum, startEarlyBootcsum } from "./early-bootcsum.js";
import { type EtcDiff, etcChanges, mergeEtc, prepareEtc } from "./etc-merge.js";
import { faultPoint } from "./fault.js";
import { KernelArgs, kargsFromProcCmdline } from "./kargs.js";
import { findKernel } from "./kernel.js";
import { deploymentRelPath, originRelPath, stateroot } from "./layout.js";
import { writeStaged } from "./staged.js";
import { Sysroot, SysrootError } from "./sysroot.js";

export interface KargOptions {
  karg?: string[];
  kargAppend?: string[];
  kargDelete?: string;
  kargNone?: boolean;
  kargProcCmdline?: boolean;
}

export interface WriteFlags {
  retain?: boolean;
  retainPending?: boolean;
  retainRollback?: boolean;
  notDefault?: boolean;
}

function log(msg: string): void {
  if (!process.env.TSOSTREE_QUIET) process.stdout.write(`${msg}\n`);
}

/** The kernel arguments of a new deployment, or null to inherit the merge deployment's (ostree's rules). */
export function computeKargs(merge: Deployment | null, o: KargOptions, noMerge = false): string | null {
  if (o.kargProcCmdline && o.kargNone)
    throw new SysrootError("Can't specify both --karg-proc-cmdline and --karg-none");
  if (o.kargNone && o.kargDelete) throw new SysrootError("Can't specify both --karg-none and --karg-delete");
  if (noMerge && o.kargDelete) throw new SysrootError("Can't specify both --no-merge and --karg-delete");
  let k: KernelArgs | null = null;
  if (o.kargNone) k = new KernelArgs();
  else if (o.kargProcCmdline) k = kargsFromProcCmdline(readFileSync("/proc/cmdline", "utf8"));
  else if (merge && (o.karg?.length || o.kargAppend?.length || o.kargDelete))
    k = KernelArgs.parse(merge.bootconfig.get("options"));
  if (o.karg?.length) {
    k ??= new KernelArgs();
    for (const a of o.karg) k.replace(a);
  }
  if (o.kargAppend?.length) {
    k ??= new KernelArgs();
    for (const a of o.kargAppend) k.append(a);
  }
  if (o.kargDelete) {
    if (!k) throw new SysrootError(`No key '${o.kargDelete.split("=")[0]}' found`);
    k.delete(o.kargDelete);
  }
  return k ? k.toString() : null;
}

/** 1 + the highest serial of this commit's deployment directories in the stateroot, else 0. */
export function allocateDeployserial(s: Sysroot, osname: string, csum: string): number {
  let serial = 0;
  const dir = join(stateroot(s.path, osname), "deploy");
  if (!existsSync(dir)) return 0;
  for (const name of readdirSync(dir)) {
    const m = /^([0-9a-f]+)\.([0-9]+)$/.exec(name);
    if (m && m[1] === csum) serial = Math.max(serial, Number(m[2]) + 1);
  }
  return serial;
}

export function checkoutMode(s: Sysroot): { userMode: boolean } {
  return { userMode: s.repo.mode !== "bare" || process.getuid?.() !== 0 };
}

function noteVarContent(root: string, csum: string): void {
  const v = join(root, "var");
  if (!existsSync(v)) return;
  for (const name of readdirSync(v))
    process.stderr.write(
      `note: Deploying commit ${csum} which contains content in /var/${name} that will be ignored.\n`,
    );
}

/** Turns a failure while writing a deployment into "nothing changed": the partial dir goes away. */
function abandon(s: Sysroot, osname: string, csum: string, serial: number, e: unknown): never {
  removeTree(join(s.path, deploymentRelPath(osname, csum, serial)));
  rmSync(join(s.path, originRelPath(osname, csum, serial)), { force: true });
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOSPC" || err.code === "EDQUOT")
    throw new SysrootError(
      `out of disk space while writing deployment ${csum}.${serial} (${err.message}); nothing was changed — free space (e.g. \`tsostree admin undeploy\` an old deployment, then \`tsostree admin cleanup\`) and retry`,
    );
  throw e;
}

/**
 * Makes `root` (absent) a checkout of the deployment's commit with /etc made from usr/etc, some
 * faster way (early-checkout.ts), or returns false to have it checked out.
 */
export type CheckoutFill = (root: string) => Promise<boolean>;

/**
 * The first half (sysroot_initialize_deployment): checkout, kernel and bootcsum, /etc from
 * usr/etc, origin. A staged deployment stops here until the next (simulated) shutdown.
 */
export async function initializeDeployment(
  s: Sysroot,
  osname: string,
  csum: string,
  origin: KeyFile | null,
  kargs: string | null,
  fill: CheckoutFill | null = null,
): Promise<Deployment> {
  bootCountingTries(s.repo); // a bad config value fails before anything is checked out
  const osdir = stateroot(s.path, osname);
  if (!existsSync(join(osdir, "var")))
    throw new SysrootError(
      `stateroot '${osname}' is not initialized (no ${osdir}/var); run \`tsostree admin os-init ${osname}\``,
    );
  const serial = allocateDeployserial(s, osname, csum);
  const root = join(s.path, deploymentRelPath(osname, csum, serial));
  try {
    mkdirSync(join(osdir, "deploy"), { recursive: true, mode: 0o775 });
    removeTree(root);
    const known = knownBootcsum(s.repo, csum, s.deployments);
    const early = known ? null : startEarlyBootcsum(s.repo, csum);
    const filled = (await fill?.(root)) === true;
    if (!filled) {
      // Checked out in place (not via a temp sibling) so that an interrupted deploy leaves a
      // CSUM.SERIAL directory that both our cleanup and ostree's recognize and remove.
      mkdirSync(root, { mode: 0o755 });
      await checkout(s.repo, csum, root, { ...checkoutMode(s), union: true, intoEmpty: true });
    }
    faultPoint("checkout");
    let kernel = findKernel(root, { checksum: false });
    const sameKernel = early && kernel.srcDir === join(root, "usr/lib/modules", early.kver);
    const hinted = known ?? (sameKernel ? await early.bootcsum : null);
    if (hinted) kernel.bootcsum = hinted;
    else kernel = findKernel(root);
    const d = newDeployment(osname, csum, serial, kernel.bootcsum, origin, kargs);
    if (!filled) await prepareEtc(root);
    faultPoint("etc-prepared");
    if (origin)
      writeFileAtomic(join(s.path, originRelPath(osname, csum, serial)), origin.toString(), { fsync: false });
    noteVarContent(root, csum);
    return d;
  } catch (e) {
    abandon(s, osname, csum, serial, e);
  }
}

/**
 * The second half (sysroot_finalize_deployment): kargs and /etc from the merge deployment, /var.
 * `changes`: the merge deployment's /etc changes when the caller started reading them already.
 */
export async function finalizeDeployment(
  s: Sysroot,
  d: Deployment,
  merge: Deployment | null,
  changes: Promise<EtcDiff> | null = null,
): Promise<void> {
  const root = s.deploymentDir(d);
  const osdir = stateroot(s.path, d.osname);
  try {
    if (merge && d.bootconfig.get("options") === undefined)
      d.bootconfig.set("options", merge.bootconfig.get("options") ?? "");
    if (merge) {
      const mergeRoot = s.deploymentDir(merge);
      const diff = mergeEtc(mergeRoot, root, await (changes ?? etcChanges(mergeRoot)));
      log(
        `Copying /etc changes: ${diff.modified.length} modified, ${diff.removed.length} removed, ${diff.added.length} added`,
      );
      faultPoint("etc-merged");
    }
    rmSync(join(root, "etc/.updated"), { force: true });
    rmSync(join(osdir, "var/.updated"), { force: true });
    if (!existsSync(join(osdir, "var/.ostree-selabeled"))) {
      log("Relabeling /var (no stamp file 'var/.ostree-selabeled' found)");
      writeFileSync(join(osdir, "var/.ostree-selabeled"), "");
    }
    if (d.origin) writeFileAtomic(s.originFile(d), d.origin.toString(), { fsync: false });
    faultPoint("origin-written");
    // The immutable bit needs CAP_LINUX_IMMUTABLE; only a real host gets it (docs/sysroot.md).
    if (isRealRoot(s.path)) spawnSync("chattr", ["+i", root], { stdio: "ignore" });
  } catch (e) {
    abandon(s, d.osname, d.csum, d.deployserial, e);
  }
}

/** A complete deployment directory and origin (ostree_sysroot_deploy_tree). */
export async function deployTree(
  s: Sysroot,
  osname: string,
  csum: string,
  origin: KeyFile | null,
  merge: Deployment | null,
  kargs: string | null,
  fill: CheckoutFill | null = null,
): Promise<Deployment> {
  // The merge deployment's /etc is compared with its usr/etc on a pool thread while this one
  // checks out the new deployment.
  const changes = merge ? etcChanges(s.deploymentDir(merge)) : null;
  const d = await initializeDeployment(s, osname, csum, origin, kargs, fill);
  await finalizeDeployment(s, d, merge, changes);
  return d;
}

/** ostree_sysroot_simple_write_deployment: the new list (new default first, GC of the rest). */
export function simpleDeploymentList(
  s: Pick<Sysroot, "deployments" | "booted">,
  osname: string | null,
  added: Deployment,
  merge: Deployment | null,
  f: WriteFlags,
): Deployment[] {
  const booted = s.booted;
  const os = osname ?? booted?.osname ?? null;
  let retain = !!f.retain;
  if (!booted && !merge && (f.retainPending || f.retainRollback)) retain = true;
  const out: Deployment[] = [];
  let addedNew = false;
  if (!f.notDefault) {
    out.push(added);
    addedNew = true;
  }
  let beforeBooted = true;
  let beforeMerge = true;
  for (const d of s.deployments) {
    const isBooted = sameDeployment(d, booted);
    const isMerge = sameDeployment(d, merge);
    if (isBooted) beforeBooted = false;
    if (isMerge) beforeMerge = false;
    const passed = booted ? !beforeBooted : !beforeMerge;
    if (
      retain ||
      deploymentPinned(d) ||
      (os !== null && d.osname !== os) ||
      (f.retainPending && !passed) ||
      isBooted ||
      isMerge ||
      (f.retainRollback && passed)
    )
      out.push(d);
    if (!addedNew && passed) {
      out.push(added);
      addedNew = true;
    }
  }
  if (!addedNew) out.push(added);
  return out;
}

export interface DeployRequest extends KargOptions, WriteFlags {
  sysroot: string;
  osname?: string;
  revision: string;
  origin: KeyFile | null;
  noMerge?: boolean;
  noPrune?: boolean;
  /** Check out now, merge /etc and write the boot entries at the next (simulated) shutdown. */
  stage?: boolean;
}

/** Writes the list, reports like ostree, reloads and cleans up. Caller holds the lock. */
export async function commitDeploymentList(s: Sysroot, list: Deployment[], prune = true): Promise<Sysroot> {
  const before = s.deployments.length;
  const r = writeDeployments(s, list);
  log(
    `Bootloader updated; bootconfig swap: ${r.bootswap ? "yes" : "no"}; bootversion: boot.${r.bootversion}.${r.subbootversion}, deployment count change: ${list.length - before}`,
  );
  const after = Sysroot.load(s.path);
  await cleanupSysroot(after, { prune });
  return after;
}

/** The whole `admin deploy`; returns the new deployment as loaded from the written sysroot. */
export async function deploy(req: DeployRequest): Promise<{ sysroot: Sysroot; deployment: Deployment }> {
  const first = Sysroot.load(req.sysroot);
  const lock = await first.lock();
  try {
    const s = Sysroot.load(req.sysroot);
    const osname = s.resolveOsname(req.osname);
    const csum = resolveRev(s.repo, req.revision) as string;
    const merge = req.noMerge ? null : s.mergeDeployment(osname);
    await cleanupSysroot(s); // leftovers of an interrupted run, as ostree's prepare_cleanup
    const kargs = computeKargs(merge, req, req.noMerge);
    if (req.stage) {
      if (!s.booted)
        throw new SysrootError("Cannot stage deployment: Not currently booted into an OSTree system");
      if (req.retainPending || req.retainRollback || req.notDefault)
        throw new SysrootError("--stage cannot currently be combined with --retain-* or --not-as-default");
      const d = await initializeDeployment(s, osname, csum, req.origin, kargs);
      await writeStaged(s, d, merge, kargs);
      const after = Sysroot.load(req.sysroot);
      return { sysroot: after, deployment: after.deployments[0]! };
    }
    const d = await deployTree(s, osname, csum, req.origin, merge, kargs);
    const list = simpleDeploymentList(s, osname, d, merge, req);
    const after = await commitDeploymentList(s, list, !req.noPrune);
    const nd = after.deployments.find((x) => sameDeployment(x, d));
    if (!nd) throw new SysrootError("the new deployment is missing after writing the boot entries");
    return { sysroot: after, deployment: nd };
  } finally {
    lock.release();
  }
}
