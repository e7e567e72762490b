// The installed set of a Debian tree, read from dpkg's status file without running dpkg.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PkgVersion } from "../../src/packages/index.js";
import { PackagesIndex } from "./apt-packages.js";
import { DebPackageSet } from "./apt-packageset.js";
import { type AptPolicy, STATUS_FACTS } from "./apt-preferences.js";

/**
 * Where a tree keeps dpkg's status: the usual place, then where OSTree-style trees move /var's state
 * (`usr/share/dpkg/database` is where `compose rootfs` moves var/lib/dpkg, the Endless OS convention).
 */
export const DPKG_STATUS_PATHS = [
  "var/lib/dpkg/status",
  "usr/share/dpkg/database/status",
  "usr/lib/dpkg/status",
  "usr/share/dpkg/status",
];

export class DpkgStatusError extends Error {
  override name = "DpkgStatusError";
}

/** dpkg's status values that mean "this version's files are on disk" (apt's CurrentVer). */
const PRESENT = new Set([
  "installed",
  "half-configured",
  "unpacked",
  "half-installed",
  "triggers-awaited",
  "triggers-pending",
]);

/** The installed set from a dpkg status file's content. */
export function dpkgStatusSet(
  buf: Buffer,
  nativeArch?: string,
  id = "@installed",
  policy?: AptPolicy,
): DebPackageSet {
  const index = new PackagesIndex(buf, "dpkg status");
  // Preferences reach the installed version too (a version pin, or a general pin on "a=now").
  const pin = policy ? policy.filePriority(STATUS_FACTS, 100) : 100;
  const pinOf = policy?.empty
    ? undefined
    : policy && ((v: PkgVersion) => policy.versionPin(v, STATUS_FACTS) ?? pin);
  return new DebPackageSet(index, { id, pin, pinOf, installed: true, nativeArch }, (stanza) => {
    const status = (index.field(stanza, "Status") ?? "").split(/\s+/);
    return PRESENT.has(status[2] ?? "");
  });
}

export function findDpkgStatus(root: string): string | undefined {
  for (const rel of DPKG_STATUS_PATHS) {
    const p = join(root, rel);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function readDpkgStatus(path: string, nativeArch?: string, policy?: AptPolicy): DebPackageSet {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new DpkgStatusError(
      `cannot read dpkg status ${path}: ${(e as Error).message}; pass --dpkg-status=FILE or --root=DIR`,
    );
  }
  return dpkgStatusSet(buf, nativeArch, "@installed", policy);
}

/** Foreign architectures a tree's dpkg was told about (dpkg --add-architecture): var/lib/dpkg/arch. */
export function dpkgForeignArchs(root: string, nativeArch: string): string[] {
  for (const rel of ["var/lib/dpkg/arch", "usr/share/dpkg/database/arch", "usr/lib/dpkg/arch"]) {
    const p = join(root, rel);
    if (existsSync(p))
      return readFileSync(p, "utf8")
        .split(/\s+/)
        .filter((a) => a && a !== nativeArch);
  }
  return [];
}
