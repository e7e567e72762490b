// Where pulled objects come from: an archive repo behind a URL (http, https, file) or, for
// pull-local, a repo on disk in any mode. Both hand out metadata as bytes and content objects as
// (metadata, size, payload stream); verifying them is the puller's job, never the source's.
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { pipeline, Readable } from "node:stream";
import { createInflateRaw } from "node:zlib";
import {
  type FileMeta,
  type ObjectType,
  objectRelPath,
  parseArchiveFile,
  S_IFMT,
  S_IFREG,
} from "../repo/objects.js";
import { readRef } from "../repo/refs.js";
import { Repo } from "../repo/repo.js";
import { KeyFile } from "../util/keyfile.js";
import {
  Fetcher,
  type FetcherOptions,
  type FetchStats,
  PullError,
  readExactly,
  TransientError,
  WHOLE_BODY_MAX,
} from "./fetcher.js";
import type { Remote } from "./remotes.js";

/** ostree's OSTREE_MAX_METADATA_SIZE: no metadata object is read beyond this. */
export const MAX_METADATA_SIZE = 128 << 20;
/** A .filez header beyond this is refused (it holds only ownership, mode and xattrs). */
const MAX_FILE_HEADER = 1 << 20;

export type MetadataKind = Exclude<ObjectType, "file">;

/**
 * A content object as a source hands it out: small `.filez` objects whole and still compressed
 * (verified and stored in one go, possibly on a worker thread), others as metadata and a stream
 * of the inflated payload.
 */
export type ContentParts =
  | { filez: Buffer }
  | { meta: FileMeta; size: number; payload: AsyncIterable<Buffer> };

/** Called with a content object; throws (TransientError for bad bytes) to reject it. */
export type ContentConsumer = (parts: ContentParts) => Promise<void>;

/**
 * `.filez` bodies the fetcher reads whole (WHOLE_BODY_MAX) are verified and stored whole unless
 * their header announces more than this; the others are streamed.
 */
const WHOLE_MAX_INFLATED = 8 << 20;

export interface ObjectSource {
  readonly description: string;
  readonly stats: FetchStats;
  /** The source repo's mode as its config says (pulls over URLs need an archive repo). */
  mode(): Promise<string>;
  /** summary and summary.sig; null when the source has no summary. */
  summary(): Promise<{ summary: Buffer; signature: Buffer | null } | null>;
  /** refs/heads/REF, or null. */
  ref(name: string): Promise<string | null>;
  /**
   * A metadata object's bytes, or null when the source does not have it; `check` throws
   * TransientError for bytes that must be fetched again.
   */
  metadata(csum: string, type: MetadataKind, check?: (bytes: Buffer) => void): Promise<Buffer | null>;
  /** Hands a content object to `consume`; false when the source does not have it. */
  content(csum: string, consume: ContentConsumer): Promise<boolean>;
  /**
   * Any other file of the repo (static deltas), or null when absent; `check` throws
   * TransientError for bytes that must be fetched again. Only URL sources have one.
   */
  raw?(rel: string, maxSize: number, check?: (bytes: Buffer) => void): Promise<Buffer | null>;
  close(): Promise<void>;
}

/** Streams the inflated payload of a raw-deflate body, refusing more than `size` bytes. */
async function* inflated(src: AsyncIterable<Buffer>, size: number, what: string): AsyncIterable<Buffer> {
  // Big output chunks: each is a round trip to the thread pool (16 KiB by default).
  const inflate = createInflateRaw({ chunkSize: 256 << 10 });
  const out = pipeline(Readable.from(src), inflate, () => {});
  let n = 0;
  for await (const c of out as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > size) {
      inflate.destroy();
      throw new TransientError(`${what} inflates to more than the ${size} bytes its header announces`);
    }
    yield c;
  }
}

/** Splits a `.filez` stream into its header and the rest of the body. */
async function splitFilez(
  body: AsyncIterable<Buffer>,
  what: string,
): Promise<{ meta: FileMeta; size: number; rest: AsyncIterable<Buffer> }> {
  const it = body[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 8 || head.length < 8 + head.readUInt32BE(0)) {
    if (head.length >= 8 && head.readUInt32BE(0) > MAX_FILE_HEADER)
      throw new PullError(`${what}: file header of ${head.readUInt32BE(0)} bytes is not plausible`);
    const r = await it.next();
    if (r.done) throw new TransientError(`${what}: truncated before the end of its header`);
    head = Buffer.concat([head, r.value]);
  }
  let parsed: ReturnType<typeof parseArchiveFile>;
  try {
    parsed = parseArchiveFile(head);
  } catch (e) {
    // Bytes damaged on the way look like a malformed header: worth fetching again.
    throw new TransientError(`${what}: malformed file header (${(e as Error).message})`);
  }
  const first = parsed.compressed;
  async function* rest(): AsyncIterable<Buffer> {
    if (first.length) yield first;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { meta: parsed.meta, size: parsed.size, rest: rest() };
}

const isRegular = (m: FileMeta) => (m.mode & S_IFMT) === S_IFREG;

/** The payload size a `.filez` header announces (its first field), or Infinity when unreadable. */
function announcedSize(filez: Buffer): number {
  return filez.length >= 16 ? Number(filez.readBigUInt64BE(8)) : Number.POSITIVE_INFINITY;
}

/** An archive repo at a URL. */
export class UrlSource implements ObjectSource {
  private fetcher: Fetcher;
  private contentBase: Fetcher;

  constructor(
    readonly url: string,
    opts: FetcherOptions & { contentUrl?: string } = {},
  ) {
    this.fetcher = new Fetcher(url, opts);
    this.contentBase = opts.contentUrl ? new Fetcher(opts.contentUrl, opts) : this.fetcher;
  }

  get description(): string {
    return this.url;
  }

  get stats(): FetchStats {
    if (this.contentBase === this.fetcher) return this.fetcher.stats;
    const a = this.fetcher.stats;
    const b = this.contentBase.stats;
    return { requests: a.requests + b.requests, bytes: a.bytes + b.bytes, retries: a.retries + b.retries };
  }

  async mode(): Promise<string> {
    const bytes = await this.fetcher.getBytes("config", 1 << 20);
    if (!bytes)
      throw new PullError(
        `${this.fetcher.describe("config")} not found: ${this.url} is not an OSTree repository`,
      );
    return KeyFile.parse(bytes.toString("utf8")).get("core", "mode") ?? "bare";
  }

  async summary(): Promise<{ summary: Buffer; signature: Buffer | null } | null> {
    // Both at once: one round trip instead of two.
    const [summary, signature] = await Promise.all([
      this.fetcher.getBytes("summary", MAX_METADATA_SIZE),
      this.fetcher.getBytes("summary.sig", MAX_METADATA_SIZE),
    ]);
    return summary ? { summary, signature } : null;
  }

  async ref(name: string): Promise<string | null> {
    const b = await this.fetcher.getBytes(`refs/heads/${name}`, 1024);
    return b ? b.toString("utf8").trim() : null;
  }

  metadata(csum: string, type: MetadataKind, check?: (bytes: Buffer) => void): Promise<Buffer | null> {
    return this.fetcher.getBytes(objectRelPath(csum, type, true), MAX_METADATA_SIZE, check);
  }

  async content(csum: string, consume: ContentConsumer): Promise<boolean> {
    const rel = objectRelPath(csum, "file", true);
    const what = `content object ${csum}`;
    const r = await this.contentBase.get(rel, async (body, length) => {
      if (length !== null && length <= WHOLE_BODY_MAX) {
        const filez = await readExactly(body, length, what);
        if (announcedSize(filez) <= WHOLE_MAX_INFLATED) {
          await consume({ filez });
          return true;
        }
        body = (async function* () {
          yield filez;
        })();
      }
      const { meta, size, rest } = await splitFilez(body, what);
      const payload = isRegular(meta) ? inflated(rest, size, what) : emptyAfter(rest, what);
      await consume({ meta, size, payload });
      return true;
    });
    return r === true;
  }

  raw(rel: string, maxSize: number, check?: (bytes: Buffer) => void): Promise<Buffer | null> {
    // ostree fetches delta files from the content URL, as content objects.
    return this.contentBase.getBytes(rel, maxSize, check);
  }

  async close(): Promise<void> {
    await this.fetcher.close();
    if (this.contentBase !== this.fetcher) await this.contentBase.close();
  }
}

/** The source for a configured remote (mirrorlist= URLs are not supported yet). */
export function remoteSource(remote: Remote, opts: FetcherOptions = {}): UrlSource {
  for (const u of [remote.url, remote.contentUrl])
    if (u?.startsWith("mirrorlist="))
      throw new PullError(`remote "${remote.name}": mirrorlist URLs are not supported; use the repo's URL`);
  return new UrlSource(remote.url, {
    ...opts,
    contentUrl: remote.contentUrl,
    tlsPermissive: remote.tlsPermissive,
    tlsCaPath: remote.tlsCaPath,
    tlsClientCertPath: remote.tlsClientCertPath,
    tlsClientKeyPath: remote.tlsClientKeyPath,
  });
}

/** A symlink's .filez has nothing after its header; anything there is a corrupt object. */
async function* emptyAfter(rest: AsyncIterable<Buffer>, what: string): AsyncIterable<Buffer> {
  for await (const c of rest) {
    if (c.length) throw new TransientError(`${what}: symlink object with a payload`);
    yield c;
  }
}

/** A repo on this machine, in any mode (pull-local). */
export class LocalSource implements ObjectSource {
  readonly stats: FetchStats = { requests: 0, bytes: 0, retries: 0 };
  readonly repo: Repo;

  constructor(path: string) {
    this.repo = Repo.open(path);
  }

  get description(): string {
    return this.repo.path;
  }

  async mode(): Promise<string> {
    return this.repo.mode;
  }

  async summary(): Promise<{ summary: Buffer; signature: Buffer | null } | null> {
    return null; // pull-local resolves refs directly
  }

  async ref(name: string): Promise<string | null> {
    return readRef(this.repo, name);
  }

  async metadata(csum: string, type: MetadataKind, check?: (bytes: Buffer) => void): Promise<Buffer | null> {
    if (!this.repo.hasObject(csum, type)) return null;
    this.stats.requests++;
    const b = this.repo.readMetadataBytes(csum, type);
    this.stats.bytes += b.length;
    check?.(b);
    return b;
  }

  async content(csum: string, consume: ContentConsumer): Promise<boolean> {
    if (!this.repo.hasObject(csum, "file")) return false;
    this.stats.requests++;
    const f = this.repo.loadFile(csum);
    this.stats.bytes += f.size;
    if (!isRegular(f.meta)) await consume({ meta: f.meta, size: 0, payload: Readable.from([]) });
    else if (f.path && !this.repo.isArchive) {
      const stream = createReadStream(f.path);
      try {
        await consume({ meta: f.meta, size: f.size, payload: stream });
      } finally {
        stream.destroy();
      }
    } else {
      const path = join(this.repo.path, objectRelPath(csum, "file", true));
      const { rest } = await splitFilez(createReadStream(path), `content object ${csum}`);
      await consume({
        meta: f.meta,
        size: f.size,
        payload: inflated(rest, f.size, `content object ${csum}`),
      });
    }
    return true;
  }

  async close(): Promise<void> {}
}
