// A remote's signature policy from the config the real ostree writes (`remote add --gpg-import`,
// `--set=...`), applied to commits ostree and we signed.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Repo } from "../../src/repo/repo.js";
import { generateKeyPair } from "../../src/sign/ed25519.js";
import { SignatureError } from "../../src/sign/errors.js";
import { type RemoteOptions, remoteSignaturePolicy } from "../../src/sign/policy.js";
import { verifyCommitSignatures } from "../../src/sign/verify.js";
import { KeyFile } from "../../src/util/keyfile.js";
import { haveTools, ostree, scratch, tsostree } from "../helpers.js";
import { gpgKey, signedRepoFixture } from "./fixture.js";

function remoteOptions(repo: string, name: string): RemoteOptions {
  const kf = KeyFile.parse(readFileSync(join(repo, "config"), "utf8"));
  const group = `remote "${name}"`;
  return Object.fromEntries(kf.keys(group).map((k) => [k, kf.get(group, k)]));
}

function ok(r: { status: number; stderr: string; stdout: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test("gpg-verify and sign-verify policies from ostree's remote config", async (t) => {
  if (!haveTools(t, "ostree", "gpg")) return;
  const dir = scratch(t);
  const key = gpgKey(t, dir, "signer");
  const { repo, csum } = signedRepoFixture(dir, "server");
  ok(ostree([`--repo=${repo}`, "gpg-sign", `--gpg-homedir=${key.home}`, csum, key.fingerprint]), "gpg-sign");
  const ed = generateKeyPair();
  ok(tsostree(["sign", `--repo=${repo}`, csum, ed.secretKey]), "sign");
  const r = Repo.open(repo);
  const commit = r.readMetadataBytes(csum, "commit");
  const meta = readFileSync(r.objectPath(csum, "commitmeta"));
  const empty = join(dir, "no-global-keys");
  mkdirSync(empty);

  const client = join(dir, "client");
  ok(ostree(["init", `--repo=${client}`, "--mode=archive"]), "init");
  ok(
    ostree([
      `--repo=${client}`,
      "remote",
      "add",
      `--gpg-import=${key.armoredFile}`,
      "origin",
      `file://${repo}`,
    ]),
    "add",
  );
  const p1 = remoteSignaturePolicy(client, "origin", remoteOptions(client, "origin"), "commit", {
    globalDir: empty,
  });
  assert.equal(p1.gpg?.keyrings.length, 1);
  assert.equal(p1.ed25519, undefined);
  assert.deepEqual((await verifyCommitSignatures(commit, meta, p1, csum)).gpg, [
    { keyId: key.fingerprint, valid: true },
  ]);
  // The summary is not GPG-verified unless asked.
  assert.deepEqual(remoteSignaturePolicy(client, "origin", remoteOptions(client, "origin"), "summary"), {});

  // A remote with no key of its own and an empty global keyring dir: gpg-verify is refused.
  ok(ostree([`--repo=${client}`, "remote", "add", "bare", `file://${repo}`]), "add bare");
  const p2 = remoteSignaturePolicy(client, "bare", remoteOptions(client, "bare"), "commit", {
    globalDir: empty,
  });
  await assert.rejects(
    verifyCommitSignatures(commit, meta, p2, csum),
    /gpg-verify is on but no GPG key is configured/,
  );

  // sign-verify=ed25519 with an inline key, with --no-gpg-verify.
  ok(
    ostree([
      `--repo=${client}`,
      "remote",
      "add",
      "--no-gpg-verify",
      "--set=sign-verify=ed25519",
      `--set=verification-ed25519-key=${ed.publicKey}`,
      "ed",
      `file://${repo}`,
    ]),
    "add ed",
  );
  const p3 = remoteSignaturePolicy(client, "ed", remoteOptions(client, "ed"), "commit");
  assert.equal(p3.gpg, undefined);
  assert.deepEqual((await verifyCommitSignatures(commit, meta, p3, csum)).ed25519, [
    { valid: true, keyIndex: 0 },
  ]);
  const other = generateKeyPair();
  const wrong = { ...remoteOptions(client, "ed"), "verification-ed25519-key": other.publicKey };
  await assert.rejects(
    verifyCommitSignatures(commit, meta, remoteSignaturePolicy(client, "ed", wrong, "commit"), csum),
    SignatureError,
  );
  // An explicit engine list needs keys; `true` falls back to the system's trusted.ed25519 files.
  assert.throws(
    () => remoteSignaturePolicy(client, "x", { "sign-verify": "ed25519", "gpg-verify": "false" }, "commit"),
    /No keys found/,
  );
  const sys = join(dir, "etc-ostree");
  mkdirSync(join(sys, "trusted.ed25519.d"), { recursive: true });
  writeFileSync(join(sys, "trusted.ed25519"), `${other.publicKey}\n`);
  writeFileSync(join(sys, "trusted.ed25519.d", "a"), `${ed.publicKey}\n`);
  const p4 = remoteSignaturePolicy(client, "x", { "sign-verify": "true", "gpg-verify": "false" }, "commit", {
    ed25519Dirs: [sys],
  });
  assert.deepEqual((await verifyCommitSignatures(commit, meta, p4, csum)).ed25519, [
    { valid: true, keyIndex: 1 },
  ]);
  writeFileSync(join(sys, "revoked.ed25519"), `${ed.publicKey}\n`);
  const p5 = remoteSignaturePolicy(client, "x", { "sign-verify": "1", "gpg-verify": "0" }, "commit", {
    ed25519Dirs: [sys],
  });
  await assert.rejects(verifyCommitSignatures(commit, meta, p5, csum), /sign-verify \(ed25519\) requires/);
});
