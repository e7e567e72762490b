// `static-delta generate`: the objects of the to-commit that the from-commit lacks (all of them
// from scratch), packed into parts as ostree's "low latency" generator does — metadata first, then
// modified files as bsdiff patches against their old version, then new regular files (those above
// the fallback size left for the client to fetch one by one), then symlinks — and written under
// deltas/ in the repo. Nothing else in the repo changes. Parts are written before the superblock,
// which is renamed into place last: a crash leaves no superblock naming missing parts.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Variant } from "../gvariant/index.js";
import { parseMetadata, S_IFMT, S_IFREG } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { parseObjectName, traverseCommit } from "../repo/traverse.js";
import { writeFileAtomic } from "../util/atomic.js";
import { bsdiff } from "./bsdiff.js";
import { xzCompressor } from "./compress.js";
import { commitmetaKey, deltaDir, partPath } from "./names.js";
import { encodePartFile } from "./part.js";
import { PartBuilder } from "./part-builder.js";
import { similarObjects } from "./similar.js";
import {
  DELTAPART_VERSION,
  type DeltaObject,
  type FallbackObject,
  type PartHeader,
  serializeSuperblock,
} from "./superblock.js";

const MB = 1000 * 1000;

export interface GenerateOptions {
  from: string | null;
  to: string;
  /** Put the parts inside the superblock (one file). */
  inline?: boolean;
  /** Regular files above this many MB are fallbacks; 0 disables (default 4, as ostree). */
  minFallbackSize?: number;
  /** Maximum part size in MB (default 32). */
  maxChunkSize?: number;
  /** Files whose old+new size exceeds this many MB are not bsdiff'ed (default 128). */
  maxBsdiffSize?: number;
  /** bsdiff modified files (default true). */
  bsdiff?: boolean;
  /** Compress parts with xz when an encoder is available (default true). */
  compress?: boolean;
  /** Superblock timestamp (default now). */
  timestamp?: number;
}

export interface GenerateResult {
  from: string | null;
  to: string;
  /** The delta's directory, relative to the repo. */
  dir: string;
  parts: PartHeader[];
  fallbacks: FallbackObject[];
  /** Modified files sent as bsdiff patches. */
  bsdiffs: number;
  /** Whether parts are xz-compressed. */
  compressed: boolean;
}

interface Plan {
  metadata: DeltaObject[];
  regular: string[];
  symlinks: string[];
}

/** What the to-commit has that the from-commit does not, split as ostree packs it (sorted, for determinism). */
function planObjects(repo: Repo, from: string | null, to: string): Plan {
  const fromSet = new Set<string>();
  if (from) traverseCommit(repo, from, fromSet);
  const toSet = new Set<string>();
  traverseCommit(repo, to, toSet);
  const plan: Plan = { metadata: [], regular: [], symlinks: [] };
  for (const name of [...toSet].sort()) {
    if (fromSet.has(name)) continue;
    const { checksum, type } = parseObjectName(name);
    // The to-commit travels in the superblock; not twice.
    if (type === "commit") continue;
    if (type !== "file") plan.metadata.push({ type, checksum });
    else if ((repo.loadFile(checksum).meta.mode & S_IFMT) === S_IFREG) plan.regular.push(checksum);
    else plan.symlinks.push(checksum);
  }
  return plan;
}

export function generateStaticDelta(repo: Repo, opts: GenerateOptions): GenerateResult {
  const { from, to } = opts;
  const maxChunk = (opts.maxChunkSize ?? 32) * MB;
  const minFallback = (opts.minFallbackSize ?? 4) * MB;
  const maxBsdiff = (opts.maxBsdiffSize ?? 128) * MB;
  const compress = opts.compress === false ? undefined : xzCompressor();
  const commit = repo.readMetadataBytes(to, "commit");
  const plan = planObjects(repo, from, to);

  const builders: PartBuilder[] = [new PartBuilder()];
  const current = (incoming: number): PartBuilder => {
    const b = builders[builders.length - 1]!;
    if (b.objects.length > 0 && b.sizeEstimate + incoming > maxChunk) builders.push(new PartBuilder());
    return builders[builders.length - 1]!;
  };

  for (const obj of plan.metadata) {
    const bytes = repo.readMetadataBytes(obj.checksum, obj.type as "dirtree" | "dirmeta");
    current(bytes.length).addMetadata(obj, bytes);
  }

  const patched = new Set<string>();
  if (from && opts.bsdiff !== false) {
    for (const [toCsum, fromCsum] of similarObjects(repo, from, to, new Set(plan.regular))) {
      const source = repo.loadFile(fromCsum);
      // Only a source every client can read (ostree: world-readable) is a safe read source.
      if (!(source.meta.mode & 0o004)) continue;
      const target = repo.loadFile(toCsum);
      if (source.size + target.size > maxBsdiff) continue;
      const newData = target.read();
      const patch = bsdiff(source.read(), newData);
      current(0).addBsdiff({ type: "file", checksum: toCsum }, target.meta, newData.length, fromCsum, patch);
      patched.add(toCsum);
    }
  }

  const fallbacks: FallbackObject[] = [];
  for (const csum of plan.regular) {
    if (patched.has(csum)) continue;
    const f = repo.loadFile(csum);
    if (minFallback > 0 && f.size > minFallback) {
      const size = lstatSync(repo.objectPath(csum, "file")).size;
      fallbacks.push({ type: "file", checksum: csum, size, usize: f.size });
      continue;
    }
    current(f.size).addContent({ type: "file", checksum: csum }, f.meta, f.read());
  }
  for (const csum of plan.symlinks) {
    const f = repo.loadFile(csum);
    current(f.meta.symlinkTarget.length).addContent(
      { type: "file", checksum: csum },
      f.meta,
      Buffer.alloc(0),
    );
  }

  const dir = deltaDir(from, to);
  const absDir = join(repo.path, dir);
  // A delta generated again replaces the old one whole (its parts may be fewer now).
  rmSync(absDir, { recursive: true, force: true });
  mkdirSync(absDir, { recursive: true, mode: 0o775 });
  const metadata: [string, Variant][] = [];
  const parts: PartHeader[] = builders.map((b, i) => {
    const file = encodePartFile(b.payload(), compress);
    // An inline part is the same (yay) bytes as the part file, under the part's path as key.
    if (opts.inline)
      metadata.push([partPath(from, to, i), Variant.of("(yay)", [file[0]!, file.subarray(1)])]);
    else writeFileAtomic(join(absDir, String(i)), file, { fsync: repo.fsyncEnabled });
    return {
      version: DELTAPART_VERSION,
      checksum: createHash("sha256").update(file).digest("hex"),
      size: file.length,
      usize: b.usize,
      objects: b.objects,
    };
  });
  if (repo.hasObject(to, "commitmeta"))
    metadata.push([
      commitmetaKey(from, to),
      Variant.of("a{sv}", parseMetadata(repo.readMetadataBytes(to, "commitmeta"))),
    ]);
  const superblock = serializeSuperblock({
    metadata,
    timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000),
    from,
    to,
    commit,
    parts,
    fallbacks,
  });
  writeFileAtomic(join(repo.path, dir, "superblock"), superblock, { fsync: repo.fsyncEnabled });
  return { from, to, dir, parts, fallbacks, bsdiffs: patched.size, compressed: compress !== undefined };
}
