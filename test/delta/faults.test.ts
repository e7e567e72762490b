// Damaged deltas fail with a clear error and leave the repo as it was: no commit, no object, no
// ref, no staging directory. Covers a flipped byte in a part, a truncated superblock, a missing part,
// a missing from-commit, and an object altered inside a part whose checksum was made to match (so
// only the per-object verification stands between it and the repo).
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { applyStaticDelta } from "../../src/delta/apply.js";
import { DeltaVerifyError } from "../../src/delta/execute.js";
import { generateStaticDelta } from "../../src/delta/generate.js";
import { deltaDir, superblockPath } from "../../src/delta/names.js";
import { parseSuperblock, serializeSuperblock } from "../../src/delta/superblock.js";
import { sha256hex } from "../../src/repo/objects.js";
import { Repo } from "../../src/repo/repo.js";
import { haveTools, ostree, scratch, tsostree } from "../helpers.js";
import { buildDeltaFixture, clientRepo, repoSnapshot } from "./fixture.js";

function noStaging(repo: string): boolean {
  return readdirSync(join(repo, "tmp")).every((n) => !n.startsWith("staging-"));
}

test("damaged deltas are refused with a clear error; the repo is unchanged", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const fx = buildDeltaFixture(dir);
  assert.equal(
    ostree(["static-delta", "generate", `--repo=${fx.server}`, `--from=${fx.v1}`, `--to=${fx.v2}`]).status,
    0,
  );
  const good = join(fx.server, deltaDir(fx.v1, fx.v2));
  const client = clientRepo(dir, "client", "bare-user", fx, fx.v1);
  const before = repoSnapshot(client);

  const attempt = (name: string, damage: (d: string) => void, expected: RegExp) => {
    const d = join(dir, name);
    cpSync(good, d, { recursive: true });
    damage(d);
    const r = tsostree(["static-delta", "apply-offline", `--repo=${client}`, d]);
    assert.notEqual(r.status, 0, name);
    assert.match(r.stderr, expected, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line: ${r.stderr}`);
    assert.deepEqual(repoSnapshot(client), before, name);
    assert.ok(noStaging(client), name);
  };
  attempt(
    "flipped",
    (d) => {
      const p = readFileSync(join(d, "0"));
      p[p.length >> 1]! ^= 0xff;
      writeFileSync(join(d, "0"), p);
    },
    /Checksum mismatch in static delta part/,
  );
  attempt(
    "truncated-superblock",
    (d) => {
      const s = readFileSync(join(d, "superblock"));
      writeFileSync(join(d, "superblock"), s.subarray(0, s.length - 40));
    },
    /superblock is not valid/,
  );
  attempt(
    "truncated-part",
    (d) => writeFileSync(join(d, "0"), readFileSync(join(d, "0")).subarray(0, 100)),
    /Checksum mismatch/,
  );
  attempt("missing-part", (d) => rmSync(join(d, "0")), /Opening deltapart .0./);

  // The from-commit must be present.
  const empty = clientRepo(dir, "empty", "bare-user", fx, "");
  const r = tsostree(["static-delta", "apply-offline", `--repo=${empty}`, good]);
  assert.match(r.stderr, /which is the delta source, is not in repository/);
  assert.deepEqual(repoSnapshot(empty), []);
});

test("an object altered inside a part with a matching part checksum is caught by its own checksum", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const fx = buildDeltaFixture(dir);
  generateStaticDelta(Repo.open(fx.server), { from: fx.v1, to: fx.v2, compress: false });
  const sbPath = join(fx.server, superblockPath(fx.v1, fx.v2));
  const sb = parseSuperblock(readFileSync(sbPath));
  const part = readFileSync(join(sbPath, "..", "0"));
  const at = part.indexOf("a new file");
  assert.ok(at > 0);
  part[at] = "A".charCodeAt(0);
  const forged = serializeSuperblock({
    ...sb,
    parts: [{ ...sb.parts[0]!, checksum: sha256hex(part) }],
  });
  const client = clientRepo(dir, "client", "archive", fx, fx.v1);
  const before = repoSnapshot(client);
  await assert.rejects(
    applyStaticDelta(Repo.open(client), forged, async () => part),
    (e: Error) => e instanceof DeltaVerifyError && /Corrupted object [0-9a-f]{64}\.file/.test(e.message),
  );
  assert.deepEqual(repoSnapshot(client), before);
  assert.ok(noStaging(client));
  // The untouched delta applies.
  const ok = await applyStaticDelta(Repo.open(client), readFileSync(sbPath), async () =>
    readFileSync(join(sbPath, "..", "0")),
  );
  assert.equal(ok.to, fx.v2);
  assert.equal(ostree(["fsck", `--repo=${client}`]).status, 0);
});
