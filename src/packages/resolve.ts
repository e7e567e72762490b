// Backend-neutral front of the resolver: requests in, transaction out, printed the way the CLI and
// tests want it. The backend supplies the world (dialect, repositories, installed set).
import type { Dialect, PackageSet, PkgVersion } from "./index.js";
import { Solver } from "./solver.js";
import { type InstallRequest, type Transaction, UnsolvableError } from "./solver-types.js";
import { Universe } from "./universe.js";

export interface World {
  dialect: Dialect;
  repos: PackageSet[];
  installed: PackageSet;
  /** Loads more metadata (rpm filelists) when a resolution failed for want of it; false when none. */
  extend?: () => Promise<boolean>;
}

/** An empty installed set, for resolving against nothing (a tree without a package database). */
export const EMPTY_SET: PackageSet = {
  id: "@installed",
  byName: () => [],
  providers: () => [],
  all: () => [],
};

/** `name`, `name=version`, `name:arch` (deb) as on apt's command line. */
export function parseRequest(text: string): InstallRequest {
  const eq = text.indexOf("=");
  const spec = eq >= 0 ? text.slice(0, eq) : text;
  const version = eq >= 0 ? text.slice(eq + 1) : undefined;
  const colon = spec.indexOf(":");
  return colon >= 0
    ? { name: spec.slice(0, colon), arch: spec.slice(colon + 1), version }
    : { name: spec, version };
}

export function resolve(
  world: World,
  requests: InstallRequest[],
  opts: { recommends: boolean },
): Transaction {
  const u = new Universe(world.dialect, world.repos, world.installed);
  return new Solver(u, opts).solve(requests);
}

/** resolve(), retried once with more metadata when a file dependency may need the full file lists. */
export async function resolveWithRetry(
  world: World,
  requests: InstallRequest[],
  opts: { recommends: boolean },
): Promise<Transaction> {
  try {
    return resolve(world, requests, opts);
  } catch (e) {
    if (!(e instanceof UnsolvableError) || !world.extend || !e.chain.some((l) => / \//.test(l))) throw e;
    if (!(await world.extend())) throw e;
    return resolve(world, requests, opts);
  }
}

export interface TxEntry {
  name: string;
  version: string;
  arch: string;
}

function entry(v: PkgVersion): TxEntry {
  return { name: v.name, version: v.evr, arch: v.arch };
}

export function transactionJson(t: Transaction): {
  install: TxEntry[];
  upgrade: TxEntry[];
  remove: TxEntry[];
} {
  return {
    install: t.install.map(entry),
    upgrade: t.upgrade.map((u) => entry(u.to)),
    remove: t.remove.map(entry),
  };
}

export function transactionText(t: Transaction): string[] {
  const out: string[] = [];
  for (const v of t.unchanged) out.push(`${v.name} is already the newest version (${v.evr})`);
  for (const v of t.install) out.push(`Install ${v.name} ${v.evr} (${v.arch})`);
  for (const u of t.upgrade) out.push(`Upgrade ${u.to.name} ${u.from.evr} -> ${u.to.evr} (${u.to.arch})`);
  for (const v of t.remove) out.push(`Remove ${v.name} ${v.evr} (${v.arch})`);
  out.push(`${t.install.length} to install, ${t.upgrade.length} to upgrade, ${t.remove.length} to remove`);
  return out;
}
