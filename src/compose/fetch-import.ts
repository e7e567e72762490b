// Getting the chosen package versions into the repo as package commits: a version already imported
// (its ref exists and records the same archive sha256 the repository index promises) costs nothing;
// the others are downloaded into the package cache, checked against the index's size and checksum,
// and imported once each. The cached archive is removed once its commit exists: the commit is the
// cache (DESIGN.md #2).
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PackageFormatError } from "../packages/errors.js";
import { FetchError, fetchUrl, joinUrl } from "../packages/fetch.js";
import { importPackages, packageRef } from "../packages/import.js";
import type { PkgVersion } from "../packages/index.js";
import { metadataGet } from "../repo/objects.js";
import { listRefs, resolveRev } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { layerFault } from "./fault.js";

export class PackageFetchError extends Error {
  override name = "PackageFetchError";
}

export interface ImportedPackage {
  pkg: PkgVersion;
  /** The package commit. */
  commit: string;
  /** True when it was downloaded and imported by this call. */
  fresh: boolean;
}

/** The commit of an imported package version when its archive matches `sha256` (if given). */
export function importedCommit(repo: Repo, pkg: PkgVersion, sha256?: string): string | null {
  const ref = packageRef(pkg.kind, pkg.name, pkg.evr, pkg.arch);
  const csum = resolveRev(repo, ref, true);
  if (!csum) return null;
  const meta = repo.loadCommit(csum).metadata;
  if (!metadataGet(meta, "tsostree.pkg.format")) return null; // imported before layering existed
  if (sha256 && metadataGet(meta, "tsostree.pkg.sha256")?.value !== sha256) return null;
  return csum;
}

function sha256Of(pkg: PkgVersion): string | undefined {
  const c = pkg.location?.checksum;
  return c && c.algo.toLowerCase() === "sha256" ? c.hex.toLowerCase() : undefined;
}

async function download(pkg: PkgVersion, cacheDir: string): Promise<string> {
  const loc = pkg.location;
  if (!loc) throw new PackageFetchError(`${pkg.name} ${pkg.evr}: the repository index gives no location`);
  const url = joinUrl(loc.baseUrl, loc.path);
  let body: Buffer | undefined;
  try {
    const r = await fetchUrl(url);
    if (r.status === 404)
      throw new PackageFetchError(
        `${url}: not found (404); the repository index is stale: refresh it and retry`,
      );
    body = r.body;
  } catch (e) {
    if (e instanceof FetchError) throw new PackageFetchError(`cannot download ${pkg.name}: ${e.message}`);
    throw e;
  }
  if (!body) throw new PackageFetchError(`${url}: empty answer`);
  if (loc.size !== undefined && body.length !== loc.size)
    throw new PackageFetchError(
      `${pkg.name} ${pkg.evr}: downloaded ${body.length} bytes, the signed index says ${loc.size}; the repository is inconsistent or tampered with — nothing was installed`,
    );
  const c = loc.checksum;
  if (c) {
    const algo = c.algo.toLowerCase().replace(/^sha(\d+)$/, "sha$1");
    const got = createHash(algo === "md5sum" ? "md5" : algo)
      .update(body)
      .digest("hex");
    if (got !== c.hex.toLowerCase())
      throw new PackageFetchError(
        `${pkg.name} ${pkg.evr}: ${c.algo} mismatch (index ${c.hex}, downloaded ${got}); the repository is inconsistent or tampered with — nothing was installed`,
      );
  }
  mkdirSync(cacheDir, { recursive: true });
  const base = loc.path.slice(loc.path.lastIndexOf("/") + 1) || `${pkg.name}.pkg`;
  const dest = join(cacheDir, base);
  writeFileSync(`${dest}.part`, body);
  renameSync(`${dest}.part`, dest);
  return dest;
}

/** A package the reader refused, named as the repository index names it, with what to do. */
function refusedPackage(e: Error, files: string[], pkgs: PkgVersion[]): Error {
  const p = e instanceof PackageFormatError ? pkgs[files.indexOf(e.file)] : undefined;
  if (!p || !(e instanceof PackageFormatError)) return e;
  return new PackageFetchError(
    `${p.name} ${p.evr} from the repository is malformed or hostile (${e.member ? `${e.member}: ` : ""}${e.detail}); nothing was installed — leave it out of the request and tell the repository's owner`,
  );
}

/**
 * Makes sure every version in `pkgs` has a package commit; returns them in the same order.
 * `onProgress` hears about each download and import.
 */
export async function fetchAndImport(
  repo: Repo,
  pkgs: PkgVersion[],
  cacheDir: string,
  onProgress: (msg: string) => void = () => {},
): Promise<ImportedPackage[]> {
  const out: (ImportedPackage | undefined)[] = pkgs.map((pkg) => {
    const commit = importedCommit(repo, pkg, sha256Of(pkg));
    return commit ? { pkg, commit, fresh: false } : undefined;
  });
  const missing = pkgs.map((p, i) => ({ p, i })).filter(({ i }) => !out[i]);
  if (!missing.length) return out as ImportedPackage[];
  const files: string[] = [];
  try {
    for (const [n, { p }] of missing.entries()) {
      onProgress(`Downloading ${p.name} ${p.evr} (${n + 1}/${missing.length})`);
      files.push(await download(p, cacheDir));
    }
    layerFault("downloaded");
    onProgress(`Importing ${files.length} package${files.length === 1 ? "" : "s"}`);
    const r = await importPackages(repo, files);
    if (r.errors.length)
      throw refusedPackage(
        r.errors[0]!,
        files,
        missing.map((m) => m.p),
      );
    for (const [k, { p, i }] of missing.entries()) {
      const res = r.results[k];
      if (!res) throw new PackageFetchError(`${p.name}: import gave no result`);
      if (res.name !== p.name || res.version !== p.evr || res.arch !== p.arch)
        throw new PackageFetchError(
          `${files[k]} is ${res.name} ${res.version} (${res.arch}), but the repository index promised ${p.name} ${p.evr} (${p.arch}); the repository is inconsistent`,
        );
      out[i] = { pkg: p, commit: res.commit, fresh: true };
    }
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
  return out as ImportedPackage[];
}

/** A package file given on the command line, imported. */
export interface LocalImport {
  sha256: string;
  /** `NAME-EVR.ARCH`, for the origin file and messages. */
  nevra: string;
  name: string;
  commit: string;
}

/** Imports package files (a file imported before costs nothing); throws the first refusal. */
export async function importLocalFiles(repo: Repo, paths: string[]): Promise<LocalImport[]> {
  const r = await importPackages(repo, paths);
  if (r.errors.length) throw r.errors[0];
  return r.results.map((x, i) => {
    if (!x) throw new PackageFetchError(`${paths[i]}: import gave no result`);
    return { sha256: x.sha256, nevra: `${x.name}-${x.version}.${x.arch}`, name: x.name, commit: x.commit };
  });
}

/** The package commit imported from the file with this sha256, or null. */
export function commitBySha256(repo: Repo, sha256: string): string | null {
  for (const [ref, csum] of listRefs(repo)) {
    if (!ref.startsWith("tsostree/pkg/")) continue;
    if (metadataGet(repo.loadCommit(csum).metadata, "tsostree.pkg.sha256")?.value === sha256) return csum;
  }
  return null;
}

/** The package name of a requested package file (from its commit; the NEVRA text is ambiguous). */
export function localPackageName(repo: Repo, l: { sha256: string; nevra: string }): string {
  const c = commitBySha256(repo, l.sha256);
  const name = c ? metadataGet(repo.loadCommit(c).metadata, "tsostree.pkg.name")?.value : undefined;
  return typeof name === "string" ? name : l.nevra;
}
