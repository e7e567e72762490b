// The package database record of a layered package: identity and relations from its commit's
// metadata, files from what the union brought (as the package names them: /etc/nanorc, not
// /usr/etc/nanorc), each with its ostree content checksum.
import type { DbFile, DbPackage } from "../packages/pkgdb.js";
import { S_IFLNK, S_IFMT } from "../repo/objects.js";
import type { PackageCommitMeta } from "./package-meta.js";
import type { UnionRecord } from "./union.js";

/** Splits a provides term (`name (= 1.0)`, `name = 1.0`, `name`) into name and version. */
function parseProvide(text: string): { name: string; version: string } {
  const m = /^\s*([^\s(=<>]+)\s*(?:\(?\s*=\s*([^)\s]+)\s*\)?)?/.exec(text);
  return { name: m?.[1] ?? text.trim(), version: m?.[2] ?? "" };
}

export function layeredRecord(
  meta: PackageCommitMeta,
  commit: string,
  rec: UnionRecord,
  requested: boolean,
  fileMeta: (csum: string) => { mode: number; uid: number; gid: number; symlinkTarget: string },
): DbPackage {
  const conffiles = new Set(meta.conffiles);
  const owner = (path: string, uid: number, gid: number): [string, string] =>
    meta.owners.get(path) ?? [uid === 0 ? "root" : String(uid), gid === 0 ? "root" : String(gid)];
  const files: DbFile[] = [];
  for (const d of rec.dirs) files.push({ path: d, type: "dir", mode: 0o755, user: "root", group: "root" });
  for (const f of rec.files) {
    const m = fileMeta(f.csum);
    const [user, group] = owner(f.path, m.uid, m.gid);
    const link = (m.mode & S_IFMT) === S_IFLNK;
    files.push({
      path: f.path,
      type: link ? "symlink" : "file",
      mode: m.mode & 0o7777,
      user,
      group,
      digest: `sha256:${f.csum}`,
      target: link ? m.symlinkTarget : undefined,
      conffile: conffiles.has(f.path) || undefined,
    });
  }
  const { provides = [], ...rest } = meta.relations;
  return {
    kind: meta.kind,
    name: meta.name,
    epoch: meta.epoch,
    version: meta.version,
    release: meta.release,
    evr: meta.evr,
    arch: meta.arch,
    summary: meta.summary,
    origin: "layered",
    requested,
    commit,
    sha256: meta.sha256,
    provides: provides.map(parseProvide),
    requires: Object.entries(rest).flatMap(([kind, terms]) => terms.map((text) => ({ kind, text }))),
    scripts: meta.scripts,
    files,
  };
}
