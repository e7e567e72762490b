// The cpio "newc" archive inside rpm payloads (magic 070701/070702), plus rpm's "stripped" variant
// (magic 07070X) used for packages with files over 4 GiB, whose headers carry only the file's index
// in the rpm header. Streaming: headers are parsed as bytes arrive, bodies handed out as iterators.

export interface CpioHeader {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Set for stripped entries: the index into the rpm header's file list (name is then ""). */
  fileIndex?: number;
}

export class CpioError extends Error {
  override readonly name = "CpioError";
}

const MAX_NAME = 4096;

/** Buffered exact reads over an async iterator of chunks. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  offset = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** Ensures at least n bytes are buffered; false when the input ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      const r = await this.it.next();
      if (r.done) return false;
      this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    return true;
  }

  async exact(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) throw new CpioError(`archive ends inside ${what} (offset ${this.offset})`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Yields exactly n bytes in chunks as they arrive. */
  async *take(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0) {
        const r = await this.it.next();
        if (r.done) throw new CpioError(`archive ends inside the content of ${what} (${left} bytes missing)`);
        this.buf = r.value;
      }
      const k = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, k);
      this.buf = this.buf.subarray(k);
      this.offset += k;
      left -= k;
      yield out;
    }
  }

  async align4(what: string): Promise<void> {
    const pad = (4 - (this.offset % 4)) % 4;
    if (pad) await this.exact(pad, what);
  }
}

function hex(b: Buffer, field: number, what: string): number {
  const s = b.toString("latin1", field * 8, field * 8 + 8);
  if (!/^[0-9a-fA-F]{8}$/.test(s))
    throw new CpioError(`bad number ${JSON.stringify(s)} in the header of ${what}`);
  return Number.parseInt(s, 16);
}

export interface CpioItem {
  header: CpioHeader;
  body: AsyncIterator<Buffer>;
}

/**
 * Yields the members of a newc cpio stream, stopping at "TRAILER!!!". For stripped entries,
 * `sizeOf(index)` gives the content size from the rpm header. A body not consumed by the caller is
 * skipped when the next member is requested.
 */
export async function* cpioItems(
  src: AsyncIterable<Buffer>,
  sizeOf: (index: number) => number | undefined = () => undefined,
): AsyncGenerator<CpioItem> {
  const r = new ByteReader(src[Symbol.asyncIterator]());
  for (let n = 0; ; n++) {
    const what = `cpio member #${n}`;
    const magic = (await r.exact(6, `the header of ${what}`)).toString("latin1");
    let header: CpioHeader;
    if (magic === "07070X") {
      const fx = hex(await r.exact(8, `the header of ${what}`), 0, what);
      const size = sizeOf(fx);
      if (size === undefined)
        throw new CpioError(`${what} refers to file index ${fx}, which the header does not list`);
      header = {
        name: "",
        ino: 0,
        mode: 0,
        uid: 0,
        gid: 0,
        nlink: 1,
        mtime: 0,
        size,
        rdevMajor: 0,
        rdevMinor: 0,
        fileIndex: fx,
      };
      await r.align4(what);
    } else {
      if (magic !== "070701" && magic !== "070702")
        throw new CpioError(`${what} has bad magic ${JSON.stringify(magic)}`);
      const h = await r.exact(104, `the header of ${what}`);
      const namesize = hex(h, 11, what);
      if (namesize < 2 || namesize > MAX_NAME)
        throw new CpioError(`${what} has an absurd name size ${namesize}`);
      const nameBuf = await r.exact(namesize, `the name of ${what}`);
      if (nameBuf[namesize - 1] !== 0 || nameBuf.indexOf(0) !== namesize - 1)
        throw new CpioError(`${what} has a malformed name`);
      header = {
        name: nameBuf.toString("utf8", 0, namesize - 1),
        ino: hex(h, 0, what),
        mode: hex(h, 1, what),
        uid: hex(h, 2, what),
        gid: hex(h, 3, what),
        nlink: hex(h, 4, what),
        mtime: hex(h, 5, what),
        size: hex(h, 6, what),
        rdevMajor: hex(h, 9, what),
        rdevMinor: hex(h, 10, what),
      };
      await r.align4(what);
      if (header.name === "TRAILER!!!") return;
    }
    const body = r.take(header.size, header.name || what);
    yield { header, body };
    for await (const _ of body) {
      // skip what the caller left unread
    }
    await r.align4(what);
  }
}
