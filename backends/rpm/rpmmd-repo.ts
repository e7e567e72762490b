// Loading an rpm-md repository: repomd.xml (signature checked when repo_gpgcheck), then primary.xml
// verified against repomd's checksums, through the metadata cache. filelists.xml is fetched only
// when a file dependency needs it.
import { createHash } from "node:crypto";
import { compressionOf, decompress } from "../../src/packages/decompress.js";
import { fetchUrl, joinUrl } from "../../src/packages/fetch.js";
import type { MetadataCache } from "../../src/packages/metadata-cache.js";
import { parseRpmRich } from "./relations.js";
import type { RpmRepo } from "./repo-file.js";
import { RpmPackageSet, type RpmRecord } from "./rpmmd-packageset.js";
import { mergeFilelists, parsePrimary, RpmMdError } from "./rpmmd-primary.js";
import { parseRepomd, type RepomdData } from "./rpmmd-repomd.js";

export interface RpmLoadOptions {
  cache: MetadataCache;
  refresh?: boolean;
  force?: boolean;
  /** --keyring files, trusted in addition to the repo's gpgkey. */
  extraKeyrings?: string[];
}

export interface LoadedRpmRepo {
  set: RpmPackageSet;
  records: RpmRecord[];
  /** Fetches filelists.xml and merges full file lists into the records (once). */
  loadFilelists(): Promise<void>;
}

function digest(algo: string, data: Buffer): string {
  return createHash(algo).update(data).digest("hex");
}

async function fetchChecked(base: string, d: RepomdData, what: string): Promise<Buffer> {
  const url = joinUrl(base, d.href);
  const got = await fetchUrl(url);
  if (got.status !== 200 || !got.body)
    throw new RpmMdError(`${url}: not found although repomd.xml lists it; the mirror is inconsistent`);
  if (digest(d.checksum.algo, got.body) !== d.checksum.hex)
    throw new RpmMdError(
      `${url}: checksum mismatch against repomd.xml (${what}); the mirror is inconsistent or tampered — try again later`,
    );
  const data = await decompress(got.body, compressionOf(d.href), url);
  if (d.openChecksum && digest(d.openChecksum.algo, data) !== d.openChecksum.hex)
    throw new RpmMdError(`${url}: decompressed content does not match repomd.xml's open-checksum`);
  return data;
}

async function keysOf(repo: RpmRepo, opts: RpmLoadOptions) {
  const { loadKeyring, parseKeys } = await import("../../src/packages/pgp.js");
  const keys = await loadKeyring(opts.extraKeyrings ?? []);
  for (const k of repo.gpgkeys) {
    const got = await fetchUrl(k);
    if (got.status !== 200 || !got.body)
      throw new RpmMdError(`${repo.origin} [${repo.id}]: gpgkey ${k} not found`);
    keys.push(...(await parseKeys(got.body, k)));
  }
  return keys;
}

function makeRepo(
  repo: RpmRepo,
  base: string,
  repomd: Map<string, RepomdData>,
  primary: Buffer,
  opts: RpmLoadOptions,
): LoadedRpmRepo {
  const records = parsePrimary(primary.toString("utf8"), base, `${repo.id} primary.xml`);
  const set = new RpmPackageSet(
    records,
    { id: repo.id, installed: false, pin: -repo.priority },
    parseRpmRich,
  );
  let done = false;
  return {
    set,
    records,
    async loadFilelists() {
      if (done) return;
      done = true;
      const d = repomd.get("filelists");
      if (!d) return;
      // Named by checksum: a refreshed repomd never pairs with an older filelists.
      const name = `filelists-${d.checksum.hex.slice(0, 16)}.xml`;
      let data = opts.cache.read(repo.id, name);
      if (!data) {
        data = await fetchChecked(base, d, "filelists");
        const m = opts.cache.manifest(repo.id) ?? {
          url: base,
          fetchedAt: new Date().toISOString(),
          files: {},
        };
        opts.cache.commit(
          repo.id,
          new Map([
            ["repomd.xml", opts.cache.read(repo.id, "repomd.xml") ?? Buffer.alloc(0)],
            [name, data],
          ]),
          m,
        );
      }
      mergeFilelists(records, data.toString("utf8"), `${repo.id} filelists.xml`);
      // File owners are indexed lazily; a fresh set picks up the merged lists.
      this.set = new RpmPackageSet(
        records,
        { id: repo.id, installed: false, pin: -repo.priority },
        parseRpmRich,
      );
    },
  };
}

export async function loadRpmRepo(repo: RpmRepo, opts: RpmLoadOptions): Promise<LoadedRpmRepo> {
  if (!repo.baseurls.length) throw new RpmMdError(`${repo.origin} [${repo.id}]: no baseurl`);
  const base = repo.baseurls[0];
  const cached = opts.cache.manifest(repo.id);
  if (cached && !opts.refresh && !opts.force) {
    const md = opts.cache.read(repo.id, "repomd.xml");
    const primary = opts.cache.read(repo.id, "primary.xml");
    if (md && primary)
      return makeRepo(repo, base, parseRepomd(md.toString("utf8"), `${repo.id} (cache)`), primary, opts);
  }
  const mdUrl = joinUrl(base, "repodata/repomd.xml");
  const got = await fetchUrl(mdUrl, opts.force ? {} : (cached ?? {}));
  if (got.status === 304 && cached) return loadRpmRepo(repo, { ...opts, refresh: false, force: false });
  if (got.status !== 200 || !got.body)
    throw new RpmMdError(`${mdUrl}: not found; check the repository's baseurl`);
  if (repo.repoGpgcheck) {
    const sig = await fetchUrl(`${mdUrl}.asc`);
    if (sig.status !== 200 || !sig.body)
      throw new RpmMdError(`${mdUrl}.asc: missing, but repo_gpgcheck is on`);
    const { verifyDetached } = await import("../../src/packages/pgp.js");
    await verifyDetached(got.body, sig.body, await keysOf(repo, opts), mdUrl);
  }
  const repomd = parseRepomd(got.body.toString("utf8"), mdUrl);
  const primary = await fetchChecked(base, repomd.get("primary") as RepomdData, "primary");
  // Parse before caching: malformed metadata is refused and the previous cache stays.
  const loaded = makeRepo(repo, base, repomd, primary, opts);
  opts.cache.commit(
    repo.id,
    new Map([
      ["repomd.xml", got.body],
      ["primary.xml", primary],
    ]),
    { url: base, fetchedAt: new Date().toISOString(), etag: got.etag, lastModified: got.lastModified },
  );
  return loaded;
}
