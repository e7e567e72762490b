// How ostree's commit modifier rewrites what it reads from disk or from an archive before hashing:
// --owner-uid/--owner-gid replace ownership; --canonical-permissions (forced in bare-user-only
// repos) zeroes ownership, masks regular files and directories to 0755 (dropping setuid, setgid,
// sticky and group/world write) and drops xattrs; --no-xattrs drops xattrs only.
import { type DirMeta, type FileMeta, S_IFDIR, S_IFLNK, S_IFMT, type Xattrs } from "./objects.js";
import type { RepoMode } from "./repo.js";

export interface CommitModifier {
  ownerUid?: number;
  ownerGid?: number;
  canonicalPermissions?: boolean;
  noXattrs?: boolean;
}

export interface ResolvedModifier {
  ownerUid: number | undefined;
  ownerGid: number | undefined;
  canonical: boolean;
  skipXattrs: boolean;
  /** True when nothing is rewritten: on-disk metadata is committed as it is. */
  identity: boolean;
}

export class CommitOptionError extends Error {
  override name = "CommitOptionError";
}

export function resolveModifier(mode: RepoMode, m: CommitModifier = {}): ResolvedModifier {
  const canonical = !!m.canonicalPermissions || mode === "bare-user-only";
  if (canonical && (m.ownerUid ?? 0) > 0)
    throw new CommitOptionError("Cannot specify both --canonical-permissions and non-zero --owner-uid");
  if (canonical && (m.ownerGid ?? 0) > 0)
    throw new CommitOptionError("Cannot specify both --canonical-permissions and non-zero --owner-gid");
  const ownerUid = m.ownerUid !== undefined && m.ownerUid >= 0 ? m.ownerUid : undefined;
  const ownerGid = m.ownerGid !== undefined && m.ownerGid >= 0 ? m.ownerGid : undefined;
  const skipXattrs = canonical || !!m.noXattrs;
  return {
    ownerUid,
    ownerGid,
    canonical,
    skipXattrs,
    identity: !canonical && !skipXattrs && ownerUid === undefined && ownerGid === undefined,
  };
}

/** uid/gid/mode after the modifier, for any entry type (the mode keeps its S_IFMT bits). */
export function modifyStat(
  r: ResolvedModifier,
  mode: number,
  uid: number,
  gid: number,
): { mode: number; uid: number; gid: number } {
  if (r.ownerUid !== undefined) uid = r.ownerUid;
  if (r.ownerGid !== undefined) gid = r.ownerGid;
  if (r.canonical) {
    if ((mode & S_IFMT) !== S_IFLNK) mode = (mode & S_IFMT) | (mode & 0o755);
    uid = 0;
    gid = 0;
  }
  return { mode, uid, gid };
}

export function fileMeta(
  r: ResolvedModifier,
  mode: number,
  uid: number,
  gid: number,
  symlinkTarget: string,
  xattrs: Xattrs,
): FileMeta {
  const s = modifyStat(r, mode, uid, gid);
  return { ...s, symlinkTarget, xattrs: r.skipXattrs ? [] : xattrs };
}

export function dirMeta(
  r: ResolvedModifier,
  mode: number,
  uid: number,
  gid: number,
  xattrs: Xattrs,
): DirMeta {
  const s = modifyStat(r, (mode & ~S_IFMT) | S_IFDIR, uid, gid);
  return { ...s, xattrs: r.skipXattrs ? [] : xattrs };
}
