// Opening an .rpm: the 96-byte lead, the signature header (padded to 8 bytes), the main header, then
// the compressed payload. The header digests in the signature header are verified here, and the
// payload size is checked against the file, so truncation is caught before any decompression.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { PackageFormatError } from "../../src/packages/errors.js";
import { headerPreamble, RpmHeader } from "./header.js";
import { DIGEST_ALGO, SIG, TAG } from "./tags.js";

export const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
const LEAD_SIZE = 96;

export interface RpmLayout {
  path: string;
  size: number;
  sig: RpmHeader;
  header: RpmHeader;
  /** File offset where the compressed payload starts. */
  payloadOffset: number;
}

async function readAt(fh: FileHandle, pos: number, n: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  const { bytesRead } = await fh.read(b, 0, n, pos);
  return b.subarray(0, bytesRead);
}

async function readHeader(
  fh: FileHandle,
  path: string,
  pos: number,
  size: number,
  what: string,
): Promise<RpmHeader> {
  const pre = await readAt(fh, pos, 16);
  try {
    const { length } = headerPreamble(pre, what);
    if (pos + length > size) throw new Error(`${what} is truncated (needs ${length} bytes)`);
    return new RpmHeader(await readAt(fh, pos, length), what);
  } catch (e) {
    throw new PackageFormatError(path, what, (e as Error).message);
  }
}

export async function openRpm(path: string): Promise<RpmLayout> {
  const fh = await open(path, "r").catch((e: NodeJS.ErrnoException) => {
    throw new PackageFormatError(path, "", `cannot open: ${e.code ?? e.message}`);
  });
  try {
    const { size } = await fh.stat();
    const lead = await readAt(fh, 0, LEAD_SIZE);
    if (lead.length < LEAD_SIZE || !lead.subarray(0, 4).equals(LEAD_MAGIC))
      throw new PackageFormatError(path, "lead", "bad magic; not an rpm package");
    if (lead[4] !== 3 && lead[4] !== 4)
      throw new PackageFormatError(path, "lead", `unsupported rpm format version ${lead[4]}`);
    if (lead.readUInt16BE(6) !== 0)
      throw new PackageFormatError(path, "lead", "is a source package; only binary rpms can be read");
    const sig = await readHeader(fh, path, LEAD_SIZE, size, "signature header");
    const sigEnd = LEAD_SIZE + sig.blob.length;
    const hdrPos = sigEnd + ((8 - (sigEnd % 8)) % 8);
    const header = await readHeader(fh, path, hdrPos, size, "header");
    const payloadOffset = hdrPos + header.blob.length;
    const layout: RpmLayout = { path, size, sig, header, payloadOffset };
    verifyHeaderDigests(layout);
    checkSize(layout);
    return layout;
  } finally {
    await fh.close();
  }
}

function verifyHeaderDigests(l: RpmLayout): void {
  const checks: [number, string][] = [
    [SIG.SHA256, "sha256"],
    [SIG.SHA1, "sha1"],
  ];
  try {
    for (const [tag, algo] of checks) {
      const want = l.sig.string(tag);
      if (want === undefined) continue;
      const got = createHash(algo).update(l.header.blob).digest("hex");
      if (got !== want.toLowerCase())
        throw new PackageFormatError(
          l.path,
          "header",
          `${algo} header digest mismatch (signature header says ${want}, header has ${got}); the package is corrupt`,
        );
    }
  } catch (e) {
    if (e instanceof PackageFormatError) throw e;
    throw new PackageFormatError(l.path, "signature header", (e as Error).message);
  }
}

/** SIZE/LONGSIZE in the signature header is header + payload; the file must hold exactly that. */
function checkSize(l: RpmLayout): void {
  let declared: number | undefined;
  try {
    declared = l.sig.int(SIG.LONGSIZE) ?? l.sig.int(SIG.SIZE);
  } catch (e) {
    throw new PackageFormatError(l.path, "signature header", (e as Error).message);
  }
  if (declared === undefined) return;
  const actual = l.size - (l.payloadOffset - l.header.blob.length);
  if (actual < declared)
    throw new PackageFormatError(l.path, "payload", `is truncated (${declared - actual} bytes missing)`);
}

/** The algorithm and hex digest rpm recorded for the compressed payload, if any. */
export function payloadDigest(l: RpmLayout): { algo: string; hex: string } | undefined {
  const d = l.header.stringArray(TAG.PAYLOADDIGEST)?.[0];
  if (!d) return undefined;
  const algo = DIGEST_ALGO[l.header.int(TAG.PAYLOADDIGESTALGO) ?? 8];
  if (!algo) throw new PackageFormatError(l.path, "header", "unknown payload digest algorithm");
  return { algo, hex: d.toLowerCase() };
}

/**
 * Hashes the compressed payload straight from the file and compares it with PAYLOADDIGEST; in the same
 * pass checks the signature header's MD5 over header + payload, which older packages rely on alone.
 */
/** Fails when the payload's digest is not the one PAYLOADDIGEST declares. */
export function checkPayloadDigest(l: RpmLayout, want: { algo: string; hex: string }, got: string): void {
  if (got !== want.hex)
    throw new PackageFormatError(
      l.path,
      "payload",
      `${want.algo} payload digest mismatch (header says ${want.hex}, payload has ${got}); the package is corrupt`,
    );
}

export async function verifyPayloadDigest(l: RpmLayout): Promise<void> {
  const want = payloadDigest(l);
  let md5want: Buffer | undefined;
  try {
    md5want = l.sig.bin(SIG.MD5);
  } catch (e) {
    throw new PackageFormatError(l.path, "signature header", (e as Error).message);
  }
  if (!want && !md5want) return;
  const h = want ? createHash(want.algo) : undefined;
  const md5 = md5want ? createHash("md5").update(l.header.blob) : undefined;
  for await (const c of createReadStream(l.path, { start: l.payloadOffset })) {
    h?.update(c as Buffer);
    md5?.update(c as Buffer);
  }
  if (h && want) checkPayloadDigest(l, want, h.digest("hex"));
  if (md5 && md5want && !md5.digest().equals(md5want))
    throw new PackageFormatError(
      l.path,
      "payload",
      "MD5 digest of header and payload mismatch; the package is corrupt",
    );
}
