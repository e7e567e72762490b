// `tsostree-pkg resolve PKG…`: what installing PKG would add, upgrade and remove, without a sysroot.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { loadAptWorld } from "../../../backends/deb/apt-world.js";
import { findDpkgStatus } from "../../../backends/deb/dpkg-status.js";
import { findRpmdb } from "../../../backends/rpm/rpmdb.js";
import { loadRpmWorld } from "../../../backends/rpm/rpmmd-world.js";
import { defaultCacheDir, MetadataCache } from "../../packages/metadata-cache.js";
import {
  parseRequest,
  resolveWithRetry,
  transactionJson,
  transactionText,
  type World,
} from "../../packages/resolve.js";
import { UnsolvableError } from "../../packages/solver-types.js";

export interface RepoCliOptions {
  root?: string;
  dpkgStatus?: string;
  rpmdb?: string;
  sourcesList: string[];
  repoFile: string[];
  repoUrl: string[];
  keyring: string[];
  arch: string;
  cacheDir?: string;
  aptLists?: string;
  releasever?: string;
  foreignArch: string[];
  aptPreferences?: string[];
}

const collect = (v: string, acc: string[]) => [...acc, v];

export function addRepoOptions(cmd: Command): Command {
  return cmd
    .option("--root <dir>", "read sources, keys and the installed set from this tree")
    .option("--dpkg-status <file>", "dpkg status file giving the installed set")
    .option("--rpmdb <path>", "rpmdb.sqlite giving the installed set (rpm)")
    .option("--sources-list <file>", "apt sources file, one-line or deb822 (repeatable)", collect, [])
    .option("--repo-file <file>", "dnf .repo file (repeatable)", collect, [])
    .option("--repo-url <spec>", "extra apt repository: 'URI SUITE [COMPONENT…]' (repeatable)", collect, [])
    .option("--keyring <file>", "extra trusted OpenPGP keyring (repeatable)", collect, [])
    .option("--arch <arch>", "native architecture", "amd64")
    .option(
      "--foreign-arch <arch>",
      "foreign architecture, as dpkg --add-architecture (repeatable)",
      collect,
      [],
    )
    .option("--cache-dir <dir>", "metadata cache directory")
    .option("--apt-lists <dir>", "read indexes from apt's lists directory (e.g. /var/lib/apt/lists)")
    .option("--releasever <ver>", "dnf $releasever (default: the tree's os-release VERSION_ID)");
}

export function cacheFor(o: RepoCliOptions): MetadataCache {
  return new MetadataCache(o.cacheDir ?? defaultCacheDir(o.root));
}

/** The rpm backend when the options or the tree say rpm (a .repo file, an rpmdb), apt otherwise. */
export function isRpm(o: RepoCliOptions): boolean {
  if (o.rpmdb || o.repoFile.length) return true;
  if (o.dpkgStatus || o.sourcesList.length || o.repoUrl.length) return false;
  return (
    !!o.root &&
    (!!findRpmdb(o.root) || existsSync(join(o.root, "etc/yum.repos.d"))) &&
    !findDpkgStatus(o.root)
  );
}

/** No repository came from the tree or the flags: nothing could be resolved or installed. */
export class NoRepositoriesError extends Error {
  override name = "NoRepositoriesError";
}

/** Fails when `world` has no repository, saying where repositories are read from. */
export function requireRepositories(world: World, o: RepoCliOptions): void {
  if (world.repos.length > 0) return;
  const flags = "--sources-list=FILE, --repo-file=FILE or --repo-url='URI SUITE COMPONENT'";
  throw new NoRepositoriesError(
    o.root
      ? `no repositories configured: none in ${o.root}/etc/apt/sources.list{,.d} or ${o.root}/etc/yum.repos.d; add one there or pass ${flags}`
      : `no repositories configured: they are read from the tree given by --root=DIR (its /etc/apt/sources.list{,.d} or /etc/yum.repos.d; --root=/ for this host's) or from ${flags}`,
  );
}

export async function loadWorld(
  o: RepoCliOptions,
  refresh?: { refresh: boolean; force?: boolean },
): Promise<World> {
  const common = { root: o.root, keyrings: o.keyring, arch: o.arch, cache: cacheFor(o), ...refresh };
  if (isRpm(o))
    return loadRpmWorld({ ...common, rpmdb: o.rpmdb, repoFiles: o.repoFile, releasever: o.releasever });
  return loadAptWorld({
    ...common,
    dpkgStatus: o.dpkgStatus,
    sourcesLists: o.sourcesList,
    repoUrls: o.repoUrl,
    aptLists: o.aptLists,
    foreignArchs: o.foreignArch,
    preferences: o.aptPreferences,
  });
}

export function registerResolve(program: Command): void {
  addRepoOptions(
    program
      .command("resolve")
      .description("resolve PKG… against the configured repositories and print the transaction")
      .argument("<pkg...>", "packages to install (name, name=version, name:arch)"),
  )
    .option(
      "--apt-preferences <file>",
      "apt preferences file (pins), read after the tree's own (repeatable)",
      collect,
      [],
    )
    .option("--no-install-recommends", "do not follow Recommends")
    .option("--json", "print {install, upgrade, remove} as JSON")
    .action(async (pkgs: string[], o: RepoCliOptions & { installRecommends: boolean; json?: boolean }) => {
      const world = await loadWorld(o);
      requireRepositories(world, o);
      try {
        const tx = await resolveWithRetry(world, pkgs.map(parseRequest), { recommends: o.installRecommends });
        const out = o.json ? JSON.stringify(transactionJson(tx)) : transactionText(tx).join("\n");
        process.stdout.write(`${out}\n`);
      } catch (e) {
        if (!(e instanceof UnsolvableError)) throw e;
        process.stderr.write(`tsostree-pkg: cannot resolve ${pkgs.join(" ")}: ${e.chain.join("; ")}\n`);
        process.exitCode = 1;
      }
    });
}
