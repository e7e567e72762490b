// Fetching repository metadata over http(s) and file: URLs, with conditional requests so that a
// fresh cache costs one round trip and no body.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Dispatcher } from "undici";
import { extraCaCertificates } from "../util/extra-ca.js";

export class FetchError extends Error {
  override name = "FetchError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface FetchResult {
  /** 200 with a body, 304 when the validators still match, 404 when absent. */
  status: 200 | 304 | 404;
  body?: Buffer;
  etag?: string;
  lastModified?: string;
}

export interface Validators {
  etag?: string;
  lastModified?: string;
}

export function joinUrl(base: string, rel: string): string {
  return base.endsWith("/") ? base + rel : `${base}/${rel}`;
}

export async function fetchUrl(url: string, validators: Validators = {}): Promise<FetchResult> {
  if (url.startsWith("file:") || url.startsWith("/")) {
    const path = url.startsWith("/") ? url : fileURLToPath(url);
    try {
      const st = statSync(path);
      const lastModified = new Date(st.mtimeMs).toUTCString();
      if (validators.lastModified === lastModified && !validators.etag) return { status: 304, lastModified };
      return { status: 200, body: readFileSync(path), lastModified };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { status: 404 };
      throw new FetchError(`${url}: ${(e as Error).message}`);
    }
  }
  if (!/^https?:/.test(url)) throw new FetchError(`${url}: unsupported URL scheme (use http, https or file)`);
  const headers: Record<string, string> = {};
  if (validators.etag) headers["if-none-match"] = validators.etag;
  if (validators.lastModified) headers["if-modified-since"] = validators.lastModified;
  let res: Pick<Response, "headers" | "status" | "ok" | "statusText" | "arrayBuffer">;
  try {
    const dispatcher = url.startsWith("https:") ? await extraCaDispatcher() : undefined;
    if (dispatcher) {
      const undici = await import("undici");
      res = await undici.fetch(url, { headers, redirect: "follow", dispatcher });
    } else res = await fetch(url, { headers, redirect: "follow" });
  } catch (e) {
    // fetch() says only "fetch failed"; the reason (refused, unknown host, untrusted certificate)
    // is its cause.
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    const why = cause ? `${(e as Error).message}: ${cause}` : (e as Error).message;
    throw new FetchError(`${url}: ${why}; check the network and the repository URL`);
  }
  const etag = res.headers.get("etag") ?? undefined;
  const lastModified = res.headers.get("last-modified") ?? undefined;
  if (res.status === 304) return { status: 304, etag, lastModified };
  if (res.status === 404 || res.status === 410) return { status: 404 };
  if (!res.ok) throw new FetchError(`${url}: HTTP ${res.status} ${res.statusText}`, res.status);
  return { status: 200, body: Buffer.from(await res.arrayBuffer()), etag, lastModified };
}

let extraCa: Promise<Dispatcher | undefined> | undefined;

/** An undici dispatcher that trusts the extra certificates (util/extra-ca.ts), if there are any. */
function extraCaDispatcher(): Promise<Dispatcher | undefined> {
  extraCa ??= (async () => {
    const ca = extraCaCertificates();
    if (!ca) return undefined;
    const { Agent } = await import("undici");
    return new Agent({ connect: { ca } });
  })();
  return extraCa;
}
