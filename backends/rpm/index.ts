// The .rpm backend: rpm's binary package format read without librpm.
import { PackageFormatError } from "../../src/packages/errors.js";
import type {
  NativeRecord,
  OpenedPackage,
  PackageBackend,
  PackageInfo,
  PayloadEntry,
} from "../../src/packages/model.js";
import { rpmFiles } from "./files.js";
import { hasRegion, rpmdbHeader } from "./header-write.js";
import { rpmMeta, rpmScripts, rpmTriggers } from "./meta.js";
import { LEAD_MAGIC, openRpm, payloadDigest, type RpmLayout, verifyPayloadDigest } from "./package.js";
import { rpmPayload } from "./payload.js";
import { compareEVR, formatRpmVersion } from "./version.js";

export { parseRpmRich, rpmDep } from "./relations.js";
export { compareEVR, rpmvercmp } from "./version.js";

/** Header-level reading: everything except the payload content. */
export function rpmInfo(l: RpmLayout): PackageInfo {
  try {
    const list = rpmFiles(l.header);
    const files = [...list.implied, ...list.files];
    return {
      ...rpmMeta(l.header),
      files,
      scripts: rpmScripts(l.header),
      triggers: rpmTriggers(l.header),
      conffiles: list.files.filter((f) => f.config).map((f) => f.path),
      native: nativeRecord(l),
    };
  } catch (e) {
    if (e instanceof PackageFormatError) throw e;
    throw new PackageFormatError(l.path, "header", (e as Error).message);
  }
}

/**
 * The rpmdb's header; none for a header without an immutable region (rpm v3, which rpm itself only
 * reads through a retrofit): such a package can be inspected and imported, not layered.
 */
function nativeRecord(l: RpmLayout): NativeRecord {
  return hasRegion(l.header.blob) ? { header: rpmdbHeader(l.sig.blob, l.header.blob) } : {};
}

export const rpmBackend: PackageBackend = {
  kind: "rpm",

  sniff(head: Buffer): boolean {
    return head.length >= 4 && head.subarray(0, 4).equals(LEAD_MAGIC);
  },

  async read(path: string): Promise<PackageInfo> {
    const l = await openRpm(path);
    const info = rpmInfo(l);
    await verifyPayloadDigest(l);
    return info;
  },

  async *payload(path: string): AsyncIterable<PayloadEntry> {
    yield* rpmPayload(await openRpm(path));
  },

  async open(path: string): Promise<OpenedPackage> {
    const l = await openRpm(path);
    const info = rpmInfo(l);
    // The payload stream checks PAYLOADDIGEST itself; only MD5-only packages need a pass here.
    if (!payloadDigest(l)) await verifyPayloadDigest(l);
    return { info, payload: () => rpmPayload(l, { fileDigests: "when-needed" }), close: () => {} };
  },

  compareVersions: compareEVR,
  formatVersion: formatRpmVersion,
};
