// `tsostree-pkg resolve PKG…`: what installing PKG would add, upgrade and remove, without a sysroot.
import type { Command } from "commander";
import { loadAptWorld } from "../../../backends/deb/apt-world.js";
import { defaultCacheDir, MetadataCache } from "../../packages/metadata-cache.js";
import { parseRequest, resolve, transactionJson, transactionText } from "../../packages/resolve.js";
import { UnsolvableError } from "../../packages/solver.js";

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
    .option("--cache-dir <dir>", "metadata cache directory")
    .option("--apt-lists <dir>", "read indexes from apt's lists directory (e.g. /var/lib/apt/lists)");
}

export function cacheFor(o: RepoCliOptions): MetadataCache {
  return new MetadataCache(o.cacheDir ?? defaultCacheDir(o.root));
}

export function registerResolve(program: Command): void {
  addRepoOptions(
    program
      .command("resolve")
      .description("resolve PKG… against the configured repositories and print the transaction")
      .argument("<pkg...>", "packages to install (name, name=version, name:arch)"),
  )
    .option("--no-install-recommends", "do not follow Recommends")
    .option("--json", "print {install, upgrade, remove} as JSON")
    .action(async (pkgs: string[], o: RepoCliOptions & { installRecommends: boolean; json?: boolean }) => {
      if (o.rpmdb || o.repoFile.length)
        throw new Error(
          "rpm repositories are not supported by resolve yet; use an apt source (--sources-list)",
        );
      const world = await loadAptWorld({
        root: o.root,
        dpkgStatus: o.dpkgStatus,
        sourcesLists: o.sourcesList,
        repoUrls: o.repoUrl,
        keyrings: o.keyring,
        arch: o.arch,
        cache: cacheFor(o),
        aptLists: o.aptLists,
      });
      try {
        const tx = resolve(world, pkgs.map(parseRequest), { recommends: o.installRecommends });
        const out = o.json ? JSON.stringify(transactionJson(tx)) : transactionText(tx).join("\n");
        process.stdout.write(`${out}\n`);
      } catch (e) {
        if (!(e instanceof UnsolvableError)) throw e;
        process.stderr.write(`tsostree-pkg: cannot resolve ${pkgs.join(" ")}:\n  ${e.chain.join("\n  ")}\n`);
        process.exitCode = 1;
      }
    });
}
