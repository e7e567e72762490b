// Signing the summary file (ostree_repo_add_gpg_signature_summary, ostree_sign_summary):
// signatures over the exact bytes of REPO/summary are appended to REPO/summary.sig, an a{sv} with
// the same keys as a commit's detached metadata, replaced atomically. `summary -u` regenerates the
// summary (which drops a stale summary.sig) and then signs it.
import { join } from "node:path";
import type { Repo } from "../repo/repo.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readIfExists } from "./commitmeta.js";
import {
  appendSignature,
  type DetachedMetadata,
  ED25519_KEY,
  GPGSIGS_KEY,
  parseDetached,
  serializeDetached,
} from "./detached.js";
import { signEd25519 } from "./ed25519.js";
import { SigningError } from "./errors.js";
import { findSecretKey, gpgDetachSign } from "./gpg-sign.js";

export interface SummarySigners {
  gpg?: { keyIds: string[]; homedir?: string };
  ed25519?: { secretKeys: Uint8Array[] };
}

/** Appends the signers' signatures of REPO/summary to REPO/summary.sig, under the repo lock. */
export async function signSummary(repo: Repo, signers: SummarySigners): Promise<void> {
  const lock = await repo.lock("shared");
  try {
    const summary = readIfExists(join(repo.path, "summary"));
    if (!summary) throw new SigningError(`${repo.path} has no summary file; create one with \`summary -u\``);
    const sigPath = join(repo.path, "summary.sig");
    const old = readIfExists(sigPath);
    let meta: DetachedMetadata = old ? parseDetached(old, "summary.sig") : [];
    // ostree's order: GPG signatures first, then ed25519.
    for (const keyId of signers.gpg?.keyIds ?? []) {
      const key = findSecretKey(keyId, signers.gpg?.homedir);
      meta = appendSignature(meta, GPGSIGS_KEY, gpgDetachSign(summary, key, keyId, signers.gpg?.homedir));
    }
    for (const sk of signers.ed25519?.secretKeys ?? [])
      meta = appendSignature(meta, ED25519_KEY, signEd25519(summary, sk));
    writeFileAtomic(sigPath, serializeDetached(meta), { fsync: repo.fsyncEnabled });
  } finally {
    lock.release();
  }
}
