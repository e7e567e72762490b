// bin/launch: the installed commands start without Node parsing NODE_EXTRA_CA_CERTS at startup, and
// HTTPS requests still trust those certificates (src/packages/fetch.ts), checked against a local
// HTTPS server whose certificate only that extra CA signs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, projectRoot, scratch, skipOrFail } from "../helpers.js";
import { testCa } from "../tls-fixture.js";

test("the launcher hands NODE_EXTRA_CA_CERTS on as TSOSTREE_EXTRA_CA_CERTS, through symlinks", (t) => {
  const dir = scratch(t);
  copyFileSync(join(projectRoot, "bin", "launch"), join(dir, "launch"));
  writeFileSync(
    join(dir, "probe.cjs"),
    "console.log(JSON.stringify([process.env.NODE_EXTRA_CA_CERTS ?? null, process.env.TSOSTREE_EXTRA_CA_CERTS ?? null, process.argv.slice(2)]));\n",
  );
  symlinkSync(join(dir, "launch"), join(dir, "via-link"));
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: "/does/not/exist.pem" };
  const r = spawnSync(join(dir, "via-link"), ["probe", "a b", "--c"], { env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [null, "/does/not/exist.pem", ["a b", "--c"]]);
  // Node itself would have tried to load the file at startup and warned.
  assert.doesNotMatch(r.stderr, /extra certs/);

  // The real commands, started through an npm-style symlink in another directory.
  symlinkSync(join(projectRoot, "bin", "tsostree-pkg"), join(dir, "tsostree-pkg"));
  const v = spawnSync(join(dir, "tsostree-pkg"), ["--version"], { env, encoding: "utf8" });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")).version);
  assert.equal(v.stderr, "");
});

test("HTTPS fetches trust TSOSTREE_EXTRA_CA_CERTS as Node trusts NODE_EXTRA_CA_CERTS", async (t) => {
  if (!haveTools(t, "openssl")) return;
  const dir = scratch(t);
  const tls = testCa(dir);
  const server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) =>
    res.end("signed by the extra CA"),
  );
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => server.close());
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  const fetchModule = join(projectRoot, "dist", "src", "packages", "fetch.js");
  const script = `const { fetchUrl } = await import(${JSON.stringify(fetchModule)});
    try { const r = await fetchUrl(${JSON.stringify(url)}); console.log(r.status, r.body.toString()); }
    catch (e) { console.log("failed", e.message); }`;
  const fetchWith = async (env: NodeJS.ProcessEnv) => {
    const { NODE_EXTRA_CA_CERTS: _n, TSOSTREE_EXTRA_CA_CERTS: _t, ...base } = process.env;
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...base, ...env },
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    await new Promise((ok) => child.on("close", ok));
    return out.trim();
  };
  assert.equal(await fetchWith({ TSOSTREE_EXTRA_CA_CERTS: tls.ca }), "200 signed by the extra CA");
  // Without it the server is not trusted: the check above can fail.
  assert.match(await fetchWith({}), /^failed .*certificate/);
});

test("the bundle's code cache is written once per command word and survives a corrupt cache", (t) => {
  const bundle = join(projectRoot, "dist", "bundle", "bin", "tsostree-pkg.cjs");
  const modules = join(projectRoot, "dist", "src", "cli", "tsostree-pkg.js");
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < statSync(modules).mtimeMs)
    return skipOrFail(t, "the bundle is missing or older than tsc's output: run npm run build");
  const cache = `${bundle}.help.cache`;
  const help = () =>
    spawnSync(process.execPath, [join(projectRoot, "bin", "tsostree-pkg.cjs"), "help"], { encoding: "utf8" });
  rmSync(cache, { force: true });
  const first = help();
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /Usage: tsostree-pkg/);
  assert.ok(existsSync(cache), "the first run writes the cache");
  // Garbage where the cache was: V8 refuses it, the command runs as before and rewrites it.
  writeFileSync(cache, "not a V8 code cache");
  const second = help();
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  assert.notEqual(readFileSync(cache, "utf8").slice(0, 19), "not a V8 code cache");
});

test("the command bundles are ASCII, so that run-bundle.cjs may read them as latin1", (t) => {
  for (const name of ["tsostree", "tsostree-pkg"]) {
    const bundle = join(projectRoot, "dist", "bundle", "bin", `${name}.cjs`);
    const modules = join(projectRoot, "dist", "src", "cli", `${name}.js`);
    if (!existsSync(bundle) || statSync(bundle).mtimeMs < statSync(modules).mtimeMs)
      return skipOrFail(t, "the bundle is missing or older than tsc's output: run npm run build");
    const bytes = readFileSync(bundle);
    const at = bytes.findIndex((b) => b > 0x7f);
    assert.equal(at, -1, `${name}.cjs has a non-ASCII byte at ${at}`);
  }
  // A string with non-ASCII characters in the source (the booted mark of `status`) is escaped in
  // the bundle, not dropped with the comments' characters.
  const source = readFileSync(join(projectRoot, "src", "compose", "status.ts"), "utf8");
  assert.match(source, /"●"/);
  const pkg = readFileSync(join(projectRoot, "dist", "bundle", "bin", "tsostree-pkg.cjs"), "latin1");
  assert.match(pkg, /"\\u25CF"/);
});
