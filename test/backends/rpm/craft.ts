// Hand-made rpms for hostile-input tests: a minimal header writer and a cpio newc writer, so a test can
// put into the header and the payload exactly the lie it wants to check.
import { gzipSync } from "node:zlib";

type Value = { type: 3 | 4 | 6 | 8; value: number[] | string | string[] };

export function rpmHeaderBlob(
  tags: Map<number, Value>,
  opts: { nindex?: number; hsize?: number } = {},
): Buffer {
  const index: Buffer[] = [];
  const store: Buffer[] = [];
  let size = 0;
  const align = (n: number) => {
    const pad = (n - (size % n)) % n;
    if (pad) {
      store.push(Buffer.alloc(pad));
      size += pad;
    }
  };
  for (const [tag, v] of [...tags].sort((a, b) => a[0] - b[0])) {
    let data: Buffer;
    let count: number;
    if (v.type === 3 || v.type === 4) {
      // INT16 or INT32 arrays, big-endian and aligned to their width.
      const width = v.type === 3 ? 2 : 4;
      align(width);
      const nums = v.value as number[];
      data = Buffer.alloc(nums.length * width);
      nums.forEach((x, i) => {
        data.writeUIntBE(x, i * width, width);
      });
      count = nums.length;
    } else if (v.type === 6) {
      data = Buffer.from(`${v.value as string}\0`);
      count = 1;
    } else {
      const arr = v.value as string[];
      data = Buffer.from(arr.map((s) => `${s}\0`).join(""));
      count = arr.length;
    }
    const e = Buffer.alloc(16);
    e.writeUInt32BE(tag, 0);
    e.writeUInt32BE(v.type, 4);
    e.writeUInt32BE(size, 8);
    e.writeUInt32BE(count, 12);
    index.push(e);
    store.push(data);
    size += data.length;
  }
  const pre = Buffer.alloc(16);
  Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(pre);
  pre.writeUInt32BE(opts.nindex ?? index.length, 8);
  pre.writeUInt32BE(opts.hsize ?? size, 12);
  return Buffer.concat([pre, ...index, ...store]);
}

export interface CpioMember {
  name: string;
  mode: number;
  content?: string | Buffer;
  /** Declared size, when it should differ from the content. */
  size?: number;
  ino?: number;
  nlink?: number;
  /** Write rpm's stripped header ("07070X" + this file index) instead of a newc header. */
  stripped?: number;
}

export function cpioNewc(members: CpioMember[]): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    off += b.length;
  };
  const pad = () => {
    if (off % 4) push(Buffer.alloc(4 - (off % 4)));
  };
  const all = [...members, { name: "TRAILER!!!", mode: 0, nlink: 1 }];
  all.forEach((m, i) => {
    const content = m.content === undefined ? Buffer.alloc(0) : Buffer.from(m.content);
    if (m.stripped !== undefined) {
      push(Buffer.from(`07070X${m.stripped.toString(16).padStart(8, "0")}`, "latin1"));
      pad();
      push(content);
      pad();
      return;
    }
    const fields = [
      m.ino ?? i + 1,
      m.mode,
      0,
      0,
      m.nlink ?? 1,
      0,
      m.size ?? content.length,
      0,
      0,
      0,
      0,
      Buffer.byteLength(m.name) + 1,
      0,
    ];
    push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, "0")).join("")}`, "latin1"));
    push(Buffer.from(`${m.name}\0`));
    pad();
    push(content);
    pad();
  });
  return Buffer.concat(parts);
}

export interface CraftFile {
  path: string;
  mode: number;
  size?: number;
  link?: string;
  inode?: number;
  flags?: number;
  /** sha256 hex of the content, recorded in FILEDIGESTS. */
  sha256?: string;
}

/** A complete .rpm with the given header file list and cpio payload (gzip), no signature digests. */
export function craftRpm(
  files: CraftFile[],
  cpio: Buffer,
  opts: { size?: number; extraTags?: Map<number, Value> } = {},
): Buffer {
  const dirs: string[] = [];
  const dirIndexes: number[] = [];
  const basenames: string[] = [];
  for (const f of files) {
    const i = f.path.lastIndexOf("/");
    const d = f.path.slice(0, i + 1);
    if (!dirs.includes(d)) dirs.push(d);
    dirIndexes.push(dirs.indexOf(d));
    basenames.push(f.path.slice(i + 1));
  }
  const tags = new Map<number, Value>([
    [1000, { type: 6, value: "crafted" }],
    [1001, { type: 6, value: "1.0" }],
    [1002, { type: 6, value: "1" }],
    [1004, { type: 6, value: "crafted package" }],
    [1005, { type: 6, value: "crafted" }],
    [1009, { type: 4, value: [opts.size ?? 1] }],
    [1022, { type: 6, value: "noarch" }],
    [1124, { type: 6, value: "cpio" }],
    [1125, { type: 6, value: "gzip" }],
  ]);
  if (files.length) {
    tags.set(1028, { type: 4, value: files.map((f) => f.size ?? 0) });
    tags.set(1030, { type: 3, value: files.map((f) => f.mode) });
    tags.set(1036, { type: 8, value: files.map((f) => f.link ?? "") });
    tags.set(1037, { type: 4, value: files.map((f) => f.flags ?? 0) });
    tags.set(1039, { type: 8, value: files.map(() => "root") });
    tags.set(1040, { type: 8, value: files.map(() => "root") });
    tags.set(1095, { type: 4, value: files.map(() => 1) });
    if (files.some((f) => f.sha256)) {
      tags.set(1035, { type: 8, value: files.map((f) => f.sha256 ?? "") });
      tags.set(5011, { type: 4, value: [8] });
    }
    tags.set(1096, { type: 4, value: files.map((f, i) => f.inode ?? i + 1) });
    tags.set(1116, { type: 4, value: dirIndexes });
    tags.set(1117, { type: 8, value: basenames });
    tags.set(1118, { type: 8, value: dirs });
  }
  for (const [k, v] of opts.extraTags ?? []) tags.set(k, v);
  const header = rpmHeaderBlob(tags);
  const payload = gzipSync(cpio);
  const sig = rpmHeaderBlob(new Map([[1000, { type: 4, value: [header.length + payload.length] }]]));
  const lead = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(lead);
  lead.write("crafted-1.0-1", 10, "latin1");
  lead.writeUInt16BE(1, 76);
  lead.writeUInt16BE(5, 78);
  const sigPad = Buffer.alloc((8 - (sig.length % 8)) % 8);
  return Buffer.concat([lead, sig, sigPad, header, payload]);
}
