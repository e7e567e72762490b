// Bundles the commands and the worker-thread entries under dist/bundle/bin/, from tsc's output in
// dist/. Each command is one CommonJS file (NAME.cjs), which bin/run-bundle.js compiles with V8's
// code cache: Node 20 has no compile cache for ES modules, and resolving, linking and compiling the
// ~20 ESM chunks of a code-split bundle cost ≈ 27 ms more per `tsostree-pkg import` (82 → 55 ms for
// an import with nothing to do). The worker-thread entries stay ESM with shared chunks.
// bin/*.js prefer the bundle when it is at least as new as tsc's output (a bare `tsc` run makes the
// bundle stale, and the bins then fall back to dist/src).
//
// dist/bundle/bin/ sits as deep as dist/src/X/, so the package-relative URLs in the code
// (`../../../native/…` for the addon, `../../../package.json`) resolve the same from either place, and
// workers started as `new URL("./NAME-worker.js", import.meta.url)` find their bundled entry next to it.
// Packages with native addons or large optional code stay external (loaded from node_modules);
// commander, needed by every command, and tar-stream (with streamx and its other small CommonJS
// dependencies), needed by every package import, are bundled: resolving and wrapping a dozen
// CommonJS files cost ~5 ms of every `tsostree-pkg import`; so is undici's connection pool (pull).
// What is bundled is compiled from V8's code cache.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const dist = join(root, "dist");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const BUNDLED = new Set(["commander", "tar-stream"]);
const external = Object.keys(pkg.dependencies ?? {}).filter(
  (name) => !BUNDLED.has(name) && name !== "undici",
);
// undici's whole index (fetch, used by package downloads) stays external, but the pool that every
// pull loads is bundled: loading its ~40 CommonJS files from node_modules, compiled anew on every
// run (no code cache), cost ~30 ms of each pull. (esbuild's `external` would cover subpaths too.)
const undiciIndexOnly = {
  name: "undici-index-external",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (a) => ({ path: a.path, external: true }));
  },
};
// Node built-ins that bundled code loads at start-up but our commands never use there: undici's pool
// needs http2 only for HTTP/2 (we never allow it; undici already copes with a missing http2, as in
// Node builds without it), and node:http only for a class and a number. (Such a patch fails the
// build when the line it replaces changed upstream.) commander's child_process, needed only for
// executable subcommands (we have none), is one of the lazy built-ins below.
const lazyBuiltins = {
  name: "lazy-builtins",
  setup(b) {
    /** Replaces each [from, to] in the files matching `filter`; fails the build if one is gone. */
    const patch = (filter, ...pairs) =>
      b.onLoad({ filter }, (a) => {
        let text = readFileSync(a.path, "utf8");
        for (const [from, to] of pairs) {
          if (!text.includes(from)) throw new Error(`${a.path} changed: cannot make its ${from} lazy`);
          text = text.replace(from, to);
        }
        return { contents: text, loader: "js" };
      });
    patch(/undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/, [
      "http2 = require('node:http2')",
      "http2 = { constants: {} }",
    ]);
    // undici reads node:http at start-up for one class and one number; the pull passes
    // maxHeaderSize itself, and the class is looked up when a stream is destroyed.
    patch(
      /undici[\\/]lib[\\/]core[\\/]util\.js$/,
      ["const { IncomingMessage } = require('node:http')", "const http = require('node:http')"],
      ["constructor === IncomingMessage", "constructor === http.IncomingMessage"],
    );
    patch(/undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/, [
      "const getDefaultNodeMaxHeaderSize = http &&\n  http.maxHeaderSize &&\n  Number.isInteger(http.maxHeaderSize) &&\n  http.maxHeaderSize > 0\n  ? () => http.maxHeaderSize\n  : () => { throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid') }",
      "const getDefaultNodeMaxHeaderSize = () => http.maxHeaderSize",
    ]);
  },
};

// Node built-ins that only some commands, or only some paths of a command, use: bundled code gets
// a stand-in whose exports load the built-in on first use. undici alone requires assert, http
// (for one `instanceof`), zlib and worker_threads at start-up, and our modules import crypto,
// streams and zlib for what only some commands do, child_process for the tools some commands run
// (2 ms) and tls for the root certificates an extra CA is added to (4 ms, with net). The stand-in
// lists the built-in's exports as this Node has them (the bundle is built by the Node that runs
// it).
const LAZY_BUILTINS =
  /^node:(assert|child_process|crypto|http|os|stream|stream\/promises|tls|worker_threads|zlib)$/;
const lazyModules = {
  name: "lazy-node-modules",
  setup(b) {
    b.onResolve({ filter: LAZY_BUILTINS }, (a) =>
      a.namespace === "lazy-builtin"
        ? { path: a.path, external: true }
        : { path: a.path, namespace: "lazy-builtin" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (a) => {
      const real = require(a.path);
      const name = JSON.stringify(a.path);
      const head = typeof real === "function" ? "function (...a) { return load()(...a); }" : "{}";
      return {
        contents: `"use strict";
let m;
const load = () => (m ??= require(${name}));
module.exports = ${head};
for (const k of ${JSON.stringify(Object.keys(real))})
  Object.defineProperty(module.exports, k, { enumerable: true, get: () => load()[k] });`,
        loader: "js",
      };
    });
  },
};

const commands = ["src/cli/tsostree.js", "src/cli/tsostree-pkg.js"].map((p) => join(dist, p));
const workers = [
  "src/repo/content-worker.js",
  "src/packages/import-worker.js",
  "src/sysroot/bootcsum-worker.js",
].map((p) => join(dist, p));
for (const e of [...commands, ...workers])
  if (!existsSync(e)) throw new Error(`${e} is missing: run tsc first`);

// Build beside the final directory and swap it in, so that a concurrent run never sees half a bundle
// (while the swap happens the bins fall back to dist/src).
const out = join(dist, "bundle", "bin");
const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
// Worker threads: ESM with shared chunks.
await build({
  entryPoints: workers,
  outdir: tmp,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: [...external, "undici"],
  // Bundled CommonJS (commander) calls require() for Node's built-ins.
  banner: {
    js: 'import { createRequire as __bundleRequire } from "node:module";\nconst require = __bundleRequire(import.meta.url);',
  },
  logLevel: "warning",
});
// Commands: one CommonJS file each, which bin/run-bundle.js compiles with V8's code cache (Node 20
// caches no ES modules). `import.meta.url` becomes the file's own URL; the lazily loaded commands
// stay lazy as functions V8 compiles only when called.
for (const entry of commands)
  await build({
    entryPoints: [entry],
    outfile: join(tmp, basename(entry).replace(/\.js$/, ".cjs")),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external,
    plugins: [undiciIndexOnly, lazyBuiltins, lazyModules],
    define: { "import.meta.url": "__bundleUrl" },
    // import() of an external (undici) becomes require(): a vm.Script has no dynamic-import loader.
    supported: { "dynamic-import": false },
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: "warning",
  });
// ASCII only, so that bin/run-bundle.cjs reads a command as latin1 straight into a one-byte string:
// a single non-ASCII character makes the UTF-8 decode produce a two-byte string of twice the size,
// slower to read and to check against the code cache (≈ 4 ms of every command). esbuild escapes
// every non-ASCII character of strings, templates, regular expressions and names (its default
// `charset: "ascii"`), so what remains is in comments, where a "?" stands in for it.
for (const entry of commands) {
  const file = join(tmp, basename(entry).replace(/\.js$/, ".cjs"));
  writeFileSync(file, readFileSync(file, "utf8").replace(/[^\0-\x7f]/g, "?"));
}
const old = `${out}.old-${process.pid}`;
if (existsSync(out)) renameSync(out, old);
renameSync(tmp, out);
rmSync(old, { recursive: true, force: true });
