// Bundles the commands and the worker-thread entries into ESM files under dist/bundle/bin/, from
// tsc's output in dist/: one entry file per command plus shared chunks (code splitting keeps the
// lazy loading of commands: `checkout` loads the chunks it needs, not every command's code). Node
// then resolves and compiles a handful of files instead of a few dozen modules plus commander's
// CommonJS files: ≈ 15 ms less startup per invocation (a single file per command measured no gain:
// compiling all of it cost what fewer files saved).
// bin/*.js prefer the bundle when it is at least as new as tsc's output (a bare `tsc` run makes the
// bundle stale, and the bins then fall back to dist/src).
//
// dist/bundle/bin/ sits as deep as dist/src/X/, so the package-relative URLs in the code
// (`../../../native/…` for the addon, `../../../package.json`) resolve the same from either place, and
// workers started as `new URL("./NAME-worker.js", import.meta.url)` find their bundled entry next to it.
// Packages with native addons or large optional code stay external (loaded from node_modules);
// commander, needed by every command, and tar-stream (with streamx and its other small CommonJS
// dependencies), needed by every package import, are bundled: resolving and wrapping a dozen
// CommonJS files cost ~5 ms of every `tsostree-pkg import`.
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, "dist");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const BUNDLED = new Set(["commander", "tar-stream"]);
const external = Object.keys(pkg.dependencies ?? {}).filter((name) => !BUNDLED.has(name));

const entries = [
  "src/cli/tsostree.js",
  "src/cli/tsostree-pkg.js",
  "src/repo/content-worker.js",
  "src/packages/import-worker.js",
  "src/sysroot/bootcsum-worker.js",
].map((p) => join(dist, p));
for (const e of entries) if (!existsSync(e)) throw new Error(`${e} is missing: run tsc first`);

// Build beside the final directory and swap it in, so that a concurrent run never sees half a bundle
// (while the swap happens the bins fall back to dist/src).
const out = join(dist, "bundle", "bin");
const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: tmp,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external,
  // Bundled CommonJS (commander) calls require() for Node's built-ins.
  banner: {
    js: 'import { createRequire as __bundleRequire } from "node:module";\nconst require = __bundleRequire(import.meta.url);',
  },
  logLevel: "warning",
});
const old = `${out}.old-${process.pid}`;
if (existsSync(out)) renameSync(out, old);
renameSync(tmp, out);
rmSync(old, { recursive: true, force: true });
