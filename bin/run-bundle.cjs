// Starts a command: its CommonJS bundle (dist/bundle/bin/NAME.cjs, see scripts/bundle.mjs) compiled
// with V8's code cache, or tsc's ES modules when the bundle is missing or older than them.
//
// The code cache (NAME.cjs.WORD.cache beside the bundle, one per subcommand word, since each
// compiles different functions) is written once, when a successful run found none or V8 refused it
// (another Node version, a rebuilt bundle), from what that run compiled; a run that cannot write it
// (a read-only install) simply goes without. V8 checks a cache against the source and its own version
// and flags before using it.
//
// CommonJS itself, like the bins that use it: a run through the bundle never starts Node's ES
// module loader (≈ 10 ms).
//
// V8 refuses a code cache made under other V8 flags than the running ones, Node's own for its
// built-in modules too: with a flag left set, every built-in module loaded later compiles from
// source (crypto, http, zlib, stream and net: 4 ms → 10 ms), as does each worker thread's start-up.
// So no flag stays set:
// - WebAssembly is compiled by V8's baseline compiler (Liftoff) only: undici, ours and the one
//   inside Node's fetch, parses HTTP with llhttp compiled to WebAssembly, and V8 would re-compile
//   its hot parser function with the optimizing compiler on a background thread, about 170 ms of
//   CPU for that one huge function, which a finished command then waits for before it can exit (a
//   pull with nothing to fetch took 150 ms instead of 80). The baseline code parses as fast as a
//   pull needs: a full minbase pull takes the same time. --liftoff-only is set while a module
//   compiles, every function at once, and reset right after: the module keeps its tiers.
// - The small young generation bin/launch gives pulls (--max-semi-space-size) is fixed when the
//   heap is made, before any JavaScript runs: the flag itself goes back to its default at once.
"use strict";
resetHeapFlags();
const { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require("node:fs");
const { createRequire, Module } = require("node:module");
const { dirname, join } = require("node:path");
const { pathToFileURL } = require("node:url");
const { Script } = require("node:vm");

function runCommand(name) {
  const bundle = join(__dirname, "..", "dist", "bundle", "bin", `${name}.cjs`);
  const modules = join(__dirname, "..", "dist", "src", "cli", `${name}.js`);
  let fresh = false;
  try {
    fresh = statSync(bundle).mtimeMs >= statSync(modules).mtimeMs;
  } catch {}
  if (!fresh) {
    import(pathToFileURL(modules).href);
    return;
  }
  baselineWasmOnly();
  const word = process.argv.slice(2).find((a) => /^[a-z][a-z0-9-]{0,31}$/.test(a)) ?? "none";
  const cacheFile = `${bundle}.${word}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {}
  // latin1: the bundle is ASCII (scripts/bundle.mjs), read straight into a one-byte string.
  const script = new Script(Module.wrap(readFileSync(bundle, "latin1")), { filename: bundle, cachedData });
  // Only a run that succeeded writes it: a mistyped command word leaves no cache behind.
  if (!cachedData || script.cachedDataRejected)
    process.once("exit", (code) => code === 0 && saveCache(script, cacheFile));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}

/** V8's heap flags given on the command line back to their defaults; the heap keeps its sizes. */
function resetHeapFlags() {
  if (process.execArgv.some((a) => a.startsWith("--max-semi-space-size")))
    require("node:v8").setFlagsFromString("--max-semi-space-size=0");
}

/** Compiles every WebAssembly.Module with Liftoff alone, the flags as they were otherwise. */
function baselineWasmOnly() {
  const Compiled = WebAssembly.Module;
  WebAssembly.Module = new Proxy(Compiled, {
    construct(target, args) {
      const { setFlagsFromString } = require("node:v8");
      setFlagsFromString("--liftoff-only");
      setFlagsFromString("--no-wasm-lazy-compilation");
      try {
        return Reflect.construct(target, args);
      } finally {
        // it and what it implied, back to V8's defaults
        setFlagsFromString("--no-liftoff-only");
        setFlagsFromString("--wasm-tier-up");
        setFlagsFromString("--wasm-dynamic-tiering");
        setFlagsFromString("--wasm-lazy-compilation");
      }
    },
  });
}

function saveCache(script, file) {
  const tmp = `${file}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, file);
  } catch {
    // read-only or vanished: run without a cache
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

module.exports = { runCommand, baselineWasmOnly, resetHeapFlags };
