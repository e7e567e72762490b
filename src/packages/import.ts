// Importing a package file into the object store as its own commit: the payload streams from the
// archive straight into content objects (nothing is extracted to a temporary directory), the tree
// is built in memory, and the commit carries the package's identity in its metadata. A package is
// imported once; importing the same file again is a no-op. Anything wrong with the file aborts the
// transaction, so no object and no ref of that package is left behind.
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { Variant } from "../gvariant/index.js";
import { writeCommitObject } from "../repo/commit.js";
import { MutableTree } from "../repo/mtree.js";
import { type FileMeta, metadataGet, S_IFDIR, S_IFLNK, S_IFREG, serializeDirMeta } from "../repo/objects.js";
import { readRef } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { type StagingScope, Transaction } from "../repo/transaction.js";
import { backendFor } from "./backends.js";
import { asPackageError, PackageFormatError } from "./errors.js";
import { formatDep } from "./inspect.js";
import type { OpenedPackage, PackageBackend, PackageInfo, PayloadEntry } from "./model.js";
import { READ_CHUNK } from "./payload-decompress.js";

export interface ImportResult {
  file: string;
  ref: string;
  commit: string;
  kind: string;
  name: string;
  version: string;
  arch: string;
  sha256: string;
  /** True when the same file was already imported and nothing was written. */
  unchanged: boolean;
  files: number;
}

/** Ref fragments allow `[-._A-Za-z0-9]`; `_` escapes everything else as `_XX` (and itself as `__`). */
export function escapeRefFragment(s: string): string {
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(byte);
    if (c === "_") out += "__";
    else if (/[-.A-Za-z0-9]/.test(c)) out += c;
    else out += `_${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  // A fragment must start with a word character.
  return /^[-.]/.test(out) ? `_${out}` : out;
}

/** `tsostree/pkg/KIND/NAME/EVR.ARCH`, each part escaped to a valid ref fragment. */
export function packageRef(kind: string, name: string, version: string, arch: string): string {
  return `tsostree/pkg/${kind}/${escapeRefFragment(name)}/${escapeRefFragment(`${version}.${arch}`)}`;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Imports one package file in its own transaction; see the module comment. */
export async function importPackage(repo: Repo, path: string): Promise<ImportResult> {
  const tx = await Transaction.begin(repo);
  try {
    const r = await importInto(tx, path);
    await tx.commit();
    return r;
  } catch (e) {
    tx.abort();
    throw e;
  }
}

/**
 * Imports one package inside a transaction shared with other packages (one sync for all of them).
 * A package that fails takes back everything it staged, so nothing of it reaches the repo; its
 * ref is set only when it succeeded, and becomes visible when the transaction commits.
 */
export async function importInto(tx: Transaction, path: string): Promise<ImportResult> {
  const backend = await backendFor(path);
  const opening = backend.open(path);
  let sha256: string;
  try {
    sha256 = await sha256File(path);
  } catch (e) {
    opening.then(
      (o) => o.close(),
      () => {},
    );
    throw e;
  }
  const opened = await opening;
  try {
    return await importOpened(tx, backend, opened, path, sha256);
  } catch (e) {
    opened.close();
    throw e;
  }
}

async function importOpened(
  tx: Transaction,
  backend: PackageBackend,
  opened: OpenedPackage,
  path: string,
  sha256: string,
): Promise<ImportResult> {
  const info = opened.info;
  const version = backend.formatVersion(info);
  const ref = packageRef(info.kind, info.name, version, info.arch);
  const base = { file: path, ref, kind: info.kind, name: info.name, version, arch: info.arch, sha256 };
  const existing = readRef(tx.repo, ref);
  if (existing) {
    const meta = tx.repo.loadCommit(existing).metadata;
    const known = metadataGet(meta, "tsostree.pkg.sha256")?.value;
    // A commit of an older format lacks what layering needs: the package is imported again.
    if (known === sha256 && metadataGet(meta, "tsostree.pkg.format")?.value === PACKAGE_COMMIT_FORMAT) {
      opened.close();
      return { ...base, commit: existing, unchanged: true, files: 0 };
    }
  }
  const scope = tx.scope();
  try {
    const { tree, meta, files, owners } = await writePayload(scope, opened.payload(), path);
    const commit = writeCommitObject(scope, {
      subject: `Import ${info.name} ${version} ${info.arch}`,
      // The commit is a pure function of the package, so every machine gets the same checksum.
      timestamp: 0,
      metadata: commitMetadata(info, version, sha256, owners),
      rootTree: tree,
      rootMeta: meta,
    });
    scope.end();
    tx.setRef(ref, commit);
    return { ...base, commit, unchanged: false, files };
  } catch (e) {
    scope.discard();
    throw e;
  }
}

interface Owner {
  path: string;
  user: string;
  group: string;
}

async function writePayload(tx: StagingScope, payload: AsyncIterable<PayloadEntry>, path: string) {
  // A package has a handful of distinct directory metadata; each is serialized and stored once.
  const dirmetas = new Map<string, string>();
  const dirmeta = (mode: number, uid: number, gid: number) => {
    const key = `${mode & 0o7777}:${uid}:${gid}`;
    let csum = dirmetas.get(key);
    if (csum === undefined) {
      csum = tx.writeMetadata(
        "dirmeta",
        serializeDirMeta({ uid, gid, mode: S_IFDIR | (mode & 0o7777), xattrs: [] }),
      );
      dirmetas.set(key, csum);
    }
    return csum;
  };
  const defaultDir = dirmeta(0o755, 0, 0);
  const root = MutableTree.empty(defaultDir, tx);
  const checksums = new Map<string, string>();
  // Owners that are not root are kept by name; they are resolved against the target's passwd and
  // group files when the package is layered.
  const owners: Owner[] = [];
  let files = 0;
  for await (const entry of payload) {
    const f = entry.file;
    const member = f.path;
    try {
      if (f.special)
        throw new PackageFormatError(path, member, `${f.special} device nodes cannot be imported`);
      if ((f.user && f.user !== "root") || (f.group && f.group !== "root"))
        owners.push({ path: f.path, user: f.user, group: f.group });
      const uid = f.uid ?? 0;
      const gid = f.gid ?? 0;
      const parentDir = f.path.slice(0, f.path.lastIndexOf("/"));
      if (f.type === "dir") {
        const node = root.ensureDir(f.path, defaultDir);
        node.setMetadata(dirmeta(f.mode, uid, gid));
        continue;
      }
      if (f.ghost) {
        await drain(entry.data);
        continue;
      }
      root.ensureDir(parentDir, defaultDir);
      let csum: string;
      if (f.type === "hardlink") {
        const target = checksums.get(f.linkTarget ?? "");
        if (!target)
          throw new PackageFormatError(
            path,
            member,
            `hardlink to ${f.linkTarget}, which the package does not contain`,
          );
        csum = target;
      } else if (f.type === "symlink") {
        csum = tx.writeContentSync(fileMeta(S_IFLNK | 0o777, uid, gid, f.linkTarget ?? ""), Buffer.alloc(0));
      } else {
        const meta = fileMeta(S_IFREG | (f.mode & 0o7777), uid, gid, "");
        // Most package files are small: gather them and store them in one synchronous step;
        // bigger ones stream through a sink in the pieces the archive yields.
        csum =
          f.size <= SMALL_FILE && entry.data && !Buffer.isBuffer(entry.data)
            ? tx.writeContentSync(meta, await gather(entry.data, f.size))
            : await tx.writeContent(meta, entry.data ?? Buffer.alloc(0), f.size);
      }
      checksums.set(f.path, csum);
      root.setFile(f.path, csum);
      files++;
    } catch (e) {
      throw asPackageError(path, member, e);
    }
  }
  const { tree, meta } = root.write(tx);
  return { tree, meta, files, owners };
}

function fileMeta(mode: number, uid: number, gid: number, symlinkTarget: string): FileMeta {
  return { uid, gid, mode, symlinkTarget, xattrs: [] };
}

/** Files up to this size are gathered in memory and stored in one step. */
const SMALL_FILE = 1 << 20;

/** The whole content of a small entry (the iterator checks the declared size and digest). */
async function gather(data: AsyncIterable<Buffer>, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of data) parts.push(chunk);
  return parts.length === 1 && parts[0]!.length === size ? parts[0]! : Buffer.concat(parts);
}

async function drain(data: PayloadEntry["data"]): Promise<void> {
  if (data && !Buffer.isBuffer(data)) for await (const _ of data) void _;
}

/**
 * Version of what a package commit carries (`tsostree.pkg.format`): 2 added the script bodies, the
 * triggers and the native database record (deb control members, rpm header).
 */
export const PACKAGE_COMMIT_FORMAT = 2;

/**
 * A GVariant string cannot hold NUL, which a compiled maintainer script does; its exact bytes stay in
 * the native record (deb-control), so the text form marks them instead of failing the import.
 */
function textOf(s: string): string {
  return s.includes("\0") ? s.replaceAll("\0", "\uFFFD") : s;
}

function commitMetadata(
  info: PackageInfo,
  version: string,
  sha256: string,
  owners: Owner[],
): [string, Variant][] {
  const relations: [string, string[]][] = Object.entries(info.relations)
    .filter(([, deps]) => deps && deps.length > 0)
    .map(([kind, deps]) => [kind, deps!.map((d) => formatDep(info.kind, d))]);
  const scripts = info.scripts.map((s) => s.phase);
  const m: [string, Variant][] = [
    ["tsostree.pkg.kind", Variant.of("s", info.kind)],
    ["tsostree.pkg.name", Variant.of("s", info.name)],
    ["tsostree.pkg.epoch", Variant.of("u", info.epoch)],
    ["tsostree.pkg.version", Variant.of("s", info.version)],
    ["tsostree.pkg.release", Variant.of("s", info.release)],
    ["tsostree.pkg.evr", Variant.of("s", version)],
    ["tsostree.pkg.arch", Variant.of("s", info.arch)],
    ["tsostree.pkg.summary", Variant.of("s", info.summary)],
    ["tsostree.pkg.sha256", Variant.of("s", sha256)],
    ["tsostree.pkg.relations", Variant.of("a{sas}", relations)],
    ["tsostree.pkg.conffiles", Variant.of("as", info.conffiles)],
    ["tsostree.pkg.scripts", Variant.of("as", scripts)],
    [
      "tsostree.pkg.owners",
      Variant.of(
        "a(sss)",
        owners.map((o) => [o.path, o.user, o.group]),
      ),
    ],
    [
      "tsostree.pkg.script-bodies",
      Variant.of(
        "a(sss)",
        info.scripts.map((s) => [s.phase, s.executable ? "" : s.interpreter, textOf(s.body)]),
      ),
    ],
    [
      "tsostree.pkg.triggers",
      Variant.of(
        "a(ssss)",
        info.triggers.map((t) => [
          t.kind,
          t.condition,
          t.script && !t.script.executable ? t.script.interpreter : "",
          textOf(t.script?.body ?? ""),
        ]),
      ),
    ],
    ["tsostree.pkg.format", Variant.of("u", PACKAGE_COMMIT_FORMAT)],
    ["version", Variant.of("s", version)],
  ];
  const native = info.native;
  if (native?.controlFiles) m.push(["tsostree.pkg.deb-control", Variant.of("a(say)", native.controlFiles)]);
  if (native?.header) m.push(["tsostree.pkg.rpm-header", Variant.of("ay", native.header)]);
  return m;
}

export interface ImportOutcome {
  /** One entry per input file, in input order; undefined where that file failed. */
  results: (ImportResult | undefined)[];
  /** The failures (each a PackageFormatError naming the package and member, or an I/O error). */
  errors: Error[];
}

/** Below this much package data, worker threads cost more to start than they save. */
const PARALLEL_MIN_BYTES = Number(process.env.TSOSTREE_IMPORT_PARALLEL_MIN_BYTES ?? 16 << 20);

/**
 * Imports several files. Each importer (the main thread for small sets, else one worker thread
 * per core, since decompression and hashing are CPU-bound) runs one transaction for all the
 * packages it takes, so the whole import costs one sync per core rather than one per package. A
 * package that fails leaves nothing behind; the others still land.
 */
export async function importPackages(
  repo: Repo,
  paths: string[],
  onDone?: (r: ImportResult) => void,
  concurrency = Math.min(2, availableParallelism()),
): Promise<ImportOutcome> {
  const out: ImportOutcome = { results: new Array(paths.length), errors: [] };
  const sizes = paths.map((p) => statSync(p, { throwIfNoEntry: false })?.size ?? 0);
  const bytes = sizes.reduce((n, s) => n + s, 0);
  if (paths.length <= 1 || concurrency <= 1 || bytes < PARALLEL_MIN_BYTES) {
    const tx = await Transaction.begin(repo);
    try {
      await importInLanes(tx, paths, sizes, out, onDone);
      await tx.commit();
    } catch (e) {
      tx.abort();
      throw e;
    }
    return out;
  }
  let next = 0;
  const runWorker = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL("./import-worker.js", import.meta.url), {
        workerData: { repo: repo.path },
      });
      const feed = () => {
        if (next >= paths.length) w.postMessage({ done: true });
        else {
          const i = next++;
          w.postMessage({ i, path: paths[i] });
        }
      };
      w.on("message", (m: WorkerReply) => {
        if ("committed" in m) {
          if (m.fatal) reject(revive(m.fatal));
          else void w.terminate().then(() => resolve());
          return;
        }
        if (m.result) {
          out.results[m.i] = m.result;
          onDone?.(m.result);
        } else if (m.error) out.errors.push(revive(m.error));
        feed();
      });
      w.on("error", reject);
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, runWorker));
  return out;
}

/** Packages imported at once by one thread: while one waits for its decompressor, another is written. */
const LANES = Number(process.env.TSOSTREE_IMPORT_LANES ?? 2);

/**
 * Imports `paths` (of file sizes `sizes`) into one transaction, LANES at a time, biggest first (so
 * the longest one starts at once and the small ones fill the gaps). Failures are reported in input
 * order.
 */
async function importInLanes(
  tx: Transaction,
  paths: string[],
  sizes: number[],
  out: ImportOutcome,
  onDone?: (r: ImportResult) => void,
): Promise<void> {
  const order = sizes.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const failed: [number, Error][] = [];
  let next = 0;
  const lanes = Math.max(1, Math.min(LANES, paths.length));
  let running = lanes;
  const lane = async () => {
    while (next < order.length) {
      const i = order[next++]![1];
      try {
        out.results[i] = await importInto(tx, paths[i]!);
        onDone?.(out.results[i]!);
      } catch (e) {
        failed.push([i, e as Error]);
      }
    }
    // The first lane to run dry has time while the others wait for their decompressors: it makes
    // the objects/XX directories, and the disk starts writing back what is staged.
    if (--running > 0) {
      tx.prepareObjectDirs();
      tx.startWriteback();
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  out.errors.push(...failed.sort((a, b) => a[0] - b[0]).map(([, e]) => e));
}

export interface SerializedError {
  message: string;
  file?: string;
  member?: string;
  detail?: string;
}

export type WorkerReply =
  | { i: number; result?: ImportResult; error?: SerializedError }
  | { committed: true; fatal?: SerializedError };

export function serializeError(e: unknown): SerializedError {
  if (e instanceof PackageFormatError)
    return { message: e.message, file: e.file, member: e.member, detail: e.detail };
  return { message: e instanceof Error ? e.message : String(e) };
}

function revive(e: SerializedError): Error {
  return e.file !== undefined
    ? new PackageFormatError(e.file, e.member ?? "", e.detail ?? e.message)
    : new Error(e.message);
}
