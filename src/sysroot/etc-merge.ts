// /etc handling (`prepare_deployment_etc`, `merge_configuration_from`). A new deployment gets a real
// copy of its `usr/etc` defaults as `etc` (copies, never hardlinks: admins edit /etc in place, and a
// hardlink would edit the repo object). Then the admin's changes — the difference between the merge
// deployment's `usr/etc` and its `etc` — are replayed on top: removed stays removed, modified and
// added files are copied over (the local edit wins; there is no line-level merge), except the
// account files (passwd, group, shadow, gshadow), merged by entry (etc-accounts.ts).
import {
  chmodSync,
  chownSync,
  copyFileSync,
  type Dirent,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  type Stats,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { copyTree, getXattr, listXattrs, setXattr } from "../util/native.js";
import { isAccountMerge, mergeAccountFile } from "./etc-accounts.js";

export class EtcMergeError extends Error {
  override name = "EtcMergeError";
}

export interface EtcDiff {
  modified: string[];
  removed: string[];
  added: string[];
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

function kind(st: Stats): string {
  return st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : st.isFile() ? "f" : "o";
}

/** Same as ostree's checksum comparison with xattrs ignored: type, owner, mode, content/target. */
function sameFile(a: string, sa: Stats, b: string, sb: Stats): boolean {
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  if (sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid) return false;
  if (sa.isDirectory()) return true;
  if (sa.isSymbolicLink()) return readlinkSync(a, "utf8") === readlinkSync(b, "utf8");
  if (sa.size !== sb.size) return false;
  return readFileSync(a).equals(readFileSync(b));
}

function sortedEntries(dir: string): Dirent[] {
  return readdirSync(dir, { withFileTypes: true }).sort((x, y) =>
    x.name < y.name ? -1 : x.name > y.name ? 1 : 0,
  );
}

function addAll(root: string, rel: string, out: string[]): void {
  for (const e of sortedEntries(join(root, rel))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push(r);
    if (e.isDirectory()) addAll(root, r, out);
  }
}

/** ostree_diff_dirs(IGNORE_XATTRS) between two directory trees; paths relative, sorted by name. */
export function diffDirs(orig: string, modified: string, rel = "", out?: EtcDiff): EtcDiff {
  const d = out ?? { modified: [], removed: [], added: [] };
  const a = join(orig, rel);
  const b = join(modified, rel);
  for (const e of sortedEntries(a)) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const sb = lstatOrNull(join(b, e.name));
    if (!sb) {
      d.removed.push(r);
      continue;
    }
    const sa = lstatSync(join(a, e.name));
    if (kind(sa) !== kind(sb)) {
      d.modified.push(r);
      continue;
    }
    if (!sameFile(join(a, e.name), sa, join(b, e.name), sb)) d.modified.push(r);
    if (sa.isDirectory()) diffDirs(orig, modified, r, d);
  }
  for (const e of sortedEntries(b)) {
    if (lstatOrNull(join(a, e.name))) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    d.added.push(r);
    if (e.isDirectory()) addAll(modified, r, d.added);
  }
  return d;
}

function copyXattrs(src: string, dest: string): void {
  for (const name of listXattrs(src)) {
    const v = getXattr(src, name);
    if (v) setXattr(dest, name, v);
  }
}

function own(dest: string, st: Stats, link = false): void {
  try {
    if (link) lchownSync(dest, st.uid, st.gid);
    else chownSync(dest, st.uid, st.gid);
  } catch (e) {
    // Unprivileged sandboxes cannot give files away; the tree is theirs anyway.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") throw e;
  }
}

/** Copies one file, symlink or directory tree with owner, mode and xattrs (never a hardlink). */
export function copyPreserving(src: string, dest: string): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { mode: 0o700 });
    for (const e of readdirSync(src)) copyPreserving(join(src, e), join(dest, e));
    copyXattrs(src, dest);
    own(dest, st);
    chmodSync(dest, st.mode & 0o7777);
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dest);
    own(dest, st, true);
  } else if (st.isFile()) {
    copyFileSync(src, dest);
    copyXattrs(src, dest);
    own(dest, st);
    chmodSync(dest, st.mode & 0o7777);
  }
  // Device nodes, fifos and sockets are skipped, as ostree does during the merge.
}

/**
 * Creates `etc` in a fresh deployment from its `usr/etc` (renaming a lone /etc first, like ostree);
 * the copy runs on a pool thread (copyTree), with copyPreserving's rules.
 */
export async function prepareEtc(root: string): Promise<void> {
  const etc = join(root, "etc");
  const usrEtc = join(root, "usr/etc");
  const hasEtc = !!lstatOrNull(etc);
  const hasUsrEtc = !!lstatOrNull(usrEtc);
  if (hasEtc) {
    if (hasUsrEtc)
      throw new EtcMergeError("Tree contains both /etc and /usr/etc; ship config in /usr/etc only");
    renameSync(etc, usrEtc);
  }
  if (hasEtc || hasUsrEtc) await copyTree(usrEtc, etc);
}

function ensureParents(modifiedEtc: string, newEtc: string, relDir: string): void {
  if (relDir === "." || relDir === "") return;
  const dest = join(newEtc, relDir);
  if (lstatOrNull(dest)) return;
  ensureParents(modifiedEtc, newEtc, dirname(relDir));
  const st = lstatSync(join(modifiedEtc, relDir));
  mkdirSync(dest, { mode: 0o700 });
  copyXattrs(join(modifiedEtc, relDir), dest);
  own(dest, st);
  chmodSync(dest, st.mode & 0o7777);
}

function copyModified(modifiedEtc: string, newEtc: string, rel: string): void {
  const src = join(modifiedEtc, rel);
  const sm = lstatSync(src);
  ensureParents(modifiedEtc, newEtc, dirname(rel));
  const dest = join(newEtc, rel);
  const sn = lstatOrNull(dest);
  if (sn?.isDirectory()) {
    if (!sm.isDirectory())
      throw new EtcMergeError(
        `Modified config file newly defaults to directory '${rel}', cannot merge; move your /etc/${rel} aside and deploy again`,
      );
    return;
  }
  if (sn) unlinkSync(dest);
  copyPreserving(src, dest);
}

/** Replays the merge deployment's /etc changes onto the new deployment's /etc. */
export function mergeEtc(mergeRoot: string, newRoot: string): EtcDiff {
  const origEtc = join(mergeRoot, "usr/etc");
  const modifiedEtc = join(mergeRoot, "etc");
  const newEtc = join(newRoot, "etc");
  if (!existsSync(origEtc) || !existsSync(modifiedEtc) || !existsSync(newEtc))
    return { modified: [], removed: [], added: [] };
  const d = diffDirs(origEtc, modifiedEtc);
  for (const r of d.removed) rmSync(join(newEtc, r), { recursive: true, force: true });
  for (const r of d.modified)
    if (isAccountMerge(mergeRoot, newRoot, r)) mergeAccountFile(mergeRoot, newRoot, r);
    else copyModified(modifiedEtc, newEtc, r);
  for (const r of d.added) copyModified(modifiedEtc, newEtc, r);
  return d;
}
