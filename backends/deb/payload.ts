// Streaming the data.tar of a .deb: entries in archive order, each path validated, file content
// checked against its declared size and md5sums, total output capped against Installed-Size.
import { PackageFormatError } from "../../src/packages/errors.js";
import type { PayloadEntry } from "../../src/packages/model.js";
import type { ByteCap } from "../../src/packages/payload-decompress.js";
import { EntryBody, PayloadGuard } from "../../src/packages/payload-guard.js";
import { type DebControl, type DebLayout, debMd5sums, memberStream, readDebControl } from "./package.js";
import { readBody, tarHeaderToFile, tarItems } from "./tar.js";

const MiB = 1024 * 1024;
const HARD_CAP = 8 * 1024 * MiB;

/**
 * The most decompressed data.tar bytes we accept: Installed-Size (KiB) × 4 + 64 MiB, never above 8 GiB.
 * Installed-Size is optional in a .deb; without it, 100 × the compressed member size stands in (real
 * packages compress 3–20×, so only a bomb comes near).
 */
export function dataCap(installedSizeKiB: number | undefined, compressedSize: number): number {
  const declared = installedSizeKiB === undefined ? compressedSize * 25 : installedSizeKiB * 1024;
  return Math.min(HARD_CAP, declared * 4 + 64 * MiB);
}

/**
 * The data.tar stream of a .deb, decompressing from now on: started before the control archive is
 * read, it overlaps that work (debPayload lowers its cap once Installed-Size is known). Its errors
 * wait for the reader.
 */
export function startDebData(layout: DebLayout): ByteCap {
  const data = memberStream(layout, layout.data, layout.dataCompression, HARD_CAP);
  data.on("error", () => {});
  return data;
}

/**
 * `control` may be passed when the caller already read it, to avoid decompressing it twice.
 * `md5sums: false` leaves file content unchecked against the md5sums member: that list is dpkg's
 * record for debsums, not an integrity check of the archive (dpkg does not verify it on unpack
 * either; an importer records the .deb's own sha256, which the signed index vouches for).
 */
export async function* debPayload(
  layout: DebLayout,
  known?: DebControl,
  opts: { md5sums?: boolean; data?: ByteCap } = {},
): AsyncGenerator<PayloadEntry> {
  const control = known ?? (await readDebControl(layout));
  const installed = /^\d+$/.test(control.stanza["Installed-Size"] ?? "")
    ? Number.parseInt(control.stanza["Installed-Size"], 10)
    : undefined;
  const md5 = opts.md5sums === false ? new Map<string, string>() : debMd5sums(control);
  const guard = new PayloadGuard();
  const what = layout.data.name;
  let member = "";
  const fail = (detail: string) => new PackageFormatError(layout.path, `${what}: ${member}`, detail);
  try {
    const limit = dataCap(installed, layout.data.size);
    let src: ByteCap;
    if (opts.data) {
      src = opts.data;
      src.limit = limit;
    } else src = memberStream(layout, layout.data, layout.dataCompression, limit);
    for await (const item of tarItems(src)) {
      member = item.header.name;
      let file: ReturnType<typeof tarHeaderToFile>;
      let implied: ReturnType<PayloadGuard["admit"]>;
      try {
        file = tarHeaderToFile(item.header);
        implied = file.path === "/" ? [] : guard.admit(file);
      } catch (e) {
        throw fail((e as Error).message);
      }
      if (file.path === "/") {
        // The archive root ("./") carries the owner of "/", which no package gets to change.
        await readBody(item.body, 0, member);
        continue;
      }
      for (const dir of implied) yield { file: dir };
      if (file.type !== "file" || file.special) {
        await readBody(item.body, 0, member);
        yield { file };
        continue;
      }
      const hex = md5.get(file.path);
      if (hex) file.digest = { algo: "md5", hex };
      const body = new EntryBody(item.body, file.size, file.digest, fail);
      yield { file, data: body };
      await body.drain();
    }
  } catch (e) {
    if (e instanceof PackageFormatError) throw e;
    throw new PackageFormatError(layout.path, member ? `${what}: ${member}` : what, (e as Error).message, {
      cause: e,
    });
  }
}
