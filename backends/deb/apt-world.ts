// The deb side of `resolve`: sources, keyrings and installed set of a tree (or given explicitly).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { MetadataCache } from "../../src/packages/metadata-cache.js";
import { EMPTY_SET, type World } from "../../src/packages/resolve.js";
import { DebDialect } from "./apt-dialect.js";
import { AptPolicy, AptPreferencesError, parsePreferences } from "./apt-preferences.js";
import { loadAptSource } from "./apt-repo.js";
import { type AptSource, parseSourcesFile, treeSources, treeTrustedKeyrings } from "./apt-sources.js";
import { dpkgForeignArchs, dpkgStatusSet, findDpkgStatus, readDpkgStatus } from "./dpkg-status.js";

export interface AptWorldOptions {
  root?: string;
  dpkgStatus?: string;
  /** The installed set as dpkg status bytes (a base commit's), instead of a file. */
  dpkgStatusBytes?: Buffer;
  sourcesLists: string[];
  repoUrls: string[];
  keyrings: string[];
  arch: string;
  cache: MetadataCache;
  aptLists?: string;
  /** Foreign architectures; default: the tree's dpkg arch list. */
  foreignArchs?: string[];
  refresh?: boolean;
  force?: boolean;
  /** --apt-preferences files, read after the tree's own. */
  preferences?: string[];
}

/** A preferences.d part apt reads: no extension at all, or ".pref"; apt's file-name charset. */
function isPreferencesPart(name: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(name) || /^[A-Za-z0-9_.-]+\.pref$/.test(name);
}

/** The tree's etc/apt/preferences, then etc/apt/preferences.d/* in name order (apt's order). */
export function treePreferenceFiles(root: string): string[] {
  const out: string[] = [];
  const main = join(root, "etc/apt/preferences");
  if (existsSync(main) && statSync(main).isFile()) out.push(main);
  const dir = join(root, "etc/apt/preferences.d");
  if (existsSync(dir))
    for (const n of readdirSync(dir).sort())
      if (isPreferencesPart(n) && statSync(join(dir, n)).isFile()) out.push(join(dir, n));
  return out;
}

export function aptPolicy(o: Pick<AptWorldOptions, "root" | "preferences" | "arch">): AptPolicy {
  const files = [...(o.root ? treePreferenceFiles(o.root) : []), ...(o.preferences ?? [])];
  return new AptPolicy(
    files.flatMap((f) => parsePreferences(readText(f), f)),
    o.arch,
  );
}

function readText(f: string): string {
  try {
    return readFileSync(f, "utf8");
  } catch (e) {
    throw new AptPreferencesError(`cannot read apt preferences ${f}: ${(e as Error).message}`);
  }
}

export function aptSources(o: Pick<AptWorldOptions, "root" | "sourcesLists" | "repoUrls">): AptSource[] {
  const sources: AptSource[] = [];
  if (o.root) sources.push(...treeSources(o.root));
  for (const f of o.sourcesLists) sources.push(...parseSourcesFile(f));
  // --repo-url takes a one-line sources entry without the leading "deb" ("URI SUITE COMPONENT…").
  for (const u of o.repoUrls) {
    const w = u.trim().split(/\s+/);
    sources.push({ uri: w[0], suite: w[1] ?? "/", components: w.slice(2), origin: "--repo-url" });
  }
  return sources;
}

export async function loadAptWorld(o: AptWorldOptions): Promise<World> {
  const sources = aptSources(o);
  const keyrings = o.root ? treeTrustedKeyrings(o.root) : [];
  const lists = o.aptLists;
  const foreignArchs = o.foreignArchs?.length
    ? o.foreignArchs
    : o.root
      ? dpkgForeignArchs(o.root, o.arch)
      : [];
  const policy = aptPolicy(o);
  const repos = [];
  for (const src of sources)
    repos.push(
      ...(await loadAptSource(src, {
        arch: o.arch,
        keyrings,
        extraKeyrings: o.keyrings,
        cache: o.cache,
        aptLists: lists,
        foreignArchs,
        root: o.root,
        refresh: o.refresh,
        force: o.force,
        policy,
      })),
    );
  const statusPath = o.dpkgStatus ?? (o.root ? findDpkgStatus(o.root) : undefined);
  const installed = o.dpkgStatusBytes
    ? dpkgStatusSet(o.dpkgStatusBytes, o.arch, "@installed", policy)
    : statusPath
      ? readDpkgStatus(statusPath, o.arch, policy)
      : EMPTY_SET;
  return { dialect: new DebDialect(o.arch, foreignArchs), repos, installed };
}
