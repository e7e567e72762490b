// Loading an apt source: signed InRelease (or Release + Release.gpg), then each component's Packages
// index in the best compression offered, verified against the SHA256 the signed Release lists.
// Sources come from the network/file: URLs through the metadata cache, or from apt's own lists
// directory (what `apt-get update` left in /var/lib/apt/lists), verified the same way.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compressionOf, decompress } from "../../src/packages/decompress.js";
import { fetchUrl, joinUrl } from "../../src/packages/fetch.js";
import type { MetadataCache } from "../../src/packages/metadata-cache.js";
import type { Keyring } from "../../src/packages/pgp.js";

// openpgp.js takes ~100 ms to load; the warm path (a verified cache) never needs it.
const pgp = () => import("../../src/packages/pgp.js");

import { PackagesIndex } from "./apt-packages.js";
import { DebPackageSet } from "./apt-packageset.js";
import type { AptPolicy, FileFacts } from "./apt-preferences.js";
import {
  checkValidUntil,
  parseRelease,
  pickIndex,
  type Release,
  ReleaseError,
  releasePin,
} from "./apt-release.js";
import { type AptSource, aptListName, distPath } from "./apt-sources.js";

export class AptRepoError extends Error {
  override name = "AptRepoError";
}

export interface AptLoadOptions {
  arch: string;
  /** Foreign architectures (dpkg --add-architecture) whose indexes are loaded too. */
  foreignArchs?: string[];
  /** Keyrings for sources without signed-by (the tree's trusted.gpg.d) plus --keyring files. */
  keyrings: string[];
  /** --keyring files: trusted for every source. */
  extraKeyrings?: string[];
  cache: MetadataCache;
  /** Re-fetch even when the cache is fresh. */
  force?: boolean;
  /** Contact the repository (refresh-md); otherwise the cache is used when present. */
  refresh?: boolean;
  /** Read apt's lists directory instead of fetching. */
  aptLists?: string;
  /** Prefix for signed-by paths (the target tree's root). */
  root?: string;
  now?: Date;
  /** apt preferences pins; without them every version gets its suite's default priority. */
  policy?: AptPolicy;
}

export function sourceId(src: AptSource): string {
  return joinUrl(src.uri, distPath(src));
}

/** Index paths for the native arch, then each foreign arch (dpkg --add-architecture) the source offers. */
function indexBases(src: AptSource, opts: AptLoadOptions): string[] {
  if (src.components.length === 0) return ["Packages"];
  const archs = [opts.arch, ...(opts.foreignArchs ?? [])].filter((a) => !src.archs || src.archs.includes(a));
  return src.components.flatMap((c) => archs.map((a) => `${c}/binary-${a}/Packages`));
}

/** A foreign arch's index may be absent (many repositories are single-arch); the native one may not. */
function optionalBase(base: string, opts: AptLoadOptions): boolean {
  return !base.includes(`/binary-${opts.arch}/`) && base !== "Packages";
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

async function keysFor(src: AptSource, opts: AptLoadOptions): Promise<Keyring> {
  const { loadKeyring, parseKeys } = await pgp();
  if (!src.signedBy?.length) return loadKeyring([...opts.keyrings, ...(opts.extraKeyrings ?? [])]);
  const keys: Keyring = [];
  for (const s of src.signedBy) {
    if (s.includes("BEGIN PGP")) keys.push(...(await parseKeys(Buffer.from(s), `${src.origin} Signed-By`)));
    else if (/^[0-9A-Fa-f]{16,40}!?$/.test(s)) keys.push(...(await loadKeyring(opts.keyrings)));
    else
      keys.push(
        ...(await loadKeyring(
          [s.startsWith("/") && opts.root ? join(opts.root, s) : s].map((p) => (existsSync(p) ? p : s)),
        )),
      );
  }
  keys.push(...(await loadKeyring(opts.extraKeyrings ?? [])));
  return keys;
}

/** Verifies release text (clearsigned, or with a detached signature) and parses it. */
async function verifyRelease(
  src: AptSource,
  opts: AptLoadOptions,
  what: string,
  inRelease?: Buffer,
  release?: Buffer,
  signature?: Buffer,
): Promise<{ release: Release; text: string }> {
  let text: string;
  const { clearsignedBody, verifyClearsigned, verifyDetached } = await pgp();
  const keys = src.trusted ? [] : await keysFor(src, opts);
  if (inRelease) {
    text = src.trusted
      ? clearsignedBody(inRelease.toString("utf8"))
      : await verifyClearsigned(inRelease.toString("utf8"), keys, what);
  } else if (release) {
    if (!src.trusted) {
      if (!signature)
        throw new ReleaseError(
          `${what}: Release is not signed (no InRelease, no Release.gpg); mark the source [trusted=yes] only if you must`,
        );
      await verifyDetached(release, signature, keys, what);
    }
    text = release.toString("utf8");
  } else
    throw new AptRepoError(
      `${what}: the repository has neither InRelease nor Release; check the URI and suite`,
    );
  const parsed = parseRelease(text, what);
  checkValidUntil(parsed, what, opts.now);
  return { release: parsed, text };
}

function checkEntry(data: Buffer, entry: { sha256: string; size: number }, what: string): void {
  if (data.length !== entry.size || sha256(data) !== entry.sha256)
    throw new ReleaseError(
      `${what}: checksum mismatch against the signed Release (got ${data.length} bytes); the mirror is inconsistent or tampered — try again later`,
    );
}

/** What a preferences pin sees of one index: its Release's fields, component, arch and host. */
function fileFacts(src: AptSource, release: Release, base: string): FileFacts {
  const m = /^(.*)\/binary-([^/]+)\/Packages$/.exec(base);
  let site = "";
  try {
    site = /^(file|copy):/.test(src.uri) ? "" : new URL(src.uri).hostname;
  } catch {
    // an unparsable URI has no host, like apt's empty site
  }
  return {
    archive: release.suite,
    codename: release.codename,
    version: release.version,
    origin: release.origin,
    label: release.label,
    component: m?.[1],
    arch: m?.[2],
    site,
  };
}

function makeSets(
  src: AptSource,
  release: Release,
  opts: AptLoadOptions,
  bufs: Buffer[],
  bases: string[],
): DebPackageSet[] {
  return bufs.map((b, i) => {
    // arch:all packages count as native: keep them from the native index only.
    const arch = /\/binary-([^/]+)\//.exec(bases[i])?.[1];
    const archs = new Set(
      arch ? (arch === opts.arch ? [arch, "all"] : [arch]) : [opts.arch, "all", ...(opts.foreignArchs ?? [])],
    );
    const policy = opts.policy?.empty ? undefined : opts.policy;
    const facts = fileFacts(src, release, bases[i]);
    const pin = policy ? policy.filePriority(facts, releasePin(release)) : releasePin(release);
    return new DebPackageSet(new PackagesIndex(b, `${sourceId(src)}${bases[i]}`), {
      id: `${sourceId(src)}${bases[i]}`,
      pin,
      pinOf: policy && ((v) => policy.versionPin(v, facts) ?? pin),
      installed: false,
      baseUrl: src.uri,
      archs,
      nativeArch: opts.arch,
    });
  });
}

/** Reads one source from apt's lists directory (apt keeps indexes recompressed, e.g. as .lz4). */
async function loadFromAptLists(
  src: AptSource,
  opts: AptLoadOptions,
  lists: string,
): Promise<DebPackageSet[]> {
  const prefix = aptListName(joinUrl(src.uri, distPath(src)));
  const what = `${src.origin} (${lists})`;
  const read = (name: string) =>
    existsSync(join(lists, prefix + name)) ? readFileSync(join(lists, prefix + name)) : undefined;
  const inRelease = read("InRelease");
  const bases = indexBases(src, opts);
  // Warm path: apt's lists have not changed since we verified and unpacked them into our cache.
  const id = `apt-lists:${prefix}`;
  const key = sha256(inRelease ?? read("Release") ?? Buffer.alloc(0));
  const cached = opts.cache.manifest(id);
  const cachedBases = cached?.extra?.bases as string[] | undefined;
  if (
    cached?.extra?.listsKey === key &&
    cachedBases &&
    bases.every((b) => cachedBases.includes(b) || optionalBase(b, opts)) &&
    !opts.force
  ) {
    const usedBases = cachedBases.filter((b) => bases.includes(b));
    const text = opts.cache.read(id, "Release");
    const bufs = usedBases.map((b) => opts.cache.read(id, cacheName(b)));
    if (text && bufs.every((b) => b)) {
      const release = parseRelease(text.toString("utf8"), `${id} (cache)`);
      checkValidUntil(release, what, opts.now);
      return makeSets(src, release, opts, bufs as Buffer[], usedBases);
    }
  }
  const { release, text } = await verifyRelease(
    src,
    opts,
    what,
    inRelease,
    read("Release"),
    read("Release.gpg"),
  );
  const names = readdirSync(lists);
  const bufs: Buffer[] = [];
  const used: string[] = [];
  const files = new Map<string, Buffer>();
  for (const base of bases) {
    const stem = prefix + base.replace(/\//g, "_");
    const file = names.find((n) => n === stem || (n.startsWith(`${stem}.`) && compressionOf(n) !== "none"));
    if (!file && optionalBase(base, opts)) continue;
    if (!file) throw new AptRepoError(`${what}: no ${base} in ${lists}; run apt-get update`);
    const data = await decompress(readFileSync(join(lists, file)), compressionOf(file), file);
    const entry = release.files.get(base);
    if (!entry)
      throw new AptRepoError(`${file}: the signed Release lists no checksum for ${base}; cannot trust it`);
    checkEntry(data, entry, `${file}`);
    bufs.push(data);
    used.push(base);
    files.set(cacheName(base), data);
  }
  const sets = makeSets(src, release, opts, bufs, used);
  files.set("Release", Buffer.from(text));
  opts.cache.commit(id, files, {
    url: join(lists, prefix),
    fetchedAt: new Date().toISOString(),
    extra: { listsKey: key, bases: used },
  });
  return sets;
}

export async function loadAptSource(src: AptSource, opts: AptLoadOptions): Promise<DebPackageSet[]> {
  if (opts.aptLists) return loadFromAptLists(src, opts, opts.aptLists);
  const id = sourceId(src);
  const bases = indexBases(src, opts);
  const cached = opts.cache.manifest(id);
  const cachedBases = (cached?.extra?.bases as string[] | undefined) ?? [];
  if (
    cached &&
    !opts.refresh &&
    !opts.force &&
    bases.every((b) => cachedBases.includes(b) || optionalBase(b, opts))
  ) {
    const used = cachedBases.filter((b) => bases.includes(b));
    const text = opts.cache.read(id, "Release");
    const bufs = used.map((b) => opts.cache.read(id, cacheName(b)));
    if (text && bufs.every((b) => b)) {
      const release = parseRelease(text.toString("utf8"), `${id} (cache)`);
      checkValidUntil(release, `${id} (cache)`, opts.now);
      return makeSets(src, release, opts, bufs as Buffer[], used);
    }
  }
  return fetchAptSource(src, opts, bases);
}

async function fetchAptSource(
  src: AptSource,
  opts: AptLoadOptions,
  bases: string[],
): Promise<DebPackageSet[]> {
  const id = sourceId(src);
  const cached = opts.force ? undefined : opts.cache.manifest(id);
  const inrel = await fetchUrl(joinUrl(id, "InRelease"), cached ?? {});
  if (inrel.status === 304 && cached) return loadAptSource(src, { ...opts, refresh: false, force: false });
  let verified: { release: Release; text: string };
  if (inrel.status === 200) verified = await verifyRelease(src, opts, joinUrl(id, "InRelease"), inrel.body);
  else {
    const rel = await fetchUrl(joinUrl(id, "Release"));
    const sig = rel.status === 200 ? await fetchUrl(joinUrl(id, "Release.gpg")) : undefined;
    verified = await verifyRelease(src, opts, joinUrl(id, "Release"), undefined, rel.body, sig?.body);
  }
  const { release, text } = verified;
  const files = new Map<string, Buffer>();
  const bufs: Buffer[] = [];
  const used: string[] = [];
  for (const base of bases) {
    const pick = pickIndex(release, base);
    if (!pick && optionalBase(base, opts)) continue;
    if (!pick)
      throw new AptRepoError(
        `${id}: the Release lists no ${base}[.xz|.gz|...]; check the components and architecture`,
      );
    const url = joinUrl(id, pick.path);
    const got = await fetchUrl(url);
    if (got.status !== 200 || !got.body)
      throw new AptRepoError(
        `${url}: not found although the Release lists it; the mirror is inconsistent — try again later`,
      );
    checkEntry(got.body, pick.entry, url);
    const data = await decompress(got.body, compressionOf(pick.path), url);
    const plain = release.files.get(base);
    if (plain && pick.path !== base) checkEntry(data, plain, `${url} (decompressed)`);
    bufs.push(data);
    used.push(base);
    files.set(cacheName(base), data);
  }
  // Index before caching: a malformed index is refused here and the previous cache stays.
  const sets = makeSets(src, release, opts, bufs, used);
  files.set("Release", Buffer.from(text));
  opts.cache.commit(id, files, {
    url: id,
    fetchedAt: new Date().toISOString(),
    etag: inrel.etag,
    lastModified: inrel.lastModified,
    extra: { bases: used },
  });
  return sets;
}

/** An index's name in our metadata cache: its Release path with "/" as "_" ("main_binary-amd64_Packages"). */
function cacheName(base: string): string {
  return base.replace(/\//g, "_");
}
