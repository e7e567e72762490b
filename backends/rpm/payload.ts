// Streaming an rpm payload: the compressed bytes are hashed (PAYLOADDIGEST) on their way into the
// decompressor, cpio members are matched against the header's file list, and each entry is checked
// before it is yielded. Metadata (mode, owner, flags, digest) comes from the header, as rpm does it;
// the archive only supplies content, and must agree with the header about types and sizes.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import { PackageFormatError } from "../../src/packages/errors.js";
import type { PackageFile, PayloadEntry } from "../../src/packages/model.js";
import {
  byteCap,
  chain,
  compressionOfRpm,
  decompressor,
  READ_CHUNK,
} from "../../src/packages/payload-decompress.js";
import { EntryBody, PayloadGuard, treePath } from "../../src/packages/payload-guard.js";
import { cpioItems } from "./cpio.js";
import { rpmFiles } from "./files.js";
import { checkPayloadDigest, payloadDigest, type RpmLayout } from "./package.js";
import { SIG, TAG } from "./tags.js";

const MiB = 1024 * 1024;
const HARD_CAP = 8 * 1024 * MiB;
const S_IFMT = 0o170000;
const TYPE_BITS: Record<string, number> = {
  file: 0o100000,
  hardlink: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
};

/** The most decompressed payload bytes we accept: 4 × the declared size + 64 MiB, never above 8 GiB. */
export function rpmPayloadCap(l: RpmLayout): number {
  const declared = Math.max(
    l.sig.int(SIG.LONGARCHIVESIZE) ?? l.sig.int(SIG.PAYLOADSIZE) ?? 0,
    l.header.int(TAG.LONGSIZE) ?? l.header.int(TAG.SIZE) ?? 0,
  );
  return Math.min(HARD_CAP, declared * 4 + 64 * MiB);
}

/**
 * `fileDigests: "when-needed"` skips the per-file digests when PAYLOADDIGEST covers the payload
 * (checked at the end of the stream, before anything counts as imported): every byte is then
 * already vouched for, and a second hash of all content is the importer's largest CPU cost.
 */
export interface PayloadOptions {
  fileDigests?: "always" | "when-needed";
}

export async function* rpmPayload(l: RpmLayout, opts: PayloadOptions = {}): AsyncGenerator<PayloadEntry> {
  let member = "";
  const fail = (detail: string) =>
    new PackageFormatError(l.path, member ? `payload: ${member}` : "payload", detail);
  let list: ReturnType<typeof rpmFiles>;
  let compression: ReturnType<typeof compressionOfRpm>;
  let digest: ReturnType<typeof payloadDigest>;
  try {
    list = rpmFiles(l.header);
    const format = l.header.string(TAG.PAYLOADFORMAT) ?? "cpio";
    if (format !== "cpio" && format !== "drpm") throw new Error(`unsupported payload format ${format}`);
    compression = compressionOfRpm(l.header.string(TAG.PAYLOADCOMPRESSOR));
    if (!compression)
      throw new Error(`unsupported payload compressor ${l.header.string(TAG.PAYLOADCOMPRESSOR)}`);
    digest = payloadDigest(l);
  } catch (e) {
    if (e instanceof PackageFormatError) throw e;
    throw new PackageFormatError(l.path, "header", (e as Error).message);
  }
  const hash = digest ? createHash(digest.algo) : undefined;
  const hasher = new Transform({
    transform(c: Buffer, _e, cb) {
      hash?.update(c);
      cb(null, c);
    },
  });
  const skipDigests = opts.fileDigests === "when-needed" && digest !== undefined;
  const raw = createReadStream(l.path, { start: l.payloadOffset, highWaterMark: READ_CHUNK });
  const stream = chain(raw, hasher, decompressor(compression), byteCap(rpmPayloadCap(l), "payload"));
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const guard = new PayloadGuard();
  const delivered = new Set<number>();
  const deferred = new Map<string, PackageFile[]>();
  const sizeOf = (i: number) => (i < list.files.length ? list.files[i].size : undefined);
  const admit = (f: PackageFile): PackageFile[] => {
    try {
      return guard.admit(f);
    } catch (e) {
      throw fail((e as Error).message);
    }
  };
  try {
    for await (const { header: ch, body } of cpioItems({ [Symbol.asyncIterator]: () => it }, sizeOf)) {
      member = ch.name || `file #${ch.fileIndex}`;
      let index = ch.fileIndex;
      if (index === undefined) {
        let path: string;
        try {
          path = treePath(ch.name);
        } catch (e) {
          throw fail((e as Error).message);
        }
        index = list.indexOf.get(path);
        if (index === undefined) throw fail("archive member is not in the header's file list");
      }
      if (delivered.has(index)) throw fail("archive lists this file twice");
      delivered.add(index);
      const f: PackageFile = { ...list.files[index] };
      member = f.path;
      if (f.special === "char" || f.special === "block")
        throw fail("is a device node; packages may not ship device nodes");
      if (ch.fileIndex === undefined && !f.special && (ch.mode & S_IFMT) !== TYPE_BITS[f.type])
        throw fail(`archive says file type ${(ch.mode & S_IFMT).toString(8)}, header says ${f.type}`);
      if (f.ghost) continue; // %ghost content is never installed
      if (f.type === "hardlink") {
        if (ch.size !== 0 && ch.size !== f.size) throw fail(`hardlink member carries ${ch.size} bytes`);
        const primary = f.linkTarget as string;
        if (delivered.has(list.indexOf.get(primary) ?? -1)) {
          for (const d of admit(f)) yield { file: d };
          yield { file: f };
        } else deferred.set(primary, [...(deferred.get(primary) ?? []), f]);
        continue;
      }
      if (f.type === "symlink") {
        const parts: Buffer[] = [];
        for (let r = await body.next(); !r.done; r = await body.next()) parts.push(r.value);
        const target = Buffer.concat(parts).toString("utf8");
        if (target !== f.linkTarget)
          throw fail(
            `symlink target ${JSON.stringify(target)} differs from the header's ${JSON.stringify(f.linkTarget)}`,
          );
      } else if (f.type === "file" && ch.size !== f.size && !(ch.size === 0 && f.special)) {
        throw fail(`archive says ${ch.size} bytes, header says ${f.size}`);
      } else if (f.type === "dir" && ch.size !== 0) throw fail("directory member has content");
      for (const d of admit(f)) yield { file: d };
      if (f.type === "file" && !f.special) {
        const data = new EntryBody(body, f.size, skipDigests ? undefined : f.digest, fail);
        yield { file: f, data };
        await data.drain();
      } else yield { file: f };
      for (const link of deferred.get(f.path) ?? []) {
        member = link.path;
        for (const d of admit(link)) yield { file: d };
        yield { file: link };
      }
      deferred.delete(f.path);
    }
    member = "";
    // Read to the end so the payload digest covers every compressed byte.
    while (!(await it.next()).done) {
      // cpio pads after the trailer
    }
  } catch (e) {
    if (e instanceof PackageFormatError) throw e;
    throw new PackageFormatError(l.path, member ? `payload: ${member}` : "payload", (e as Error).message, {
      cause: e,
    });
  } finally {
    raw.destroy();
  }
  if (hash && digest) checkPayloadDigest(l, digest, hash.digest("hex"));
  for (const [primary] of deferred)
    throw new PackageFormatError(l.path, `payload: ${primary}`, "hardlink set has no member with content");
  list.files.forEach((f, i) => {
    if (!delivered.has(i) && !f.ghost)
      throw new PackageFormatError(
        l.path,
        `payload: ${f.path}`,
        "listed in the header but missing from the payload",
      );
  });
}
