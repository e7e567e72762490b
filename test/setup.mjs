// Test set-up, run by test/run.mjs before the tests (so `npm test` needs no other command): builds
// or fetches the fixtures the tests read, each with its script under fixtures/. The scripts cache
// their output, keyed by their own sha256 (fixtures/out/NAME.sha256), so a run with nothing to do
// costs milliseconds and an edited script rebuilds. A fixture that cannot be made here (no root for
// debootstrap, no network) does not stop the run: the tests that need it fail with the command that
// makes it (test/helpers.ts fixture()).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const SCRIPTS = ["fixtures/fetch-debian-packages.sh", "fixtures/minbase.sh"];

export function setupFixtures() {
  for (const script of SCRIPTS) {
    const r = spawnSync("bash", [join(root, script)], { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0)
      process.stderr.write(
        `test set-up: ${script} did not finish; the tests that need its output will fail\n`,
      );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) setupFixtures();
