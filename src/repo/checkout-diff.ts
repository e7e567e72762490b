// Turning a checkout of one commit into a checkout of another in place: only the directories whose
// dirtree or dirmeta checksums differ are visited, so the cost follows the size of the change (a
// layered commit over its base: the packages' files and the package databases), not of the tree.
// The result is the tree a fresh checkout of `to` gives with the same options: the same entries,
// modes, owners and xattrs, and ostree's mtime 0 on every directory touched. Files are replaced by
// unlink + link (or copy), never written in place: they share inodes with the object store.
import { accessSync, chmodSync, constants, lstatSync, rmSync } from "node:fs";
import { Checkout, CheckoutError, type CheckoutOptions } from "./checkout.js";
import { compareBytes, visitDirTree } from "./dirtree-reader.js";
import { resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";
import { lookupPath, rootEntry } from "./walk.js";

export interface CheckoutDiffStats {
  /** Directories whose entries or metadata were compared. */
  dirs: number;
  /** Files placed into directories that existed (added or replaced); new subtrees not counted. */
  placed: number;
  /** Files and directories removed. */
  removed: number;
}

/**
 * Makes `dest`, a complete checkout of `from` (made with the same `opts`), a checkout of `to`
 * (of their `opts.subpath`, which must be a directory in both). `opts.union` is implied. A failure
 * leaves `dest` partly changed: callers discard it.
 */
export async function applyCheckoutDiff(
  repo: Repo,
  from: string,
  to: string,
  dest: string,
  opts: Omit<CheckoutOptions, "union" | "unionAdd" | "intoEmpty" | "allowNoent">,
): Promise<CheckoutDiffStats> {
  const entry = (rev: string) => {
    const root = rootEntry(repo, resolveRev(repo, rev) as string);
    return opts.subpath && opts.subpath !== "/" ? lookupPath(repo, root, opts.subpath) : root;
  };
  const a = entry(from);
  const b = entry(to);
  const stats: CheckoutDiffStats = { dirs: 0, placed: 0, removed: 0 };
  if (a.kind !== "dir" || b.kind !== "dir")
    throw new CheckoutError(`${opts.subpath} is not a directory in both commits`);
  const co = new Checkout(repo, { ...opts, union: true });
  update(repo, co, stats, dest, a, b);
  await co.finish();
  return stats;
}

type DirEntry = { tree: string; meta: string };

/** A dirtree entry as offsets into the dirtree's bytes: name b[name, nameEnd); csum, or tree and meta. */
interface RawEntry {
  dir: boolean;
  name: number;
  nameEnd: number;
  csum: number;
  meta: number;
}

/** A dirtree's files and directories in one list, in name order (the order of each array). */
function rawEntries(b: Buffer): RawEntry[] {
  const files: RawEntry[] = [];
  const dirs: RawEntry[] = [];
  visitDirTree(b, {
    file: (_b, name, nameEnd, csum) => files.push({ dir: false, name, nameEnd, csum, meta: -1 }),
    dir: (_b, name, nameEnd, tree, meta) => dirs.push({ dir: true, name, nameEnd, csum: tree, meta }),
  });
  if (!dirs.length) return files;
  if (!files.length) return dirs;
  const out: RawEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < files.length || j < dirs.length) {
    if (j === dirs.length || (i < files.length && compareNames(b, files[i]!, b, dirs[j]!) < 0))
      out.push(files[i++]!);
    else out.push(dirs[j++]!);
  }
  return out;
}

/** strcmp of two entries' names, each in its dirtree's bytes. */
function compareNames(a: Buffer, x: RawEntry, b: Buffer, y: RawEntry): number {
  return compareBytes(a, x.name, x.nameEnd, b, y.name, y.nameEnd);
}

function sameChecksum(a: Buffer, x: number, c: Buffer, y: number): boolean {
  for (let i = 0; i < 32; i++) if (a[x + i] !== c[y + i]) return false;
  return true;
}

/**
 * Brings the directory at `path` from `a` to `b`: a merge of the two dirtrees' sorted entries, on
 * their bytes (names and checksums become strings only for what changed: a package adds a handful
 * of entries to directories of thousands).
 */
function update(
  repo: Repo,
  co: Checkout,
  stats: CheckoutDiffStats,
  path: string,
  a: DirEntry,
  b: DirEntry,
): void {
  if (a.tree === b.tree && a.meta === b.meta) return;
  stats.dirs++;
  if (a.tree !== b.tree) {
    writable(path);
    const ob = repo.readMetadataBytes(a.tree, "dirtree");
    const nb = repo.readMetadataBytes(b.tree, "dirtree");
    const olds = rawEntries(ob);
    const news = rawEntries(nb);
    const at = (buf: Buffer, e: RawEntry) => `${path}/${buf.toString("utf8", e.name, e.nameEnd)}`;
    const hex = (buf: Buffer, off: number) => buf.toString("hex", off, off + 32);
    const place = (e: RawEntry) => {
      if (e.dir) {
        const name = nb.toString("utf8", e.name, e.nameEnd);
        co.dir(
          { kind: "dir", name, path: "", tree: hex(nb, e.csum), meta: hex(nb, e.meta) },
          `${path}/${name}`,
          false,
        );
        return;
      }
      // A file replaces the link that is there itself (union).
      co.file(hex(nb, e.csum), at(nb, e));
      stats.placed++;
    };
    let i = 0;
    let j = 0;
    while (i < olds.length || j < news.length) {
      const c = i === olds.length ? 1 : j === news.length ? -1 : compareNames(ob, olds[i]!, nb, news[j]!);
      if (c < 0) remove(at(ob, olds[i++]!), stats);
      else if (c > 0) place(news[j++]!);
      else {
        const o = olds[i++]!;
        const n = news[j++]!;
        if (o.dir && n.dir) {
          if (!sameChecksum(ob, o.csum, nb, n.csum) || !sameChecksum(ob, o.meta, nb, n.meta))
            update(
              repo,
              co,
              stats,
              at(nb, n),
              { tree: hex(ob, o.csum), meta: hex(ob, o.meta) },
              { tree: hex(nb, n.csum), meta: hex(nb, n.meta) },
            );
        } else if (o.dir !== n.dir) {
          remove(at(ob, o), stats);
          place(n);
        } else if (!sameChecksum(ob, o.csum, nb, n.csum)) place(n);
      }
    }
  }
  // Entries changed (the mtime moved) or the metadata did: as a checkout leaves it.
  co.applyDirMeta(path, repo.loadDirMeta(b.meta));
}

/**
 * Without root, a read-only directory (0555) of the checkout takes no new entries: open it for the
 * change (applyDirMeta sets its mode again afterwards).
 */
function writable(path: string): void {
  if (process.geteuid?.() === 0) return;
  try {
    accessSync(path, constants.W_OK);
  } catch {
    chmodSync(path, 0o700);
  }
}

function remove(path: string, stats: CheckoutDiffStats): void {
  stats.removed++;
  if (lstatSync(path, { throwIfNoEntry: false })) rmSync(path, { recursive: true, force: true });
}
