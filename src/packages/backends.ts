// The registry of package backends: pick one by the first bytes of a file, never by its name.
import { open } from "node:fs/promises";
import { debBackend } from "../../backends/deb/index.js";
import { rpmBackend } from "../../backends/rpm/index.js";
import { isSystemError, systemErrorMeaning } from "../util/errno.js";
import { PackageFormatError } from "./errors.js";
import type { PackageBackend, PackageKind } from "./model.js";

export const backends: readonly PackageBackend[] = [debBackend, rpmBackend];

export function backendByKind(kind: PackageKind): PackageBackend {
  const b = backends.find((x) => x.kind === kind);
  if (!b) throw new Error(`no backend for ${kind}`);
  return b;
}

/** Why a package file cannot be read; a bare name (`strace`) gets told that a file is expected. */
function unreadable(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT" && !path.includes("/") && !/\.(deb|rpm)$/.test(path))
    return "no such file: a .deb or .rpm file path is expected here (`tsostree-pkg install NAME` installs a package by name from the configured repositories)";
  return `cannot read it: ${isSystemError(e) ? systemErrorMeaning(e) : (e as Error).message}`;
}

/** The backend whose format `path` is in; a PackageFormatError when none recognizes it. */
export async function backendFor(path: string): Promise<PackageBackend> {
  let head: Buffer;
  try {
    const fh = await open(path, "r");
    try {
      head = Buffer.alloc(16);
      const { bytesRead } = await fh.read(head, 0, 16, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new PackageFormatError(path, "", unreadable(path, e));
  }
  const b = backends.find((x) => x.sniff(head));
  if (!b)
    throw new PackageFormatError(path, "", `not a package this tool reads (expected a .deb or an .rpm)`);
  return b;
}
