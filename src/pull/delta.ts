// Static deltas in a pull, as ostree 2022.7's pull chooses and fetches them (ostree-repo-pull.c
// initiate_request, get_best_static_delta_start_for, on_superblock_fetched): with deltas listed in
// the summary, the newest complete local commit that a listed delta starts from, else a listed
// from-scratch delta when the ref is new here; without any, a probe of `deltas/…/superblock` from
// the local ref's commit (or from scratch). The superblock is checked against the summary's digest,
// its commit against its checksum; parts come through the pull's fetcher (retried, checked against
// their sha256) and are applied by src/delta into the pull's transaction; fallback objects are
// handed back to the pull to fetch one by one.
import { createHash } from "node:crypto";
import { applyStaticDelta } from "../delta/apply.js";
import {
  commitmetaKey,
  deltaIndexPath,
  deltaName,
  parseDeltaName,
  partPath,
  superblockPath,
} from "../delta/names.js";
import { parseSuperblock, type Superblock, superblockMeta } from "../delta/superblock.js";
import { deserialize, parseType, type Variant } from "../gvariant/index.js";
import { serializeMetadata } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { isPartialCommit } from "../repo/traverse.js";
import { PullError, TransientError } from "./fetcher.js";
import type { DeltaApplier, DeltaRequest, StaticDelta } from "./hooks.js";
import { MAX_METADATA_SIZE } from "./source.js";

export class StaticDeltaError extends PullError {
  override name = "StaticDeltaError";
}

const VARDICT = parseType("a{sv}");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest();

const completeCommit = (repo: Repo, c: string) => repo.hasObject(c, "commit") && !isPartialCommit(repo, c);

function requiredError(req: DeltaRequest): StaticDeltaError {
  return new StaticDeltaError(
    `Static deltas required, but none found for ${req.ref ?? ""} to ${req.to}; drop --require-static-deltas or generate one on the server (static-delta generate --to=${req.to}, then summary -u)`,
  );
}

/**
 * The deltas the server lists for `to`: the summary's, and with `ostree.summary.indexed-deltas`
 * those of `delta-indexes/TO.index` too (ostree summary -u writes both); null when neither is used,
 * and then the pull probes for a superblock (ostree's path for repos without a summary).
 */
async function listedDeltas(req: DeltaRequest): Promise<Map<string, Buffer> | null> {
  if (!req.indexedDeltas) return req.summaryDeltas?.size ? req.summaryDeltas : null;
  const out = new Map(req.summaryDeltas ?? []);
  const index = await req.source.raw!(deltaIndexPath(req.to), MAX_METADATA_SIZE);
  if (index) {
    let deltas: Variant | undefined;
    try {
      deltas = (deserialize(VARDICT, index) as [string, Variant][]).find(
        ([k]) => k === "ostree.static-deltas",
      )?.[1];
    } catch (e) {
      throw new StaticDeltaError(`${deltaIndexPath(req.to)} is not a delta index (${(e as Error).message})`);
    }
    if (deltas?.typeString === "a{sv}")
      for (const [name, digest] of deltas.value as [string, Variant][])
        if (digest.typeString === "ay" && (digest.value as Buffer).length === 32)
          out.set(name, digest.value as Buffer);
  }
  return out;
}

/**
 * Where the delta should start: a checksum, null for from scratch, or undefined for no delta
 * (object pull), as ostree's initiate_request decides.
 */
export function chooseDeltaStart(
  req: DeltaRequest,
  listed: Map<string, Buffer> | null,
): string | null | undefined {
  const { repo, to } = req;
  if (listed) {
    let scratch = false;
    let best: { from: string; ts: number } | null = null;
    for (const name of listed.keys()) {
      let d: { from: string | null; to: string };
      try {
        d = parseDeltaName(name);
      } catch (e) {
        throw new PullError(`the summary lists a malformed static delta: ${(e as Error).message}`);
      }
      if (d.to !== to) continue;
      if (!d.from) {
        scratch = true;
        continue;
      }
      if (!completeCommit(repo, d.from)) continue;
      const ts = repo.loadCommit(d.from).timestamp;
      if (!best || ts > best.ts) best = { from: d.from, ts };
    }
    if (best) return best.from;
    // A from-scratch delta is not worth it when an older commit of the ref is here already.
    if (scratch) return req.localRef ? undefined : null;
    if (req.require) throw requiredError(req);
    return undefined;
  }
  if (req.ref !== null) {
    const from = req.localRef && completeCommit(repo, req.localRef) ? req.localRef : null;
    return from === to ? undefined : from;
  }
  return null;
}

/** The part files of a superblock, fetched and checked against their header's sha256. */
function partFetcher(req: DeltaRequest, sb: Superblock, counts: { parts: number; bytes: number }) {
  return async (i: number): Promise<Buffer> => {
    const header = sb.parts[i]!;
    const rel = partPath(sb.from, sb.to, i);
    const before = req.source.stats.bytes;
    const bytes = await req.source.raw!(rel, header.size, (b) => {
      if (sha256(b).toString("hex") !== header.checksum)
        throw new TransientError(
          `static delta part ${rel} has the wrong sha256 (corrupt on the server or in transit)`,
        );
    });
    if (!bytes)
      throw new StaticDeltaError(
        `static delta part ${rel} not found on ${req.source.description}; the delta is incomplete`,
      );
    counts.parts++;
    counts.bytes += req.source.stats.bytes - before;
    req.progress.deltaPartsFetched = (req.progress.deltaPartsFetched ?? 0) + 1;
    req.progress.deltaBytes = (req.progress.deltaBytes ?? 0) + (req.source.stats.bytes - before);
    req.progress.bytes = req.source.stats.bytes;
    return bytes;
  };
}

export const staticDeltaApplier: DeltaApplier = async (req) => {
  if (!req.source.raw) return null;
  const listed = await listedDeltas(req);
  const from = chooseDeltaStart(req, listed);
  if (from === undefined) return null;
  const { to } = req;
  const name = deltaName(from, to);
  const expected = listed?.get(name);
  const before = req.source.stats.bytes;
  const bytes = await req.source.raw(superblockPath(from, to), MAX_METADATA_SIZE, (b) => {
    if (expected && !sha256(b).equals(expected))
      throw new TransientError(`Invalid checksum for static delta ${name}`);
  });
  if (!bytes) {
    if (req.require) throw requiredError(req);
    return null;
  }
  const superblockBytes = req.source.stats.bytes - before;
  req.progress.deltaBytes = (req.progress.deltaBytes ?? 0) + superblockBytes;
  if (req.summaryVerified && !expected)
    throw new StaticDeltaError(
      `static delta ${name} is not listed in the signed summary, so it cannot be trusted; run summary -u (with its signing options) on the server`,
    );
  let sb: Superblock;
  try {
    sb = parseSuperblock(bytes);
  } catch (e) {
    throw new StaticDeltaError(`static delta ${name}: ${(e as Error).message}`);
  }
  if (sb.to !== to || sb.from !== from)
    throw new StaticDeltaError(
      `static delta ${name}: its superblock is for ${deltaName(sb.from, sb.to)}; the server's deltas/ is inconsistent`,
    );
  if (sha256(sb.commit).toString("hex") !== to)
    throw new StaticDeltaError(`static delta ${name}: the commit in its superblock does not hash to ${to}`);
  const meta = sb.fallbacks.find((f) => f.type !== "file");
  if (meta) throw new StaticDeltaError(`Found metadata object as fallback: ${meta.checksum}.${meta.type}`);
  const detached = superblockMeta(sb, commitmetaKey(from, to), "a{sv}");
  // Parts inline in the superblock are not fetched; parts whose objects are all here neither
  // (known once applying), so the count is corrected afterwards.
  const remote = sb.parts.filter((_, i) => !superblockMeta(sb, partPath(from, to, i), "(yay)")).length;
  const delta: StaticDelta = {
    from,
    to,
    commit: sb.commit,
    detached: detached ? serializeMetadata(detached.value as [string, Variant][]) : null,
    apply: (writer) =>
      writer.use(async (tx) => {
        const counts = { parts: 0, bytes: superblockBytes };
        req.progress.deltaParts = (req.progress.deltaParts ?? 0) + remote;
        let r: Awaited<ReturnType<typeof applyStaticDelta>>;
        try {
          r = await applyStaticDelta(req.repo, bytes, partFetcher(req, sb, counts), { transaction: tx });
        } catch (e) {
          if (e instanceof PullError) throw e;
          throw new StaticDeltaError(`static delta ${name}: ${(e as Error).message}`);
        } finally {
          req.progress.deltaParts += counts.parts - remote;
        }
        return {
          fallbacks: r.fallbacks.map((f) => f.checksum),
          partsFetched: counts.parts,
          bytes: counts.bytes,
        };
      }),
  };
  return delta;
};
