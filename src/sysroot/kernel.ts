// Finding the kernel in a deployed tree and computing its boot checksum, as
// `get_kernel_from_tree` does: `usr/lib/modules/KVER/vmlinuz` (+ initramfs, devicetree or dtb/)
// hashed together, or the legacy `usr/lib/ostree-boot` / `boot` layouts whose file names carry
// the checksum. The bootcsum names the /boot/ostree/OS-BOOTCSUM directory and the bootlinks.
import { createHash, type Hash } from "node:crypto";
import { lstatSync, opendirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export class KernelNotFoundError extends Error {
  override name = "KernelNotFoundError";
}

export interface KernelLayout {
  /** Absolute directory the sources below are relative to. */
  srcDir: string;
  kernelSrc: string;
  kernelNamever: string;
  initramfsSrc: string | null;
  initramfsNamever: string | null;
  devicetreeSrc: string | null;
  /** null with a devicetreeSrc means a whole `dtb/` directory (BLS `fdtdir`). */
  devicetreeNamever: string | null;
  hmacSrc: string | null;
  hmacNamever: string | null;
  bootcsum: string;
}

/** Directory entries in the order the kernel returns them (Node's readdirSync sorts; ostree does not). */
function rawReaddir(dir: string): { name: string; isDir: boolean }[] {
  const out: { name: string; isDir: boolean }[] = [];
  const d = opendirSync(dir);
  try {
    for (let e = d.readSync(); e; e = d.readSync()) out.push({ name: e.name, isDir: e.isDirectory() });
  } finally {
    d.closeSync();
  }
  return out;
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function hashDirRecurse(dir: string, h: Hash): void {
  // ostree sorts names with strcmp so the checksum does not depend on readdir order.
  const names = readdirSync(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const n of names) {
    const p = join(dir, n);
    const st = lstatSync(p);
    if (st.isDirectory()) hashDirRecurse(p, h);
    else if (exists(p)) h.update(readFileSync(p));
  }
}

function fromUsrLibModules(root: string, checksum: boolean): KernelLayout | null {
  const modules = join(root, "usr/lib/modules");
  if (!exists(modules)) return null;
  let kver: string | null = null;
  for (const e of rawReaddir(modules)) {
    if (!e.isDir) continue;
    try {
      if (!statSync(join(modules, e.name, "vmlinuz")).isFile()) continue;
    } catch {
      continue;
    }
    kver = e.name;
    break;
  }
  if (kver === null) return null;
  const dir = join(modules, kver);
  // Hashing is skipped when only the file names are needed (the bootcsum is already known).
  const h = checksum ? createHash("sha256") : null;
  h?.update(readFileSync(join(dir, "vmlinuz")));
  const layout: KernelLayout = {
    srcDir: dir,
    kernelSrc: "vmlinuz",
    kernelNamever: `vmlinuz-${kver}`,
    initramfsSrc: null,
    initramfsNamever: null,
    devicetreeSrc: null,
    devicetreeNamever: null,
    hmacSrc: null,
    hmacNamever: null,
    bootcsum: "",
  };
  for (const name of ["initramfs.img", "initramfs"]) {
    if (!exists(join(dir, name))) continue;
    layout.initramfsSrc = name;
    layout.initramfsNamever = `initramfs-${kver}.img`;
    h?.update(readFileSync(join(dir, name)));
    break;
  }
  if (exists(join(dir, "devicetree"))) {
    layout.devicetreeSrc = "devicetree";
    layout.devicetreeNamever = `devicetree-${kver}`;
    h?.update(readFileSync(join(dir, "devicetree")));
  } else if (exists(join(dir, "dtb")) && statSync(join(dir, "dtb")).isDirectory()) {
    layout.devicetreeSrc = "dtb";
    if (h) hashDirRecurse(join(dir, "dtb"), h);
  }
  if (exists(join(dir, ".vmlinuz.hmac"))) {
    layout.hmacSrc = ".vmlinuz.hmac";
    layout.hmacNamever = `.${layout.kernelNamever}.hmac`;
  }
  layout.bootcsum = h ? h.digest("hex") : "";
  return layout;
}

const CSUM_RE = /^[0-9a-f]{64}$/;

function fromLegacy(root: string): KernelLayout | null {
  let dir: string | null = null;
  for (const p of ["usr/lib/ostree-boot", "boot"]) {
    const abs = join(root, p);
    if (exists(abs) && statSync(abs).isDirectory()) {
      dir = abs;
      break;
    }
  }
  if (!dir) return null;
  const found: Record<string, { src: string; namever: string; csum: string }> = {};
  for (const { name } of rawReaddir(dir)) {
    for (const kind of ["vmlinuz", "initramfs", "devicetree"]) {
      if (found[kind] || !name.startsWith(`${kind}-`)) continue;
      const dash = name.lastIndexOf("-");
      const csum = name.slice(dash + 1);
      if (CSUM_RE.test(csum)) found[kind] = { src: name, namever: name.slice(0, dash), csum };
      break;
    }
    if (found.vmlinuz && found.initramfs && found.devicetree) break;
  }
  const k = found.vmlinuz;
  if (!k) return null;
  if (found.initramfs && found.initramfs.csum !== k.csum)
    throw new KernelNotFoundError("Mismatched kernel checksum vs initrd");
  if (found.devicetree && found.devicetree.csum !== k.csum)
    throw new KernelNotFoundError("Mismatched kernel checksum vs device tree in tree");
  return {
    srcDir: dir,
    kernelSrc: k.src,
    kernelNamever: k.namever,
    initramfsSrc: found.initramfs?.src ?? null,
    initramfsNamever: found.initramfs?.namever ?? null,
    devicetreeSrc: found.devicetree?.src ?? null,
    devicetreeNamever: found.devicetree?.namever ?? null,
    hmacSrc: null,
    hmacNamever: null,
    bootcsum: k.csum,
  };
}

/** The kernel of a deployed tree; the modules layout wins unless only the legacy one has an initramfs. */
export function findKernel(deploymentRoot: string, opts: { checksum?: boolean } = {}): KernelLayout {
  const modules = fromUsrLibModules(deploymentRoot, opts.checksum !== false);
  const legacy = fromLegacy(deploymentRoot);
  if (legacy && (!modules || (!modules.initramfsSrc && legacy.initramfsSrc))) return legacy;
  if (modules) return modules;
  throw new KernelNotFoundError(
    "Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or /boot; a bootable tree needs usr/lib/modules/KVER/vmlinuz",
  );
}
