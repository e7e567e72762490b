// Applying a static delta to a repo: the superblock's to-commit and every part's objects go
// through one Transaction, each object verified against its checksum before it is staged; nothing
// reaches objects/ unless every part applied. Usable by the HTTP pull (parts fetched through a
// callback, possibly inside the pull's own transaction, fallback objects handed back to fetch) and
// by `static-delta apply-offline` (parts read from the delta's directory).
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Variant } from "../gvariant/index.js";
import { type FileMeta, type ObjectType, parseCommit, serializeMetadata } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import { DeltaVerifyError, executePart, type PartTarget } from "./execute.js";
import { commitmetaKey, partPath } from "./names.js";
import { decodePartFileAsync, type PartPayload } from "./part.js";
import {
  DELTAPART_VERSION,
  DeltaFormatError,
  type DeltaObject,
  type FallbackObject,
  parseSuperblock,
  type Superblock,
  superblockMeta,
} from "./superblock.js";

export class DeltaApplyError extends Error {
  override name = "DeltaApplyError";
}

export interface ApplyOptions {
  /**
   * Stage into this transaction and leave committing (and refs) to the caller, as a pull does
   * once it also has the fallback objects. Without one, a transaction is begun and committed here.
   */
  transaction?: Transaction;
  /** Refuse a delta with fallback objects (ostree's apply-offline rule). */
  refuseFallbacks?: boolean;
  /** With our own transaction: set this ref to the to-commit once everything is in. */
  ref?: string;
}

export interface ApplyResult {
  from: string | null;
  to: string;
  /** Objects this delta added (the to-commit included when it was new). */
  written: DeltaObject[];
  /** Fallback objects not in the repo: the caller must fetch and verify these itself. */
  fallbacks: FallbackObject[];
  /** Parts skipped because every object they produce was already present. */
  skippedParts: number[];
}

/** A part's file bytes, given its index (from the network, a directory, …). */
export type FetchPart = (index: number) => Promise<Uint8Array>;

function inlinePart(sb: Superblock, index: number): Buffer | null {
  const v = superblockMeta(sb, partPath(sb.from, sb.to, index), "(yay)");
  if (!v) return null;
  const [comp, data] = v.value as [number, Buffer];
  return Buffer.concat([Buffer.from([comp]), data]);
}

function partError(i: number, e: unknown): never {
  (e as Error).message = `Executing delta part ${i}: ${(e as Error).message}`;
  throw e;
}

/** The PartTarget that stages into a transaction. */
export function transactionTarget(tx: Transaction): PartTarget {
  const repo = tx.repo;
  /** A read source: in bare modes the object file, which is the payload (read on the pool). */
  const readSource = (csum: string): string | Buffer => {
    const path = tx.store.pathOf(csum);
    if (!path)
      throw new DeltaFormatError(
        `the delta reads object ${csum}, which is not in the repository (is the from-commit complete?)`,
      );
    return repo.isArchive ? tx.loadFile(csum).read() : path;
  };
  return {
    has(type: ObjectType, csum: string): boolean {
      if (type === "file") return tx.store.has(csum);
      return repo.hasObject(csum, type) || existsSync(tx.store.stagedPath(csum, type));
    },
    writeMetadata(type: ObjectType, csum: string, bytes: Buffer): void {
      if (type !== "dirtree" && type !== "dirmeta")
        throw new DeltaFormatError(`a delta part may not carry a ${type} object`);
      const got = tx.writeMetadata(type, bytes);
      if (got !== csum) throw new DeltaVerifyError(`object ${csum}.${type} was stored as ${got}`);
    },
    writeSymlink(csum: string, meta: FileMeta): void {
      const got = tx.writeContentSync(meta, Buffer.alloc(0));
      if (got !== csum) throw new DeltaVerifyError(`object ${csum}.file was stored as ${got}`);
    },
    async writeAssembled(csum, meta, size, blob, pieces, sources): Promise<string> {
      const assembly = { blob, pieces, sources: sources.map(readSource) };
      return tx.writeContentAssembled(meta, size, assembly, csum);
    },
  };
}

/** Writes the to-commit's detached metadata into the staging dir, renamed into objects/ at commit. */
function stageCommitmeta(tx: Transaction, commit: string, meta: [string, Variant][]): void {
  const tmp = tx.store.tmpPath();
  const fd = openSync(tmp, "wx", 0o644);
  try {
    const bytes = serializeMetadata(meta);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off);
  } finally {
    closeSync(fd);
  }
  tx.store.publishAs(tmp, commit, "commitmeta");
}

/**
 * Applies the delta whose superblock is `superblockBytes`. Parts are fetched one ahead of the one
 * being executed. On any error the transaction (ours) is aborted: the repo is left as it was.
 */
export async function applyStaticDelta(
  repo: Repo,
  superblockBytes: Uint8Array,
  fetchPart: FetchPart,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const sb = parseSuperblock(
    Buffer.from(superblockBytes.buffer, superblockBytes.byteOffset, superblockBytes.byteLength),
  );
  const toActual = createHash("sha256").update(sb.commit).digest("hex");
  if (toActual !== sb.to)
    throw new DeltaVerifyError(
      `the delta's commit object hashes to ${toActual}, not ${sb.to}; the superblock is damaged — fetch or generate it again`,
    );
  parseCommit(sb.commit); // a commit we could not read back is refused before anything is staged
  if (sb.from && !repo.hasObject(sb.from, "commit"))
    throw new DeltaApplyError(`Commit ${sb.from}, which is the delta source, is not in repository`);
  if (opts.refuseFallbacks && sb.fallbacks.length > 0)
    throw new DeltaApplyError("Cannot execute delta offline: contains nonempty http fallback entries");
  for (const [i, p] of sb.parts.entries())
    if (p.version > DELTAPART_VERSION)
      throw new DeltaApplyError(`Delta part ${i} has too new version ${p.version}`);

  const own = !opts.transaction;
  const tx = opts.transaction ?? (await Transaction.begin(repo));
  try {
    const target = transactionTarget(tx);
    const written: DeltaObject[] = [];
    const skippedParts: number[] = [];
    const haveCommit = target.has("commit", sb.to);
    if (!haveCommit) {
      const detached = superblockMeta(sb, commitmetaKey(sb.from, sb.to), "a{sv}");
      if (detached) stageCommitmeta(tx, sb.to, detached.value as [string, Variant][]);
    }
    const needed = sb.parts.map((p) => p.objects.some((o) => !target.has(o.type, o.checksum)));
    // A part is fetched, checked and decoded (xz, on the thread pool) while the one before it is
    // executed: both cores work, and neither waits for the network.
    const load = (i: number): Promise<PartPayload> | null => {
      if (i >= sb.parts.length || !needed[i]) return null;
      const inline = inlinePart(sb, i);
      const file = inline ? Promise.resolve(inline) : fetchPart(i);
      const payload = file.then((b) =>
        decodePartFileAsync(b, sb.parts[i]!.checksum).catch((e) => partError(i, e)),
      );
      payload.catch(() => {}); // its error surfaces when awaited; not as an unhandled rejection
      return payload;
    };
    let next = load(0);
    for (let i = 0; i < sb.parts.length; i++) {
      const pending = next;
      next = null;
      if (!pending) {
        skippedParts.push(i);
        next = load(i + 1);
        continue;
      }
      next = load(i + 1);
      const header = sb.parts[i]!;
      const payload = await pending;
      try {
        written.push(...(await executePart(header.objects, payload, target)));
      } catch (e) {
        partError(i, e);
      }
      for (const o of header.objects)
        if (!target.has(o.type, o.checksum))
          throw new DeltaFormatError(
            `Executing delta part ${i}: object ${o.checksum}.${o.type} was not produced`,
          );
    }
    // The commit goes in last: staged, it is renamed into objects/ after everything it references.
    if (!haveCommit) {
      tx.writeMetadata("commit", sb.commit);
      written.push({ type: "commit", checksum: sb.to });
    }
    const fallbacks = sb.fallbacks.filter((f) => !target.has(f.type, f.checksum));
    if (own) {
      if (fallbacks.length > 0 && !haveCommit) markPartial(repo, sb.to);
      else if (opts.ref) tx.setRef(opts.ref, sb.to);
      await tx.commit();
    }
    return { from: sb.from, to: sb.to, written, fallbacks, skippedParts };
  } catch (e) {
    if (own) tx.abort();
    throw e;
  }
}

/** state/CSUM.commitpartial: the commit's fallback objects are still to be fetched. */
function markPartial(repo: Repo, commit: string): void {
  mkdirSync(join(repo.path, "state"), { recursive: true });
  closeSync(openSync(join(repo.path, "state", `${commit}.commitpartial`), "w", 0o644));
}
