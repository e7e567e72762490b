// Differences between two commits, or a commit and a directory, in ostree's terms: a path is
// modified when its object checksum differs (dirmeta for directories), added or removed otherwise.
// Identical dirtree checksums end the comparison of a subtree at once, so the cost follows the
// size of the change, not of the trees.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { contentChecksum, type DirTree, S_IFLNK, serializeDirMeta, sha256hex } from "./objects.js";
import { resolveRev } from "./refs.js";
import { type Repo, readXattrs } from "./repo.js";
import { children, joinTreePath, rootEntry, type TreeEntry } from "./walk.js";

export interface TreeDiff {
  added: string[];
  removed: string[];
  modified: string[];
}

type Kind = "file" | "dir";
interface Node {
  kind: Kind;
  checksum: string;
}

/** One side of a diff: a commit's tree or a local directory, enumerated lazily per directory. */
interface Side {
  list(dir: string): Map<string, Node>;
  /** Equal content checksums mean equal subtrees (commits only). */
  treeId(dir: string): string | null;
}

class CommitSide implements Side {
  private dirs = new Map<string, TreeEntry & { kind: "dir" }>();
  constructor(
    private readonly repo: Repo,
    commit: string,
  ) {
    this.dirs.set("/", rootEntry(repo, commit) as TreeEntry & { kind: "dir" });
  }
  treeId(dir: string): string | null {
    return this.dirs.get(dir)?.tree ?? null;
  }
  list(dir: string): Map<string, Node> {
    const d = this.dirs.get(dir)!;
    const out = new Map<string, Node>();
    const tree: DirTree = this.repo.loadDirTree(d.tree);
    for (const c of children(tree, dir)) {
      if (c.kind === "dir") {
        this.dirs.set(c.path, c);
        out.set(c.name, { kind: "dir", checksum: c.meta });
      } else out.set(c.name, { kind: "file", checksum: c.checksum });
    }
    return out;
  }
}

class DirSide implements Side {
  constructor(
    private readonly root: string,
    private readonly xattrs: boolean,
  ) {}
  treeId(): null {
    return null;
  }
  list(dir: string): Map<string, Node> {
    const base = join(this.root, dir);
    const out = new Map<string, Node>();
    for (const name of readdirSync(base).sort()) {
      const p = join(base, name);
      const st = lstatSync(p);
      const xattrs = this.xattrs ? readXattrs(p) : [];
      const meta = { uid: st.uid, gid: st.gid, mode: st.mode, xattrs };
      if (st.isDirectory()) out.set(name, { kind: "dir", checksum: sha256hex(serializeDirMeta(meta)) });
      else if (st.isSymbolicLink())
        out.set(name, {
          kind: "file",
          checksum: contentChecksum({
            ...meta,
            mode: S_IFLNK | 0o777,
            symlinkTarget: readlinkSync(p, "utf8"),
          }),
        });
      else if (st.isFile())
        out.set(name, {
          kind: "file",
          checksum: contentChecksum({ ...meta, symlinkTarget: "" }, readFileSync(p)),
        });
    }
    return out;
  }
}

function diffSides(
  a: Side,
  b: Side,
  dir: string,
  out: TreeDiff,
  addAll: (side: Side, dir: string) => void,
): void {
  const ta = a.treeId(dir);
  if (ta !== null && ta === b.treeId(dir)) return;
  const la = a.list(dir);
  const lb = b.list(dir);
  for (const [name, na] of la) {
    const path = joinTreePath(dir, name);
    const nb = lb.get(name);
    if (!nb) {
      out.removed.push(path);
      continue;
    }
    if (na.kind !== nb.kind || na.checksum !== nb.checksum) out.modified.push(path);
    if (na.kind === "dir" && nb.kind === "dir") diffSides(a, b, path, out, addAll);
  }
  for (const [name, nb] of lb) {
    if (la.has(name)) continue;
    const path = joinTreePath(dir, name);
    out.added.push(path);
    if (nb.kind === "dir") addAll(b, path);
  }
}

function diffAny(a: Side, b: Side): TreeDiff {
  const out: TreeDiff = { added: [], removed: [], modified: [] };
  const addAll = (side: Side, dir: string) => {
    for (const [name, n] of side.list(dir)) {
      const path = joinTreePath(dir, name);
      out.added.push(path);
      if (n.kind === "dir") addAll(side, path);
    }
  };
  diffSides(a, b, "/", out, addAll);
  return out;
}

/** Compares two commits (refs or checksums); paths are absolute inside the tree (`/usr/bin/x`). */
export function diffCommits(repo: Repo, a: string, b: string): TreeDiff {
  return diffAny(
    new CommitSide(repo, resolveRev(repo, a) as string),
    new CommitSide(repo, resolveRev(repo, b) as string),
  );
}

/** Compares a commit or a directory with a commit or a directory (ostree's `diff A B`). */
export function diffRevOrDir(
  repo: Repo,
  a: { rev: string } | { dir: string },
  b: { rev: string } | { dir: string },
  opts: { xattrs?: boolean } = {},
): TreeDiff {
  // ostree ignores xattrs when a bare-user-only repo is involved: it cannot store them.
  const xattrs = opts.xattrs !== false && repo.mode !== "bare-user-only";
  const side = (s: { rev: string } | { dir: string }): Side =>
    "rev" in s ? new CommitSide(repo, resolveRev(repo, s.rev) as string) : new DirSide(s.dir, xattrs);
  return diffAny(side(a), side(b));
}
