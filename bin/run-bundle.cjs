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
// WebAssembly stays on V8's baseline compiler (Liftoff): undici, ours and the one inside Node's
// fetch, parses HTTP with llhttp compiled to WebAssembly, and V8 would re-compile its hot parser
// function with the optimizing compiler on a background thread, about 170 ms of CPU for that one
// huge function, which a finished command then waits for before it can exit (a pull with nothing
// to fetch took 150 ms instead of 80). The baseline code parses as fast as a pull needs: a full
// minbase pull takes the same time. The flag is set before the bundle is compiled because V8's
// code cache records the flags it was made under and refuses itself under others.
"use strict";
const { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require("node:fs");
const { createRequire, Module } = require("node:module");
const { dirname, join } = require("node:path");
const { pathToFileURL } = require("node:url");
const { setFlagsFromString } = require("node:v8");
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
  setFlagsFromString("--liftoff-only");
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

module.exports = { runCommand };
