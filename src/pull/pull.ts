// Pulling commits into a repo, as ostree's pull does: resolve refs (summary, else refs/heads), fetch
// each commit and its detached metadata, let the verifier judge them, mark the commit partial, then
// fetch its dirtrees, dirmetas and content objects. Every object is checked against its name before
// it is staged (metadata: sha256 of the bytes; content: the payload inflated and re-hashed as it
// streams into the store). Objects already present are skipped; a commit's partial marker goes and
// its ref moves only once its whole closure is in, durable, and verified.
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { deltaName } from "../delta/names.js";
import type { Variant } from "../gvariant/index.js";
import { CorruptObjectError } from "../repo/archive-object.js";
import { markCommitPartial } from "../repo/fsck.js";
import {
  contentChecksum,
  metadataGet,
  parseCommit,
  parseDirTree,
  S_IFLNK,
  S_IFMT,
  sha256hex,
} from "../repo/objects.js";
import { readRef, writeRef } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { parseSummary } from "../repo/summary.js";
import { isPartialCommit } from "../repo/traverse.js";
import { writeFileAtomic } from "../util/atomic.js";
import { PullError, TransientError } from "./fetcher.js";
import {
  type PullHooks,
  type RemoteVerifier,
  remoteVerifier,
  type StaticDelta,
  type VerifiedSignatures,
} from "./hooks.js";
import { newPullProgress, type PullProgress } from "./progress.js";
import { TaskQueue } from "./queue.js";
import type { Remote } from "./remotes.js";
import type { MetadataKind, ObjectSource } from "./source.js";
import { checkRefBinding, currentRef, refSpec, resolveTargets, type Target } from "./targets.js";
import { type BatchOptions, BatchWriter } from "./writer.js";

export class ObjectNotFoundError extends PullError {
  override name = "ObjectNotFoundError";
}

export interface PullOptions {
  source: ObjectSource;
  /** The remote pulled from (signature policy, ref namespace); absent for pull-local. */
  remote?: Remote;
  /** The remote's signature policy when the caller built it already (null: none); else from `remote`. */
  verifier?: RemoteVerifier | null;
  /** Namespace of the refs written: refs/remotes/NAME/…; null = refs/heads (pull-local, --mirror). */
  refRemote: string | null;
  /** Ref names or commit checksums; empty = the remote's configured branches (or all, with mirror). */
  refs: string[];
  mirror?: boolean;
  /** Parent commits to fetch too: 0 none, -1 all. */
  depth?: number;
  commitMetadataOnly?: boolean;
  /** Fetch only these paths of each tree (the commits stay partial). */
  subpaths?: string[];
  disableStaticDeltas?: boolean;
  /** Fail unless every requested commit comes through a static delta (--require-static-deltas). */
  requireStaticDeltas?: boolean;
  /** Only pull URL sources whose repo is archive (true for http). */
  requireArchive?: boolean;
  hooks?: PullHooks;
  /**
   * Tasks in flight (default 16): each holds at most one object (a small one whole) while it is
   * fetched, verified and stored; the fetcher bounds requests in flight separately (12).
   */
  concurrency?: number;
  batch?: BatchOptions;
  progress?: PullProgress;
}

export interface PulledRef {
  ref: string;
  commit: string;
  previous: string | null;
}

export interface PullResult {
  refs: PulledRef[];
  commits: string[];
  metadataFetched: number;
  contentFetched: number;
  requests: number;
  bytes: number;
  retries: number;
  seconds: number;
  /** Static deltas applied (FROM-TO or TO), with the parts and bytes (superblocks included) they took. */
  deltas: { name: string; parts: number; bytes: number; fallbacks: number }[];
  deltaBytes: number;
  /** Commits whose signatures were checked, with the valid ones. */
  verified: VerifiedSignatures[];
}

/** Summary deltas (`ostree.static-deltas`): name → superblock digest. */
function summaryDeltas(meta: [string, Variant][]): Map<string, Buffer> | null {
  const v = metadataGet(meta, "ostree.static-deltas");
  const out = new Map<string, Buffer>();
  if (v && v.typeString === "a{sv}")
    for (const [k, d] of v.value as [string, Variant][])
      if (d.typeString === "ay" && (d.value as Buffer).length === 32) out.set(k, d.value as Buffer);
  return out;
}

export async function pull(repo: Repo, opts: PullOptions): Promise<PullResult> {
  const hooks = opts.hooks ?? {};
  const { source, remote } = opts;
  // Before any request: a remote whose signature policy cannot be met is refused here.
  const verifier =
    opts.verifier !== undefined ? opts.verifier : remote ? remoteVerifier(repo, remote, hooks) : null;
  // ostree 2022.7 uses no deltas for archive repos (they keep the server's exact objects) nor
  // for --commit-metadata-only.
  let useDeltas = Boolean(hooks.delta) && !opts.disableStaticDeltas && !opts.commitMetadataOnly;
  if (opts.requireStaticDeltas) {
    if (opts.disableStaticDeltas)
      throw new PullError("--require-static-deltas and --disable-static-deltas contradict each other");
    if (!hooks.delta) throw new PullError("static deltas are required but this caller cannot apply them");
    if (repo.isArchive) throw new PullError("Can't use static deltas in an archive repo");
  }
  if (repo.isArchive) useDeltas = false;
  const progress: PullProgress = opts.progress ?? newPullProgress();
  const stats = source.stats;
  // The config and the summary are independent: fetched at once (a round trip less per pull).
  const [mode, summary] = await Promise.all([source.mode(), source.summary()]);
  if (opts.requireArchive && mode !== "archive" && mode !== "archive-z2")
    throw new PullError(
      `${source.description} is a '${mode}' repository; pulls over a URL need an archive repo (ostree init --mode=archive)`,
    );

  if (remote && (remote.gpgVerifySummary || remote.signVerifySummary) && !summary)
    throw new PullError(
      `remote "${remote.name}" requires a signed summary but ${source.description} has none`,
    );
  if (summary && verifier) await verifier.verifySummary(summary.summary, summary.signature);
  const parsed = summary ? parseSummary(summary.summary) : null;
  const listedDeltas = parsed ? summaryDeltas(parsed.metadata) : null;
  const indexedDeltas = metadataGet(parsed?.metadata ?? [], "ostree.summary.indexed-deltas")?.value === true;
  if (useDeltas && opts.requireStaticDeltas && !indexedDeltas && !listedDeltas?.size)
    throw new PullError(
      "Fetch configured to require static deltas, but no summary deltas or delta index found",
    );

  const targets = await resolveTargets(opts, parsed);
  const writer = await BatchWriter.open(repo, opts.batch);
  const queue = new TaskQueue(opts.concurrency ?? 16);
  const seen = new Set<string>();
  const completeCommits: string[] = [];
  const fetchedCommits = new Map<string, Buffer>();
  const verified: VerifiedSignatures[] = [];
  const deltas: PullResult["deltas"] = [];

  /**
   * Metadata fetches in flight, by checksum and type: a dirtree (or dirmeta) that two directories
   * share is asked for once even when both get to it before it is stored.
   */
  const inFlight = new Map<string, Promise<Buffer>>();

  /** A metadata object: fetched and verified unless present; returns its bytes when asked. */
  const ensureMetadata = async (
    csum: string,
    type: MetadataKind,
    needBytes: boolean,
  ): Promise<Buffer | null> => {
    const key = `${csum}.${type}`;
    const pending = inFlight.get(key);
    if (pending) {
      const bytes = await pending;
      return needBytes ? bytes : null;
    }
    if (writer.has(csum, type)) {
      if (!needBytes) return null;
      return type === "dirtree" ? writer.readMetadata(csum, type) : null;
    }
    const fetched = fetchMetadata(csum, type);
    inFlight.set(key, fetched);
    try {
      return await fetched;
    } finally {
      inFlight.delete(key);
    }
  };

  /** Refuses (for a retry) bytes that are not the object they were fetched as. */
  const named = (csum: string, type: MetadataKind) => (b: Buffer) => {
    if (sha256hex(b) !== csum)
      throw new TransientError(`${csum}.${type} from ${source.description} is corrupt`);
  };

  const fetchMetadata = async (csum: string, type: MetadataKind): Promise<Buffer> => {
    progress.requested++;
    const bytes = await source.metadata(csum, type, named(csum, type));
    if (!bytes)
      throw new ObjectNotFoundError(
        `${csum}.${type} not found on ${source.description}; the remote repo is incomplete`,
      );
    await writer.use((tx) => tx.writeMetadata(type as "dirtree" | "dirmeta" | "commit", bytes));
    progress.metadataFetched++;
    progress.bytes = stats.bytes;
    return bytes;
  };

  const ensureContent = async (csum: string): Promise<void> => {
    if (writer.has(csum, "file")) return;
    progress.requested++;
    const found = await source.content(csum, async (parts) => {
      try {
        if ("filez" in parts) {
          await writer.use((tx) => tx.writeFilez(parts.filez, csum));
          return;
        }
        const { meta, size, payload } = parts;
        if ((meta.mode & S_IFMT) === S_IFLNK) {
          for await (const _ of payload) {
            // a symlink has no payload; the source refuses one
          }
          if (contentChecksum(meta) !== csum) throw new TransientError(`content object ${csum} is corrupt`);
          await writer.use((tx) => tx.writeContentSync(meta, Buffer.alloc(0)));
          return;
        }
        await writer.use((tx) => tx.writeContent(meta, exactly(payload, size, csum), size, undefined, csum));
      } catch (e) {
        if (e instanceof CorruptObjectError) throw new TransientError(e.message);
        throw e;
      }
    });
    if (!found)
      throw new ObjectNotFoundError(
        `${csum}.file not found on ${source.description}; the remote repo is incomplete`,
      );
    progress.contentFetched++;
    progress.bytes = stats.bytes;
  };

  /**
   * Walks a dirtree, fetching what is missing; `sub` is what remains of a --subpath (null = all).
   * `old` is the dirtree at the same path in the commit the ref had before, when that commit is
   * complete: what it holds is all here, so an equal subtree is not scanned and its files are not
   * looked up (an update costs what changed, not the whole tree).
   */
  const walkTree = (tree: string, meta: string, sub: string[] | null, old: string | null = null): void => {
    const key = `${tree}:${meta}:${sub?.join("/") ?? ""}`;
    if (seen.has(key)) return;
    seen.add(key);
    queue.push(async () => {
      if (old === tree) {
        await ensureMetadata(meta, "dirmeta", false);
        return;
      }
      // Both at once, as ostree asks for them: a round trip per directory level, not two.
      const [, bytes] = await Promise.all([
        ensureMetadata(meta, "dirmeta", false),
        ensureMetadata(tree, "dirtree", true) as Promise<Buffer>,
      ]);
      const t = parseDirTree(bytes);
      const before = old ? repo.loadDirTree(old) : null;
      const had = new Set(before?.files.map(([, c]) => c));
      const hadDirs = new Map(before?.dirs.map(([n, dt]) => [n, dt]));
      for (const [name, c] of t.files) {
        if (sub && !(sub.length === 1 && sub[0] === name)) continue;
        if (seen.has(c) || had.has(c)) continue;
        seen.add(c);
        queue.push(() => ensureContent(c), "low");
      }
      for (const [name, dt, dm] of t.dirs) {
        if (sub && sub[0] !== name) continue;
        walkTree(dt, dm, sub && sub.length > 1 ? sub.slice(1) : null, hadDirs.get(name) ?? null);
      }
    }, "high");
  };

  /** Fetches the static delta for a requested commit, if there is one to use (else null). */
  const findDelta = (to: string, top: Target): Promise<StaticDelta | null> =>
    hooks.delta!({
      repo,
      source,
      to,
      ref: top.name,
      localRef: top.name ? readRef(repo, refSpec(opts, top.name)) : null,
      summaryDeltas: listedDeltas,
      indexedDeltas,
      summaryVerified: Boolean(summary && verifier?.checksSummary),
      require: Boolean(opts.requireStaticDeltas),
      progress,
    });

  /**
   * Fetches the commit object and its detached metadata (a 404 on the latter is fine), side by side
   * as ostree does: one round trip, not two.
   */
  const fetchCommit = async (csum: string): Promise<{ bytes: Buffer; detached: Buffer | null } | null> => {
    const detached = source.metadata(csum, "commitmeta");
    // Its failure counts only once the commit is there: no unhandled rejection before.
    detached.catch(() => {});
    const bytes = await source.metadata(csum, "commit", named(csum, "commit"));
    if (!bytes) return null;
    progress.metadataFetched++;
    return { bytes, detached: await detached };
  };

  /**
   * Fetches (or finds) one commit, has its signatures checked, then its tree (through a static
   * delta for a requested commit when one serves) and parents.
   */
  const pullCommit = async (
    csum: string,
    depth: number,
    optional: boolean,
    top: Target | null,
  ): Promise<void> => {
    const present = writer.has(csum, "commit");
    const complete = present && !isPartialCommit(repo, csum);
    const delta = !complete && top && useDeltas ? await findDelta(csum, top) : null;
    let bytes: Buffer;
    let detached: Buffer | null;
    const local = repo.hasObject(csum, "commitmeta") ? repo.readMetadataBytes(csum, "commitmeta") : null;
    if (present) {
      bytes = writer.readMetadata(csum, "commit");
      detached = local;
      // As ostree: the server's detached metadata is read again for a commit we have, since
      // signatures may have been added since.
      if (verifier?.checksCommits)
        detached = delta?.detached ?? (await source.metadata(csum, "commitmeta")) ?? local;
    } else if (delta) {
      bytes = delta.commit;
      // ostree takes the signatures from the superblock only; when they are to be checked and it
      // has none, they are looked for on the server.
      detached =
        delta.detached ?? (verifier?.checksCommits ? await source.metadata(csum, "commitmeta") : null);
    } else {
      const got = await fetchCommit(csum);
      if (!got) {
        if (optional) return; // history may be shallow on the server
        throw new ObjectNotFoundError(`commit ${csum} not found on ${source.description}`);
      }
      ({ bytes, detached } = got);
    }
    if (verifier) {
      const v = await verifier.verifyCommit(csum, bytes, detached);
      if (v) verified.push(v);
    }
    // Verified detached metadata is kept (written in place, as ostree does); a delta's own is
    // staged with its commit by the delta.
    const stagedByDelta = delta !== null && !present && delta.detached !== null;
    const writeMeta = () => {
      if (detached && !stagedByDelta && !local?.equals(detached)) writeDetached(repo, csum, detached);
    };
    if (complete) {
      writeMeta();
      if (depth !== 0) await pullParent(repo.loadCommit(csum).parent, depth);
      return;
    }
    const commit = parseCommit(bytes);
    if (top?.name) checkRefBinding(commit.metadata, top.name, csum);
    fetchedCommits.set(csum, bytes);
    // The marker goes first: from here on, a crash leaves a commit that says it is incomplete.
    markCommitPartial(repo, csum);
    const walk = () => {
      if (opts.commitMetadataOnly) return;
      if (!opts.subpaths?.length) {
        // The ref's previous commit (complete, or currentRef would not have named it).
        const before = top?.name ? previous.get(top.name) : null;
        walkTree(commit.rootTree, commit.rootMeta, null, before ? repo.loadCommit(before).rootTree : null);
        completeCommits.push(csum);
      } else
        for (const p of opts.subpaths) {
          const parts = p.split("/").filter((x) => x);
          walkTree(commit.rootTree, commit.rootMeta, parts.length ? parts : null);
        }
    };
    // Without a delta the tree's first requests go out before the commit is written: the write
    // overlaps their round trip (its objects may land before it; the marker is already there).
    if (!delta) walk();
    if (!present && !delta) await writer.use((tx) => tx.writeMetadata("commit", bytes));
    writeMeta();
    if (delta) {
      // The delta's objects (and the commit, last) are staged; what it left out comes one by one.
      const applied = await delta.apply(writer);
      deltas.push({
        name: deltaName(delta.from, delta.to),
        parts: applied.partsFetched,
        bytes: applied.bytes,
        fallbacks: applied.fallbacks.length,
      });
      for (const c of applied.fallbacks)
        if (!seen.has(c)) {
          seen.add(c);
          queue.push(() => ensureContent(c), "low");
        }
      walk();
    }
    if (depth !== 0) await pullParent(commit.parent, depth);
  };

  const pullParent = async (parent: string | null, depth: number): Promise<void> => {
    if (parent) await pullCommit(parent, depth < 0 ? depth : depth - 1, true, null);
  };

  const previous = new Map<string, string | null>();
  try {
    for (const t of targets) {
      if (t.name) previous.set(t.name, currentRef(repo, opts, t.name));
      await pullCommit(t.commit, opts.depth ?? 0, false, t);
    }
    await queue.drain();
    await writer.finish();
  } catch (e) {
    // What was verified stays (a re-run fetches only the rest); nothing moves a ref.
    try {
      await writer.finish();
    } catch {
      writer.abort();
    }
    throw e;
  }
  for (const c of completeCommits) rmSync(join(repo.path, "state", `${c}.commitpartial`), { force: true });
  const refs: PulledRef[] = [];
  for (const t of targets) {
    if (!t.name) continue;
    const spec = refSpec(opts, t.name);
    const prev = previous.get(t.name) ?? null;
    if (prev !== t.commit) writeRef(repo, spec, t.commit);
    refs.push({ ref: spec, commit: t.commit, previous: prev });
  }
  progress.bytes = stats.bytes;
  return {
    refs,
    commits: [...fetchedCommits.keys()],
    metadataFetched: progress.metadataFetched,
    contentFetched: progress.contentFetched,
    requests: stats.requests,
    bytes: stats.bytes,
    retries: stats.retries,
    seconds: (Date.now() - progress.startedMs) / 1000,
    deltas,
    deltaBytes: progress.deltaBytes ?? 0,
    verified,
  };
}

/** Passes a payload through, failing (for a retry) when it is shorter than its header says. */
async function* exactly(src: AsyncIterable<Buffer>, size: number, csum: string): AsyncIterable<Buffer> {
  let n = 0;
  for await (const c of src) {
    n += c.length;
    yield c;
  }
  if (n !== size) throw new TransientError(`content object ${csum} has ${n} bytes, its header says ${size}`);
}

/** Detached metadata is not content-addressed: it is written in place, as ostree does. */
function writeDetached(repo: Repo, csum: string, bytes: Buffer): void {
  const p = repo.objectPath(csum, "commitmeta");
  mkdirSync(dirname(p), { recursive: true, mode: 0o775 });
  writeFileAtomic(p, bytes, { fsync: repo.fsyncEnabled });
}
