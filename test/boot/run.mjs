// `npm run test:boot`: the boot proof. Builds its fixtures (the bootable tree, fixtures/boottree.sh,
// about 10 minutes the first time, then cached; the real Debian packages it layers) and runs the
// compiled boot tests one at a time (each boot is a QEMU guest under TCG). Needs root (debootstrap,
// a bare repo with real owners) and qemu-system-x86_64 (`npm run setup:system`).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
for (const script of ["fixtures/fetch-debian-packages.sh", "fixtures/boottree.sh"]) {
  const r = spawnSync("bash", [join(root, script)], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) {
    console.error(`test:boot: ${script} failed; the boot proof needs its output`);
    process.exit(1);
  }
}
const dir = join(root, "dist/test/boot");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".test.js"))
  .map((f) => join(dir, f));
if (files.length === 0) {
  console.error("test:boot: no test files under dist/test/boot (did the build run?)");
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
