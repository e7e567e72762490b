// What a layered commit says about itself in its metadata (written by steps.ts): its base commit and
// the packages it layers. Read without a checkout, by status, db, cleanup and upgrade.
import { metadataGet } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";

export interface LayeredPackageStatus {
  name: string;
  version: string;
  arch: string;
}

/** The base commit under a deployment's commit: the parent of a layered commit, else itself. */
export function baseOf(repo: Repo, csum: string): string {
  const c = repo.loadCommit(csum);
  const base = metadataGet(c.metadata, "tsostree.base-commit")?.value;
  return typeof base === "string" ? base : csum;
}

export function layeredPackagesOf(repo: Repo, csum: string): LayeredPackageStatus[] {
  const v = metadataGet(repo.loadCommit(csum).metadata, "tsostree.layered-packages")?.value;
  if (!Array.isArray(v)) return [];
  return (v as [string, string, string][]).map(([name, version, arch]) => ({ name, version, arch }));
}
