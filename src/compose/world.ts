// The package world of a layering transaction: which backend the base commit speaks (its package
// database says), the repositories the deployment's own /etc configures (read as apt and dnf read
// them), and the installed set — the base commit's, never the deployment's, so that every
// transaction starts from the base and a package dropped from the request really goes.
import { loadAptWorld } from "../../backends/deb/apt-world.js";
import { localDebSet } from "../../backends/deb/local-set.js";
import { localRpmSet } from "../../backends/rpm/rpmdb.js";
import { loadRpmWorld } from "../../backends/rpm/rpmmd-world.js";
import type { PackageSet } from "../packages/index.js";
import { MetadataCache } from "../packages/metadata-cache.js";
import type { PackageKind } from "../packages/model.js";
import type { World } from "../packages/resolve.js";
import type { Repo } from "../repo/repo.js";
import { lookupPath, PathNotFoundError, rootEntry } from "../repo/walk.js";
import type { PackageCommitMeta } from "./package-meta.js";

/** Where an ostree-ready base keeps each backend's native database (see compose rootfs). */
export const NATIVE_DB: Record<PackageKind, string> = {
  deb: "usr/share/dpkg/database/status",
  rpm: "usr/lib/sysimage/rpm/rpmdb.sqlite",
};

export class WorldError extends Error {
  override name = "WorldError";
}

/** The content of a regular file of a commit, or null when the path is absent. */
export function readCommitFile(repo: Repo, commit: string, path: string): Buffer | null {
  try {
    const e = lookupPath(repo, rootEntry(repo, commit), path);
    return e.kind === "file" ? repo.loadFile(e.checksum).read() : null;
  } catch (e) {
    if (e instanceof PathNotFoundError) return null;
    throw e;
  }
}

export interface BaseFacts {
  kind: PackageKind;
  /** The native database's bytes in the base commit. */
  nativeDb: Buffer;
}

/** The base's backend, from the native database it carries. */
export function baseFacts(repo: Repo, base: string): BaseFacts {
  for (const kind of ["deb", "rpm"] as const) {
    const nativeDb = readCommitFile(repo, base, NATIVE_DB[kind]);
    if (nativeDb) return { kind, nativeDb };
  }
  throw new WorldError(
    `base commit ${base.slice(0, 12)} has no package database (${NATIVE_DB.deb} or ${NATIVE_DB.rpm}); make the base with \`tsostree-pkg compose rootfs\``,
  );
}

/** dpkg's name for this machine's architecture (the backends translate it for rpm). */
export function nativeArch(): string {
  return (
    ({ x64: "amd64", arm64: "arm64", ia32: "i386" } as Record<string, string>)[process.arch] ?? process.arch
  );
}

export interface LayerWorldOptions {
  base: BaseFacts;
  /** The tree whose /etc configures the sources: the deployment the transaction starts from. */
  configRoot: string;
  cacheDir: string;
  arch?: string;
  /** Fetch the indexes again even when cached (`--refresh-md`); default: only when stale. */
  refresh?: boolean;
}

export async function loadLayerWorld(o: LayerWorldOptions): Promise<World> {
  const common = {
    root: o.configRoot,
    keyrings: [],
    arch: o.arch ?? nativeArch(),
    cache: new MetadataCache(o.cacheDir),
    refresh: o.refresh ?? true,
  };
  if (o.base.kind === "rpm") return loadRpmWorld({ ...common, repoFiles: [], rpmdbBytes: o.base.nativeDb });
  return loadAptWorld({ ...common, sourcesLists: [], repoUrls: [], dpkgStatusBytes: o.base.nativeDb });
}

/** Package files given on the command line, as a repository of their own for the resolver. */
export function localPackageSet(
  kind: PackageKind,
  metas: PackageCommitMeta[],
  arch = nativeArch(),
): PackageSet {
  if (kind === "rpm")
    return localRpmSet(
      metas.map((m) => {
        if (!m.rpmHeader)
          throw new WorldError(`${m.name}: its package commit has no rpm header; re-import the file`);
        return m.rpmHeader;
      }),
    );
  return localDebSet(
    metas.map((m) => {
      const control = m.debControl?.find(([n]) => n === "control")?.[1];
      if (!control)
        throw new WorldError(`${m.name}: its package commit has no control record; re-import the file`);
      return control;
    }),
    arch,
  );
}
