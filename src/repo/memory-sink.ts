// Dirtrees held in memory instead of staged: a MutableTree written here gets its checksums (and can
// be checked out, see checkoutTree) without putting a dirtree into the transaction that might not
// survive — scripts still have to run against it, and the tree they leave differs. The final tree
// goes through here too (writeTree), then to the transaction: only the dirtrees it references.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import type { CheckoutSource } from "./checkout.js";
import type { MutableTree, TreeSink, TreeSource } from "./mtree.js";
import { type Commit, type DirTree, parseDirTree } from "./objects.js";
import type { StagingScope, Transaction } from "./transaction.js";

export class MemoryTreeSink implements TreeSink, TreeSource, CheckoutSource {
  private readonly trees = new Map<string, Buffer>();
  /** The subdirectories' dirtrees of a dirtree held here, as MutableTree.write told them. */
  private readonly subtrees = new Map<string, string[]>();
  private readonly tx: Transaction;

  /** `under`: where dirtrees not held here come from (the transaction, or a scope of it). */
  constructor(readonly under: Transaction | StagingScope) {
    this.tx = "tx" in under ? under.tx : under;
  }

  writeMetadata(_type: "dirtree", bytes: Buffer): string {
    const csum = createHash("sha256").update(bytes).digest("hex");
    if (!this.trees.has(csum)) this.trees.set(csum, Buffer.from(bytes));
    return csum;
  }

  writeDirTree(bytes: Buffer, subtrees: string[]): string {
    const csum = this.writeMetadata("dirtree", bytes);
    this.subtrees.set(csum, subtrees);
    return csum;
  }

  has(csum: string): boolean {
    return this.trees.has(csum);
  }

  get size(): number {
    return this.trees.size;
  }

  loadDirTree(csum: string): DirTree {
    const b = this.trees.get(csum);
    return b ? parseDirTree(b) : this.under.loadDirTree(csum);
  }

  loadCommit(csum: string): Commit {
    return this.under.loadCommit(csum);
  }

  /** Metadata not (yet) in objects/: held here, or staged by the transaction. */
  readMetadata(csum: string, type: "dirtree" | "dirmeta"): Buffer | null {
    if (type === "dirtree") {
      const b = this.trees.get(csum);
      if (b) return b;
    }
    try {
      return readFileSync(this.tx.store.stagedPath(csum, type));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  /** The staged content object `csum`, when the transaction staged it. */
  stagedFile(csum: string): string | null {
    const p = this.tx.store.stagedPath(csum, this.tx.repo.isArchive ? "filez" : "file");
    return lstatSync(p, { throwIfNoEntry: false }) ? p : null;
  }

  stagedFiles(): ReadonlySet<string> {
    const ext = this.tx.repo.isArchive ? ".filez" : ".file";
    const out = new Set<string>();
    for (const n of readdirSync(this.tx.stagingDir))
      if (n.length === 64 + ext.length && n.endsWith(ext)) out.add(n.slice(0, 64));
    return out;
  }

  /**
   * Writes `tree` (what changed since it was last written) and stages every dirtree of it held
   * here: how the final tree reaches the transaction. Returns the root's checksums.
   */
  writeTree(tree: MutableTree): { tree: string; meta: string } {
    const root = tree.write(this);
    this.flush(root.tree);
    return root;
  }

  /**
   * Stages every dirtree held here that the tree rooted at `root` references, descending only into
   * dirtrees held here (everything else is already in the repo or staged). Returns how many.
   */
  flush(root: string, sink: TreeSink = this.under): number {
    let n = 0;
    const seen = new Set<string>();
    const visit = (csum: string) => {
      const b = this.trees.get(csum);
      if (!b || seen.has(csum)) return;
      seen.add(csum);
      for (const tree of this.subtrees.get(csum) ?? parseDirTree(b).dirs.map(([, t]) => t)) visit(tree);
      sink.writeMetadata("dirtree", b);
      n++;
    };
    visit(root);
    return n;
  }
}
