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
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  type Stats,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { copyTree, diffTreeRecords, getXattr, listXattrs, setXattr } from "../util/native.js";
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

/**
 * ostree_diff_dirs(IGNORE_XATTRS) between two directory trees, walked on a pool thread
 * (native/diff_tree.c); paths relative, sorted by name.
 */
export async function diffDirs(orig: string, modified: string): Promise<EtcDiff> {
  const records = await diffTreeRecords(orig, modified);
  const d: EtcDiff = { modified: [], removed: [], added: [] };
  for (let i = 0; i < records.length; ) {
    const end = records.indexOf(0, i);
    const list = records[i] === 0x4d ? d.modified : records[i] === 0x52 ? d.removed : d.added;
    list.push(records.toString("utf8", i + 1, end));
    i = end + 1;
  }
  return d;
}

/**
 * The admin's changes to a deployment's /etc (its `etc` against its `usr/etc`; none when it lacks
 * either), for mergeEtc. Handled if it fails before anyone waits for it: start it early.
 */
export function etcChanges(mergeRoot: string): Promise<EtcDiff> {
  const origEtc = join(mergeRoot, "usr/etc");
  const modifiedEtc = join(mergeRoot, "etc");
  const p =
    existsSync(origEtc) && existsSync(modifiedEtc)
      ? diffDirs(origEtc, modifiedEtc)
      : Promise.resolve({ modified: [], removed: [], added: [] });
  p.catch(() => {});
  return p;
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

/** Replays the merge deployment's /etc changes (`d`, from etcChanges) onto the new deployment's /etc. */
export function mergeEtc(mergeRoot: string, newRoot: string, d: EtcDiff): EtcDiff {
  const modifiedEtc = join(mergeRoot, "etc");
  const newEtc = join(newRoot, "etc");
  if (!existsSync(newEtc)) return { modified: [], removed: [], added: [] };
  for (const r of d.removed) rmSync(join(newEtc, r), { recursive: true, force: true });
  for (const r of d.modified)
    if (isAccountMerge(mergeRoot, newRoot, r)) mergeAccountFile(mergeRoot, newRoot, r);
    else copyModified(modifiedEtc, newEtc, r);
  for (const r of d.added) copyModified(modifiedEtc, newEtc, r);
  return d;
}
