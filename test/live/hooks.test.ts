// When live-apply runs `systemctl daemon-reload`: only on a host, only where systemd runs (sd_booted:
// /run/systemd/system is a directory). The decision is tested here, not systemd.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { systemdRuns, unitReload } from "../../src/live/hooks.js";

const UNIT = ["/usr/lib/systemd/system/cron.service"];

describe("daemon-reload after live unit changes", () => {
  it("reloads only on a host where systemd runs", () => {
    assert.deepEqual(unitReload(true, UNIT, true), { reload: true, note: null });
    const noSystemd = unitReload(true, UNIT, false);
    assert.equal(noSystemd.reload, false);
    assert.match(noSystemd.note!, /cron\.service.*systemd does not run this system: nothing reloaded/);
    // A sandbox's running root has no systemd of its own, whatever runs this machine.
    const sandbox = unitReload(false, UNIT, true);
    assert.equal(sandbox.reload, false);
    assert.match(sandbox.note!, /a host would run `systemctl daemon-reload`/);
  });

  it("no unit changed: nothing to reload, nothing to say", () => {
    assert.deepEqual(unitReload(true, [], true), { reload: false, note: null });
  });

  it("systemd runs when ROOT/run/systemd/system is a directory (not a file, not absent)", () => {
    const root = mkdtempSync(join(tmpdir(), "tsostree-sdbooted-"));
    try {
      assert.equal(systemdRuns(root), false);
      mkdirSync(join(root, "run/systemd"), { recursive: true });
      writeFileSync(join(root, "run/systemd/system"), "");
      assert.equal(systemdRuns(root), false);
      rmSync(join(root, "run/systemd/system"));
      mkdirSync(join(root, "run/systemd/system"));
      assert.equal(systemdRuns(root), true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
