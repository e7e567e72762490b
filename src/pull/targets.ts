// Which commits a pull is for and where their refs live: the refs named (or the remote's branches,
// or with --mirror every ref of the summary) resolved through the summary or refs/heads, the local
// ref each one moves, the commit it names now, and ostree's ref binding.
import type { Variant } from "../gvariant/index.js";
import { isChecksum, metadataGet } from "../repo/objects.js";
import { readRef, validateRef } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import type { parseSummary } from "../repo/summary.js";
import { isPartialCommit } from "../repo/traverse.js";
import { PullError } from "./fetcher.js";
import type { PullOptions } from "./pull.js";

/** A commit to pull, and the remote ref it was named by (null: asked for by checksum). */
export interface Target {
  name: string | null;
  commit: string;
}

/** The local ref a remote ref `name` moves: REMOTE:NAME, or NAME itself with --mirror. */
export function refSpec(opts: PullOptions, name: string): string {
  return opts.mirror || opts.refRemote === null ? name : `${opts.refRemote}:${name}`;
}

/** The commit the local ref names, when that commit is here and complete; else null. */
export function currentRef(repo: Repo, opts: PullOptions, name: string | null): string | null {
  if (!name) return null;
  const c = readRef(repo, refSpec(opts, name));
  return c && repo.hasObject(c, "commit") && !isPartialCommit(repo, c) ? c : null;
}

/** ostree.ref-binding: a commit made for other refs must not be pulled as this one (anti-sidegrade). */
export function checkRefBinding(meta: [string, Variant][], ref: string, csum: string): void {
  const b = metadataGet(meta, "ostree.ref-binding");
  if (b?.typeString !== "as") return;
  const refs = b.value as string[];
  if (!refs.includes(ref))
    throw new PullError(
      `commit ${csum} is bound to ${refs.map((r) => `'${r}'`).join(", ")}, not '${ref}' (ostree.ref-binding); the server offers it under the wrong name`,
    );
}

/** The commits to pull, from the refs given or configured (see the header). */
export async function resolveTargets(
  opts: PullOptions,
  summary: ReturnType<typeof parseSummary> | null,
): Promise<Target[]> {
  let names = opts.refs;
  if (names.length === 0) {
    names = opts.remote?.branches ?? [];
    if (names.length === 0 && opts.mirror && summary) names = summary.refs.map((r) => r.name);
    if (names.length === 0)
      throw new PullError(
        `no refs given and none configured for ${opts.remote ? `remote "${opts.remote.name}"` : opts.source.description}; name the refs to pull`,
      );
  }
  const out: Target[] = [];
  for (const n of names) {
    if (isChecksum(n)) {
      out.push({ name: null, commit: n });
      continue;
    }
    validateRef(n);
    let commit: string | null;
    if (summary) {
      commit = summary.refs.find((r) => r.name === n)?.checksum ?? null;
      if (!commit) throw new PullError(`No such branch '${n}' in the summary of ${opts.source.description}`);
    } else {
      commit = await opts.source.ref(n);
      if (!commit) throw new PullError(`ref '${n}' not found on ${opts.source.description}`);
    }
    if (!isChecksum(commit))
      throw new PullError(`ref '${n}' on ${opts.source.description} is not a checksum`);
    out.push({ name: n, commit });
  }
  return out;
}
