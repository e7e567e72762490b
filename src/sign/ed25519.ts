// ed25519 as ostree does it with libsodium (src/libostree/ostree-sign-ed25519.c): a public key is
// 32 raw bytes, a secret key 64 (seed || public key), both written as base64; a keys file has one
// base64 key per line; a signature is 64 raw bytes over the exact data (commit object or summary).
// node:crypto does the arithmetic; libsodium's key layout is converted at the edges.
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { SigningError } from "./errors.js";

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 64;
export const ED25519_SIGNATURE_BYTES = 64;

// DER prefixes that turn raw key bytes into PKCS#8 / SPKI for node:crypto (RFC 8410).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/**
 * GLib's g_base64_decode is lenient: it skips characters outside the alphabet and stops at '='.
 * Node's decoder is similarly forgiving; a key is then judged by its decoded length, as in ostree.
 */
function decodeBase64(text: string): Buffer {
  return Buffer.from(text.trim(), "base64");
}

/** A public key from its base64 text (ostree's `verification-ed25519-key`, `--sign-verify=...=inline:`). */
export function parsePublicKey(text: string): Buffer {
  const key = decodeBase64(text);
  if (key.length !== ED25519_PUBLIC_KEY_BYTES)
    throw new SigningError(
      `Incorrect ed25519 public key: '${text.trim()}' decodes to ${key.length} bytes, expected ${ED25519_PUBLIC_KEY_BYTES} (base64 of the raw key)`,
    );
  return key;
}

/** A secret key from its base64 text: libsodium's 64 bytes, seed then public key. */
export function parseSecretKey(text: string): Buffer {
  const key = decodeBase64(text);
  if (key.length !== ED25519_SECRET_KEY_BYTES)
    throw new SigningError(
      `Incorrect ed25519 secret key: it decodes to ${key.length} bytes, expected ${ED25519_SECRET_KEY_BYTES} (base64 of libsodium's seed || public key)`,
    );
  return key;
}

/** The non-empty lines of a keys file (ostree reads one base64 key per line). */
export function keyFileLines(path: string): string[] {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile())
    throw new SigningError(
      `File object '${path}' is not a regular file; pass a file with one base64 key per line`,
    );
  return readFileSync(path, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, 32)]),
    format: "der",
    type: "pkcs8",
  });
  // libsodium signs with the public half stored in the secret key without re-deriving it, so a
  // mismatched half gives signatures no one can verify; refuse such a key instead.
  if (!publicKeyOfSeed(secretKey.subarray(0, 32)).equals(Buffer.from(secretKey.subarray(32, 64))))
    throw new SigningError(
      "Incorrect ed25519 secret key: its second half is not the public key of its seed; regenerate the key pair",
    );
  return key;
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
}

/** The 32-byte public key of a 32-byte seed. */
export function publicKeyOfSeed(seed: Uint8Array): Buffer {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  return createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
}

/** The public half of a libsodium secret key. */
export function publicKeyOf(secretKey: Uint8Array): Buffer {
  return Buffer.from(secretKey.subarray(32, 64));
}

/** crypto_sign_detached: a 64-byte signature of `data`. */
export function signEd25519(data: Uint8Array, secretKey: Uint8Array): Buffer {
  return sign(null, data, privateKeyObject(secretKey));
}

/** crypto_sign_verify_detached; a signature of the wrong length is simply not valid here. */
export function verifyEd25519(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES)
    return false;
  try {
    return verify(null, data, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** A fresh key pair in libsodium's layout (crypto_sign_keypair), as base64 texts. */
export function generateKeyPair(): { publicKey: string; secretKey: string } {
  const seed = randomBytes(32);
  const pub = publicKeyOfSeed(seed);
  return { publicKey: pub.toString("base64"), secretKey: Buffer.concat([seed, pub]).toString("base64") };
}
