#!/usr/bin/env node
// Runs the bundle of `npm run build` (scripts/bundle.mjs: faster startup) unless tsc has written
// dist/src since, which would make it stale.
import { statSync } from "node:fs";

const bundle = new URL("../dist/bundle/bin/tsostree-pkg.js", import.meta.url);
const modules = new URL("../dist/src/cli/tsostree-pkg.js", import.meta.url);
let fresh = false;
try {
  fresh = statSync(bundle).mtimeMs >= statSync(modules).mtimeMs;
} catch {}
await import(fresh ? bundle.href : modules.href);
