// The inspect command's contract: text and JSON output, one-line errors, exit codes, and payload
// streaming in bounded memory.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { debBackend } from "../../backends/deb/index.js";
import { buildDeb, demoTree } from "../backends/deb/build.js";
import { buildRpm } from "../backends/rpm/build.js";
import { haveTools, scratch, sh, tsostreePkg } from "../helpers.js";

test("text output shows fields, relations, files and scripts", (t) => {
  if (!haveTools(t, "dpkg-deb", "rpmbuild")) return;
  const dir = scratch(t);
  demoTree(dir);
  const deb = tsostreePkg(["inspect", "--files", "--scripts", buildDeb(dir, "gzip")]);
  assert.equal(deb.status, 0, deb.stderr);
  assert.match(deb.stdout, /^ Package: tso-demo$/m);
  assert.match(deb.stdout, /^ Version: 1:2\.0~rc1-3$/m);
  assert.equal(deb.stdout.match(/Version:/g)?.length, 1, "the version is printed once");
  assert.match(deb.stdout, /^depends: libc6 \(>= 2\.36\), foo:any \| bar \(<< 3\), baz \(>> 1:0\.9-1\)$/m);
  assert.match(deb.stdout, /^-rwsr-xr-x root\/root +\d+ \/usr\/bin\/demo-suid$/m);
  assert.match(deb.stdout, /^lrwxrwxrwx .* \/usr\/bin\/demo-link -> demo$/m);
  assert.match(deb.stdout, /^postinst scriptlet \(using \/bin\/sh\):$/m);
  const rpm = tsostreePkg(["inspect", "--files", "--scripts", buildRpm(dir, "gzip")]);
  assert.equal(rpm.status, 0, rpm.stderr);
  assert.match(rpm.stdout, /^Name {8}: tso-demo$/m);
  assert.match(rpm.stdout, /^depends: .*\(foo or bar >= 2\)/m);
  assert.match(rpm.stdout, /\/var\/lib\/tso-demo\/state\.db {2}\[ghost\]$/m);
  assert.match(rpm.stdout, /^pretrans scriptlet \(using <lua>\):$/m);
});

test("JSON without --files/--scripts lists script phases only; bad input exits 1 with one line", (t) => {
  if (!haveTools(t, "dpkg-deb")) return;
  const dir = scratch(t);
  demoTree(dir);
  const j = JSON.parse(tsostreePkg(["inspect", "--json", buildDeb(dir, "zstd")]).stdout);
  assert.equal(j.files, undefined);
  assert.deepEqual(j.scripts, ["preinst", "postinst", "prerm", "postrm", "config"]);
  const junk = join(dir, "junk.deb");
  writeFileSync(junk, "hello, not a package\n");
  for (const p of [junk, join(dir, "missing.rpm"), dir]) {
    const r = tsostreePkg(["inspect", p]);
    assert.equal(r.status, 1, p);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^tsostree-pkg: .+\n$/);
    assert.ok(r.stderr.includes(p), r.stderr);
  }
  assert.equal(tsostreePkg(["inspect"]).status, 2, "usage errors exit 2");
  assert.equal(tsostreePkg(["--version"]).status, 0);
});

test("payload streaming keeps memory flat on a 256 MiB package", async (t) => {
  if (!haveTools(t, "dpkg-deb")) return;
  const dir = scratch(t);
  const root = join(dir, "pkg");
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  mkdirSync(join(root, "usr/share/big"), { recursive: true });
  writeFileSync(
    join(root, "DEBIAN/control"),
    "Package: big\nVersion: 1\nArchitecture: all\nMaintainer: x <x@y>\nInstalled-Size: 262144\nDescription: big\n",
  );
  sh("sh", ["-c", 'head -c 268435456 /dev/zero > "$1"', "sh", join(root, "usr/share/big/zeros")]);
  const deb = join(dir, "big.deb");
  sh("dpkg-deb", ["--root-owner-group", "-Zzstd", "--build", root, deb]);
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  let bytes = 0;
  const started = Date.now();
  for await (const e of debBackend.payload(deb)) {
    if (!e.data || Buffer.isBuffer(e.data)) continue;
    for await (const c of e.data) {
      bytes += c.length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  const ms = Date.now() - started;
  assert.equal(bytes, 268435456);
  const grew = (peak - before) / 1024 / 1024;
  t.diagnostic(`streamed 256 MiB in ${ms} ms; RSS grew by ${grew.toFixed(1)} MiB`);
  assert.ok(grew < 96, `RSS grew by ${grew.toFixed(1)} MiB while streaming 256 MiB`);
});
