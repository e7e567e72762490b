// Assembling a layered commit: the base commit's root ∪ each package commit's tree (relocated to
// an ostree layout), then the native package database, the scripts, our package database, and the
// commit (parent: the base). Everything is staged in one repo transaction: any failure before the
// end aborts it and leaves the repo as it was.
import type { Variant } from "../gvariant/index.js";
import { writeCommitObject } from "../repo/commit.js";
import { MutableTree } from "../repo/mtree.js";
import { type FileMeta, metadataGet, S_IFREG } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import { type RelocateResult, writeRelocation } from "./relocate.js";
import { symlinkReader, type UnionRecord, unionInto } from "./union.js";

export class AssembleError extends Error {
  override name = "AssembleError";
}

/** One package to layer: its identity and its commit. */
export interface LayerPackage {
  kind: "deb" | "rpm";
  name: string;
  evr: string;
  arch: string;
  commit: string;
  /** Named by the user (not pulled in as a dependency). */
  requested: boolean;
  /** Names of packages whose files this one may overwrite (dpkg Replaces). */
  replaces: string[];
}

/** What the stages after the union see. */
export interface AssemblyContext {
  repo: Repo;
  tx: Transaction;
  root: MutableTree;
  base: string;
  packages: LayerPackage[];
  /** What the union brought, per package, in `packages` order. */
  records: UnionRecord[];
  /**
   * Writes the final tree's dirtrees; a step that staged some elsewhere (the scripts' in-memory
   * checkout) replaces it so that those are written too.
   */
  writeTree(root: MutableTree): { tree: string; meta: string };
  /** Stores a regular file with the given bytes at `path` of the tree. */
  putFile(path: string, data: Buffer, mode?: number): void;
  progress(msg: string): void;
}

/** The pluggable steps of an assembly, in the order they run. */
export interface AssemblySteps {
  /** Takes base packages out of the tree before the union (overrides). */
  removeBase?(root: MutableTree): void;
  /** Moves a package tree's paths to where an ostree tree keeps them (what /var needs: tmpfiles). */
  relocate?(pkg: LayerPackage, tree: MutableTree, tx: Transaction): RelocateResult;
  /** Who owns `path` in the base (for conflict messages), or null. */
  baseOwner?(path: string): string | null;
  after: ((ctx: AssemblyContext) => void | Promise<void>)[];
}

export interface AssembleOptions {
  repo: Repo;
  base: string;
  packages: LayerPackage[];
  steps: AssemblySteps;
  subject: string;
  metadata: [string, Variant][];
  progress?: (msg: string) => void;
}

/** Files staged by the assembly itself are owned by root with these modes. */
function fileMeta(mode: number): FileMeta {
  return { uid: 0, gid: 0, mode: S_IFREG | mode, symlinkTarget: "", xattrs: [] };
}

export async function assemble(o: AssembleOptions): Promise<string> {
  const progress = o.progress ?? (() => {});
  const tx = await Transaction.begin(o.repo);
  try {
    const root = MutableTree.fromCommit(tx, o.base);
    const symlinkTarget = symlinkReader((c) => o.repo.loadFile(c));
    const owner = new Map<string, string>();
    const records: UnionRecord[] = [];
    const relocations: RelocateResult[] = [];
    o.steps.removeBase?.(root);
    for (const pkg of o.packages) {
      const tree = MutableTree.fromCommit(tx, pkg.commit);
      const moved = o.steps.relocate?.(pkg, tree, tx);
      if (moved) relocations.push(moved);
      const rec = unionInto(root, tree, {
        symlinkTarget,
        onFileConflict(path, _had, _csum) {
          const other = owner.get(path) ?? o.steps.baseOwner?.(path) ?? null;
          if (other && pkg.replaces.includes(other)) return true;
          throw new AssembleError(
            `${pkg.name} ${pkg.evr} and ${other ? `${other}${owner.has(path) ? "" : " (base)"}` : "the base image"} both contain ${path} with different content; remove one of them from the request`,
          );
        },
      });
      for (const f of rec.files) if (!owner.has(f.path)) owner.set(f.path, pkg.name);
      records.push(rec);
    }
    const ctx: AssemblyContext = {
      repo: o.repo,
      tx,
      root,
      base: o.base,
      packages: o.packages,
      records,
      writeTree: (r) => r.write(tx),
      putFile(path, data, mode = 0o644) {
        root.setFile(path, tx.writeContentSync(fileMeta(mode), data));
      },
      progress,
    };
    for (const r of relocations) writeRelocation(tx, root, r);
    for (const step of o.steps.after) await step(ctx);
    const { tree, meta } = ctx.writeTree(root);
    const baseCommit = o.repo.loadCommit(o.base);
    const commit = writeCommitObject(tx, {
      parent: o.base,
      subject: o.subject,
      // The base's time: the same request on the same base gives the same commit.
      timestamp: baseCommit.timestamp,
      metadata: [...o.metadata, ...inheritedMetadata(baseCommit.metadata)],
      rootTree: tree,
      rootMeta: meta,
    });
    progress("Writing objects");
    await tx.commit();
    return commit;
  } catch (e) {
    tx.abort();
    throw e;
  }
}

/** Keys of the base commit a layered commit carries on (what `status` shows as the version). */
function inheritedMetadata(meta: [string, Variant][]): [string, Variant][] {
  const out: [string, Variant][] = [];
  for (const key of ["version", "ostree.source-title", "ostree.linux"]) {
    const v = metadataGet(meta, key);
    if (v) out.push([key, v]);
  }
  return out;
}
