// The `ar` container of a .deb: "!<arch>\n", then members with a 60-byte text header each, data
// padded to an even offset. Only headers are read here; member data is streamed by offset.
import type { FileHandle } from "node:fs/promises";

export const AR_MAGIC = Buffer.from("!<arch>\n", "latin1");
export const AR_HEADER_SIZE = 60;

export interface ArMember {
  name: string;
  /** Offset of the member's data in the file. */
  offset: number;
  size: number;
}

export class ArError extends Error {
  override readonly name = "ArError";
}

/** Parses one 60-byte member header (pure). `offset` is where the header starts. */
export function parseArHeader(h: Buffer, offset: number): ArMember {
  if (h.length < AR_HEADER_SIZE) throw new ArError(`truncated ar member header at offset ${offset}`);
  if (h[58] !== 0x60 || h[59] !== 0x0a) throw new ArError(`bad ar member header at offset ${offset}`);
  const rawName = h.toString("latin1", 0, 16).trimEnd();
  // GNU ar terminates names with '/'; dpkg-deb writes BSD-style names without it. Both are fine.
  const name = rawName.endsWith("/") && rawName !== "/" ? rawName.slice(0, -1) : rawName;
  const sizeText = h.toString("latin1", 48, 58).trimEnd();
  if (!/^\d+$/.test(sizeText))
    throw new ArError(`ar member ${name || "?"} has a bad size field "${sizeText}"`);
  return { name, offset: offset + AR_HEADER_SIZE, size: Number.parseInt(sizeText, 10) };
}

/**
 * Lists the members of the ar archive in `fh` (whose length is `fileSize`), in order. Every member must
 * fit inside the file: a truncated package is detected here, before any decompression.
 */
export async function readArMembers(fh: FileHandle, fileSize: number): Promise<ArMember[]> {
  const magic = Buffer.alloc(8);
  await fh.read(magic, 0, 8, 0);
  if (!magic.equals(AR_MAGIC)) throw new ArError("not an ar archive (bad magic); is this really a .deb?");
  const members: ArMember[] = [];
  let pos = 8;
  const h = Buffer.alloc(AR_HEADER_SIZE);
  while (pos < fileSize) {
    // A single trailing newline padding byte at the very end is tolerated.
    if (fileSize - pos === 1) break;
    const { bytesRead } = await fh.read(h, 0, AR_HEADER_SIZE, pos);
    if (bytesRead < AR_HEADER_SIZE) throw new ArError(`truncated ar member header at offset ${pos}`);
    const m = parseArHeader(h, pos);
    if (m.offset + m.size > fileSize)
      throw new ArError(`ar member ${m.name} is truncated (needs ${m.size} bytes, file ends first)`);
    members.push(m);
    if (members.length > 64) throw new ArError("too many ar members for a .deb");
    pos = m.offset + m.size + (m.size % 2);
  }
  return members;
}
