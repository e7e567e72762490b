// Loading a sysroot the way ostree does: the bootloader entries are the source of truth. Read
// `boot/loader` → loader.N, every entry's `ostree=` bootlink → the deployment directory it points
// to, the origin files, and which deployment is booted.
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { Repo } from "../repo/repo.js";
import { KeyFile } from "../util/keyfile.js";
import { FileLock } from "../util/lock.js";
import { BootConfig, parseBootlink, readEntries } from "./bls.js";
import { parseEntryFile } from "./boot-counting.js";
import { type BootedIdentity, readBootedIdentity, runstatePath } from "./booted.js";
import { type Deployment, deploymentPath, originPath, sameDeployment } from "./deployment.js";
import {
  LayoutError,
  LOCK_FILE,
  loaderEntriesRel,
  parseDeployName,
  REPO_DIR,
  validateOsname,
} from "./layout.js";
import { readPlan } from "./staged-plan.js";

export class SysrootError extends Error {
  override name = "SysrootError";
}

/**
 * Fails unless `path` is a sysroot (has ostree/deploy), saying how to get one: on `/` the host is
 * simply not an OSTree system (creating a sysroot there is not the answer), elsewhere init-fs makes one.
 */
export function requireSysroot(path: string): void {
  if (existsSync(join(resolve(path), "ostree/deploy"))) return;
  throw new SysrootError(
    resolve(path) === "/"
      ? "this system is not an OSTree system (no /ostree/deploy); pass --sysroot=DIR to use a sandbox sysroot (`tsostree admin init-fs DIR` creates one)"
      : `${path} is not an ostree sysroot (no ostree/deploy); create one with \`tsostree admin init-fs ${path}\``,
  );
}

function readLinkOrNull(p: string): string | null {
  try {
    if (!lstatSync(p).isSymbolicLink()) throw new SysrootError(`Not a symbolic link: ${p}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  return readlinkSync(p, "utf8");
}

export function readBootversion(sysroot: string): number {
  const t = readLinkOrNull(join(sysroot, "boot/loader"));
  if (t === null || t === "loader.0") return 0;
  if (t === "loader.1") return 1;
  throw new SysrootError(`Invalid target '${t}' in boot/loader`);
}

export function readSubbootversion(sysroot: string, bootversion: number): number {
  const t = readLinkOrNull(join(sysroot, `ostree/boot.${bootversion}`));
  if (t === null || t.endsWith(".0")) return 0;
  if (t.endsWith(".1")) return 1;
  throw new SysrootError(`Invalid target '${t}' in ostree/boot.${bootversion}`);
}

export function readOrigin(path: string): KeyFile | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  return KeyFile.parse(text);
}

/** The held sysroot lock; release() lets the next ostree or tsostree process in. */
export interface SysrootLock {
  release(): void;
}

export class Sysroot {
  private _repo: Repo | null = null;
  private constructor(
    readonly path: string,
    readonly bootversion: number,
    readonly subbootversion: number,
    readonly deployments: Deployment[],
    readonly booted: Deployment | null,
  ) {}

  static load(path: string): Sysroot {
    const root = resolve(path);
    requireSysroot(path);
    const bootversion = readBootversion(root);
    const subbootversion = readSubbootversion(root, bootversion);
    const identity = readBootedIdentity(root);
    const deployments: Deployment[] = [];
    let booted: Deployment | null = null;
    for (const { name, config } of readEntries(join(root, loaderEntriesRel(bootversion)))) {
      const arg = config.ostreeArg();
      if (arg === null) throw new SysrootError(`${name}: No ostree= kernel argument found`);
      const d = loadDeployment(root, arg, config);
      d.bootCounter = parseEntryFile(name).counter;
      if (identity && !booted && isBooted(root, d, identity)) booted = d;
      deployments.push(d);
    }
    if (identity && !booted)
      throw new SysrootError(
        identity.kind === "record"
          ? `Unexpected state: ${path}/run/ostree-booted found, but the booted deployment ${identity.record.csum}.${identity.record.deployserial} has no boot entry; boot again with \`tsostree admin boot\``
          : "Unexpected state: /run/ostree-booted found and in / sysroot, but bootloader entry not found",
      );
    if (booted) {
      const staged = loadStaged(root);
      if (staged) deployments.unshift(staged);
    }
    deployments.forEach((d, i) => {
      d.index = i;
    });
    return new Sysroot(root, bootversion, subbootversion, deployments, booted);
  }

  get repo(): Repo {
    this._repo ??= Repo.open(join(this.path, REPO_DIR));
    return this._repo;
  }

  /** The exclusive sysroot lock; says so when it has to wait instead of hanging silently. */
  async lock(timeoutMs = Number(process.env.TSOSTREE_LOCK_TIMEOUT_MS ?? 300_000)): Promise<SysrootLock> {
    const path = join(this.path, LOCK_FILE);
    const lock = await FileLock.acquire(path, "exclusive", timeoutMs, () =>
      process.stderr.write(
        `Waiting for sysroot lock (${path} is held by another ostree or tsostree process)...\n`,
      ),
    );
    // Like libglnx: the exclusive owner removes the file, so no stale lock file stays.
    return { release: () => lock.releaseAndUnlink() };
  }

  deploymentDir(d: Deployment): string {
    return deploymentPath(this.path, d);
  }

  originFile(d: Deployment): string {
    return originPath(this.path, d);
  }

  /** The stateroot commands act on: --os, else the booted one, else the only one there is. */
  resolveOsname(osname: string | undefined): string {
    if (osname) {
      validateOsname(osname);
      return osname;
    }
    if (this.booted) return this.booted.osname;
    const names = [...new Set(this.deployments.map((d) => d.osname))];
    if (names.length === 1) return names[0]!;
    throw new SysrootError(
      "Not currently booted into an OSTree system and no --os= argument given; pass --os=STATEROOT",
    );
  }

  /** ostree_sysroot_query_deployments_for: the first before the booted one, the first after it. */
  queryDeploymentsFor(osname: string): { pending: Deployment | null; rollback: Deployment | null } {
    let foundBooted = false;
    let pending: Deployment | null = null;
    let rollback: Deployment | null = null;
    for (const d of this.deployments) {
      if (d.osname !== osname) continue;
      if (sameDeployment(d, this.booted)) {
        foundBooted = true;
        continue;
      }
      if (!foundBooted && !pending) pending = d;
      else if (foundBooted && !rollback) rollback = d;
    }
    return { pending, rollback };
  }

  /** The configuration source of a new deployment: the booted one if same stateroot, else the default. */
  mergeDeployment(osname: string): Deployment | null {
    if (this.booted && this.booted.osname === osname) return this.booted;
    return this.queryDeploymentsFor(osname).pending;
  }

  /** Index argument of undeploy/pin: a number, or `booted`/`pending`/`rollback`. */
  deploymentAt(index: string): Deployment {
    let d: Deployment | null | undefined;
    if (/^[0-9]+$/.test(index)) d = this.deployments[Number(index)];
    else if (index === "booted") d = this.booted;
    else if (index === "pending" || index === "rollback") {
      if (!this.booted) throw new SysrootError(`'${index}' needs a booted deployment`);
      d = this.queryDeploymentsFor(this.booted.osname)[index];
    } else throw new SysrootError(`Invalid index: ${index}`);
    if (!d)
      throw new SysrootError(
        `Out of range deployment index ${index}, expected < ${this.deployments.length}; see \`tsostree admin status\``,
      );
    return d;
  }
}

function loadDeployment(root: string, bootlink: string, config: Deployment["bootconfig"]): Deployment {
  const b = parseBootlink(bootlink);
  const rel = bootlink.slice(1);
  let target: string;
  try {
    target = readlinkSync(join(root, rel), "utf8");
  } catch (e) {
    throw new SysrootError(
      `Parsing deployment ${bootlink} in stateroot '${b.osname}': ${(e as Error).message}`,
    );
  }
  let parsed: { csum: string; serial: number };
  try {
    parsed = parseDeployName(target.slice(target.lastIndexOf("/") + 1));
  } catch (e) {
    if (e instanceof LayoutError) throw new SysrootError(`Parsing deployment ${bootlink}: ${e.message}`);
    throw e;
  }
  const d: Deployment = {
    osname: b.osname,
    csum: parsed.csum,
    deployserial: parsed.serial,
    bootcsum: b.bootcsum,
    bootserial: b.bootserial,
    origin: null,
    bootconfig: config,
    index: -1,
    staged: false,
    unlocked: "none",
    bootCounter: null,
  };
  if (!existsSync(deploymentPath(root, d)))
    throw new SysrootError(`Parsing deployment ${bootlink}: deployment directory ${target} is missing`);
  d.origin = readOrigin(originPath(root, d));
  if (existsSync(runstatePath(root, d.csum, d.deployserial, "unlocked-development")))
    d.unlocked = "development";
  else if (existsSync(runstatePath(root, d.csum, d.deployserial, "unlocked-transient")))
    d.unlocked = "transient";
  else if (d.origin?.get("origin", "unlocked") === "hotfix") d.unlocked = "hotfix";
  return d;
}

function isBooted(root: string, d: Deployment, id: NonNullable<BootedIdentity>): boolean {
  if (id.kind === "record")
    return (
      id.record.osname === d.osname && id.record.csum === d.csum && id.record.deployserial === d.deployserial
    );
  const st = statSync(deploymentPath(root, d));
  if (st.dev === id.dev && st.ino === id.ino) return true;
  // Fallback when / is not the deployment directory itself (e.g. an overlay root): the ostree=
  // argument the initramfs followed, if its bootlink still resolves to this deployment.
  if (!id.bootlink) return false;
  try {
    return realpathSync(join(root, id.bootlink)) === realpathSync(deploymentPath(root, d));
  } catch {
    return false;
  }
}

/** The staged deployment recorded under RUN/ostree (see staged.ts), if its directory exists. */
function loadStaged(root: string): Deployment | null {
  const plan = readPlan(root);
  if (!plan) return null;
  const t = plan.target;
  const d: Deployment = {
    osname: t.osname,
    csum: t.csum,
    deployserial: t.serial,
    bootcsum: t.bootcsum,
    bootserial: -1,
    origin: null,
    bootconfig: new BootConfig(),
    index: -1,
    staged: true,
    unlocked: "none",
    bootCounter: null,
  };
  if (plan.kargs) d.bootconfig.set("options", plan.kargs.join(" "));
  if (!existsSync(deploymentPath(root, d))) return null;
  d.origin = readOrigin(originPath(root, d));
  return d;
}
