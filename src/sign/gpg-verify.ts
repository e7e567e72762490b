// Verifying ostree's GPG signatures with openpgp.js: each element of `ostree.gpgsigs` is a binary
// detached OpenPGP signature (usually one signature packet) over the commit or summary bytes.
// Every packet is reported with its issuer and whether a key of the keyrings verifies it, as
// ostree's OstreeGpgVerifyResult lists every signature; the policy decision is verify.ts's.
import type * as openpgp from "openpgp";
import { loadOpenpgp } from "../util/openpgp.js";
import { type Keyring, parseKeys } from "../util/pgp-keys.js";
import { SignatureError } from "./errors.js";

export interface GpgSignatureResult {
  /** The issuer's fingerprint when the signature names it (gpg ≥ 2.1 does), else its 16-hex key ID. */
  keyId: string;
  valid: boolean;
  /** Why it is not valid (unknown key, bad signature, unreadable packet, expired key). */
  error?: string;
}

/** Reads every key of the keyrings (binary or ASCII-armored). */
export async function loadGpgKeyrings(keyrings: Uint8Array[]): Promise<Keyring> {
  const keys: Keyring = [];
  for (const [i, k] of keyrings.entries()) {
    try {
      keys.push(...(await parseKeys(Buffer.from(k), `keyring ${i + 1}`)));
    } catch (e) {
      throw new SignatureError(
        `${(e as Error).message}; give an OpenPGP keyring (gpg --export KEYID > FILE, binary or --armor), not a keybox`,
      );
    }
  }
  return keys;
}

function issuerOf(packet: openpgp.SignaturePacket): string {
  if (packet.issuerFingerprint) return Buffer.from(packet.issuerFingerprint).toString("hex").toUpperCase();
  return packet.issuerKeyID.toHex().toUpperCase();
}

/** The issuers of a detached signature blob, without verifying it (for matching KEY-IDs on --delete). */
export async function gpgSignatureIssuers(blob: Uint8Array): Promise<string[]> {
  try {
    const sig = await (await loadOpenpgp()).readSignature({ binarySignature: blob });
    return sig.packets.map(issuerOf);
  } catch {
    return [];
  }
}

/** Verifies every signature packet of every blob over `data` against `keys`. */
export async function verifyGpgBlobs(
  data: Uint8Array,
  blobs: Uint8Array[],
  keys: Keyring,
): Promise<GpgSignatureResult[]> {
  const out: GpgSignatureResult[] = [];
  for (const blob of blobs) {
    let sig: openpgp.Signature;
    try {
      sig = await (await loadOpenpgp()).readSignature({ binarySignature: blob });
    } catch (e) {
      out.push({ keyId: "", valid: false, error: `unreadable signature (${(e as Error).message})` });
      continue;
    }
    if (sig.packets.length === 0) {
      out.push({ keyId: "", valid: false, error: "empty signature" });
      continue;
    }
    if (keys.length === 0) {
      for (const p of sig.packets) out.push({ keyId: issuerOf(p), valid: false, error: "no trusted keys" });
      continue;
    }
    const message = await (await loadOpenpgp()).createMessage({ binary: data });
    const result = await (await loadOpenpgp()).verify({
      message,
      signature: sig,
      verificationKeys: keys,
      expectSigned: false,
    });
    for (const [i, s] of result.signatures.entries()) {
      const packet = sig.packets[i];
      const keyId = packet ? issuerOf(packet) : s.keyID.toHex().toUpperCase();
      try {
        await s.verified;
        out.push({ keyId, valid: true });
      } catch (e) {
        out.push({ keyId, valid: false, error: (e as Error).message });
      }
    }
  }
  return out;
}
