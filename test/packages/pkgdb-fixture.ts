// A package record for the package database tests, with the evr split the way dpkg splits it.
import type { DbPackage } from "../../src/packages/pkgdb.js";

export function pkg(name: string, evr: string, over: Partial<DbPackage> = {}): DbPackage {
  const m = /^(?:(\d+):)?(.*?)(?:-([^-]*))?$/.exec(evr) ?? [];
  return {
    kind: "deb",
    name,
    epoch: m[1] ? Number(m[1]) : 0,
    version: m[2] ?? evr,
    release: m[3] ?? "",
    evr,
    arch: "amd64",
    summary: `${name} summary`,
    origin: "base",
    requested: false,
    provides: [],
    requires: [],
    scripts: [],
    files: [],
    ...over,
  };
}
