// The two places where signature checks and static deltas plug into the pull. src/pull/verify.ts
// (over src/sign) and src/pull/delta.ts (over src/delta) provide them; `pullHooks` is what the
// command line passes. A caller that passes no verifier cannot pull from a remote that asks for
// signatures: it is refused outright — a pull never silently accepts what it could not verify.
import type { Repo } from "../repo/repo.js";
import { staticDeltaApplier } from "./delta.js";
import { PullError } from "./fetcher.js";
import type { PullProgress } from "./progress.js";
import type { Remote } from "./remotes.js";
import type { ObjectSource } from "./source.js";
import { signatureVerifier } from "./verify.js";
import type { BatchWriter } from "./writer.js";

export class SignatureUnavailableError extends PullError {
  override name = "SignatureUnavailableError";
}

/** The valid signatures a commit carried: GPG key fingerprints (or IDs) and ed25519 key count. */
export interface VerifiedSignatures {
  commit: string;
  gpg: string[];
  ed25519: number;
}

/** One remote's signature policy, ready to judge commits and its summary. */
export interface RemoteVerifier {
  /** Commits are checked (gpg-verify / sign-verify); the pull then re-reads the detached metadata of commits it already has. */
  readonly checksCommits: boolean;
  /** The summary is checked (gpg-verify-summary / sign-verify-summary). */
  readonly checksSummary: boolean;
  /**
   * Called for every commit, after its bytes matched its checksum and before it is written, its
   * tree fetched or any ref moves. Throws to reject it (the pull fails, no ref moves).
   */
  verifyCommit(checksum: string, commit: Buffer, detached: Buffer | null): Promise<VerifiedSignatures | null>;
  /** Called once with the summary and summary.sig (null when absent), before refs are resolved from it. */
  verifySummary(summary: Buffer, signature: Buffer | null): Promise<void>;
}

export interface PullVerifier {
  /**
   * Builds the remote's policy before any request; throws when it cannot be met (gpg-verify=true
   * with no key, a sign-verify type without keys).
   */
  forRemote(repo: Repo, remote: Remote): RemoteVerifier;
}

export interface DeltaRequest {
  repo: Repo;
  source: ObjectSource;
  to: string;
  /** The ref being pulled; null for a commit checksum. */
  ref: string | null;
  /** The commit the local ref points at now (whatever its state), or null. */
  localRef: string | null;
  /** `ostree.static-deltas` of the summary (delta name → superblock sha256); null without a summary. */
  summaryDeltas: Map<string, Buffer> | null;
  /** The summary says `ostree.summary.indexed-deltas`: look in `delta-indexes/` too. */
  indexedDeltas: boolean;
  /** The summary's signature was checked: a superblock it does not list is refused. */
  summaryVerified: boolean;
  /** --require-static-deltas: no delta is an error. */
  require: boolean;
  progress: PullProgress;
}

/** A static delta chosen and its superblock fetched and checked; nothing written yet. */
export interface StaticDelta {
  from: string | null;
  to: string;
  /** The to-commit object from the superblock (its sha256 is `to`). */
  commit: Buffer;
  /** The to-commit's detached metadata from the superblock, serialized; null when it has none. */
  detached: Buffer | null;
  /**
   * Fetches the parts and stages their objects, the to-commit and its detached metadata through
   * `writer` (each object verified); returns the content objects still to fetch one by one, the
   * parts fetched and the bytes the delta took (superblock included).
   */
  apply(writer: BatchWriter): Promise<{ fallbacks: string[]; partsFetched: number; bytes: number }>;
}

/**
 * Picks and fetches the static delta for `to` as ostree 2022.7 does, or returns null for an
 * object-by-object pull. The pull walks the commit afterwards either way, so a delta that brought
 * only part of the closure is harmless.
 */
export type DeltaApplier = (req: DeltaRequest) => Promise<StaticDelta | null>;

export interface PullHooks {
  verifier?: PullVerifier;
  delta?: DeltaApplier;
}

/** What the command line uses: src/sign's checks and src/delta's applier. */
export const pullHooks: PullHooks = { verifier: signatureVerifier, delta: staticDeltaApplier };

/** The settings of `remote` that need a verifier, e.g. ["gpg-verify"]. */
export function requiredVerification(remote: Remote): string[] {
  const out: string[] = [];
  if (remote.gpgVerify) out.push("gpg-verify");
  if (remote.gpgVerifySummary) out.push("gpg-verify-summary");
  if (remote.signVerify) out.push("sign-verify");
  if (remote.signVerifySummary) out.push("sign-verify-summary");
  return out;
}

/** The remote's verifier; refuses a remote that requires signatures when nothing can check them. */
export function remoteVerifier(repo: Repo, remote: Remote, hooks: PullHooks): RemoteVerifier | null {
  if (hooks.verifier) return hooks.verifier.forRemote(repo, remote);
  const needed = requiredVerification(remote);
  if (needed.length)
    throw new SignatureUnavailableError(
      `remote "${remote.name}" requires signed content (${needed.map((k) => `${k}=true`).join(", ")}) but this caller passed no signature verifier; nothing was fetched`,
    );
  return null;
}
