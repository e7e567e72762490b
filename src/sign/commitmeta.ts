// Where a commit's bytes and its detached metadata are read and written: in the repository
// (objects/XX/REST.commitmeta, replaced atomically), or inside an open transaction (staged beside
// the commit, moved into objects/ by Transaction.commit, as ostree writes into its staging dir
// while a transaction is open). Signing code works on either through CommitMetaStore.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Repo } from "../repo/repo.js";
import type { Transaction } from "../repo/transaction.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type DetachedMetadata, parseDetached, serializeDetached } from "./detached.js";

export interface CommitMetaStore {
  /** The exact bytes of the commit object: what every commit signature covers. */
  commitBytes(csum: string): Buffer;
  /** The commit's detached metadata, or null when it has none. */
  readDetached(csum: string): DetachedMetadata | null;
  writeDetached(csum: string, meta: DetachedMetadata): void;
}

/** A file's bytes, or null when it does not exist. */
export function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** Detached metadata in the repository itself; callers hold the repo lock (see withRepoStore). */
export function repoStore(repo: Repo): CommitMetaStore {
  return {
    commitBytes: (csum) => repo.readMetadataBytes(csum, "commit"),
    readDetached(csum) {
      const b = readIfExists(repo.objectPath(csum, "commitmeta"));
      return b && parseDetached(b, `commit ${csum}`);
    },
    writeDetached(csum, meta) {
      const path = repo.objectPath(csum, "commitmeta");
      mkdirSync(dirname(path), { recursive: true, mode: 0o775 });
      writeFileAtomic(path, serializeDetached(meta), { fsync: repo.fsyncEnabled });
    },
  };
}

/**
 * Runs `fn` on the repository's detached metadata under the repo lock held shared, as every
 * object write is: an exclusive holder (prune) cannot delete the commit while it is being signed.
 */
export async function withRepoStore<T>(
  repo: Repo,
  fn: (store: CommitMetaStore) => T | Promise<T>,
): Promise<T> {
  const lock = await repo.lock("shared");
  try {
    return await fn(repoStore(repo));
  } finally {
    lock.release();
  }
}

/** Detached metadata staged in an open transaction (for `commit --gpg-sign/--sign`). */
export function transactionStore(tx: Transaction): CommitMetaStore {
  const base = repoStore(tx.repo);
  const staged = (csum: string, ext: string) => tx.store.stagedPath(csum, ext);
  return {
    commitBytes: (csum) => readIfExists(staged(csum, "commit")) ?? base.commitBytes(csum),
    readDetached(csum) {
      const b = readIfExists(staged(csum, "commitmeta"));
      return b ? parseDetached(b, `commit ${csum}`) : base.readDetached(csum);
    },
    writeDetached(csum, meta) {
      // The transaction's commit() makes staged files durable (one syncfs) before renaming them.
      writeFileSync(staged(csum, "commitmeta"), serializeDetached(meta), { mode: 0o644 });
    },
  };
}
