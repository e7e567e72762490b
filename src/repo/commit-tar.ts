// Committing a tar stream, as `ostree commit --tree=tar=FILE` does (ostree-repo-libarchive.c):
// entries are imported in archive order into a MutableTree, a directory's metadata comes from its
// own entry, parents must already exist unless autocreateParents (then they get 0755 and the
// entry's owner), and hardlinks are resolved at the end against their target's checksum.
// Compression (gzip, xz, zstd, bzip2) is recognized by its magic bytes.
import { createRequire } from "node:module";
import { type Duplex, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { DecoderTransform } from "../util/decode.js";
import { CommitError } from "./commit.js";
import { type CommitModifier, dirMeta, fileMeta, resolveModifier } from "./commit-modifier.js";
import { MutableTree } from "./mtree.js";
import { S_IFDIR, S_IFLNK, S_IFREG, serializeDirMeta, type Xattrs } from "./objects.js";
import type { Transaction } from "./transaction.js";

export interface CommitTarOptions extends CommitModifier {
  mtree?: MutableTree;
  /** Create missing parent directories (0755, owned like the entry) instead of failing. */
  autocreateParents?: boolean;
}

/** Files up to this size are buffered and hashed in one go; larger ones stream through. */
const BUFFER_MAX = 8 << 20;

export async function commitFromTar(
  tx: Transaction,
  input: Readable | AsyncIterable<Buffer>,
  opts: CommitTarOptions = {},
): Promise<MutableTree> {
  const mtree = opts.mtree ?? MutableTree.empty(null, tx);
  const mod = resolveModifier(tx.repo.mode, opts);
  const hardlinks: { node: MutableTree; name: string; target: string[] }[] = [];
  const extract = tar.extract();
  const source = await decompressed(input);
  source.on("error", (e) => extract.destroy(e));
  source.pipe(extract);

  const writeDirMeta = (mode: number, uid: number, gid: number, xattrs: Xattrs) =>
    tx.writeMetadata("dirmeta", serializeDirMeta(dirMeta(mod, mode, uid, gid, xattrs)));

  const parentOf = (names: string[], uid: number, gid: number): MutableTree => {
    let node = mtree;
    const created: string[] = [];
    for (const n of names) {
      const c = node.child(n);
      if (c?.kind === "dir") node = c.tree;
      else if (c) throw new CommitError(`ostree-tar: ${[...created, n].join("/")} is not a directory`);
      else if (!opts.autocreateParents)
        throw new CommitError(
          `ostree-tar: parent directory ${[...created, n].join("/")} is missing from the archive; use --tar-autocreate-parents`,
        );
      else {
        if (node === mtree && mtree.metadataChecksum === null)
          mtree.setMetadata(writeDirMeta(0o755, uid, gid, []));
        node = node.ensureChild(n, writeDirMeta(0o755, uid, gid, []));
      }
      created.push(n);
    }
    return node;
  };

  for await (const entry of extract) {
    const h = entry.header;
    const names = splitArchivePath(h.name);
    const xattrs = mod.skipXattrs ? [] : paxXattrs((h as { pax?: Record<string, string> }).pax);
    const perms = (h.mode ?? 0) & 0o7777;
    const uid = h.uid ?? 0;
    const gid = h.gid ?? 0;
    if (h.type === "directory") {
      const csum = writeDirMeta(S_IFDIR | perms, uid, gid, xattrs);
      if (names.length === 0) mtree.setMetadata(csum);
      else parentOf(names.slice(0, -1), uid, gid).ensureChild(names.at(-1)!).setMetadata(csum);
      entry.resume();
      continue;
    }
    if (names.length === 0) throw new CommitError(`ostree-tar: '${h.name}' is the root but not a directory`);
    const parent = parentOf(names.slice(0, -1), uid, gid);
    const name = names.at(-1)!;
    if (h.type === "link") {
      hardlinks.push({ node: parent, name, target: splitArchivePath(h.linkname ?? "") });
      entry.resume();
      continue;
    }
    let csum: string;
    if (h.type === "symlink") {
      csum = await tx.writeContent(
        fileMeta(mod, S_IFLNK | 0o777, uid, gid, h.linkname ?? "", xattrs),
        Buffer.alloc(0),
      );
      entry.resume();
    } else if (h.type === "file" || h.type === "contiguous-file") {
      const meta = fileMeta(mod, S_IFREG | perms, uid, gid, "", xattrs);
      const size = h.size ?? 0;
      csum =
        size <= BUFFER_MAX
          ? await tx.writeContent(meta, await collect(entry as AsyncIterable<Buffer>))
          : await tx.writeContent(meta, entry as AsyncIterable<Buffer>, size);
    } else {
      throw new CommitError(`ostree-tar: Unsupported file type for path "${names.join("/")}" (${h.type})`);
    }
    parent.replaceFile(name, csum);
  }

  for (const l of hardlinks) {
    const target = mtree.lookup(l.target.join("/"));
    if (target?.kind !== "file")
      throw new CommitError(
        `ostree-tar: hardlink ${l.name} points to ${l.target.join("/")}, which is not a file in the archive`,
      );
    l.node.replaceFile(l.name, target.checksum);
  }
  if (opts.autocreateParents && mtree.metadataChecksum === null)
    mtree.setMetadata(writeDirMeta(0o755, 0, 0, []));
  return mtree;
}

/** ostree's path_relative: drop leading "/", "./" and empty components; "." is the root. */
export function splitArchivePath(p: string): string[] {
  const names = p.split("/").filter((c) => c !== "" && c !== ".");
  for (const n of names)
    if (n === "..") throw new CommitError(`ostree-tar: path '${p}' contains '..'; refusing to import it`);
  return names;
}

/** xattrs recorded as pax records (GNU tar/star's SCHILY.xattr.NAME, libarchive's LIBARCHIVE.xattr). */
function paxXattrs(pax: Record<string, string> | undefined): Xattrs {
  const out: Xattrs = [];
  if (!pax) return out;
  for (const [k, v] of Object.entries(pax)) {
    if (k.startsWith("SCHILY.xattr.")) out.push([k.slice(13), Buffer.from(v, "utf8")]);
    else if (k.startsWith("LIBARCHIVE.xattr."))
      out.push([decodeURIComponent(k.slice(17)), Buffer.from(v, "base64")]);
  }
  const seen = new Set<string>();
  return out.filter(([k]) => !seen.has(k) && seen.add(k));
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Peeks at the first bytes and inserts the matching decompressor. */
async function decompressed(input: Readable | AsyncIterable<Buffer>): Promise<Readable> {
  const it = input[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
  const rest = Readable.from(
    (async function* () {
      if (head.length) yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })(),
  );
  const decoder = decoderFor(head);
  if (!decoder) return rest;
  rest.on("error", (e) => decoder.destroy(e));
  return rest.pipe(decoder);
}

function decoderFor(head: Buffer): Duplex | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return createGunzip();
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
    return new DecoderTransform("xz");
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return new DecoderTransform("zstd");
  if (head.toString("latin1", 0, 3) === "BZh") {
    const require = createRequire(import.meta.url);
    return (require("unbzip2-stream") as () => Duplex)();
  }
  return null;
}
