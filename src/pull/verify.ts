// The pull's signature checks: a remote's config options become a policy (src/sign/policy.ts, as
// ostree derives it: gpg-verify defaults to true) and every commit and the summary are judged by
// src/sign/verify.ts before anything is written or a ref moves. A policy that names a kind of
// signature with no key to check it is refused before the first request, so a pull never fetches
// what it could not verify.
import { dirname, join } from "node:path";
import type { Repo } from "../repo/repo.js";
import { SignatureError } from "../sign/errors.js";
import { remoteSignaturePolicy } from "../sign/policy.js";
import {
  type SignaturePolicy,
  type SignatureReport,
  verifyCommitSignatures,
  verifySummarySignatures,
} from "../sign/verify.js";
import type { PullVerifier, RemoteVerifier, VerifiedSignatures } from "./hooks.js";
import type { Remote } from "./remotes.js";

const isEmpty = (p: SignaturePolicy) => !p.gpg && !p.ed25519;

/** Refuses, up front, a policy that requires a kind of signature without any key for it. */
function requireKeys(remote: Remote, p: SignaturePolicy, target: "commit" | "summary"): void {
  const suffix = target === "summary" ? "-summary" : "";
  if (p.gpg && p.gpg.keyrings.length === 0)
    throw new SignatureError(
      `remote "${remote.name}" has gpg-verify${suffix}=true but no GPG key to check signatures with; nothing was fetched. Import the signer's key (remote gpg-import ${remote.name} -k KEYFILE, or remote add --gpg-import=KEYFILE), or set gpg-verify${suffix}=false only if you trust the server and the transport`,
    );
  if (p.ed25519 && p.ed25519.publicKeys.length === 0)
    throw new SignatureError(
      `remote "${remote.name}" has sign-verify${suffix} set but no ed25519 public key (verification-ed25519-key, verification-ed25519-file, or /etc/ostree/trusted.ed25519); nothing was fetched`,
    );
}

function valid(commit: string, r: SignatureReport): VerifiedSignatures {
  return {
    commit,
    gpg: r.gpg.filter((s) => s.valid).map((s) => s.keyId),
    ed25519: r.ed25519.filter((s) => s.valid).length,
  };
}

export const signatureVerifier: PullVerifier = {
  forRemote(repo: Repo, remote: Remote): RemoteVerifier {
    // A remote defined in SYSROOT/etc/ostree/remotes.d may keep its keyring beside its file.
    const remotesDir = remote.file === join(repo.path, "config") ? undefined : dirname(remote.file);
    const policy = (target: "commit" | "summary") =>
      remoteSignaturePolicy(repo.path, remote.name, remote.options, target, { remotesDir });
    const commit = policy("commit");
    const summary = policy("summary");
    requireKeys(remote, commit, "commit");
    requireKeys(remote, summary, "summary");
    return {
      checksCommits: !isEmpty(commit),
      checksSummary: !isEmpty(summary),
      async verifyCommit(checksum, bytes, detached) {
        if (isEmpty(commit)) return null;
        const what = `commit ${checksum} from remote "${remote.name}"`;
        return valid(checksum, await verifyCommitSignatures(bytes, detached, commit, what));
      },
      async verifySummary(bytes, signature) {
        if (isEmpty(summary)) return;
        try {
          await verifySummarySignatures(bytes, signature, summary);
        } catch (e) {
          if (e instanceof SignatureError) e.message = `remote "${remote.name}": ${e.message}`;
          throw e;
        }
      },
    };
  },
};
