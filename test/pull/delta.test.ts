// Static deltas in our pull, from repos the real ostree 2022.7 wrote (`static-delta generate`,
// `summary -u`), behind nginx (requests counted in its access log): a client at A pulls B through the
// A→B delta (no content object fetched one by one, fewer bytes than without it, same tree, fsck
// clean); a new client through the from-scratch delta and its fallback object; a repo without a
// summary through ostree's superblock probe; a corrupted part fails the pull cleanly, as it fails
// ostree's own pull.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { partPath } from "../../src/delta/names.js";
import { haveTools, ostree, scratch, sh, tsostree } from "../helpers.js";
import { fsckClean, lsR, makeTree, ok, ts } from "./fixture.js";
import { startNginx } from "./server.js";

test("pulls through ostree's static deltas: A→B, from scratch with a fallback, without a summary; a corrupt part fails cleanly", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  const www = join(dir, "www");
  const srv = join(www, "srv");
  mkdirSync(www);
  const tree = join(dir, "tree");
  makeTree(tree);
  ok(["init", `--repo=${srv}`, "--mode=archive"]);
  const a = ok([`--repo=${srv}`, "commit", "-b", "main", "-s", "A", tree]).trim();
  // B changes a few bytes of the 3 MB file: the delta carries a bsdiff patch, the object pull the whole file.
  const big = readFileSync(join(tree, "usr", "big.bin"));
  big.write("B was here", 1 << 20);
  writeFileSync(join(tree, "usr", "big.bin"), big);
  const b = ok([`--repo=${srv}`, "commit", "-b", "main", "-s", "B", tree]).trim();
  ok([`--repo=${srv}`, "static-delta", "generate", `--from=${a}`, `--to=${b}`]);
  // From scratch, with the 3 MB file left out as a fallback object.
  ok([`--repo=${srv}`, "static-delta", "generate", "--empty", `--to=${b}`, "--min-fallback-size=1"]);
  ok([`--repo=${srv}`, "summary", "-u"]);
  // The same repo without a summary, and one whose A→B part is damaged.
  const bare = join(www, "nosummary");
  cpSync(srv, bare, { recursive: true });
  rmSync(join(bare, "summary"));
  const bad = join(www, "bad");
  cpSync(srv, bad, { recursive: true });
  const part = join(bad, partPath(a, b, 0));
  const bytes = readFileSync(part);
  bytes[bytes.length >> 1]! ^= 0x20;
  writeFileSync(part, bytes);

  const nginx = await startNginx(www, join(dir, "nginx"));
  t.after(() => nginx.stop());
  const log = join(dir, "nginx", "access.log");
  /** The paths requested since `mark` (a length of the access log). */
  const requestsSince = (mark: number) =>
    readFileSync(log, "utf8")
      .slice(mark)
      .split("\n")
      .map((l) => /"GET (\S+) /.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);

  // One bare-user client whose origin:main is at A (pulled object by object), cloned for each case
  // (cp -a keeps the user.ostreemeta xattrs of a bare-user repo).
  const atA = join(dir, "at-a");
  ts(["init", `--repo=${atA}`, "--mode=bare-user"]);
  ts([`--repo=${atA}`, "remote", "add", "--no-gpg-verify", "origin", `${nginx.url}/srv`]);
  ts([`--repo=${atA}`, "pull", "--disable-static-deltas", "origin", a]);
  ok([`--repo=${atA}`, "refs", "--create=origin:main", a]);
  const clientAtA = (name: string, path = "srv") => {
    const repo = join(dir, name);
    sh("cp", ["-a", atA, repo]);
    if (path !== "srv") {
      ts([`--repo=${repo}`, "remote", "delete", "origin"]);
      ts([`--repo=${repo}`, "remote", "add", "--no-gpg-verify", "origin", `${nginx.url}/${path}`]);
    }
    return repo;
  };
  const treeB = lsR(srv, "main");
  const pullB = (repo: string, ...flags: string[]) => {
    const mark = readFileSync(log, "utf8").length;
    const r = JSON.parse(ts([`--repo=${repo}`, "pull", "--json", ...flags, "origin", "main"]));
    assert.equal(ts([`--repo=${repo}`, "rev-parse", "origin:main"]).trim(), b);
    assert.equal(existsSync(join(repo, "state", `${b}.commitpartial`)), false);
    fsckClean(repo);
    assert.equal(lsR(repo, "origin:main"), treeB);
    return { result: r, requests: requestsSince(mark) };
  };
  const filez = (reqs: string[]) => reqs.filter((p) => p.endsWith(".filez"));

  // A → B through the delta: one part, no content object, no .commit either (it is in the superblock).
  const viaDelta = pullB(clientAtA("delta"));
  assert.deepEqual(
    viaDelta.result.deltas.map((d: { name: string }) => d.name),
    [`${a}-${b}`],
  );
  assert.equal(viaDelta.result.deltas[0].parts, 1);
  assert.deepEqual(filez(viaDelta.requests), []);
  assert.ok(viaDelta.requests.some((p) => p.endsWith(`${partPath(a, b, 0).slice("deltas".length)}`)));
  assert.ok(!viaDelta.requests.some((p) => p.endsWith(".commit")));
  // The same update object by object: more requests, more bytes.
  const viaObjects = pullB(clientAtA("objects"), "--disable-static-deltas");
  assert.deepEqual(viaObjects.result.deltas, []);
  assert.ok(filez(viaObjects.requests).length > 0);
  assert.ok(
    viaDelta.result.bytes < viaObjects.result.bytes,
    `delta ${viaDelta.result.bytes} bytes, objects ${viaObjects.result.bytes} bytes`,
  );
  assert.ok(viaDelta.result.deltaBytes > 0 && viaDelta.result.deltaBytes <= viaDelta.result.bytes);

  // A new client: the from-scratch delta, and the fallback object fetched on its own.
  const fresh = join(dir, "fresh");
  ts(["init", `--repo=${fresh}`, "--mode=bare-user"]);
  ts([`--repo=${fresh}`, "remote", "add", "--no-gpg-verify", "origin", `${nginx.url}/srv`]);
  const scratchPull = pullB(fresh, "--require-static-deltas");
  assert.deepEqual(
    scratchPull.result.deltas.map((d: { name: string; fallbacks: number }) => [d.name, d.fallbacks]),
    [[b, 1]],
  );
  assert.equal(filez(scratchPull.requests).length, 1, "only the fallback object");

  // No summary: ostree's probe of deltas/A-B/superblock from the ref's commit.
  const probed = pullB(clientAtA("probe", "nosummary"));
  assert.deepEqual(
    probed.result.deltas.map((d: { name: string }) => d.name),
    [`${a}-${b}`],
  );
  assert.deepEqual(filez(probed.requests), []);

  // A damaged part: fetched again (it might have been the network), then the pull fails, as
  // ostree's does — no fallback to objects; the ref stays at A and the repo is consistent.
  const broken = clientAtA("broken", "bad");
  const r = tsostree([`--repo=${broken}`, "pull", "origin", "main"]);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /static delta part .* has the wrong sha256/);
  assert.equal(ts([`--repo=${broken}`, "rev-parse", "origin:main"]).trim(), a);
  fsckClean(broken);
  const theirs = join(dir, "theirs");
  ok(["init", `--repo=${theirs}`, "--mode=bare-user"]);
  ok([`--repo=${theirs}`, "remote", "add", "--no-gpg-verify", "origin", `${nginx.url}/bad`]);
  ok([`--repo=${theirs}`, "pull", "--disable-static-deltas", "origin", a]);
  ok([`--repo=${theirs}`, "refs", "--create=origin:main", a]);
  const oracle = ostree([`--repo=${theirs}`, "pull", "origin", "main"]);
  assert.notEqual(oracle.status, 0, "ostree 2022.7 fails on the corrupt part too");
  // Without the delta the same client completes B.
  ts([`--repo=${broken}`, "pull", "--disable-static-deltas", "origin", "main"]);
  assert.equal(ts([`--repo=${broken}`, "rev-parse", "origin:main"]).trim(), b);
  fsckClean(broken);

  // --require-static-deltas: no delta leads to A; archive repos take no deltas (ostree's rules).
  const none = tsostree([`--repo=${fresh}`, "pull", "--require-static-deltas", "origin", a]);
  assert.equal(none.status, 1);
  const arch = join(dir, "arch");
  ts(["init", `--repo=${arch}`, "--mode=archive"]);
  ts([`--repo=${arch}`, "remote", "add", "--no-gpg-verify", "origin", `${nginx.url}/srv`]);
  const archive = tsostree([`--repo=${arch}`, "pull", "--require-static-deltas", "origin", "main"]);
  assert.equal(archive.status, 1);
  assert.match(archive.stderr, /Can't use static deltas in an archive repo/);
});
