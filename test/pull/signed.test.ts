// Verified pulls over nginx, both ways against the real ostree 2022.7: our pull from a repo ostree
// wrote and GPG-signed (commit and summary) — verified, and refused without the key, with a
// tampered .commitmeta or with the wrong key, leaving no ref and an fsck-clean repo; ostree's pull
// (gpg-verify on) from a repo we wrote, signed and delta'd; ed25519 (which Debian's ostree lacks)
// between our sign and our pull.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Repo } from "../../src/repo/repo.js";
import { generateKeyPair } from "../../src/sign/ed25519.js";
import { haveTools, scratch, tsostree } from "../helpers.js";
import { gpgKey } from "../sign/fixture.js";
import { fsckClean, lsR, makeTree, ok, ts } from "./fixture.js";
import { startNginx } from "./server.js";

const accessLines = (dir: string) =>
  readFileSync(join(dir, "nginx", "access.log"), "utf8").split("\n").length;

/** The pull failed, moved no ref, and left `commit` absent or marked partial; the repo is fsck-clean. */
function refused(repo: string, args: string[], commit: string, why: RegExp): void {
  const r = tsostree([`--repo=${repo}`, "pull", ...args]);
  assert.equal(r.status, 1, `pull ${args.join(" ")} should fail: ${r.stdout}`);
  assert.match(r.stderr, why);
  assert.equal(ts([`--repo=${repo}`, "refs"]), "");
  const r_ = Repo.open(repo);
  assert.ok(
    !r_.hasObject(commit, "commit") || existsSync(join(repo, "state", `${commit}.commitpartial`)),
    "an unverified commit must not be left complete",
  );
  fsckClean(repo);
}

test("our pull verifies ostree's GPG signatures on commits and summary; missing key, tampered .commitmeta, wrong key: refused", async (t) => {
  if (!haveTools(t, "ostree", "nginx", "gpg")) return;
  const dir = scratch(t);
  const key = gpgKey(t, dir, "signer");
  const other = gpgKey(t, dir, "other");
  const srv = join(dir, "www", "signed");
  const tree = join(dir, "tree");
  makeTree(tree);
  mkdirSync(join(dir, "www"));
  ok(["init", `--repo=${srv}`, "--mode=archive"]);
  const commit = ok([
    `--repo=${srv}`,
    "commit",
    "-b",
    "main",
    "-s",
    "signed by ostree",
    `--gpg-sign=${key.fingerprint}`,
    `--gpg-homedir=${key.home}`,
    tree,
  ]).trim();
  ok([`--repo=${srv}`, "summary", "-u", `--gpg-sign=${key.fingerprint}`, `--gpg-homedir=${key.home}`]);
  // The same repo with one byte of the commit's signature flipped.
  const bad = join(dir, "www", "tampered");
  cpSync(srv, bad, { recursive: true });
  const metaFile = join(bad, "objects", commit.slice(0, 2), `${commit.slice(2)}.commitmeta`);
  const meta = readFileSync(metaFile);
  meta[meta.length >> 1]! ^= 0x01;
  writeFileSync(metaFile, meta);
  const nginx = await startNginx(join(dir, "www"), join(dir, "nginx"));
  t.after(() => nginx.stop());

  const client = (name: string, ...addArgs: string[]) => {
    const repo = join(dir, name);
    ts(["init", `--repo=${repo}`, "--mode=bare-user"]);
    ts([`--repo=${repo}`, "remote", "add", ...addArgs]);
    return repo;
  };

  const good = client(
    "good",
    `--gpg-import=${key.keyringFile}`,
    "--set=gpg-verify-summary=true",
    "origin",
    `${nginx.url}/signed`,
  );
  const result = JSON.parse(ts([`--repo=${good}`, "pull", "--json", "origin", "main"]));
  assert.deepEqual(result.verified, [{ commit, gpg: [key.fingerprint], ed25519: 0 }]);
  assert.equal(ts([`--repo=${good}`, "rev-parse", "origin:main"]).trim(), commit);
  assert.equal(existsSync(join(good, "state", `${commit}.commitpartial`)), false);
  fsckClean(good);
  assert.equal(lsR(good, "origin:main"), lsR(srv, "main"));
  // ostree, reading our repo, agrees that the commit is signed by that key.
  assert.match(ok([`--repo=${good}`, "show", "--gpg-verify-remote=origin", "origin:main"]), /Good signature/);

  // gpg-verify defaults to true: no key at all is refused before a single request.
  const noKey = client("nokey", "origin", `${nginx.url}/signed`);
  const before = accessLines(dir);
  refused(noKey, ["origin", "main"], commit, /gpg-verify=true but no GPG key/);
  assert.equal(accessLines(dir), before, "nothing was fetched");

  const tampered = client("tampered", `--gpg-import=${key.keyringFile}`, "origin", `${nginx.url}/tampered`);
  refused(tampered, ["origin", "main"], commit, /gpg-verify requires a valid GPG signature/);

  const wrong = client("wrong", `--gpg-import=${other.keyringFile}`, "origin", `${nginx.url}/signed`);
  refused(wrong, ["origin", "main"], commit, /gpg-verify requires a valid GPG signature/);
  // The summary is signed by the same key: with gpg-verify-summary the summary is refused first.
  const wrongSummary = client(
    "wrong-summary",
    `--gpg-import=${other.keyringFile}`,
    "--set=gpg-verify-summary=true",
    "origin",
    `${nginx.url}/signed`,
  );
  refused(wrongSummary, ["origin", "main"], commit, /gpg-verify-summary requires a valid GPG signature/);
});

test("ostree pull (gpg-verify, gpg-verify-summary) from a repo we wrote, GPG-signed and delta'd", async (t) => {
  if (!haveTools(t, "ostree", "nginx", "gpg")) return;
  const dir = scratch(t);
  const key = gpgKey(t, dir, "signer");
  const srv = join(dir, "srv");
  const tree = join(dir, "tree");
  makeTree(tree);
  const sign = [`--gpg-sign=${key.fingerprint}`, `--gpg-homedir=${key.home}`];
  ts(["init", `--repo=${srv}`, "--mode=archive"]);
  const a = ts([`--repo=${srv}`, "commit", "-b", "main", "-s", "A", ...sign, tree]).trim();
  writeFileSync(join(tree, "usr", "d3", "f7"), "changed in B\n".repeat(50));
  const b = ts([`--repo=${srv}`, "commit", "-b", "main", "-s", "B", ...sign, tree]).trim();
  ts([`--repo=${srv}`, "static-delta", "generate", `--from=${a}`, `--to=${b}`]);
  ts([`--repo=${srv}`, "summary", "-u", ...sign]);
  const nginx = await startNginx(srv, join(dir, "nginx"));
  t.after(() => nginx.stop());

  const client = join(dir, "client");
  ok(["init", `--repo=${client}`, "--mode=bare-user"]);
  ok([
    `--repo=${client}`,
    "remote",
    "add",
    `--gpg-import=${key.keyringFile}`,
    "--set=gpg-verify-summary=true",
    "origin",
    nginx.url,
  ]);
  ok([`--repo=${client}`, "pull", "origin", a]);
  ok([`--repo=${client}`, "refs", "--create=origin:main", a]);
  const log = join(dir, "nginx", "access.log");
  const mark = readFileSync(log, "utf8").length;
  ok([`--repo=${client}`, "pull", "origin", "main"]);
  assert.equal(ok([`--repo=${client}`, "rev-parse", "origin:main"]).trim(), b);
  const requests = readFileSync(log, "utf8").slice(mark);
  assert.match(requests, /GET \/deltas\/[^ ]+\/superblock /, "ostree fetched our delta");
  assert.doesNotMatch(requests, /\.filez /, "and no content object one by one");
  fsckClean(client);
  assert.equal(lsR(client, "origin:main"), lsR(srv, "main"));
  assert.match(ok([`--repo=${client}`, "show", "--gpg-verify-remote=origin", b]), /Good signature/);
});

test("ed25519: our pull with sign-verify checks what tsostree sign wrote; a wrong key is refused", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  const keys = generateKeyPair();
  const stranger = generateKeyPair();
  const srv = join(dir, "srv");
  const tree = join(dir, "tree");
  makeTree(tree);
  ts(["init", `--repo=${srv}`, "--mode=archive"]);
  const commit = ts([`--repo=${srv}`, "commit", "-b", "main", "-s", "ed", tree]).trim();
  ts([`--repo=${srv}`, "sign", commit, keys.secretKey]);
  ts([`--repo=${srv}`, "summary", "-u", `--sign=${keys.secretKey}`, "--sign-type=ed25519"]);
  const nginx = await startNginx(srv, join(dir, "nginx"));
  t.after(() => nginx.stop());

  // ostree's --sign-verify=ed25519=inline:KEY|file:PATH sets sign-verify and the key option.
  const client = (name: string, signVerify: string) => {
    const repo = join(dir, name);
    ts(["init", `--repo=${repo}`, "--mode=bare-user"]);
    ts([
      `--repo=${repo}`,
      "remote",
      "add",
      "--no-gpg-verify",
      "--set=sign-verify-summary=true",
      `--sign-verify=${signVerify}`,
      "origin",
      nginx.url,
    ]);
    return repo;
  };
  const good = client("good", `ed25519=inline:${keys.publicKey}`);
  assert.equal(ts([`--repo=${good}`, "config", "get", 'remote "origin".sign-verify']).trim(), "true");
  const result = JSON.parse(ts([`--repo=${good}`, "pull", "--json", "origin", "main"]));
  assert.deepEqual(result.verified, [{ commit, gpg: [], ed25519: 1 }]);
  assert.equal(ts([`--repo=${good}`, "rev-parse", "origin:main"]).trim(), commit);
  fsckClean(good);

  const keyFile = join(dir, "stranger.ed25519");
  writeFileSync(keyFile, `${stranger.publicKey}\n`);
  const wrong = client("wrong", `ed25519=file:${keyFile}`);
  assert.equal(
    ts([`--repo=${wrong}`, "config", "get", 'remote "origin".verification-ed25519-file']).trim(),
    keyFile,
  );
  refused(
    wrong,
    ["origin", "main"],
    commit,
    /sign-verify-summary \(ed25519\) requires a valid ed25519 signature/,
  );
  ts([`--repo=${wrong}`, "config", "set", 'remote "origin".sign-verify-summary', "false"]);
  refused(wrong, ["origin", "main"], commit, /sign-verify \(ed25519\) requires a valid ed25519 signature/);
});
