// Fetching files of a remote repo: one keep-alive undici Pool per origin, a bounded number of
// requests in flight, and retries with exponential backoff for what may go right the next time (5xx,
// reset or timed-out connections, bodies cut short, bytes that fail verification). A 404 is an
// answer, not a failure: the caller decides whether the file was optional. file:// URLs read the
// files directly, so a local archive repo is pulled through the same code.
import { createReadStream, readFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Pool } from "undici";
import { RepoError } from "../repo/repo.js";
import { extraCaCertificates } from "../util/extra-ca.js";
import { get, WholeBody } from "./http-body.js";

/**
 * Bodies announced as at most this many bytes are read whole into one buffer (the requests in
 * flight bound how many); bigger ones stream.
 */
export const WHOLE_BODY_MAX = 1 << 20;

export class PullError extends RepoError {
  override name = "PullError";
}

/** A failure worth another attempt (the consumer of a body throws this for bad bytes). */
export class TransientError extends PullError {
  override name = "TransientError";
}

export class NotFoundError extends PullError {
  override name = "NotFoundError";
}

export interface FetcherOptions {
  /** Requests in flight at most (default 12). */
  concurrency?: number;
  /** Attempts after the first (default 5). */
  retries?: number;
  /** First backoff delay in ms, doubled each retry (default 100). */
  backoffMs?: number;
  /** Headers and idle-body timeout in ms (default 30 s). */
  timeoutMs?: number;
  tlsPermissive?: boolean;
  /** A PEM file of the certificates to trust instead of the system's (ostree's `tls-ca-path`). */
  tlsCaPath?: string;
  /** The client certificate and its key, PEM files (ostree's `tls-client-cert-path`/`-key-path`). */
  tlsClientCertPath?: string;
  tlsClientKeyPath?: string;
}

/** The PEM files a remote may name (no default: Node's roots, no client certificate). */
type TlsFile = "tlsCaPath" | "tlsClientCertPath" | "tlsClientKeyPath";

export interface FetchStats {
  requests: number;
  bytes: number;
  retries: number;
}

/** Errors of the connection, not of the request: worth retrying. */
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "UND_ERR_ABORTED",
  "Z_DATA_ERROR",
  "Z_BUF_ERROR",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

function isTransient(e: unknown): boolean {
  if (e instanceof TransientError) return true;
  const code = (e as { code?: string })?.code;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** A TLS verification failure (OpenSSL's X509 codes as Node reports them, or a name mismatch). */
function isCertificateError(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? "";
  return /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code);
}

/** A PEM file a remote option names; an unreadable one is refused naming the option. */
function readPem(option: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new PullError(`${option} ${file}: ${(e as Error).message}; give the remote the path of a PEM file`);
  }
}

/** Reads a response body of the announced length (null: unknown). */
export type BodyConsumer<T> = (body: AsyncIterable<Buffer>, length: number | null) => Promise<T>;

/**
 * The whole of a body announced as `length` bytes, in one buffer of its own (transferable to a
 * worker); a body longer or shorter than announced is a failure worth another attempt.
 */
export async function readExactly(
  body: AsyncIterable<Buffer>,
  length: number,
  what: string,
): Promise<Buffer> {
  const out = Buffer.allocUnsafeSlow(length);
  let n = 0;
  for await (const c of body) {
    if (n + c.length > length) throw new TransientError(`${what}: more bytes than the ${length} announced`);
    c.copy(out, n);
    n += c.length;
  }
  if (n !== length) throw new TransientError(`${what}: ${n} bytes of the ${length} announced`);
  return out;
}

export class Fetcher {
  readonly stats: FetchStats = { requests: 0, bytes: 0, retries: 0 };
  private pool: Pool | null = null;
  private active = 0;
  private waiting: (() => void)[] = [];
  private readonly base: URL;
  /** Every option with its default, but the TLS files, which have none. */
  private readonly opts: Required<Omit<FetcherOptions, TlsFile>> & Pick<FetcherOptions, TlsFile>;

  constructor(baseUrl: string, opts: FetcherOptions = {}) {
    this.base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
    if (!["http:", "https:", "file:"].includes(this.base.protocol))
      throw new PullError(`${baseUrl}: unsupported URL scheme (use http, https or file)`);
    this.opts = {
      concurrency: opts.concurrency ?? 12,
      retries: opts.retries ?? 5,
      backoffMs: opts.backoffMs ?? 100,
      timeoutMs: opts.timeoutMs ?? 30_000,
      tlsPermissive: opts.tlsPermissive ?? false,
      tlsCaPath: opts.tlsCaPath,
      tlsClientCertPath: opts.tlsClientCertPath,
      tlsClientKeyPath: opts.tlsClientKeyPath,
    };
  }

  describe(rel: string): string {
    return new URL(rel, this.base).href;
  }

  /**
   * Runs `consume` on the body of BASE/rel and its announced length (null when unknown), retrying
   * transient failures (a retry calls `consume` again with a fresh body, so it must undo its own
   * partial work when it throws). Returns null for a 404.
   */
  async get<T>(rel: string, consume: BodyConsumer<T>): Promise<T | null> {
    for (let attempt = 0; ; attempt++) {
      await this.acquire();
      let held = true;
      // A body read whole frees its request slot before it is consumed (verified, stored): the
      // next request goes out while this one is worked on.
      const release = () => {
        if (held) this.release();
        held = false;
      };
      try {
        return await this.once(rel, consume, release);
      } catch (e) {
        if (!isTransient(e) || attempt >= this.opts.retries) {
          if (isTransient(e))
            throw new PullError(
              `fetching ${this.describe(rel)} failed after ${attempt + 1} attempts: ${(e as Error).message}`,
            );
          if (isCertificateError(e))
            throw new PullError(
              `${this.describe(rel)}: the server's TLS certificate is not trusted (${(e as Error).message}); add the CA that signed it to the remote (tls-ca-path=FILE) or with NODE_EXTRA_CA_CERTS=FILE, or for a test server set tls-permissive=true`,
            );
          throw e;
        }
        this.stats.retries++;
      } finally {
        release();
      }
      const delay = this.opts.backoffMs * 2 ** attempt;
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }

  /**
   * The whole body of BASE/rel (null for a 404), refused beyond `maxSize` bytes; `check` may throw
   * TransientError to have bad bytes fetched again.
   */
  getBytes(rel: string, maxSize: number, check?: (bytes: Buffer) => void): Promise<Buffer | null> {
    return this.get(rel, async (body) => {
      if (body instanceof WholeBody) {
        if (body.bytes.length > maxSize)
          throw new PullError(`${this.describe(rel)} is larger than ${maxSize} bytes`);
        check?.(body.bytes);
        return body.bytes;
      }
      const parts: Buffer[] = [];
      let n = 0;
      for await (const c of body) {
        n += c.length;
        if (n > maxSize) throw new PullError(`${this.describe(rel)} is larger than ${maxSize} bytes`);
        parts.push(c);
      }
      const bytes = Buffer.concat(parts);
      check?.(bytes);
      return bytes;
    });
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }

  private async once<T>(rel: string, consume: BodyConsumer<T>, release: () => void): Promise<T | null> {
    this.stats.requests++;
    const url = new URL(rel, this.base);
    if (url.protocol === "file:") {
      const path = fileURLToPath(url);
      const length = statSync(path, { throwIfNoEntry: false })?.size ?? null;
      if (length === null) return null;
      if (length <= WHOLE_BODY_MAX) {
        const bytes = readFileSync(path);
        this.stats.bytes += bytes.length;
        release();
        return await consume(new WholeBody(bytes), bytes.length);
      }
      const stream = createReadStream(path);
      try {
        return await consume(this.counted(stream as AsyncIterable<Buffer>), length);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw e;
      } finally {
        stream.destroy();
      }
    }
    const pool = await this.getPool();
    const res = await get(pool, url.pathname + url.search, {
      wholeMax: WHOLE_BODY_MAX,
      timeoutMs: this.opts.timeoutMs,
      onBytes: (n) => {
        this.stats.bytes += n;
      },
    });
    try {
      if (res.status === 404 || res.status === 410) return null;
      if (res.status >= 500 || res.status === 408 || res.status === 429)
        throw new TransientError(`${url.href}: server answered ${res.status}`);
      if (res.status !== 200)
        throw new PullError(`${url.href}: server answered ${res.status}; check the remote's url`);
      if (res.body instanceof WholeBody) release();
      return await consume(res.body, res.length);
    } finally {
      // A body the consumer left unread (it failed) is dropped with its connection.
      res.cancel();
    }
  }

  private async *counted(src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    for await (const c of src) {
      this.stats.bytes += c.length;
      yield c;
    }
  }

  private async getPool(): Promise<Pool> {
    if (!this.pool) {
      // The pool module alone (see undici-pool.d.ts), not undici's index.
      const { default: Pool } = await import("undici/lib/dispatcher/pool.js");
      const https = this.base.protocol === "https:";
      const ca = https ? this.trusted() : null;
      const client = https ? this.clientCertificate() : null;
      this.pool = new Pool(this.base.origin, {
        connections: this.opts.concurrency,
        // Node's default, given so that undici does not load node:http to read it.
        maxHeaderSize: 16 * 1024,
        keepAliveTimeout: 30_000,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        // The remote's tls-ca-path, or Node's roots and NODE_EXTRA_CA_CERTS's (util/extra-ca.ts).
        connect: { rejectUnauthorized: !this.opts.tlsPermissive, ...(ca ? { ca } : {}), ...client },
      });
    }
    return this.pool;
  }

  /** The certificates to trust: the remote's tls-ca-path instead of the system's, or the extra ones. */
  private trusted(): string[] | null {
    const file = this.opts.tlsCaPath;
    return file ? [readPem("tls-ca-path", file)] : extraCaCertificates();
  }

  /** The certificate and key this client shows when the remote asks for one; both or neither. */
  private clientCertificate(): { cert: string; key: string } | null {
    const { tlsClientCertPath: certFile, tlsClientKeyPath: keyFile } = this.opts;
    if (!certFile && !keyFile) return null;
    if (!certFile || !keyFile)
      throw new PullError(
        "tls-client-cert-path and tls-client-key-path go together: give the remote both, or neither",
      );
    return { cert: readPem("tls-client-cert-path", certFile), key: readPem("tls-client-key-path", keyFile) };
  }

  private async acquire(): Promise<void> {
    if (this.active < this.opts.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
