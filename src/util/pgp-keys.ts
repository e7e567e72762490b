// Reading OpenPGP public keys (binary keyrings as `gpg --export` writes them, or ASCII-armored
// blocks) with openpgp.js. Shared by the signature checks of commits (src/sign), the remote
// keyrings of pulls (src/pull) and the package repositories (src/packages).
import type * as openpgp from "openpgp";
import { loadOpenpgp } from "./openpgp.js";

export type Keyring = openpgp.PublicKey[];

/** Bytes that hold no readable OpenPGP public key. */
export class KeyringError extends Error {
  override name = "KeyringError";
}

/** Every public key in `data` (binary or armored; several armored blocks are all read). */
export async function parseKeys(data: Buffer, what: string): Promise<Keyring> {
  try {
    const text = data.toString("latin1");
    if (text.includes("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
      const out: openpgp.PublicKey[] = [];
      for (const block of text.match(
        /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g,
      ) ?? [])
        out.push(...(await (await loadOpenpgp()).readKeys({ armoredKeys: block })).map((k) => k.toPublic()));
      return out;
    }
    return (await (await loadOpenpgp()).readKeys({ binaryKeys: new Uint8Array(data) })).map((k) =>
      k.toPublic(),
    );
  } catch (e) {
    throw new KeyringError(`cannot read OpenPGP keys from ${what}: ${(e as Error).message}`);
  }
}
