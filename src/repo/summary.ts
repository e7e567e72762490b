// The summary file (`(a(s(taya{sv}))a{sv})`), byte-identical to what `ostree summary -u` writes
// for the same repo and the same last-modified time: refs sorted by name, dictionaries in GLib
// hash-table order (see src/util/ghash.ts), integers big-endian where ostree swaps them.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { deserialize, type GVValue, parseType, serialize, Variant } from "../gvariant/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { gHashOrder } from "../util/ghash.js";
import { bswap64, hexToBytes, metadataGet, sha256hex } from "./objects.js";
import { listRefs } from "./refs.js";
import type { Repo } from "./repo.js";

export const T_SUMMARY = parseType("(a(s(taya{sv}))a{sv})");

export interface SummaryOptions {
  /** Seconds since the epoch for `ostree.summary.last-modified` (default: now). */
  lastModified?: number;
  /** Extra top-level keys (`summary -u --add-metadata`). */
  extra?: [string, Variant][];
}

function hashOrdered(entries: [string, Variant][]): [string, Variant][] {
  const byKey = new Map(entries);
  return gHashOrder([...byKey.keys()]).map((k) => [k, byKey.get(k)!]);
}

/** Modified base64 (`/` → `_`, no padding) of a delta directory name back to a hex checksum. */
function mbase64ToHex(s: string): string {
  return Buffer.from(s.replace(/_/g, "/"), "base64").toString("hex");
}

/** Static deltas present in the repo: name (`TO` or `FROM-TO`, hex) → sha256 of the superblock. */
export function staticDeltas(repo: Repo): [string, Buffer][] {
  const root = join(repo.path, "deltas");
  if (!existsSync(root)) return [];
  const out: [string, Buffer][] = [];
  for (const a of readdirSync(root))
    for (const b of readdirSync(join(root, a))) {
      const sb = join(root, a, b, "superblock");
      if (!existsSync(sb)) continue;
      const parts = (a + b).split("-");
      const name = parts.map(mbase64ToHex).join("-");
      out.push([name, Buffer.from(sha256hex(readFileSync(sb)), "hex")]);
    }
  return out.sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

/** Serializes the summary for the repo's current refs. */
export function buildSummary(repo: Repo, opts: SummaryOptions = {}): Buffer {
  const refs = listRefs(repo, { remotes: false }).sort((a, b) =>
    Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])),
  );
  const refEntries: GVValue[] = refs.map(([name, csum]) => {
    const c = repo.loadCommit(csum);
    const size = statSync(repo.objectPath(csum, "commit")).size;
    const meta: [string, Variant][] = [
      ["ostree.commit.timestamp", Variant.of("t", bswap64(BigInt(c.timestamp)))],
    ];
    const version = metadataGet(c.metadata, "version");
    if (version && version.typeString === "s") meta.push(["ostree.commit.version", version]);
    return [name, [BigInt(size), hexToBytes(csum), hashOrdered(meta)]];
  });
  const top: [string, Variant][] = [...(opts.extra ?? [])];
  const noDeltas = repo.config.getBool("core", "no-deltas-in-summary", false);
  const deltas = noDeltas ? [] : staticDeltas(repo);
  if (deltas.length)
    top.push([
      "ostree.static-deltas",
      Variant.of("a{sv}", hashOrdered(deltas.map(([n, d]) => [n, Variant.of("ay", d)]))),
    ]);
  const now = opts.lastModified ?? Math.floor(Date.now() / 1000);
  top.push(["ostree.summary.last-modified", Variant.of("t", bswap64(BigInt(now)))]);
  top.push(["ostree.summary.mode", Variant.of("s", repo.config.get("core", "mode") ?? "bare")]);
  top.push([
    "ostree.summary.tombstone-commits",
    Variant.of("b", repo.config.getBool("core", "tombstone-commits", false)),
  ]);
  top.push(["ostree.summary.indexed-deltas", Variant.of("b", true)]);
  const collection = repo.config.get("core", "collection-id");
  if (collection) top.push(["ostree.summary.collection-id", Variant.of("s", collection)]);
  return serialize(T_SUMMARY, [refEntries, hashOrdered(top)]);
}

/** Writes REPO/summary atomically and drops a now-stale summary.sig, as ostree does. */
export async function updateSummary(repo: Repo, opts: SummaryOptions = {}): Promise<Buffer> {
  const lock = await repo.lock("shared");
  try {
    const bytes = buildSummary(repo, opts);
    writeFileAtomic(join(repo.path, "summary"), bytes, { fsync: repo.fsyncEnabled });
    rmSync(join(repo.path, "summary.sig"), { force: true });
    return bytes;
  } finally {
    lock.release();
  }
}

export interface SummaryRef {
  name: string;
  commitSize: number;
  checksum: string;
  metadata: [string, Variant][];
}

export function parseSummary(bytes: Buffer): { refs: SummaryRef[]; metadata: [string, Variant][] } {
  const [refs, meta] = deserialize(T_SUMMARY, bytes) as [
    [string, [bigint, Buffer, [string, Variant][]]][],
    [string, Variant][],
  ];
  return {
    refs: refs.map(([name, [size, csum, m]]) => ({
      name,
      commitSize: Number(size),
      checksum: csum.toString("hex"),
      metadata: m,
    })),
    metadata: meta,
  };
}
