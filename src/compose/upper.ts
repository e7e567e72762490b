// Applying an overlayfs upper directory to a MutableTree: what scripts changed in the sandbox
// (sandbox.ts) becomes objects of the transaction and entries of the tree. The upper dir holds
// exactly the changes: new and changed files (copied up whole: metacopy is off), whiteouts (char
// device 0/0) for removals, opaque directories (their lower content is gone), and directories that
// were copied up only because something below them changed.
import { type Dirent, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { MutableTree } from "../repo/mtree.js";
import {
  type DirMeta,
  type FileMeta,
  parseBareUserMeta,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  serializeDirMeta,
  type Xattrs,
} from "../repo/objects.js";
import type { StagingScope, Transaction } from "../repo/transaction.js";
import { getXattr, listXattrs } from "../util/native.js";

export interface UpperOptions {
  /** The read-only lower directories the overlay was mounted on, top first (together: `tree`). */
  lower: string[];
  /**
   * Paths (relative, no leading slash) that were mount points inside the sandbox (/dev, /proc, a
   * bound /etc…): whatever the upper has there was made by the sandbox, not by a script.
   */
  skip: ReadonlySet<string>;
  /**
   * Unprivileged capture (the overlay was mounted in a user namespace with `userxattr`): the
   * files on disk belong to this uid/gid, which was root inside; nobody there could give a file
   * to another owner, so a file that replaces one keeps its owner, and only a mode that differs
   * from the checkout's counts as changed (a bare-user checkout cannot show setuid bits).
   */
  unprivileged?: { uid: number; gid: number };
}

export interface UpperStats {
  /** Files and symlinks added or replaced. */
  written: number;
  removed: number;
  /** Directories created or whose metadata changed. */
  dirs: number;
  /** Paths the tree cannot hold (fifos, sockets, device nodes), left out. */
  skipped: string[];
}

type Writer = Transaction | StagingScope;

const txOf = (w: Writer): Transaction => ("tx" in w ? w.tx : w);

/** Files above this size are hashed from disk by the transaction's workers, not read whole. */
const READ_WHOLE_MAX = 1 << 20;

/** Applies the overlay upper dir `upper` to `tree`, storing new content through `writer`. */
export async function applyUpper(
  upper: string,
  tree: MutableTree,
  writer: Writer,
  opts: UpperOptions,
): Promise<UpperStats> {
  const stats: UpperStats = { written: 0, removed: 0, dirs: 0, skipped: [] };
  const prefix = opts.unprivileged ? "user.overlay." : "trusted.overlay.";
  const tx = txOf(writer);

  const xattrsOf = (p: string): Xattrs => {
    const out: Xattrs = [];
    for (const name of listXattrs(p).sort()) {
      if (name.startsWith(prefix) || name === "user.ostreemeta") continue;
      const v = getXattr(p, name);
      if (v) out.push([name, v]);
    }
    return out;
  };

  const owner = (st: Stats): { uid: number; gid: number } =>
    opts.unprivileged
      ? {
          uid: st.uid === opts.unprivileged.uid ? 0 : st.uid,
          gid: st.gid === opts.unprivileged.gid ? 0 : st.gid,
        }
      : { uid: st.uid, gid: st.gid };

  const lowerMode = (rel: string): number | null => {
    for (const l of opts.lower) {
      const st = lstatSync(join(l, rel), { throwIfNoEntry: false });
      if (st) return st.mode;
    }
    return null;
  };

  /** The metadata a changed file gets; `old` is the content checksum it replaces, if any. */
  const fileMeta = (p: string, rel: string, st: Stats, old: string | null): FileMeta => {
    const symlinkTarget = st.isSymbolicLink() ? readlinkSync(p, "utf8") : "";
    const mode = st.isSymbolicLink() ? S_IFLNK | 0o777 : S_IFREG | (st.mode & 0o7777);
    if (!opts.unprivileged) return { ...owner(st), mode, symlinkTarget, xattrs: xattrsOf(p) };
    // A copied-up file of a bare-user checkout still carries the object's own metadata.
    const carried = getXattr(p, "user.ostreemeta");
    const before = carried
      ? parseBareUserMeta(carried)
      : old !== null && !st.isSymbolicLink()
        ? tx.loadFile(old).meta
        : null;
    if (!before || (before.mode & S_IFMT) !== (mode & S_IFMT))
      return { ...owner(st), mode, symlinkTarget, xattrs: xattrsOf(p) };
    const unchangedMode = lowerMode(rel) === st.mode;
    return {
      uid: before.uid,
      gid: before.gid,
      mode: unchangedMode ? before.mode : mode,
      symlinkTarget,
      xattrs: before.xattrs,
    };
  };

  const storeFile = async (p: string, meta: FileMeta, st: Stats): Promise<string> => {
    if (st.isSymbolicLink() || st.size <= READ_WHOLE_MAX) {
      const data = st.isSymbolicLink() ? Buffer.alloc(0) : readFileSync(p);
      return writer.writeContentSync(meta, data);
    }
    return tx.writeContentFromPath(
      { src: p, meta, size: st.size, readXattrs: false, adopt: false },
      true,
      "tx" in writer ? writer : undefined,
    );
  };

  const dirMetaFor = (p: string, rel: string, st: Stats, old: string | null): string | null => {
    const before: DirMeta | null = old ? tx.loadDirMeta(old) : null;
    const mode = S_IFDIR | (st.mode & 0o7777);
    let next: DirMeta;
    if (opts.unprivileged) {
      if (before && lowerMode(rel) === st.mode) return null;
      next = before ? { ...before, mode } : { ...owner(st), mode, xattrs: xattrsOf(p) };
    } else {
      if (before && before.mode === mode && before.uid === st.uid && before.gid === st.gid) return null;
      next = { uid: st.uid, gid: st.gid, mode, xattrs: before ? before.xattrs : xattrsOf(p) };
    }
    return writer.writeMetadata("dirmeta", serializeDirMeta(next));
  };

  const visit = async (dir: MutableTree, rel: string): Promise<void> => {
    const path = join(upper, rel);
    const entries: Dirent[] = readdirSync(path, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (opts.skip.has(r)) continue;
      const p = join(upper, r);
      const st = lstatSync(p);
      const cur = dir.child(e.name);
      if (st.isCharacterDevice() && st.rdev === 0) {
        if (dir.removeChild(e.name)) stats.removed++;
        continue;
      }
      if (st.isDirectory()) {
        const opaque = getXattr(p, `${prefix}opaque`)?.toString() === "y";
        let node: MutableTree;
        if (cur?.kind === "dir" && !opaque) {
          node = cur.tree;
          const meta = dirMetaFor(p, r, st, node.metadataChecksum);
          if (meta) {
            node.setMetadata(meta);
            stats.dirs++;
          }
        } else {
          // New, replacing a file, or opaque: what was there before is gone.
          const old = cur?.kind === "dir" ? cur.tree.metadataChecksum : null;
          if (cur && dir.removeChild(e.name)) stats.removed++;
          const meta = dirMetaFor(p, r, st, old) ?? old;
          node = dir.ensureChild(e.name, meta);
          stats.dirs++;
        }
        await visit(node, r);
        continue;
      }
      if (!st.isFile() && !st.isSymbolicLink()) {
        stats.skipped.push(r);
        continue;
      }
      const old = cur?.kind === "file" ? cur.checksum : null;
      const csum = await storeFile(p, fileMeta(p, r, st, old), st);
      if (cur?.kind === "dir") dir.removeChild(e.name);
      dir.replaceFile(e.name, csum);
      stats.written++;
    }
  };

  await visit(tree, "");
  return stats;
}
