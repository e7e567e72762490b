// The pull half of an upgrade, as ostree's sysroot upgrader does it: when an origin's refspec names a
// remote (`REMOTE:REF`), bring REF up to date in the sysroot's repo from that remote before the
// deploy half (src/sysroot/ops.ts `upgrade`, or the layering transaction) resolves it. A commit older
// than the deployed one is refused after its commit object arrived and before its tree is fetched
// (ostree's timestamp-check-from-rev). src/sysroot does not fetch, so this lives a floor above it.

import { PullError } from "../pull/fetcher.js";
import { pullHooks, type RemoteVerifier, remoteVerifier } from "../pull/hooks.js";
import { newPullProgress, ttyProgress } from "../pull/progress.js";
import { type PulledRef, pull } from "../pull/pull.js";
import { getRemote, type Remote } from "../pull/remotes.js";
import { type ObjectSource, remoteSource } from "../pull/source.js";
import { deleteRef, parseRefspec, readRef, resolveRev, writeRef } from "../repo/refs.js";
import { parseSummary } from "../repo/summary.js";
import { isPartialCommit } from "../repo/traverse.js";
import { checkTimestamps } from "../sysroot/ops.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { LayerError } from "./layer.js";
import type { LayerRequest } from "./origin.js";
import { NATIVE_DB } from "./world.js";

export interface OriginPullOptions {
  /** The commit deployed now; the pulled one must not be older unless `allowDowngrade`. */
  from: string;
  allowDowngrade?: boolean;
  /**
   * Look, do not update: fetch only the new commit object (and these paths of its tree), by
   * checksum, so the ref does not move and nothing can deploy a partial commit (`--check`).
   */
  check?: boolean;
  /** With `check`: paths of the tree to fetch too (the package database, for `--preview`). */
  checkPaths?: string[];
  /** A progress line on stderr when it is a terminal. */
  tty?: boolean;
}

export interface OriginPullResult {
  remote: string;
  ref: string;
  /** The commit the remote's ref names (fetched whole, unless `check`). */
  commit: string;
  requests: number;
  bytes: number;
}

/**
 * Pulls the ref of `refspec` from its remote into the sysroot's repo; null when the refspec names
 * no remote (the ref is local: nothing to fetch).
 */
export async function pullOrigin(
  s: Sysroot,
  refspec: string,
  o: OriginPullOptions,
): Promise<OriginPullResult | null> {
  const { remote: name, ref } = parseRefspec(refspec);
  if (!name) return null;
  const remote = getRemote(s.repo, name, s.path);
  // The remote's signature policy before any request (gpg-verify=true without a key: refused).
  const verifier = remoteVerifier(s.repo, remote, pullHooks);
  const source = remoteSource(remote);
  const progress = newPullProgress();
  const display = o.tty && process.stderr.isTTY ? ttyProgress(() => progress) : { stop() {} };
  const base = {
    source,
    remote,
    verifier,
    refRemote: name,
    requireArchive: true,
    hooks: pullHooks,
    progress,
  };
  try {
    let commit: string | null = null;
    if (o.check || !o.allowDowngrade) {
      // The commit alone first, by checksum (no ref moves), to judge it before its tree comes.
      commit = await remoteCommit(source, remote, ref, verifier);
      if (commit !== o.from) {
        await pull(s.repo, {
          ...base,
          refs: [commit],
          commitMetadataOnly: !o.checkPaths?.length,
          subpaths: o.checkPaths,
        });
        if (!o.allowDowngrade) checkTimestamps(s.repo, o.from, commit);
      }
    }
    if (!o.check) {
      const local = readRef(s.repo, refspec);
      const current = local === commit && commit !== null && !isPartialCommit(s.repo, commit);
      if (!current) {
        const r = await pull(s.repo, { ...base, refs: [ref] });
        const pulled = r.refs[0]!;
        // The server may have moved on between the two requests: judge what was pulled.
        if (pulled.commit !== commit && !o.allowDowngrade && pulled.commit !== o.from)
          try {
            checkTimestamps(s.repo, o.from, pulled.commit);
          } catch (e) {
            restoreRef(s, pulled);
            throw e;
          }
        commit = pulled.commit;
      }
    }
    return { remote: name, ref, commit: commit!, requests: source.stats.requests, bytes: source.stats.bytes };
  } finally {
    display.stop();
    await source.close();
  }
}

/** What REF names on the remote: its summary (verified when a verifier is wired), else refs/heads. */
async function remoteCommit(
  source: ObjectSource,
  remote: Remote,
  ref: string,
  verifier: RemoteVerifier | null,
): Promise<string> {
  const summary = await source.summary();
  if (!summary) {
    if (remote.gpgVerifySummary || remote.signVerifySummary)
      throw new PullError(
        `remote "${remote.name}" requires a signed summary but ${source.description} has none`,
      );
    const c = await source.ref(ref);
    if (!c) throw new PullError(`ref '${ref}' not found on ${source.description}`);
    return c;
  }
  await verifier?.verifySummary(summary.summary, summary.signature);
  const c = parseSummary(summary.summary).refs.find((r) => r.name === ref)?.checksum;
  if (!c) throw new PullError(`No such branch '${ref}' in the summary of ${source.description}`);
  return c;
}

function restoreRef(s: Sysroot, r: PulledRef): void {
  if (r.previous) writeRef(s.repo, r.ref, r.previous);
  else deleteRef(s.repo, r.ref);
}

/**
 * The base `tsostree-pkg upgrade` layers onto (LayerOptions.rebase): the base refspec pulled from
 * its remote first when it names one — with `check`, only the commit and the package database the
 * plan reads — else the ref as the repo has it.
 */
export function upgradedBase(o: { check?: boolean; allowDowngrade?: boolean }) {
  return async (r: LayerRequest, s: Sysroot, from: string): Promise<string> => {
    const pulled = await pullOrigin(s, r.baseRefspec, {
      from,
      check: o.check,
      checkPaths: o.check ? Object.values(NATIVE_DB) : undefined,
      allowDowngrade: o.allowDowngrade,
      tty: true,
    });
    if (pulled) return pulled.commit;
    const head = resolveRev(s.repo, r.baseRefspec, true);
    if (!head)
      throw new LayerError(`the base ref ${r.baseRefspec} is not in the repository; pull or commit it first`);
    return head;
  };
}
