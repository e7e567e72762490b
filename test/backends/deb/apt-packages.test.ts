// The Packages index, the sources/Release parsers and the lz4 reader: unit cases, and the speed and
// memory bar on the real bookworm index when apt has left one in /var/lib/apt/lists.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PackagesIndex, PackagesIndexError } from "../../../backends/deb/apt-packages.js";
import { checkValidUntil, parseRelease, pickIndex, ReleaseError } from "../../../backends/deb/apt-release.js";
import {
  aptListName,
  distPath,
  parseDeb822Sources,
  parseOneLineSources,
} from "../../../backends/deb/apt-sources.js";
import { lz4FrameDecode } from "../../../src/packages/decompress.js";
import { skipOrFail } from "../../helpers.js";

test("Packages index: names, versions, provides, lazy fields", () => {
  const idx = new PackagesIndex(
    Buffer.from(
      "Package: a\nVersion: 1\nProvides: v (= 2), w\nDescription: x\n long\n\nPackage: b\nVersion: 2\n\nPackage: a\nVersion: 3\n",
    ),
  );
  assert.equal(idx.size, 3);
  assert.deepEqual([...idx.byName("a")], [0, 2]);
  assert.deepEqual(
    idx.providers("v").map((p) => [p.stanza, p.version]),
    [[0, "2"]],
  );
  assert.equal(idx.providers("w")[0].version, "");
  assert.equal(idx.field(2, "Version"), "3");
  assert.throws(() => new PackagesIndex(Buffer.from("Version: 1\n\n")), PackagesIndexError);
});

test("sources: one-line with options, deb822, flat repositories, apt list names", () => {
  const [s] = parseOneLineSources(
    "# c\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\ndeb-src http://x y z\n",
    "t",
  );
  assert.deepEqual(
    [s.uri, s.suite, s.components, s.signedBy, s.archs],
    ["http://mirror.example/debian", "bookworm", ["main", "contrib"], ["/k.gpg"], ["amd64"]],
  );
  const d = parseDeb822Sources(
    "Types: deb\nURIs: http://a/ http://b/\nSuites: s1 s2\nComponents: main\nTrusted: yes\n\nTypes: deb-src\nURIs: http://c\nSuites: s\n",
    "t",
  );
  assert.equal(d.length, 4);
  assert.ok(d.every((x) => x.trusted));
  assert.equal(distPath({ uri: "file:/r", suite: "./", components: [], origin: "" }), "");
  assert.equal(distPath({ uri: "file:/r", suite: "sub/", components: [], origin: "" }), "sub/");
  assert.equal(
    aptListName("http://mirror.example/debian/dists/bookworm/InRelease"),
    "mirror.example_debian_dists_bookworm_InRelease",
  );
});

test("Release: checksums, best compression, Valid-Until", () => {
  const r = parseRelease(
    "Suite: s\nValid-Until: Sat, 01 Jan 2000 00:00:00 UTC\nSHA256:\n aa 10 main/binary-amd64/Packages\n bb 5 main/binary-amd64/Packages.xz\n",
    "t",
  );
  assert.equal(pickIndex(r, "main/binary-amd64/Packages")?.path, "main/binary-amd64/Packages.xz");
  assert.throws(() => checkValidUntil(r, "t"), ReleaseError);
  assert.throws(() => parseRelease("Suite: s\n", "t"), /no SHA256/);
});

test("bookworm Packages: lz4 + index in well under a few seconds, memory below 10x", (t) => {
  const lists = "/var/lib/apt/lists";
  let file: string | undefined;
  try {
    file = readdirSync(lists).find((n) => /_bookworm_main_binary-amd64_Packages\.lz4$/.test(n));
  } catch {}
  if (!file) return skipOrFail(t, "no bookworm Packages.lz4 in /var/lib/apt/lists: run apt-get update");
  const raw = readFileSync(join(lists, file));
  const lz4 = spawnSync("lz4", ["-dc"], { input: raw, maxBuffer: 1 << 30 });
  const t0 = performance.now();
  const buf = lz4FrameDecode(raw);
  if (lz4.status === 0) assert.ok(buf.equals(lz4.stdout), "lz4 decode differs from lz4(1)");
  const rss0 = process.memoryUsage().rss;
  const idx = new PackagesIndex(buf);
  idx.providers("mail-transport-agent");
  const ms = performance.now() - t0;
  const grown = process.memoryUsage().rss - rss0;
  assert.ok(idx.size > 60000, `${idx.size} stanzas`);
  assert.ok(ms < 3000, `took ${ms} ms`);
  assert.ok(grown < buf.length * 2, `index grew RSS by ${grown} for a ${buf.length}-byte file`);
  assert.equal(idx.field(idx.byName("strace")[0], "Package"), "strace");
});

test("index decompression: gz, xz, zst, bz2, lz4 as the real tools write them", async (t) => {
  const { decompress, sniffCompression } = await import("../../../src/packages/decompress.js");
  const plain = Buffer.from("Package: a\nVersion: 1\n\n".repeat(5000));
  const tools: [string, string[], string][] = [
    ["gzip", ["-c"], "gz"],
    ["xz", ["-c"], "xz"],
    ["zstd", ["-q", "-c"], "zst"],
    ["bzip2", ["-c"], "bz2"],
    ["lz4", ["-q", "-c"], "lz4"],
  ];
  for (const [tool, args, kind] of tools) {
    const r = spawnSync(tool, args, { input: plain, maxBuffer: 1 << 26 });
    if (r.error || r.status !== 0) {
      t.diagnostic(`${tool} not available; skipped`);
      continue;
    }
    assert.equal(sniffCompression(r.stdout), kind);
    assert.ok((await decompress(r.stdout, kind as "gz", tool)).equals(plain), tool);
  }
  await assert.rejects(
    () => decompress(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2]), "gz", "bad.gz"),
    /truncated or corrupt/,
  );
});
