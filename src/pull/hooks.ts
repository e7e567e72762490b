// The two places where signature checks and static deltas plug into the pull. Neither is built
// here: src/sign and src/delta provide them and the pull's caller passes them in (pullHooks below
// is the one default the command line uses). Until a verifier is wired, a remote that asks for
// signatures is refused outright — a pull never silently accepts what it could not verify.
import type { Repo } from "../repo/repo.js";
import { PullError } from "./fetcher.js";
import type { Remote } from "./remotes.js";
import type { ObjectSource } from "./source.js";
import type { BatchWriter } from "./writer.js";

export class SignatureUnavailableError extends PullError {
  override name = "SignatureUnavailableError";
}

export interface PullVerifier {
  /**
   * Called for every fetched commit, after its bytes matched its checksum and before its tree is
   * fetched or any ref moves. Throws to reject the commit (the pull then fails, no ref moves).
   */
  verifyCommit(
    remote: Remote,
    checksum: string,
    commit: Buffer,
    detached: Buffer | null,
  ): Promise<void> | void;
  /** Called once with the remote's summary and summary.sig (null when absent), before refs are resolved from it. */
  verifySummary(remote: Remote, summary: Buffer, signature: Buffer | null): Promise<void> | void;
}

export interface DeltaContext {
  repo: Repo;
  source: ObjectSource;
  /** Where objects go; write through writer.use(tx => …), verified, as the object fetches do. */
  writer: BatchWriter;
  /** The commit the local ref points at now (complete), or null for a from-scratch delta. */
  from: string | null;
  to: string;
  /** `ostree.static-deltas` of the remote's summary: delta name → superblock sha256 (empty without a summary). */
  summaryDeltas: Map<string, Buffer>;
}

/**
 * Tries a static delta for `to` before objects are fetched one by one. Returns true when it
 * applied one; either way the pull then walks the commit and fetches whatever is still missing,
 * so a delta that brought only part of the closure is harmless.
 */
export type DeltaApplier = (ctx: DeltaContext) => Promise<boolean>;

export interface PullHooks {
  verifier?: PullVerifier;
  delta?: DeltaApplier;
}

/** What the command line uses: the lead wires src/sign's verifier and src/delta's applier here. */
export const pullHooks: PullHooks = {};

/** The settings of `remote` that need a verifier, e.g. ["gpg-verify"]. */
export function requiredVerification(remote: Remote): string[] {
  const out: string[] = [];
  if (remote.gpgVerify) out.push("gpg-verify");
  if (remote.gpgVerifySummary) out.push("gpg-verify-summary");
  if (remote.signVerify) out.push("sign-verify");
  if (remote.signVerifySummary) out.push("sign-verify-summary");
  return out;
}

/** Refuses a pull from a remote that requires signatures when nothing can check them. */
export function requireVerifier(remote: Remote, hooks: PullHooks): void {
  const needed = requiredVerification(remote);
  if (needed.length && !hooks.verifier)
    throw new SignatureUnavailableError(
      `remote "${remote.name}" requires signed content (${needed.map((k) => `${k}=true`).join(", ")}) but signature verification is not available in this build; nothing was fetched (set ${needed[0]}=false only if you trust the server and the transport)`,
    );
}
