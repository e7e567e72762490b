// `tsostree-pkg db list | diff`: package sets of commits, read from the package database inside each
// commit (no checkout). A revision is a commit, a ref, or a deployment: an index from `status`, or
// `booted`, `pending`, `rollback`.
import { backendByKind } from "../packages/backends.js";
import { type DbDiff, type DbPackageSummary, diffPackages, type PackageDb } from "../packages/pkgdb.js";
import { readPackageDb } from "../packages/pkgdb-repo.js";
import { resolveRev } from "../repo/refs.js";
import type { Sysroot } from "../sysroot/sysroot.js";

export class DbError extends Error {
  override name = "DbError";
}

/** The deployment commands default to: the booted one, else the default (first) one. */
function current(s: Sysroot): string {
  const d = s.booted ?? s.deployments[0];
  if (!d) throw new DbError("the sysroot has no deployments; give a commit or ref");
  return d.csum;
}

export function resolveDbRev(s: Sysroot, rev: string | undefined): string {
  if (rev === undefined) return current(s);
  if (/^[0-9]+$/.test(rev) || ["booted", "pending", "rollback"].includes(rev)) {
    if (!s.booted && (rev === "pending" || rev === "rollback")) {
      // Not booted: the default deployment stands for the booted one.
      const d = rev === "pending" ? null : s.deployments[1];
      if (!d)
        throw new DbError(`no ${rev} deployment (the sysroot is not booted; see \`tsostree-pkg status\`)`);
      return d.csum;
    }
    if (!s.booted && rev === "booted") return current(s);
    return s.deploymentAt(rev).csum;
  }
  const c = resolveRev(s.repo, rev, true);
  if (!c) throw new DbError(`${rev}: no such commit, ref or deployment; see \`tsostree-pkg status\``);
  return c;
}

export function openDb(s: Sysroot, commit: string): PackageDb {
  const db = readPackageDb(s.repo, commit);
  if (!db)
    throw new DbError(
      `commit ${commit.slice(0, 12)} has no package database; it was not made by \`tsostree-pkg compose rootfs\` or layering`,
    );
  return db;
}

export function listPackages(s: Sysroot, rev: string | undefined, patterns: string[]): DbPackageSummary[] {
  const db = openDb(s, resolveDbRev(s, rev));
  try {
    if (!patterns.length) return db.packages();
    const seen = new Map<string, DbPackageSummary>();
    for (const p of patterns) for (const x of db.packages(p)) seen.set(`${x.name}\0${x.arch}`, x);
    return [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } finally {
    db.close();
  }
}

/** The default pair: booted → pending; not booted: the previous deployment → the default one. */
export function defaultDiffRevs(s: Sysroot): [string, string] {
  if (s.booted) {
    const os = s.booted.osname;
    const pending = s.queryDeploymentsFor(os).pending;
    if (!pending) throw new DbError("no pending deployment to compare with; give FROM and TO");
    return [s.booted.csum, pending.csum];
  }
  const [to, from] = s.deployments;
  if (!to || !from) throw new DbError("the sysroot needs two deployments to compare; give FROM and TO");
  return [from.csum, to.csum];
}

export function diffRevs(
  s: Sysroot,
  from: string | undefined,
  to: string | undefined,
): DbDiff & { from: string; to: string } {
  const [a, b] =
    from === undefined
      ? defaultDiffRevs(s)
      : [resolveDbRev(s, from), to === undefined ? current(s) : resolveDbRev(s, to)];
  const da = openDb(s, a);
  const db = openDb(s, b);
  try {
    const pa = da.packages();
    const pb = db.packages();
    const kind = pb[0]?.kind ?? pa[0]?.kind ?? "deb";
    const backend = backendByKind(kind);
    return { from: a, to: b, ...diffPackages(pa, pb, (x, y) => backend.compareVersions(x, y)) };
  } finally {
    da.close();
    db.close();
  }
}
