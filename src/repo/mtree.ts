// MutableTree: an in-memory directory tree whose unchanged parts are still just dirtree checksums.
// A node loads its dirtree only when someone descends into it or changes it, and write() serializes
// only the nodes that changed since they were loaded; everything else keeps its checksum. Layering a
// package on a base therefore costs in proportion to the package, never to the base (DESIGN.md #3).
import { type Commit, type DirTree, serializeDirTree, validateName } from "./objects.js";
import { RepoError } from "./repo.js";

/** Where dirtrees come from: a Repo, or a Transaction (which also sees what it staged). */
export interface TreeSource {
  loadDirTree(csum: string): DirTree;
  loadCommit(csum: string): Commit;
}

/** What write() needs: somewhere to put dirtree objects. */
export interface TreeSink {
  writeMetadata(type: "dirtree", bytes: Buffer): string;
  /** Preferred when present: a dirtree with the checksums of its subdirectories' dirtrees. */
  writeDirTree?(bytes: Buffer, subtrees: string[]): string;
}

export class MutableTreeError extends RepoError {
  override name = "MutableTreeError";
}

export type TreeLookup = { kind: "file"; checksum: string } | { kind: "dir"; tree: MutableTree } | null;

export class MutableTree {
  /** name → content checksum; null until loaded. */
  private files: Map<string, string> | null = null;
  private dirs: Map<string, MutableTree> | null = null;
  /** The dirtree this node was loaded from (undefined: never loaded, or created empty). */
  private origin: string | undefined;
  /** Once loaded from `origin`: each name changed since, with what it was there (deltaOver). */
  private touched: Map<string, "file" | "dir" | null> | null = null;
  /** The dirtree and dirmeta this node was attached with (a node of a loaded parent: its counterpart there). */
  private readonly attachedTree: string | null;
  private readonly originMeta: string | null;

  private constructor(
    private source: TreeSource | null,
    private parent: MutableTree | null,
    /** Checksum of the dirmeta of this directory (null only for a fresh tree not yet given one). */
    private meta: string | null,
    /** Checksum of the dirtree this node still equals; null once changed ("dirty"). */
    private tree: string | null,
  ) {
    this.attachedTree = tree;
    this.originMeta = meta;
    if (tree === null) {
      this.files = new Map();
      this.dirs = new Map();
    }
  }

  /** An empty tree. `source` is needed only if dirtrees will be overlaid into it. */
  static empty(dirmetaCsum: string | null = null, source: TreeSource | null = null): MutableTree {
    return new MutableTree(source, null, dirmetaCsum, null);
  }

  /** The root of an existing dirtree/dirmeta pair; nothing is read yet. */
  static fromTree(source: TreeSource, treeCsum: string, metaCsum: string): MutableTree {
    return new MutableTree(source, null, metaCsum, treeCsum);
  }

  static fromCommit(source: TreeSource, commitCsum: string): MutableTree {
    const c = source.loadCommit(commitCsum);
    return MutableTree.fromTree(source, c.rootTree, c.rootMeta);
  }

  get metadataChecksum(): string | null {
    return this.meta;
  }

  /** The dirtree checksum while unchanged (null after a change, until write()). */
  get contentsChecksum(): string | null {
    return this.tree;
  }

  setMetadata(csum: string): void {
    if (this.meta === csum) return;
    this.meta = csum;
    // The dirmeta checksum is part of the parent's dirtree, not of this node's.
    this.parent?.markDirty();
  }

  // ---- single-level operations (used by the committers, which walk node by node) ----

  /** The subdirectory `name`, created (with `metaCsum`, or this dir's metadata) if missing. */
  ensureChild(name: string, metaCsum?: string | null): MutableTree {
    const { files, dirs } = this.loaded();
    const existing = dirs.get(name);
    if (existing) return existing;
    validateName(name);
    if (files.has(name)) throw new MutableTreeError(`Can't replace file with directory: ${name}`);
    this.touch(name);
    const child = new MutableTree(this.source, this, metaCsum ?? this.meta, null);
    dirs.set(name, child);
    this.markDirty();
    return child;
  }

  /** Sets file `name` to a content checksum (a directory of that name is an error, as in ostree). */
  replaceFile(name: string, csum: string): void {
    const { files, dirs } = this.loaded();
    if (files.get(name) === csum) return;
    validateName(name);
    if (dirs.has(name)) throw new MutableTreeError(`Can't replace directory with file: ${name}`);
    this.touch(name);
    files.set(name, csum);
    this.markDirty();
  }

  /** Removes file or directory `name`; false when there was none. */
  removeChild(name: string): boolean {
    const { files, dirs } = this.loaded();
    this.touch(name);
    const had = files.delete(name) || dirs.delete(name);
    if (had) this.markDirty();
    return had;
  }

  child(name: string): TreeLookup {
    const { files, dirs } = this.loaded();
    const f = files.get(name);
    if (f !== undefined) return { kind: "file", checksum: f };
    const d = dirs.get(name);
    return d ? { kind: "dir", tree: d } : null;
  }

  /** Names of files and subdirectories (loads this directory). */
  entries(): { files: [string, string][]; dirs: [string, MutableTree][] } {
    const { files, dirs } = this.loaded();
    return { files: [...files], dirs: [...dirs] };
  }

  // ---- path operations ----

  /** Ensures every directory of `path` exists; new ones get `dirmetaCsum` or their parent's metadata. */
  ensureDir(path: string, dirmetaCsum?: string): MutableTree {
    let node: MutableTree = this;
    for (const name of splitPath(path)) node = node.ensureChild(name, dirmetaCsum);
    return node;
  }

  /** Sets the file at `path`, creating missing parent directories like ensureDir. */
  setFile(path: string, contentCsum: string): void {
    const names = splitPath(path);
    const name = names.pop();
    if (name === undefined) throw new MutableTreeError("setFile needs a file path, not the root");
    let node: MutableTree = this;
    for (const n of names) node = node.ensureChild(n);
    node.replaceFile(name, contentCsum);
  }

  /** Removes the file or directory (with everything below it) at `path`; false if absent. */
  remove(path: string): boolean {
    const names = splitPath(path);
    const name = names.pop();
    if (name === undefined) throw new MutableTreeError("cannot remove the root directory");
    const parent = this.lookup(names.join("/"));
    return parent?.kind === "dir" ? parent.tree.removeChild(name) : false;
  }

  lookup(path: string): TreeLookup {
    let cur: TreeLookup = { kind: "dir", tree: this };
    for (const name of splitPath(path)) {
      if (cur?.kind !== "dir") return null;
      cur = cur.tree.child(name);
    }
    return cur;
  }

  /**
   * Unions an existing dirtree into this directory, the overlay winning: its files replace ours,
   * its directory metadata replaces ours, and its subdirectories merge recursively. Subtrees we do
   * not have are attached by checksum without being read.
   */
  overlay(otherTreeCsum: string, metaCsum: string): void {
    this.setMetadata(metaCsum);
    if (this.tree === otherTreeCsum) return;
    if (this.tree === null && this.touched === null && this.files!.size === 0 && this.dirs!.size === 0) {
      // Nothing here yet: become the other tree, lazily.
      this.files = null;
      this.dirs = null;
      this.tree = otherTreeCsum;
      this.parent?.markDirty();
      return;
    }
    const other = this.requireSource().loadDirTree(otherTreeCsum);
    for (const [name, csum] of other.files) this.replaceFile(name, csum);
    for (const [name, tree, meta] of other.dirs) {
      const mine = this.loaded().dirs.get(name);
      if (mine) mine.overlay(tree, meta);
      else {
        if (this.files!.has(name)) throw new MutableTreeError(`Can't replace file with directory: ${name}`);
        this.touch(name);
        this.dirs!.set(name, new MutableTree(this.source, this, meta, tree));
        this.markDirty();
      }
    }
  }

  /** Writes the dirtrees of every changed directory; returns the root's checksums. */
  write(sink: TreeSink): { tree: string; meta: string } {
    if (this.meta === null)
      throw new MutableTreeError("a directory of the tree has no metadata (dirmeta); give the root one");
    if (this.tree !== null) return { tree: this.tree, meta: this.meta };
    const dirs: [string, string, string][] = [];
    for (const [name, child] of this.dirs!) {
      const r = child.write(sink);
      dirs.push([name, r.tree, r.meta]);
    }
    const bytes = serializeDirTree({ files: [...this.files!], dirs });
    this.tree = sink.writeDirTree
      ? sink.writeDirTree(
          bytes,
          dirs.map(([, tree]) => tree),
        )
      : sink.writeMetadata("dirtree", bytes);
    return { tree: this.tree, meta: this.meta };
  }

  /**
   * What this tree has that dirtree `base` (with these contents and `meta` at the root) has not, as
   * a tree of its own: new and changed files, new subtrees (attached by checksum, written to `sink`
   * first when they are new) and the directories leading to them, with their current metadata. Null
   * when a path of `base` is gone or changed type, which a tree of additions cannot express. A node
   * loaded from exactly its counterpart in `base` is compared by the names changed since, without
   * reading anything; others against the base's dirtree.
   */
  deltaOver(base: string, sink: TreeSink): MutableTree | null {
    const out = MutableTree.empty(this.meta, this.source);
    return this.fillDelta(base, out, sink) ? out : null;
  }

  private fillDelta(base: string, out: MutableTree, sink: TreeSink): boolean {
    if (this.files === null && this.tree === base) return true;
    const { files, dirs } = this.loaded();
    const fast = this.origin === base;
    let was = this.touched!;
    const baseDirs = new Map<string, [string, string]>();
    if (!fast) {
      const b = this.requireSource().loadDirTree(base);
      const baseFiles = new Map(b.files);
      for (const [n, tree, meta] of b.dirs) baseDirs.set(n, [tree, meta]);
      was = new Map();
      for (const [n, csum] of b.files) if (files.get(n) !== csum) was.set(n, "file");
      for (const n of baseDirs.keys()) if (!dirs.has(n)) was.set(n, "dir");
      for (const n of files.keys()) if (!baseFiles.has(n) && !baseDirs.has(n)) was.set(n, null);
      for (const n of dirs.keys()) if (!baseDirs.has(n) && !baseFiles.has(n)) was.set(n, null);
    }
    for (const [name, before] of was) {
      const f = files.get(name);
      const d = dirs.get(name);
      if (f !== undefined) {
        if (before === "dir") return false;
        out.replaceFile(name, f);
      } else if (d === undefined) {
        if (before !== null) return false;
      } else if (before === null) {
        const r = d.write(sink);
        out.ensureChild(name, r.meta).overlay(r.tree, r.meta);
      } else if (before === "file" || fast) return false; // a file, or a directory replaced by another
    }
    for (const [name, d] of dirs) {
      if (fast ? was.has(name) : was.get(name) === null) continue;
      const [tree, meta] = fast ? [d.attachedTree!, d.originMeta] : baseDirs.get(name)!;
      if (d.files === null && d.tree === tree && d.meta === meta) continue;
      const child = out.ensureChild(name, d.meta);
      if (!d.fillDelta(tree, child, sink)) return false;
      if (d.meta === meta && child.files!.size === 0 && child.dirs!.size === 0) out.removeChild(name);
    }
    return true;
  }

  /** Notes what `name` was in the loaded dirtree before its first change (deltaOver). */
  private touch(name: string): void {
    const t = this.touched;
    if (t && !t.has(name)) t.set(name, this.files!.has(name) ? "file" : this.dirs!.has(name) ? "dir" : null);
  }

  private markDirty(): void {
    // Invariant: a changed node's ancestors are all changed, so the walk stops at the first one.
    for (let n: MutableTree | null = this; n && n.tree !== null; n = n.parent) {
      n.loaded();
      n.tree = null;
    }
  }

  private loaded(): { files: Map<string, string>; dirs: Map<string, MutableTree> } {
    if (this.files && this.dirs) return { files: this.files, dirs: this.dirs };
    const t = this.requireSource().loadDirTree(this.tree!);
    this.origin = this.tree!;
    this.touched = new Map();
    this.files = new Map(t.files);
    this.dirs = new Map(
      t.dirs.map(([name, tree, meta]) => [name, new MutableTree(this.source, this, meta, tree)]),
    );
    return { files: this.files, dirs: this.dirs };
  }

  private requireSource(): TreeSource {
    if (!this.source) throw new MutableTreeError("this tree was created without a repository to read from");
    return this.source;
  }
}

function splitPath(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}
