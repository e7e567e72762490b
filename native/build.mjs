// Builds the small N-API addon once; skips the build when the binary is newer than every source
// (each native/*.c and *.h, and binding.gyp).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build", "Release", "tsostree_native.node");
const sources = readdirSync(here)
  .filter((f) => f.endsWith(".c") || f.endsWith(".h") || f === "binding.gyp")
  .map((f) => join(here, f));
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
if (existsSync(out) && statSync(out).mtimeMs >= newest) process.exit(0);
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve("node-gyp/bin/node-gyp.js", {
    paths: [
      dirname(process.execPath),
      "/usr/lib/node_modules/npm/node_modules",
      "/usr/local/lib/node_modules/npm/node_modules",
    ],
  });
} catch {
  console.error(
    "node-gyp not found: install npm's node-gyp (npm install -g node-gyp) and a C compiler (apt-get install build-essential)",
  );
  process.exit(1);
}
const nodedir = existsSync("/usr/include/node/node_api.h") ? ["--nodedir=/usr"] : [];
execFileSync(process.execPath, [gyp, "rebuild", ...nodedir, "--directory", here], { stdio: "inherit" });
