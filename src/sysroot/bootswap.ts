// Writing a new deployment list atomically (`ostree_sysroot_write_deployments_with_options`).
// Everything new is built beside the live state — loader.(1-B) entries, /boot kernels, the
// ostree/boot.B'.M' symlink farm — synced, and then one rename(boot/loader.tmp, boot/loader)
// switches the bootloader over. A crash before that rename boots the old list; after it, the new.
// When only the order/serials changed and every boot config is identical, the cheaper
// sub-bootversion swap (rename of ostree/boot.B) is used instead, like ostree.
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { metadataGet } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { fsyncDir, syncfsPath } from "../util/atomic.js";
import { removeTree } from "../util/remove-tree.js";
import { entryFileName, formatBootlink } from "./bls.js";
import {
  type BootCounter,
  bootCountingTries,
  entryFileWithCounter,
  parseEntryFile,
} from "./boot-counting.js";
import { type Deployment, sameDeployment } from "./deployment.js";
import { faultPoint } from "./fault.js";
import { KernelArgs } from "./kargs.js";
import { findKernel } from "./kernel.js";
import { bootcsumDirName, bootlinkDirRel, loaderEntriesRel } from "./layout.js";
import { stagedLockedPath, stagedPath } from "./staged-plan.js";
import { type Sysroot, SysrootError } from "./sysroot.js";

/** Replaces a symlink atomically: a temporary link renamed over the old one. */
export function symlinkReplace(target: string, path: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, path);
}

/** Flushes the filesystems of the sysroot and its /boot; never a freeze (see docs/sysroot.md). */
export function fullSync(sysroot: string): void {
  const seen = new Set<number>();
  for (const p of [sysroot, join(sysroot, "boot")]) {
    if (!existsSync(p)) continue;
    const dev = statSync(p).dev;
    if (seen.has(dev)) continue;
    seen.add(dev);
    syncfsPath(p);
  }
}

export function commitVersion(repo: Repo, csum: string): string | null {
  try {
    const v = metadataGet(repo.loadCommit(csum).metadata, "version");
    return v && typeof v.value === "string" ? v.value : null;
  } catch {
    return null;
  }
}

export function assignBootserials(list: Deployment[]): void {
  const counts = new Map<string, number>();
  for (const d of list) {
    const n = counts.get(d.bootcsum) ?? 0;
    counts.set(d.bootcsum, n + 1);
    d.bootserial = n;
  }
}

function nonOstreeKargs(d: Deployment): string {
  const k = KernelArgs.parse(d.bootconfig.get("options"));
  // ostree "replaces" ostree= with a bare key rather than deleting it; mirror that for equality.
  k.replace("ostree");
  return k.toString();
}

function bootconfigsEqual(repo: Repo, a: Deployment, b: Deployment): boolean {
  return (
    a.bootcsum === b.bootcsum &&
    a.bootconfig.overlayInitrds.join("\n") === b.bootconfig.overlayInitrds.join("\n") &&
    nonOstreeKargs(a) === nonOstreeKargs(b) &&
    commitVersion(repo, a.csum) === commitVersion(repo, b.csum)
  );
}

function createBootlinks(sysroot: string, bootversion: number, sub: number, list: Deployment[]): void {
  const dir = join(sysroot, bootlinkDirRel(bootversion, sub));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const d of list) {
    const parent = join(dir, d.osname, d.bootcsum);
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    symlinkReplace(
      `../../../deploy/${d.osname}/deploy/${d.csum}.${d.deployserial}`,
      join(parent, `${d.bootserial}`),
    );
  }
}

/** Hardlink into /boot when possible (same fs), else copy — ostree's install_into_boot. */
function installIntoBoot(src: string, dest: string): void {
  if (existsSync(dest)) return;
  try {
    linkSync(src, dest);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EMLINK" && code !== "EPERM") throw e;
  }
  const tmp = `${dest}.tmp-${process.pid}`;
  copyFileSync(src, tmp);
  renameSync(tmp, dest);
}

function copyDirInto(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const name of readdirSync(src)) {
    const s = join(src, name);
    if (statSync(s).isDirectory()) copyDirInto(s, join(dest, name));
    else installIntoBoot(s, join(dest, name));
  }
}

/** The os-release title ostree puts in the entry (PRETTY_NAME, else ID). */
export function osReleaseTitle(root: string): string {
  const p = existsSync(join(root, "usr/lib/os-release"))
    ? join(root, "usr/lib/os-release")
    : join(root, "etc/os-release");
  let text: string;
  try {
    text = readFileSync(p, "utf8");
  } catch {
    throw new SysrootError(`Reading ${p}: the tree has no os-release; add usr/lib/os-release`);
  }
  const vals = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0]!)) v = v.slice(1, -1);
    vals.set(m[1]!, v.replace(/\\(.)/g, "$1"));
  }
  const t = vals.get("PRETTY_NAME") ?? vals.get("ID");
  if (t === undefined) throw new SysrootError("No PRETTY_NAME or ID in /etc/os-release");
  return t;
}

function installDeploymentKernel(
  s: Sysroot,
  newBootversion: number,
  d: Deployment,
  n: number,
  showOsname: boolean,
): void {
  const root = s.deploymentDir(d);
  const k = findKernel(root, { checksum: false });
  const bootcsumDir = `ostree/${bootcsumDirName(d.osname, d.bootcsum)}`;
  const absBootcsumDir = join(s.path, "boot", bootcsumDir);
  mkdirSync(absBootcsumDir, { recursive: true, mode: 0o775 });
  installIntoBoot(join(k.srcDir, k.kernelSrc), join(absBootcsumDir, k.kernelNamever));
  if (k.initramfsSrc && k.initramfsNamever)
    installIntoBoot(join(k.srcDir, k.initramfsSrc), join(absBootcsumDir, k.initramfsNamever));
  if (k.devicetreeSrc) {
    if (k.devicetreeNamever)
      installIntoBoot(join(k.srcDir, k.devicetreeSrc), join(absBootcsumDir, k.devicetreeNamever));
    else copyDirInto(join(k.srcDir, k.devicetreeSrc), join(absBootcsumDir, k.devicetreeSrc));
  }
  if (k.hmacSrc && k.hmacNamever)
    installIntoBoot(join(k.srcDir, k.hmacSrc), join(absBootcsumDir, k.hmacNamever));
  faultPoint("kernel-installed");

  const bc = d.bootconfig;
  let title = osReleaseTitle(root);
  const version = commitVersion(s.repo, d.csum);
  if (version && !title.includes(version)) title += ` ${version}`;
  title += showOsname ? ` (ostree:${d.osname}:${d.index})` : ` (ostree:${d.index})`;
  bc.set("title", title);
  bc.set("version", `${n - d.index}`);
  bc.set("linux", `/${bootcsumDir}/${k.kernelNamever}`);
  const kargs = KernelArgs.parse(bc.get("options"));
  if (k.initramfsNamever) bc.set("initrd", `/${bootcsumDir}/${k.initramfsNamever}`);
  else
    kargs.replace(
      `init=/ostree/boot.${newBootversion}/${d.osname}/${d.bootcsum}/${d.bootserial}/usr/lib/ostree/ostree-prepare-root`,
    );
  if (k.devicetreeSrc && k.devicetreeNamever) bc.set("devicetree", `/${bootcsumDir}/${k.devicetreeNamever}`);
  else if (k.devicetreeSrc) bc.set("fdtdir", `/${bootcsumDir}/${k.devicetreeSrc}`);
  kargs.replace(
    `ostree=${formatBootlink({ bootversion: newBootversion, osname: d.osname, bootcsum: d.bootcsum, bootserial: d.bootserial })}`,
  );
  bc.set("options", kargs.toString());
  const entries = join(s.path, loaderEntriesRel(newBootversion));
  // Like ostree: no per-file fsync here; the syncfs before the commit point covers all of it.
  const file = entryFileWithCounter(parseEntryFile(entryFileName(n - d.index, d.osname)).stem, d.bootCounter);
  writeFileSync(join(entries, file), bc.serialize(), { mode: 0o644 });
}

export interface WriteResult {
  bootswap: boolean;
  bootversion: number;
  subbootversion: number;
}

/**
 * Makes `list` the deployment list. Every deployment directory must already exist and be complete.
 * The caller holds the sysroot lock and reloads the sysroot afterwards.
 */
export function writeDeployments(s: Sysroot, requested: Deployment[]): WriteResult {
  // A staged deployment has no boot entry yet. It survives only as the head of the new list;
  // anywhere else (or absent) it is discarded with its /run state, as ostree does.
  const staged = s.deployments.find((d) => d.staged);
  if (staged && !(requested[0]?.staged && sameDeployment(requested[0], staged))) {
    rmSync(stagedPath(s.path), { force: true });
    rmSync(stagedLockedPath(s.path), { force: true });
    removeTree(s.deploymentDir(staged));
    rmSync(s.originFile(staged), { force: true });
  }
  const list = requested.filter((d) => !d.staged);
  const current = s.deployments.filter((d) => !d.staged);
  assignBootserials(list);
  // A new deployment's entry goes on trial when boot counting is configured; existing entries keep
  // the counter they have (a bootloader may have counted tries on them).
  const tries = bootCountingTries(s.repo);
  for (const d of list)
    if (tries > 0 && !current.some((c) => sameDeployment(c, d))) d.bootCounter = { left: tries, done: 0 };
  let requiresBootswap = list.length !== current.length;
  if (!requiresBootswap) {
    let noop = true;
    for (let i = 0; i < list.length; i++) {
      const cur = current[i]!;
      const next = list[i]!;
      // A counter belongs to an entry file: swapping only the bootlinks would hand it to another deployment.
      if (!bootconfigsEqual(s.repo, cur, next) || !sameCounter(cur.bootCounter, next.bootCounter)) {
        requiresBootswap = true;
        noop = false;
        break;
      }
      if (!sameDeployment(cur, next) || cur.bootserial !== next.bootserial) noop = false;
    }
    if (noop) return { bootswap: false, bootversion: s.bootversion, subbootversion: s.subbootversion };
  }
  let foundBooted = false;
  list.forEach((d, i) => {
    if (sameDeployment(d, s.booted)) foundBooted = true;
    if (!existsSync(s.deploymentDir(d)))
      throw new SysrootError(`Unable to find expected deployment root: ${s.deploymentDir(d)}`);
    d.index = i;
  });
  if (s.booted && !foundBooted) throw new SysrootError("Attempting to remove booted deployment");

  let result: WriteResult;
  if (!requiresBootswap) {
    const sub = s.subbootversion === 0 ? 1 : 0;
    createBootlinks(s.path, s.bootversion, sub, list);
    faultPoint("bootlinks-created");
    // core.fsync=false in the system repo (a test/CI knob, as for objects) skips the flush.
    if (s.repo.fsyncEnabled) fullSync(s.path);
    faultPoint("synced");
    symlinkReplace(`boot.${s.bootversion}.${sub}`, join(s.path, `ostree/boot.${s.bootversion}`));
    fsyncDir(join(s.path, "ostree"));
    faultPoint("committed");
    result = { bootswap: false, bootversion: s.bootversion, subbootversion: sub };
  } else {
    const nb = s.bootversion === 0 ? 1 : 0;
    const entries = join(s.path, loaderEntriesRel(nb));
    rmSync(dirname(entries), { recursive: true, force: true });
    mkdirSync(entries, { recursive: true, mode: 0o755 });
    const showOsname = list.some((d) => d.osname !== list[0]!.osname);
    for (const d of list) installDeploymentKernel(s, nb, d, list.length, showOsname);
    faultPoint("entries-written");
    // The other bootversion's links are dead (cleanup removes them); start its sub-version afresh.
    const sub = readSub(s.path, nb) === 0 ? 1 : 0;
    createBootlinks(s.path, nb, sub, list);
    symlinkReplace(`boot.${nb}.${sub}`, join(s.path, `ostree/boot.${nb}`));
    faultPoint("bootlinks-created");
    try {
      symlinkSync(".", join(s.path, "boot/boot"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    symlinkReplace(`loader.${nb}`, join(s.path, "boot/loader.tmp"));
    faultPoint("loader-tmp");
    // core.fsync=false in the system repo (a test/CI knob, as for objects) skips the flush.
    if (s.repo.fsyncEnabled) fullSync(s.path);
    faultPoint("synced");
    // The commit point.
    renameSync(join(s.path, "boot/loader.tmp"), join(s.path, "boot/loader"));
    fsyncDir(join(s.path, "boot"));
    faultPoint("committed");
    result = { bootswap: true, bootversion: nb, subbootversion: sub };
  }
  bumpMtime(s.path);
  return result;
}

function sameCounter(a: BootCounter | null, b: BootCounter | null): boolean {
  return a?.left === b?.left && a?.done === b?.done;
}

function readSub(sysroot: string, bootversion: number): number {
  const p = join(sysroot, `ostree/boot.${bootversion}`);
  try {
    const t = readlinkSync(p, "utf8");
    return t.endsWith(".1") ? 1 : 0;
  } catch {
    return 0;
  }
}

/** Tells watchers (rpm-ostree, GNOME Software…) that deployments changed. */
export function bumpMtime(sysroot: string): void {
  const now = new Date();
  utimesSync(join(sysroot, "ostree/deploy"), now, now);
}
