// Hostile .debs: every trick must end in a PackageFormatError that names the package and the member,
// never in a file outside the tree, a crash or unbounded memory.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { debBackend } from "../../../backends/deb/index.js";
import { dataCap } from "../../../backends/deb/payload.js";
import { PackageFormatError } from "../../../src/packages/errors.js";
import { scratch, tsostreePkg } from "../../helpers.js";
import { arArchive, craftDeb, patchTarSize, type TarEntry, tarball } from "./build.js";

async function drain(path: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const e of debBackend.payload(path)) {
    paths.push(e.file.path);
    if (e.data && !Buffer.isBuffer(e.data))
      for await (const _ of e.data) {
        // consume
      }
  }
  return paths;
}

async function expectError(path: string, member: RegExp, detail: RegExp): Promise<void> {
  await assert.rejects(drain(path), (e: unknown) => {
    assert.ok(e instanceof PackageFormatError, `a PackageFormatError, got ${String(e)}`);
    assert.ok(e.message.startsWith(path), `message names the package: ${e.message}`);
    assert.match(e.message, member, "message names the member");
    assert.match(e.message, detail);
    return true;
  });
  const r = tsostreePkg(["inspect", path]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tsostree-pkg: .+\n$/, `one line on stderr, got: ${r.stderr}`);
}

const base: TarEntry[] = [
  { name: "./", type: "directory" },
  { name: "./usr/", type: "directory" },
];

test("path tricks in data.tar are refused with the member named", async (t) => {
  const dir = scratch(t);
  const cases: [string, TarEntry[], RegExp, RegExp][] = [
    ["dotdot", [...base, { name: "./usr/../../etc/passwd", content: "x" }], /\.\.\/etc\/passwd/, /'\.\.'/],
    [
      "symlink-write-through",
      [
        ...base,
        { name: "./usr/lib", type: "symlink", linkname: "/etc" },
        { name: "./usr/lib/passwd", content: "x" },
      ],
      /usr\/lib\/passwd/,
      /through the symlink \/usr\/lib/,
    ],
    [
      "hardlink-outside",
      [...base, { name: "./usr/x", type: "link", linkname: "../../etc/shadow" }],
      /usr\/x/,
      /'\.\.'/,
    ],
    [
      "hardlink-missing",
      [...base, { name: "./usr/x", type: "link", linkname: "./usr/nope" }],
      /usr\/x/,
      /not an earlier member/,
    ],
    [
      "hardlink-to-dir",
      [...base, { name: "./usr/x", type: "link", linkname: "./usr" }],
      /usr\/x/,
      /not a regular file/,
    ],
    ["char-device", [...base, { name: "./usr/null", type: "character-device" }], /usr\/null/, /device node/],
    ["block-device", [...base, { name: "./usr/sda", type: "block-device" }], /usr\/sda/, /device node/],
    [
      "file-over-dir",
      [...base, { name: "./usr/a/", type: "directory" }, { name: "./usr/a", content: "x" }],
      /usr\/a/,
      /replaces a directory/,
    ],
  ];
  for (const [name, entries, member, detail] of cases) {
    const p = join(dir, `${name}.deb`);
    writeFileSync(p, await craftDeb(entries));
    await expectError(p, member, detail);
  }
});

test("absolute and odd member names become tree paths; implied parents are added", async (t) => {
  const dir = scratch(t);
  const p = join(dir, "abs.deb");
  writeFileSync(p, await craftDeb([{ name: "/opt//tool/./bin/x", content: "x" }]));
  assert.deepEqual(await drain(p), ["/opt", "/opt/tool", "/opt/tool/bin", "/opt/tool/bin/x"]);
  const info = await debBackend.read(p);
  assert.deepEqual(
    info.files.map((f) => [f.path, f.implied ?? false]),
    [
      ["/opt", true],
      ["/opt/tool", true],
      ["/opt/tool/bin", true],
      ["/opt/tool/bin/x", false],
    ],
  );
});

test("sizes that lie and truncated archives are caught", async (t) => {
  const dir = scratch(t);
  const tar = await tarball([
    ...base,
    { name: "./usr/a", content: "y".repeat(1000) },
    { name: "./usr/b", content: "world" },
  ]);
  // Third header (after ./ and ./usr/) is ./usr/a at 1024.
  for (const [name, size, detail] of [
    ["bigger", 100_000, /Unexpected end of data|ends|truncat/i],
    ["smaller", 2, /Invalid tar header|corrupt/i],
  ] as const) {
    const p = join(dir, `${name}.deb`);
    writeFileSync(p, await craftDeb([], { dataGz: gzipSync(patchTarSize(tar, 1024, size)) }));
    await expectError(p, /data\.tar\.gz/, detail);
  }
  const whole = await craftDeb([...base, { name: "./usr/a", content: "x".repeat(5000) }]);
  for (let cut = 1; cut < whole.length; cut += Math.ceil(whole.length / 25)) {
    const p = join(dir, `cut-${cut}.deb`);
    writeFileSync(p, whole.subarray(0, cut));
    await assert.rejects(drain(p), PackageFormatError, `truncated at ${cut}`);
  }
});

test("content that does not match md5sums is refused", async (t) => {
  const dir = scratch(t);
  const p = join(dir, "md5.deb");
  const md5 = createHash("md5").update("good").digest("hex");
  writeFileSync(
    p,
    await craftDeb([...base, { name: "./usr/f", content: "evil" }], { md5sums: `${md5}  usr/f\n` }),
  );
  await expectError(p, /usr\/f/, /md5 digest mismatch/);
  writeFileSync(
    p,
    await craftDeb([...base, { name: "./usr/f", content: "good" }], { md5sums: `${md5}  usr/f\n` }),
  );
  assert.deepEqual(await drain(p), ["/usr", "/usr/f"]);
});

test("a decompression bomb stops at Installed-Size × 4 + 64 MiB", async (t) => {
  const dir = scratch(t);
  const p = join(dir, "bomb.deb");
  writeFileSync(
    p,
    await craftDeb([...base, { name: "./usr/zeros", content: Buffer.alloc(70 * 1024 * 1024) }], {
      installedSize: 1,
    }),
  );
  await expectError(p, /data\.tar\.gz/, /decompression bomb/);
  // Without Installed-Size, 100 × the compressed size stands in; 8 GiB is the ceiling either way.
  assert.equal(dataCap(undefined, 1000), 100_000 + 64 * 1024 * 1024);
  assert.equal(dataCap(10, 1), 40 * 1024 + 64 * 1024 * 1024);
  assert.equal(dataCap(1e9, 1), 8 * 1024 * 1024 * 1024);
});

test("wrong magic, wrong member order and bad debian-binary are refused", async (t) => {
  const dir = scratch(t);
  const good = await craftDeb([...base]);
  const cases: [string, Buffer, RegExp][] = [
    ["magic", Buffer.concat([Buffer.from("!<arcx>\n"), good.subarray(8)]), /magic/],
    [
      "order",
      arArchive([
        { name: "control.tar.gz", data: Buffer.alloc(10) },
        { name: "debian-binary", data: Buffer.from("2.0\n") },
      ]),
      /debian-binary/,
    ],
    ["version", arArchive([{ name: "debian-binary", data: Buffer.from("3.0\n") }]), /format version/],
    [
      "no-data",
      arArchive([
        { name: "debian-binary", data: Buffer.from("2.0\n") },
        { name: "control.tar.gz", data: gzipSync(Buffer.alloc(1024)) },
      ]),
      /data\.tar/,
    ],
    [
      "bad-size",
      Buffer.concat([good.subarray(0, 8 + 48), Buffer.from("12x4567890"), good.subarray(8 + 58)]),
      /size/,
    ],
  ];
  for (const [name, data, detail] of cases) {
    const p = join(dir, `${name}.deb`);
    writeFileSync(p, data);
    await assert.rejects(
      debBackend.read(p),
      (e: unknown) => e instanceof PackageFormatError && detail.test(e.message) && e.message.startsWith(p),
    );
  }
});
