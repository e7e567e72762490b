// Hostile .rpms: crafted headers and payloads must end in a PackageFormatError naming package and
// member (or header part), never in a crash, a hang or a write outside the tree.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { rpmBackend } from "../../../backends/rpm/index.js";
import { PackageFormatError } from "../../../src/packages/errors.js";
import { haveTools, scratch, tsostreePkg } from "../../helpers.js";
import { buildRpm } from "./build.js";
import { type CpioMember, type CraftFile, cpioNewc, craftRpm } from "./craft.js";

const REG = 0o100644;
const DIR = 0o040755;
const LNK = 0o120777;

async function drain(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of rpmBackend.payload(path)) {
    out.push(e.file.path);
    if (e.data && !Buffer.isBuffer(e.data))
      for await (const _ of e.data) {
        // consume
      }
  }
  return out;
}

async function expectError(path: string, where: RegExp, detail: RegExp): Promise<void> {
  await assert.rejects(drain(path), (e: unknown) => {
    assert.ok(e instanceof PackageFormatError, `a PackageFormatError, got ${String(e)}`);
    assert.ok(e.message.startsWith(path), e.message);
    assert.match(e.message, where);
    assert.match(e.message, detail);
    return true;
  });
}

function write(dir: string, name: string, files: CraftFile[], members: CpioMember[], size?: number): string {
  const p = join(dir, `${name}.rpm`);
  writeFileSync(p, craftRpm(files, cpioNewc(members), { size }));
  return p;
}

test("a well-formed crafted rpm reads, with implied directories", async (t) => {
  const dir = scratch(t);
  const p = write(
    dir,
    "ok",
    [{ path: "/opt/x/file", mode: REG, size: 5 }],
    [{ name: "./opt/x/file", mode: REG, content: "hello" }],
  );
  assert.deepEqual(await drain(p), ["/opt", "/opt/x", "/opt/x/file"]);
  const r = tsostreePkg(["inspect", "--json", "--files", p]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).files[0].flags[0], "implied");
});

test("payload tricks are refused with the member named", async (t) => {
  const dir = scratch(t);
  const f = (path: string, mode = REG, size = 1, extra: Partial<CraftFile> = {}): CraftFile => ({
    path,
    mode,
    size,
    ...extra,
  });
  const cases: [string, CraftFile[], CpioMember[], RegExp, RegExp][] = [
    ["dotdot", [f("/a")], [{ name: "./../../etc/passwd", mode: REG, content: "x" }], /etc\/passwd/, /'\.\.'/],
    [
      "not-in-header",
      [f("/a")],
      [{ name: "./b", mode: REG, content: "x" }],
      /payload: \.\/b/,
      /not in the header/,
    ],
    [
      "symlink-write-through",
      [f("/d", DIR, 0), f("/d/l", LNK, 4, { link: "/etc" }), f("/d/l/passwd")],
      [
        { name: "./d", mode: DIR },
        { name: "./d/l", mode: LNK, content: "/etc" },
        { name: "./d/l/passwd", mode: REG, content: "x" },
      ],
      /\/d\/l\/passwd/,
      /through the symlink \/d\/l/,
    ],
    [
      "device",
      [f("/dev/null", 0o020666, 0)],
      [{ name: "./dev/null", mode: 0o020666 }],
      /dev\/null/,
      /device node/,
    ],
    ["type-mismatch", [f("/a")], [{ name: "./a", mode: DIR }], /\/a/, /file type/],
    [
      "size-lie",
      [f("/a", REG, 3)],
      [{ name: "./a", mode: REG, content: "hello" }],
      /\/a/,
      /archive says 5 bytes, header says 3/,
    ],
    [
      "symlink-target-lie",
      [f("/l", LNK, 4, { link: "good" })],
      [{ name: "./l", mode: LNK, content: "/etc" }],
      /\/l/,
      /differs/,
    ],
    [
      "twice",
      [f("/a")],
      [
        { name: "./a", mode: REG, content: "x" },
        { name: "./a", mode: REG, content: "x" },
      ],
      /\/a/,
      /twice/,
    ],
    [
      "missing",
      [f("/a"), f("/b")],
      [{ name: "./a", mode: REG, content: "x" }],
      /\/b/,
      /missing from the payload/,
    ],
    [
      "hardlink-no-content",
      [f("/a", REG, 1, { inode: 7 }), f("/b", REG, 1, { inode: 7 })],
      [
        { name: "./a", mode: REG, nlink: 2, ino: 7 },
        { name: "./b", mode: REG, nlink: 2, ino: 7 },
      ],
      /\/b/,
      /archive says 0 bytes/,
    ],
    [
      "truncated-content",
      [f("/a", REG, 100)],
      [{ name: "./a", mode: REG, size: 100, content: "short" }],
      /\/a/,
      /ends inside|missing|bad magic/,
    ],
  ];
  for (const [name, files, members, where, detail] of cases)
    await expectError(write(dir, name, files, members), where, detail);
});

test("a hardlink set delivers content once and links the rest to it", async (t) => {
  const dir = scratch(t);
  const p = write(
    dir,
    "links",
    [
      { path: "/a", mode: REG, size: 2, inode: 9 },
      { path: "/b", mode: REG, size: 2, inode: 9 },
    ],
    [
      { name: "./a", mode: REG, nlink: 2, ino: 9, size: 0 },
      { name: "./b", mode: REG, nlink: 2, ino: 9, content: "hi" },
    ],
  );
  const got: [string, string, string | undefined][] = [];
  for await (const e of rpmBackend.payload(p)) got.push([e.file.path, e.file.type, e.file.linkTarget]);
  assert.deepEqual(got, [
    ["/b", "file", undefined],
    ["/a", "hardlink", "/b"],
  ]);
});

test("rpm's stripped cpio headers (07070X, used for files over 4 GiB) are read by file index", async (t) => {
  const dir = scratch(t);
  const p = write(
    dir,
    "stripped",
    [
      { path: "/s/a", mode: REG, size: 5 },
      { path: "/s/l", mode: LNK, size: 1, link: "a" },
    ],
    [
      { name: "", mode: 0, stripped: 0, content: "hello" },
      { name: "", mode: 0, stripped: 1, content: "a" },
    ],
  );
  const got: string[] = [];
  for await (const e of rpmBackend.payload(p)) {
    let body = "";
    if (e.data && !Buffer.isBuffer(e.data)) for await (const c of e.data) body += c.toString();
    got.push(`${e.file.path}:${e.file.type}:${body}${e.file.linkTarget ?? ""}`);
  }
  assert.deepEqual(got, ["/s:dir:", "/s/a:file:hello", "/s/l:symlink:a"]);
  const bad = write(
    dir,
    "stripped-bad",
    [{ path: "/a", mode: REG, size: 1 }],
    [{ name: "", mode: 0, stripped: 7, content: "x" }],
  );
  await expectError(bad, /payload/, /file index 7/);
});

test("content that does not match the header's FILEDIGESTS is refused", async (t) => {
  const dir = scratch(t);
  const sha256 = createHash("sha256").update("good").digest("hex");
  const files = [{ path: "/f", mode: REG, size: 4, sha256 }];
  await expectError(
    write(dir, "evil", files, [{ name: "./f", mode: REG, content: "evil" }]),
    /\/f/,
    /sha256 digest mismatch/,
  );
  assert.deepEqual(await drain(write(dir, "good", files, [{ name: "./f", mode: REG, content: "good" }])), [
    "/f",
  ]);
});

test("a decompression bomb stops at 4 × the declared size + 64 MiB", async (t) => {
  const dir = scratch(t);
  const big = 70 * 1024 * 1024;
  const p = write(
    dir,
    "bomb",
    [{ path: "/z", mode: REG, size: big }],
    [{ name: "./z", mode: REG, content: Buffer.alloc(big) }],
    1,
  );
  await expectError(p, /payload/, /decompression bomb/);
});

test("absurd header counts and offsets are refused before allocation", async (t) => {
  const dir = scratch(t);
  const good = craftRpm(
    [{ path: "/a", mode: REG, size: 1 }],
    cpioNewc([{ name: "./a", mode: REG, content: "x" }]),
  );
  const sigLen = 16 + 16 + 4; // one INT32 tag
  const hdr = 96 + sigLen + ((8 - (sigLen % 8)) % 8);
  const mutate = (name: string, fn: (b: Buffer) => void, detail: RegExp) => {
    const b = Buffer.from(good);
    fn(b);
    const p = join(dir, `${name}.rpm`);
    writeFileSync(p, b);
    return [p, detail] as const;
  };
  const cases = [
    mutate("nindex", (b) => b.writeUInt32BE(0x7fffffff, hdr + 8), /claims 2147483647 tags/),
    mutate("hsize", (b) => b.writeUInt32BE(0x7fffffff, hdr + 12), /claims 2147483647 bytes/),
    mutate("count", (b) => b.writeUInt32BE(0x7fffffff, hdr + 16 + 12), /absurd count|past the end/),
    mutate("offset", (b) => b.writeInt32BE(0x0fffffff, hdr + 16 + 8), /outside the/),
    mutate("negative-offset", (b) => b.writeInt32BE(-16, hdr + 16 + 8), /outside the/),
    mutate("type", (b) => b.writeUInt32BE(42, hdr + 16 + 4), /unknown type 42/),
    mutate("sig-nindex", (b) => b.writeUInt32BE(0xffffffff, 96 + 8), /signature header claims/),
    mutate("lead", (b) => b.writeUInt8(0, 0), /not an rpm/),
  ];
  for (const [p, detail] of cases) {
    await assert.rejects(
      rpmBackend.read(p),
      (e: unknown) => e instanceof PackageFormatError && detail.test(e.message) && e.message.startsWith(p),
      p,
    );
    const r = tsostreePkg(["inspect", p]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tsostree-pkg: .+\n$/);
  }
});

test("a real rpm truncated anywhere, or with a flipped header byte, is refused", async (t) => {
  if (!haveTools(t, "rpmbuild")) return;
  const dir = scratch(t);
  const whole = readFileSync(buildRpm(dir, "gzip"));
  for (let cut = 1; cut < whole.length; cut += Math.ceil(whole.length / 30)) {
    const p = join(dir, `cut-${cut}.rpm`);
    writeFileSync(p, whole.subarray(0, cut));
    await assert.rejects(drain(p), PackageFormatError, `truncated at ${cut}`);
  }
  // A byte inside the main header's store: the SHA256 header digest must catch it.
  const flipped = Buffer.from(whole);
  const at = whole.indexOf("demo package for tsostree tests");
  assert.ok(at > 96);
  flipped[at] ^= 0x20;
  const p = join(dir, "flipped.rpm");
  writeFileSync(p, flipped);
  await assert.rejects(rpmBackend.read(p), /sha256 header digest mismatch/);
  // A byte in the compressed payload: the payload digest (or the decompressor) must catch it.
  const late = Buffer.from(whole);
  late[whole.length - 40] ^= 0x01;
  writeFileSync(p, late);
  await assert.rejects(rpmBackend.read(p), /payload/);
});
