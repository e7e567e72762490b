// OpenPGP verification of repository metadata (apt InRelease / Release.gpg, rpm-md repomd.xml.asc)
// with openpgp.js. Keyrings may be binary (apt's .gpg) or ASCII-armored (.asc, rpm's gpgkey).
import { readFileSync } from "node:fs";
import type * as openpgp from "openpgp";
import { loadOpenpgp } from "../util/openpgp.js";
import { type Keyring, parseKeys } from "../util/pgp-keys.js";

export class SignatureError extends Error {
  override name = "SignatureError";
}

export { type Keyring, parseKeys } from "../util/pgp-keys.js";

/** Reads every key in the given files; binary and armored keyrings both work. */
export async function loadKeyring(paths: readonly string[]): Promise<Keyring> {
  const keys: openpgp.PublicKey[] = [];
  for (const p of paths) keys.push(...(await parseKeys(readFileSync(p), p)));
  return keys;
}

async function checkAll(sigs: openpgp.VerifyMessageResult["signatures"], what: string): Promise<void> {
  const errors: string[] = [];
  for (const s of sigs) {
    try {
      await s.verified;
      return;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new SignatureError(
    `${what}: no valid signature from a trusted key (${errors.join("; ") || "unsigned"}); check the repository's key (signed-by / gpgkey / --keyring)`,
  );
}

/** Verifies a clearsigned document (apt's InRelease) and returns the signed text. */
export async function verifyClearsigned(text: string, keys: Keyring, what: string): Promise<string> {
  if (keys.length === 0)
    throw new SignatureError(`${what}: no trusted keys configured; pass --keyring or set signed-by`);
  let message: openpgp.CleartextMessage;
  try {
    message = await (await loadOpenpgp()).readCleartextMessage({ cleartextMessage: text });
  } catch (e) {
    throw new SignatureError(`${what}: not a clearsigned document (${(e as Error).message})`);
  }
  const result = await (await loadOpenpgp()).verify({ message, verificationKeys: keys, expectSigned: false });
  await checkAll(result.signatures, what);
  return result.data as string;
}

/** Verifies a detached signature (Release.gpg, repomd.xml.asc) over data. */
export async function verifyDetached(
  data: Buffer,
  signature: Buffer,
  keys: Keyring,
  what: string,
): Promise<void> {
  if (keys.length === 0)
    throw new SignatureError(`${what}: no trusted keys configured; pass --keyring or set signed-by`);
  let sig: openpgp.Signature;
  try {
    const armored = signature.toString("latin1");
    sig = armored.includes("-----BEGIN PGP SIGNATURE-----")
      ? await (await loadOpenpgp()).readSignature({ armoredSignature: armored })
      : await (await loadOpenpgp()).readSignature({ binarySignature: new Uint8Array(signature) });
  } catch (e) {
    throw new SignatureError(`${what}: cannot read the signature (${(e as Error).message})`);
  }
  const message = await (await loadOpenpgp()).createMessage({ binary: new Uint8Array(data) });
  const result = await (await loadOpenpgp()).verify({ message, signature: sig, verificationKeys: keys });
  await checkAll(result.signatures, what);
}

/** Strips the clearsign armor without verifying (only for sources marked trusted=yes). */
export function clearsignedBody(text: string): string {
  const m =
    /-----BEGIN PGP SIGNED MESSAGE-----\r?\n(?:[^\n]+\r?\n)*\r?\n([\s\S]*?)\r?\n-----BEGIN PGP SIGNATURE-----/.exec(
      text,
    );
  if (!m) return text;
  return m[1].replace(/^- /gm, "");
}
