// `tsostree gpg-sign [--gpg-homedir=DIR] [--delete] COMMIT KEY-ID…`: ostree's command. Each KEY-ID
// is a secret key of the GnuPG home; its binary detached signature of the commit object is added
// to `ostree.gpgsigs` in the commit's detached metadata. --delete removes the KEY-IDs' signatures.
import type { Command } from "commander";
import { resolveRev } from "../../repo/refs.js";
import { deleteGpgSignatures, signCommitGpg } from "../../sign/commit-sign.js";
import { withRepoStore } from "../../sign/commitmeta.js";
import { openRepo, UsageError, withRepo } from "../common.js";

interface GpgSignOpts {
  repo?: string;
  delete?: boolean;
  gpgHomedir?: string;
}

export function registerGpgSign(program: Command): void {
  withRepo(program.command("gpg-sign"))
    .description("sign a commit")
    .argument("[commit]", "commit or ref to sign")
    .argument("[key-ids...]", "GPG key IDs (fingerprint, key ID or user ID) to sign with")
    .option("-d, --delete", "delete signatures having any of the GPG KEY-IDs")
    .option("--gpg-homedir <homedir>", "GPG homedir to use when looking for keyrings")
    .action(async (commit: string | undefined, keyIds: string[], opts: GpgSignOpts) => {
      if (!commit) throw new UsageError("Need a COMMIT to sign");
      if (keyIds.length === 0) throw new UsageError("Need at least one GPG KEY-ID to sign with");
      const repo = openRepo(opts);
      const csum = resolveRev(repo, commit) as string;
      await withRepoStore(repo, async (store) => {
        if (opts.delete) {
          const n = await deleteGpgSignatures(store, csum, keyIds, opts.gpgHomedir);
          process.stdout.write(`Signatures deleted: ${n}\n`);
        } else await signCommitGpg(store, csum, keyIds, opts.gpgHomedir);
      });
    });
}
