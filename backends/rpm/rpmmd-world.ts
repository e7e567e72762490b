// The rpm side of `resolve`: a tree's (or the given) .repo files and rpmdb.
import type { MetadataCache } from "../../src/packages/metadata-cache.js";
import { EMPTY_SET, type World } from "../../src/packages/resolve.js";
import { type RpmRepo, readRepoFile, treeReleasever, treeRepos } from "./repo-file.js";
import { RpmDialect } from "./rpm-dialect.js";
import { findRpmdb, readRpmdb } from "./rpmdb.js";
import { type LoadedRpmRepo, loadRpmRepo } from "./rpmmd-repo.js";

export interface RpmWorldOptions {
  root?: string;
  rpmdb?: string;
  /** The installed set as rpmdb.sqlite bytes (a base commit's), instead of a file. */
  rpmdbBytes?: Buffer;
  repoFiles: string[];
  keyrings: string[];
  arch: string;
  releasever?: string;
  cache: MetadataCache;
  refresh?: boolean;
  force?: boolean;
}

/** rpm's name for an architecture given in Debian's spelling. */
export function rpmArch(arch: string): string {
  return (
    ({ amd64: "x86_64", arm64: "aarch64", i386: "i686", armhf: "armv7hl" } as Record<string, string>)[arch] ??
    arch
  );
}

export function rpmRepos(o: Pick<RpmWorldOptions, "root" | "repoFiles" | "arch" | "releasever">): RpmRepo[] {
  const basearch = rpmArch(o.arch);
  const vars = {
    basearch,
    arch: basearch,
    releasever: o.releasever ?? (o.root ? treeReleasever(o.root) : undefined),
  };
  const repos = [
    ...(o.root ? treeRepos(o.root, vars) : []),
    ...o.repoFiles.flatMap((f) => readRepoFile(f, vars)),
  ];
  return repos.filter((r) => r.enabled);
}

export async function loadRpmWorld(o: RpmWorldOptions): Promise<World> {
  const loaded: LoadedRpmRepo[] = [];
  for (const repo of rpmRepos(o))
    loaded.push(
      await loadRpmRepo(repo, {
        cache: o.cache,
        refresh: o.refresh,
        force: o.force,
        extraKeyrings: o.keyrings,
      }),
    );
  const dbPath = o.rpmdb ?? (o.root ? findRpmdb(o.root) : undefined);
  const world: World = {
    dialect: new RpmDialect(rpmArch(o.arch)),
    repos: loaded.map((l) => l.set),
    installed: o.rpmdbBytes ? readRpmdb(o.rpmdbBytes) : dbPath ? readRpmdb(dbPath) : EMPTY_SET,
    async extend() {
      if (!loaded.some((l) => l.records.length)) return false;
      for (const l of loaded) await l.loadFilelists();
      world.repos = loaded.map((l) => l.set);
      world.extend = undefined;
      return true;
    },
  };
  return world;
}
