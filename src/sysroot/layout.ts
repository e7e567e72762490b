// Where everything lives in an ostree sysroot (docs/sysroot.md has the annotated tree). Pure path
// arithmetic; nothing here touches the disk.
import { join } from "node:path";

export class LayoutError extends Error {
  override name = "LayoutError";
}

export const LOCK_FILE = "ostree/lock";
export const REPO_DIR = "ostree/repo";

export function stateroot(sysroot: string, osname: string): string {
  return join(sysroot, "ostree/deploy", osname);
}

/** Path of a deployment relative to the sysroot, as ostree spells it. */
export function deploymentRelPath(osname: string, csum: string, serial: number): string {
  return `ostree/deploy/${osname}/deploy/${csum}.${serial}`;
}

export function originRelPath(osname: string, csum: string, serial: number): string {
  return `${deploymentRelPath(osname, csum, serial)}.origin`;
}

export function bootcsumDirName(osname: string, bootcsum: string): string {
  return `${osname}-${bootcsum}`;
}

export function loaderEntriesRel(bootversion: number): string {
  return `boot/loader.${bootversion}/entries`;
}

export function bootlinkDirRel(bootversion: number, subbootversion: number): string {
  return `ostree/boot.${bootversion}.${subbootversion}`;
}

/** `<64 hex>.<serial>`, the name of a deployment directory. */
export function parseDeployName(name: string): { csum: string; serial: number } {
  const m = /^([0-9a-f]+)\.([0-9]+)$/.exec(name);
  if (!m) throw new LayoutError(`Invalid deploy name '${name}', expected CHECKSUM.TREESERIAL`);
  return { csum: m[1]!, serial: Number(m[2]) };
}

/** `<stateroot>-<bootcsum>`, a kernel directory under /boot/ostree; null for anything else. */
export function parseBootcsumDirName(name: string): { osname: string; bootcsum: string } | null {
  const dash = name.lastIndexOf("-");
  if (dash < 0) return null;
  const csum = name.slice(dash + 1);
  if (!/^[0-9a-f]{64}$/.test(csum)) return null;
  return { osname: name.slice(0, dash), bootcsum: csum };
}

export function validateOsname(osname: string): void {
  if (!osname || osname.includes("/") || osname === "." || osname === "..")
    throw new LayoutError(`invalid stateroot name '${osname}'`);
}
