// One GET on an undici Pool through its low-level dispatch API: the pull makes thousands of small
// requests, and undici's request() spends more time per request on its stream body, abort signal
// and async iterator than the bytes take. A body announced as at most `wholeMax` bytes is copied
// into one buffer of its own as it arrives (WholeBody); any other comes as a stream of chunks that
// pauses the socket while the consumer lags (StreamBody), so memory stays bounded either way.
import type { Dispatcher, Pool } from "undici";

/** A body read whole: iterating it yields `bytes` once. */
export class WholeBody implements AsyncIterable<Buffer> {
  constructor(readonly bytes: Buffer) {}
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    yield this.bytes;
  }
}

/** Queued bytes beyond which the socket is paused, and below which it resumes. */
const HIGH_WATER = 256 << 10;
const LOW_WATER = 64 << 10;
/** Bytes of an error page read (to keep the connection) before it is dropped instead. */
const DISCARD_MAX = 64 << 10;

class StreamBody implements AsyncIterable<Buffer> {
  private chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly controller: Dispatcher.DispatchController) {}

  push(c: Buffer): void {
    this.chunks.push(c);
    this.queued += c.length;
    if (this.queued > HIGH_WATER && !this.controller.paused) this.controller.pause();
    this.notify();
  }

  end(e: Error | null): void {
    this.ended = true;
    this.error = e;
    this.notify();
  }

  /** The consumer stopped early (it threw or returned): the rest of the response is dropped. */
  cancel(): void {
    if (!this.ended) this.controller.abort(new Error("body not wanted"));
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const c = this.chunks.shift();
      if (c) {
        this.queued -= c.length;
        if (this.controller.paused && this.queued < LOW_WATER) this.controller.resume();
        yield c;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

export interface Response {
  status: number;
  /** content-length, when announced. */
  length: number | null;
  /** For status 200: WholeBody or a stream; otherwise empty. */
  body: AsyncIterable<Buffer>;
  /** Drops what is left of a streamed body (no-op once it ended). */
  cancel(): void;
}

/**
 * GETs `path`; resolves once the whole body is in (status 200 and at most `wholeMax` bytes
 * announced, or any other status) or, for a streamed body, once the headers are. `onBytes`
 * counts what comes off the wire.
 */
export function get(
  pool: Pool,
  path: string,
  opts: { wholeMax: number; timeoutMs: number; onBytes: (n: number) => void },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let length: number | null = null;
    let whole: Buffer | null = null;
    let filled = 0;
    let stream: StreamBody | null = null;
    let discarded = 0;
    let settled = false;
    const done = (r: Response | Error) => {
      if (settled) return;
      settled = true;
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const empty: Response = { status: 0, length: null, body: new WholeBody(Buffer.alloc(0)), cancel() {} };
    pool.dispatch(
      { path, method: "GET", headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs },
      {
        onRequestStart() {
          // undici tells new-style handlers from old ones by this method
        },
        onResponseStart(controller, statusCode, headers) {
          if (statusCode < 200) return; // 1xx
          status = statusCode;
          const n = Number(headers["content-length"] ?? Number.NaN);
          length = Number.isSafeInteger(n) && n >= 0 ? n : null;
          if (status !== 200) return;
          if (length !== null && length <= opts.wholeMax) whole = Buffer.allocUnsafeSlow(length);
          else {
            const s = new StreamBody(controller);
            stream = s;
            done({ status, length, body: s, cancel: () => s.cancel() });
          }
        },
        onResponseData(controller, chunk) {
          opts.onBytes(chunk.length);
          if (stream) {
            stream.push(chunk);
            return;
          }
          if (whole) {
            if (filled + chunk.length > whole.length) {
              controller.abort(
                Object.assign(new Error("more bytes than announced"), {
                  code: "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
                }),
              );
              return;
            }
            chunk.copy(whole, filled);
            filled += chunk.length;
            return;
          }
          discarded += chunk.length;
          if (discarded > DISCARD_MAX) {
            // Only the status matters; a long error page costs the connection, not the answer.
            done({ ...empty, status, length });
            controller.abort(new Error("error page too long"));
          }
        },
        onResponseEnd() {
          if (stream) return stream.end(null);
          if (whole && filled !== whole.length)
            return done(
              Object.assign(new Error(`${filled} bytes of the ${whole.length} announced`), {
                code: "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
              }),
            );
          done(
            whole
              ? { status, length, body: new WholeBody(whole), cancel() {} }
              : { ...empty, status, length },
          );
        },
        onResponseError(_controller, err) {
          if (stream) stream.end(err);
          done(err);
        },
      },
    );
  });
}
