// The native package database of a layered tree, so that dpkg and rpm keep telling the truth on
// the deployed system: dpkg's status stanzas and info/ files (usr/share/dpkg/database), or the
// headers in rpm's sqlite rpmdb (usr/lib/sysimage/rpm). Written before the scripts run, since
// maintainer scripts query them (dpkg-query, dpkg-trigger, rpm -q).
import { createHash } from "node:crypto";
import { dpkgInfoFiles, dpkgStatusInstall, dpkgStatusRemove } from "../../backends/deb/dpkg-db-write.js";
import { rpmdbCreate, rpmdbInstall, rpmdbRemove } from "../../backends/rpm/rpmdb-write.js";
import type { PackageKind } from "../packages/model.js";
import type { AssemblyContext } from "./assemble.js";
import type { PackageCommitMeta } from "./package-meta.js";
import { readTreeFile } from "./tree-file.js";
import { NATIVE_DB } from "./world.js";

export class NativeDbError extends Error {
  override name = "NativeDbError";
}

const DPKG_INFO = "usr/share/dpkg/database/info";

/** A file of the tree as the package names it (/etc/x lives at usr/etc/x). */
function packageFile(ctx: AssemblyContext, path: string): Buffer | null {
  const rel = path.replace(/^\/+/, "");
  return readTreeFile(ctx.root, ctx.tx, rel.startsWith("etc/") ? `usr/${rel}` : rel);
}

function dpkgStep(
  ctx: AssemblyContext,
  metas: PackageCommitMeta[],
  removed: { name: string; arch?: string }[],
): void {
  let status = readTreeFile(ctx.root, ctx.tx, NATIVE_DB.deb) ?? Buffer.alloc(0);
  const info = ctx.root.lookup(DPKG_INFO);
  const infoNames = info?.kind === "dir" ? info.tree.entries().files.map(([n]) => n) : [];
  for (const r of removed)
    for (const n of infoNames) {
      // `NAME.TYPE`, or `NAME:ARCH.TYPE` for Multi-Arch: same (dpkgInfoNames needs the arch we may lack).
      const base = n.slice(0, n.lastIndexOf("."));
      if (base === r.name || base.startsWith(`${r.name}:`)) ctx.root.remove(`${DPKG_INFO}/${n}`);
    }
  status = dpkgStatusRemove(status, removed);
  const installed = metas.map((m, i) => {
    const members = m.debControl;
    const control = members?.find(([n]) => n === "control")?.[1];
    if (!members || !control)
      throw new NativeDbError(`${m.name} ${m.evr}: its package commit has no control record; re-import it`);
    const rec = ctx.records[i]!;
    const paths = ["/.", ...[...rec.dirs, ...rec.files.map((f) => f.path)].sort()];
    const multiArch = /^Multi-Arch:\s*(\S+)/m.exec(control.toString("utf8"))?.[1];
    for (const [name, f] of dpkgInfoFiles({
      name: m.name,
      arch: m.arch,
      multiArch,
      controlMembers: members,
      paths,
    }))
      ctx.putFile(`${DPKG_INFO}/${name}`, f.data, f.mode);
    const conffiles = m.conffiles.map((path) => {
      const data = packageFile(ctx, path);
      return { path, md5: data ? createHash("md5").update(data).digest("hex") : "newconffile" };
    });
    return { control, conffiles };
  });
  ctx.putFile(NATIVE_DB.deb, dpkgStatusInstall(status, installed));
}

function rpmStep(
  ctx: AssemblyContext,
  metas: PackageCommitMeta[],
  removed: { name: string; arch?: string }[],
  installTime: number,
): void {
  let db = readTreeFile(ctx.root, ctx.tx, NATIVE_DB.rpm) ?? rpmdbCreate();
  if (removed.length) db = rpmdbRemove(db, removed);
  const headers = metas.map((m) => {
    if (!m.rpmHeader)
      throw new NativeDbError(`${m.name} ${m.evr}: its package commit has no header; re-import it`);
    return m.rpmHeader;
  });
  ctx.putFile(NATIVE_DB.rpm, rpmdbInstall(db, headers, { installTime }));
}

/**
 * The step that records `metas` (the layered packages, in ctx.packages order) and drops `removed`
 * (base packages removed by an override) in the tree's native database.
 */
export function nativeDbStep(
  kind: PackageKind,
  metas: PackageCommitMeta[],
  removed: { name: string; arch?: string }[] = [],
): (ctx: AssemblyContext) => void {
  return (ctx) => {
    if (kind === "deb") dpkgStep(ctx, metas, removed);
    // The base's time, not now: the same request on the same base gives the same commit.
    else rpmStep(ctx, metas, removed, ctx.repo.loadCommit(ctx.base).timestamp);
  };
}
