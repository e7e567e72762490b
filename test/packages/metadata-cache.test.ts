// refresh-md over HTTP: conditional requests (ETag) make a fresh cache cost one 304 and no index
// download; resolve works from the cache alone; --force fetches everything again.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { haveTools, scratch, sh, tsostreePkgBin } from "../helpers.js";

const pexec = promisify(execFile);

test("refresh-md: ETag revalidation, cache-only resolve, --force", { timeout: 30_000 }, async (t) => {
  if (!haveTools(t, "apt-ftparchive")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  const bin = join(repo, "dists/s/main/binary-amd64");
  mkdirSync(bin, { recursive: true });
  const packages =
    "Package: hello\nVersion: 1.0\nArchitecture: amd64\nDepends: libhello\n\nPackage: libhello\nVersion: 2.0\nArchitecture: amd64\n";
  writeFileSync(join(bin, "Packages.gz"), gzipSync(packages));
  writeFileSync(join(bin, "Packages"), packages);
  writeFileSync(
    join(repo, "dists/s/Release"),
    sh("apt-ftparchive", ["release", "."], { cwd: join(repo, "dists/s") }),
  );
  writeFileSync(join(repo, "dists/s/InRelease"), readFileSync(join(repo, "dists/s/Release")));

  const hits: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    let body: Buffer;
    try {
      body = readFileSync(join(repo, path));
    } catch {
      hits.push(`404 ${path}`);
      res.writeHead(404).end();
      return;
    }
    const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
    if (req.headers["if-none-match"] === etag) {
      hits.push(`304 ${path}`);
      res.writeHead(304, { etag }).end();
      return;
    }
    hits.push(`200 ${path}`);
    res.writeHead(200, { etag, "content-length": body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sources = join(dir, "s.list");
  writeFileSync(sources, `deb [trusted=yes] ${url} s main\n`);
  const cli = (...args: string[]) =>
    pexec(process.execPath, [
      tsostreePkgBin,
      ...args,
      "--sources-list",
      sources,
      "--cache-dir",
      join(dir, "md"),
    ]);

  await cli("refresh-md");
  assert.deepEqual(hits.splice(0), ["200 /dists/s/InRelease", "200 /dists/s/main/binary-amd64/Packages.gz"]);
  await cli("refresh-md");
  assert.deepEqual(hits.splice(0), ["304 /dists/s/InRelease"]);
  const r = await cli("resolve", "--json", "hello");
  assert.deepEqual(hits.splice(0), []);
  assert.deepEqual(
    JSON.parse(r.stdout).install.map((e: { name: string }) => e.name),
    ["hello", "libhello"],
  );
  await cli("refresh-md", "--force");
  assert.deepEqual(hits.splice(0), ["200 /dists/s/InRelease", "200 /dists/s/main/binary-amd64/Packages.gz"]);
});
