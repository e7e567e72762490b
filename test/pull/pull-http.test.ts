// Pulls over HTTP from a real nginx, both ways against the real ostree 2022.7: our pull from
// archive repos ostree wrote (with and without a summary), and ostree's pull from a repo we wrote.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree, scratch, tsostree } from "../helpers.js";
import { fsckClean, lsR, makeTree, ok, serverRepo, ts } from "./fixture.js";
import { startNginx } from "./server.js";

test("pull from an ostree archive repo over nginx into bare-user and archive repos", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  const commit = serverRepo(dir, join(dir, "srv"));
  const nginx = await startNginx(join(dir, "srv"), join(dir, "nginx"));
  t.after(() => nginx.stop());
  for (const mode of ["bare-user", "archive"]) {
    const repo = join(dir, `client-${mode}`);
    ts(["init", `--repo=${repo}`, `--mode=${mode}`]);
    ts([`--repo=${repo}`, "remote", "add", "--no-gpg-verify", "origin", nginx.url, "main"]);
    // No ref named: the remote's configured branches.
    const result = JSON.parse(ts([`--repo=${repo}`, "pull", "--json", "origin"]));
    assert.equal(result.refs[0].commit, commit);
    assert.ok(result.contentFetched > 200, `fetched ${result.contentFetched} content objects`);
    assert.equal(readFileSync(join(repo, "refs/remotes/origin/main"), "utf8"), `${commit}\n`);
    assert.equal(existsSync(join(repo, "state", `${commit}.commitpartial`)), false);
    fsckClean(repo);
    assert.equal(lsR(repo, "origin:main"), lsR(join(dir, "srv"), "main"));
    // Again: nothing to fetch but the summary and config.
    const again = JSON.parse(ts([`--repo=${repo}`, "pull", "--json", "origin:main"]));
    assert.equal(again.metadataFetched + again.contentFetched, 0);
  }
  // remote refs / summary read the server's summary as ostree does.
  const repo = join(dir, "client-archive");
  for (const args of [
    ["remote", "refs", "origin"],
    ["remote", "summary", "origin"],
    ["remote", "summary", "--raw", "origin"],
  ])
    assert.equal(ts([`--repo=${repo}`, ...args]), ok([`--repo=${repo}`, ...args]), args.join(" "));
});

test("pull without a summary (refs/heads), --depth, --commit-metadata-only, --mirror, --subpath", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  const srv = join(dir, "srv");
  const first = serverRepo(dir, srv, "os/stable", 0, false);
  const tree1 = join(dir, "tree-1");
  makeTree(tree1, 1);
  const second = ok([
    `--repo=${srv}`,
    "commit",
    "--branch=os/stable",
    `--tree=dir=${tree1}`,
    "-s",
    "v1",
  ]).trim();
  const nginx = await startNginx(srv, join(dir, "nginx"));
  t.after(() => nginx.stop());
  const client = (name: string) => {
    const repo = join(dir, name);
    ts(["init", `--repo=${repo}`, "--mode=archive"]);
    ts([`--repo=${repo}`, "remote", "add", "--no-gpg-verify", "origin", nginx.url]);
    return repo;
  };

  const deep = client("deep");
  ts([`--repo=${deep}`, "pull", "--depth=1", "origin", "os/stable"]);
  assert.equal(ts([`--repo=${deep}`, "rev-parse", "origin:os/stable"]).trim(), second);
  for (const c of [first, second]) assert.equal(existsSync(join(deep, "state", `${c}.commitpartial`)), false);
  fsckClean(deep);
  assert.equal(lsR(deep, first), lsR(srv, first));

  const meta = client("meta");
  ts([`--repo=${meta}`, "pull", "--commit-metadata-only", "origin:os/stable"]);
  assert.ok(existsSync(join(meta, "state", `${second}.commitpartial`)));
  assert.match(ok([`--repo=${meta}`, "log", "origin:os/stable"]), /v1/);

  const mirror = client("mirror");
  ts([`--repo=${mirror}`, "pull", "--mirror", "origin", "os/stable"]);
  assert.equal(readFileSync(join(mirror, "refs/heads/os/stable"), "utf8"), `${second}\n`);
  fsckClean(mirror);

  const sub = client("sub");
  ts([`--repo=${sub}`, "pull", "--subpath=/usr/bin", "origin", "os/stable"]);
  assert.match(ok([`--repo=${sub}`, "ls", "origin:os/stable", "/usr/bin/tool"]), /tool/);
  assert.ok(
    existsSync(join(sub, "state", `${second}.commitpartial`)),
    "a subpath pull leaves the commit partial",
  );
  const missing = ostree([`--repo=${sub}`, "cat", "origin:os/stable", "/version"]);
  assert.notEqual(missing.status, 0);

  // A ref the server does not have: a clear error, nothing written.
  const bad = tsostree([`--repo=${mirror}`, "pull", "origin", "nope"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /ref 'nope' not found/);
});

test("the real ostree pulls from an archive repo we wrote (our commit, our summary)", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  const srv = join(dir, "srv");
  const tree = join(dir, "tree");
  makeTree(tree);
  ts(["init", `--repo=${srv}`, "--mode=archive"]);
  const commit = ts([`--repo=${srv}`, "commit", "-b", "main", "-s", "ours", tree]).trim();
  ts([`--repo=${srv}`, "summary", "-u"]);
  const nginx = await startNginx(srv, join(dir, "nginx"));
  t.after(() => nginx.stop());
  const client = join(dir, "client");
  ok(["init", `--repo=${client}`, "--mode=bare-user"]);
  ok([`--repo=${client}`, "remote", "add", "--no-gpg-verify", "origin", nginx.url]);
  ok([`--repo=${client}`, "pull", "origin", "main"]);
  assert.equal(ok([`--repo=${client}`, "rev-parse", "origin:main"]).trim(), commit);
  fsckClean(client);
  assert.equal(lsR(client, "origin:main"), lsR(srv, "main"));

  // And pull-local from ostree's bare-user repo back into a fresh repo of ours.
  const back = join(dir, "back");
  ts(["init", `--repo=${back}`, "--mode=bare-user"]);
  ts([`--repo=${back}`, "pull-local", "--remote=origin", client, commit]);
  ts([`--repo=${back}`, "pull-local", srv, "main"]);
  assert.equal(ts([`--repo=${back}`, "rev-parse", "main"]).trim(), commit);
  fsckClean(back);
});

test("a remote that requires signatures is refused before anything is fetched", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  serverRepo(dir, join(dir, "srv"));
  const nginx = await startNginx(join(dir, "srv"), join(dir, "nginx"));
  t.after(() => nginx.stop());
  const repo = join(dir, "client");
  ts(["init", `--repo=${repo}`, "--mode=archive"]);
  ts([`--repo=${repo}`, "remote", "add", "signed", nginx.url]); // gpg-verify defaults to true
  ts([`--repo=${repo}`, "remote", "add", "--no-gpg-verify", "--set=sign-verify=true", "ed", nginx.url]);
  for (const remote of ["signed", "ed"]) {
    const r = tsostree([`--repo=${repo}`, "pull", remote, "main"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no (GPG|ed25519 public) key/);
  }
  assert.equal(readFileSync(join(dir, "nginx", "access.log"), "utf8"), "");
  assert.equal(ts([`--repo=${repo}`, "refs"]), "");
});
