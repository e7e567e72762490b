// `tsostree sign [--sign-type=ed25519] [--keys-file=FILE] [--keys-dir=DIR] [--verify] [--delete]
// COMMIT [KEY…]`: ostree's command (ot-builtin-sign.c). Signing takes base64 libsodium secret keys
// (64 bytes) from the arguments and from --keys-file (one per line); --verify takes base64 public
// keys (32 bytes) from the arguments, else from --keys-file, else from the system's
// trusted.ed25519 files (or those under --keys-dir). --delete, which 2022.7 accepts but ignores,
// removes the signatures that the given keys (secret or public) verify.
import type { Command } from "commander";
import { resolveRev } from "../../repo/refs.js";
import { deleteEd25519Signatures, signCommitEd25519, verifyCommitEd25519 } from "../../sign/commit-sign.js";
import { type CommitMetaStore, withRepoStore } from "../../sign/commitmeta.js";
import { keyFileLines, parsePublicKey, parseSecretKey } from "../../sign/ed25519.js";
import { SignatureError, SigningError } from "../../sign/errors.js";
import { ed25519KeysFromFile, systemEd25519Keys } from "../../sign/keyrings.js";
import { openRepo, UsageError, withRepo } from "../common.js";

interface SignOpts {
  repo?: string;
  delete?: boolean;
  verify?: boolean;
  signType?: string;
  keysFile?: string;
  keysDir?: string;
}

/** ostree_sign_get_by_name: only ed25519 is a real engine (dummy is for ostree's own tests). */
export function requireEd25519(signType: string | undefined): void {
  if ((signType ?? "ed25519") !== "ed25519")
    throw new SigningError("Requested signature type is not implemented");
}

function verify(store: CommitMetaStore, csum: string, keys: string[], opts: SignOpts): string {
  for (const k of keys) {
    let pk: Buffer;
    try {
      pk = parsePublicKey(k);
    } catch {
      continue; // ostree skips a key it cannot read and tries the next
    }
    try {
      return verifyCommitEd25519(store, csum, [pk]);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
    }
  }
  if (keys.length && !opts.keysFile) throw new SignatureError("No valid signatures found");
  let pks: Buffer[];
  if (opts.keysFile) {
    pks = ed25519KeysFromFile(opts.keysFile);
    if (pks.length === 0)
      throw new SignatureError(`signature: ed25519: no valid keys in file '${opts.keysFile}'`);
  } else {
    pks = systemEd25519Keys(opts.keysDir ? [opts.keysDir] : undefined);
    if (pks.length === 0) throw new SignatureError("signature: ed25519: no keys loaded");
  }
  return verifyCommitEd25519(store, csum, pks);
}

export function registerSign(program: Command): void {
  withRepo(program.command("sign"))
    .description("sign a commit")
    .argument("[commit]", "commit or ref to sign or verify")
    .argument("[keys...]", "base64 ed25519 keys: secret keys to sign with, public keys to verify with")
    .option("-d, --delete", "delete signatures having any of the KEY-IDs")
    .option("--verify", "verify signatures")
    .option("-s, --sign-type <name>", "signature type to use (defaults to 'ed25519')")
    .option("--keys-file <file>", "read key(s) from file")
    .option(
      "--keys-dir <dir>",
      "redefine system-wide directories with public and revoked keys for verification",
    )
    .action(async (commit: string | undefined, keys: string[], opts: SignOpts) => {
      if (!commit) throw new UsageError("Need a COMMIT to sign or verify");
      if (!opts.verify && !opts.keysFile && keys.length === 0)
        throw new UsageError("Need at least one KEY-ID to sign with");
      const repo = openRepo(opts);
      const csum = resolveRev(repo, commit) as string;
      requireEd25519(opts.signType);
      const fileKeys = !opts.verify && opts.keysFile ? keyFileLines(opts.keysFile) : [];
      await withRepoStore(repo, (store) => {
        if (opts.verify) {
          process.stdout.write(`${verify(store, csum, keys, opts)}\n`);
        } else if (opts.delete) {
          const all = [...keys, ...fileKeys].map((k) =>
            k.length > 48 ? parseSecretKey(k) : parsePublicKey(k),
          );
          process.stdout.write(`Signatures deleted: ${deleteEd25519Signatures(store, csum, all)}\n`);
        } else signCommitEd25519(store, csum, [...keys, ...fileKeys].map(parseSecretKey));
      });
    });
}
