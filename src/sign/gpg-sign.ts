// Making OpenPGP signatures the way ostree does (sign_data in src/libostree/ostree-repo.c, through
// gpgme): the real `gpg` looks the KEY-ID up among the secret keys of the home directory
// (`--gpg-homedir`, default GnuPG's own) and writes a binary detached signature of the exact bytes.
import { spawnSync } from "node:child_process";
import { SigningError } from "./errors.js";

export interface GpgSecretKey {
  /** Fingerprints of the primary key, then of its subkeys (uppercase hex). */
  fingerprints: string[];
}

function gpg(
  args: string[],
  homedir: string | undefined,
  input?: Uint8Array,
): { status: number; stdout: Buffer; stderr: string } {
  const r = spawnSync("gpg", [...(homedir ? ["--homedir", homedir] : []), "--batch", ...args], {
    input,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === "ENOENT")
      throw new SigningError(
        "gpg is not installed; install gnupg (apt-get install gnupg) to make GPG signatures",
      );
    throw r.error;
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

const home = (homedir?: string) => homedir ?? "<default>";

/** The secret key KEY-ID names (fingerprint, key ID or user ID); one clear error when none or several. */
export function findSecretKey(keyId: string, homedir?: string): GpgSecretKey {
  const r = gpg(["--with-colons", "--with-subkey-fingerprint", "--list-secret-keys", "--", keyId], homedir);
  const keys: string[][] = [];
  let expectFpr = false;
  for (const line of r.stdout.toString("utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === "sec") keys.push([]);
    if (f[0] === "sec" || f[0] === "ssb") expectFpr = true;
    else if (f[0] === "fpr" && expectFpr) {
      keys.at(-1)?.push(f[9]!.toUpperCase());
      expectFpr = false;
    }
  }
  if (keys.length === 0)
    throw new SigningError(`No gpg key found with ID ${keyId} (homedir: ${home(homedir)})`);
  if (keys.length > 1)
    throw new SigningError(
      `gpg key id ${keyId} ambiguous (homedir: ${home(homedir)}). Try the fingerprint instead`,
    );
  return { fingerprints: keys[0]! };
}

/** True when a signature issuer (fingerprint or 16-hex key ID) is one of the key's (sub)keys. */
export function issuedBy(issuer: string, key: GpgSecretKey): boolean {
  const id = issuer.toUpperCase();
  return id.length >= 16 && key.fingerprints.some((f) => f.endsWith(id));
}

/** A binary detached signature of `data` by the key (gpg --detach-sign). */
export function gpgDetachSign(data: Uint8Array, key: GpgSecretKey, keyId: string, homedir?: string): Buffer {
  const r = gpg(
    ["--no-armor", "--detach-sign", "--local-user", key.fingerprints[0]!, "--output", "-"],
    homedir,
    data,
  );
  if (r.status !== 0 || r.stdout.length === 0)
    throw new SigningError(
      `Failure signing with GPG key ${keyId} (homedir: ${home(homedir)}): ${r.stderr.trim().split("\n").at(-1) ?? `gpg exited ${r.status}`}`,
    );
  return r.stdout;
}
