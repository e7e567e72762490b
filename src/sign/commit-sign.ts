// Adding and removing a commit's signatures in its detached metadata (ostree_repo_sign_commit,
// ostree_sign_commit, ot-builtin-gpg-sign.c delete_signatures), on a CommitMetaStore: the
// repository under its lock, or an open transaction. Every change is read-modify-write of the
// whole `.commitmeta`, replaced atomically.
import type { CommitMetaStore } from "./commitmeta.js";
import { appendSignature, ED25519_KEY, GPGSIGS_KEY, signaturesOf, withSignatures } from "./detached.js";
import { ED25519_PUBLIC_KEY_BYTES, publicKeyOf, signEd25519, verifyEd25519 } from "./ed25519.js";
import { SignatureError, SigningError } from "./errors.js";
import { findSecretKey, gpgDetachSign, issuedBy } from "./gpg-sign.js";
import { gpgSignatureIssuers } from "./gpg-verify.js";

/** Appends one ed25519 signature per secret key (an identical signature already there is kept once). */
export function signCommitEd25519(store: CommitMetaStore, csum: string, secretKeys: Uint8Array[]): void {
  const data = store.commitBytes(csum);
  let meta = store.readDetached(csum) ?? [];
  for (const sk of secretKeys) {
    const sig = signEd25519(data, sk);
    if (!signaturesOf(meta, ED25519_KEY).some((s) => s.equals(sig)))
      meta = appendSignature(meta, ED25519_KEY, sig);
  }
  store.writeDetached(csum, meta);
}

/** Appends a GPG signature per KEY-ID; a key that already signed the commit is an error, as in ostree. */
export async function signCommitGpg(
  store: CommitMetaStore,
  csum: string,
  keyIds: string[],
  homedir?: string,
): Promise<void> {
  const data = store.commitBytes(csum);
  let meta = store.readDetached(csum) ?? [];
  for (const keyId of keyIds) {
    const key = findSecretKey(keyId, homedir);
    for (const blob of signaturesOf(meta, GPGSIGS_KEY))
      if ((await gpgSignatureIssuers(blob)).some((i) => issuedBy(i, key)))
        throw new SigningError(`Commit is already signed with GPG key ${keyId}`);
    meta = appendSignature(meta, GPGSIGS_KEY, gpgDetachSign(data, key, keyId, homedir));
    store.writeDetached(csum, meta);
  }
}

/**
 * Removes the GPG signatures made by any of the KEY-IDs (a fingerprint or key ID matched against
 * each signature's issuer, or a name gpg resolves in `homedir`); returns how many were removed.
 */
export async function deleteGpgSignatures(
  store: CommitMetaStore,
  csum: string,
  keyIds: string[],
  homedir?: string,
): Promise<number> {
  const meta = store.readDetached(csum);
  const blobs = meta ? signaturesOf(meta, GPGSIGS_KEY) : [];
  if (!meta || blobs.length === 0) return 0;
  const keys = keyIds.map((id) => {
    const hex = id.replace(/^0x/i, "").toUpperCase();
    if (/^[0-9A-F]{16}([0-9A-F]{24})?$/.test(hex)) return { fingerprints: [hex] };
    try {
      return findSecretKey(id, homedir);
    } catch {
      return { fingerprints: [] };
    }
  });
  const keep: Buffer[] = [];
  for (const blob of blobs) {
    const issuers = await gpgSignatureIssuers(blob);
    const match = issuers.some((i) =>
      keys.some((k) => k.fingerprints.some((f) => f.endsWith(i) || i.endsWith(f))),
    );
    if (!match) keep.push(blob);
  }
  const removed = blobs.length - keep.length;
  if (removed) store.writeDetached(csum, withSignatures(meta, GPGSIGS_KEY, keep));
  return removed;
}

/** A KEY given to `sign --delete`: a secret key (its public half is used) or a public key. */
function publicHalf(key: Uint8Array): Uint8Array {
  return key.length === ED25519_PUBLIC_KEY_BYTES ? key : publicKeyOf(key);
}

/** Removes the ed25519 signatures that verify with any of the keys; returns how many were removed. */
export function deleteEd25519Signatures(store: CommitMetaStore, csum: string, keys: Uint8Array[]): number {
  const meta = store.readDetached(csum);
  const sigs = meta ? signaturesOf(meta, ED25519_KEY) : [];
  if (!meta || sigs.length === 0) return 0;
  const data = store.commitBytes(csum);
  const pubs = keys.map(publicHalf);
  const keep = sigs.filter((s) => !pubs.some((p) => verifyEd25519(data, s, p)));
  const removed = sigs.length - keep.length;
  if (removed) store.writeDetached(csum, withSignatures(meta, ED25519_KEY, keep));
  return removed;
}

/**
 * ostree_sign_ed25519_data_verify on a commit: the success message names the first public key
 * that verifies a signature; otherwise a SignatureError in ostree's words.
 */
export function verifyCommitEd25519(store: CommitMetaStore, csum: string, publicKeys: Uint8Array[]): string {
  const data = store.commitBytes(csum);
  const sigs = signaturesOf(store.readDetached(csum) ?? [], ED25519_KEY);
  if (sigs.length === 0) throw new SignatureError("ed25519: commit have no signatures of my type");
  const tried: string[] = [];
  for (const sig of sigs) {
    if (sig.length !== 64)
      throw new SignatureError(`Invalid signature length of ${sig.length} bytes, expected 64`);
    for (const pk of publicKeys) {
      const hex = Buffer.from(pk).toString("hex");
      if (verifyEd25519(data, sig, pk)) return `ed25519: Signature verified successfully with key '${hex}'`;
      tried.push(`key '${hex}'`);
    }
  }
  if (tried.length > 3)
    throw new SignatureError(`ed25519: Signature couldn't be verified; tried ${tried.length} keys`);
  if (tried.length)
    throw new SignatureError(`ed25519: Signature couldn't be verified with: ${tried.join("; ")}`);
  throw new SignatureError("ed25519: no signatures found");
}
