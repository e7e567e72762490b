// GPG signatures on commits and summaries, checked both ways against the real ostree 2022.7 and
// gpg: what `ostree gpg-sign` writes, we verify; what `tsostree gpg-sign` writes, ostree verifies
// (show --gpg-homedir, and a pull from a file:// remote with the key imported); bad signatures
// are refused with a SignatureError; the repo stays fsck-clean.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Repo } from "../../src/repo/repo.js";
import {
  ED25519_KEY,
  GPGSIGS_KEY,
  parseDetached,
  serializeDetached,
  signaturesOf,
  withSignatures,
} from "../../src/sign/detached.js";
import { SignatureError } from "../../src/sign/errors.js";
import { remoteGpgKeyringFiles } from "../../src/sign/keyrings.js";
import { verifyCommitSignatures, verifySummarySignatures } from "../../src/sign/verify.js";
import { haveTools, ostree, scratch, tsostree } from "../helpers.js";
import { gpgKey, signedRepoFixture } from "./fixture.js";

function commitFiles(repo: string, csum: string): { commit: Buffer; meta: Buffer | null } {
  const r = Repo.open(repo);
  const metaPath = r.objectPath(csum, "commitmeta");
  return {
    commit: r.readMetadataBytes(csum, "commit"),
    meta: existsSync(metaPath) ? readFileSync(metaPath) : null,
  };
}

function ok(r: { status: number; stderr: string; stdout: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test("a commit signed by ostree gpg-sign verifies with our API (binary and armored keyrings); tampering is refused", async (t) => {
  if (!haveTools(t, "ostree", "gpg")) return;
  const dir = scratch(t);
  const key = gpgKey(t, dir, "signer");
  const other = gpgKey(t, dir, "other");
  const { repo, csum } = signedRepoFixture(dir);
  ok(
    ostree([`--repo=${repo}`, "gpg-sign", `--gpg-homedir=${key.home}`, csum, key.fingerprint]),
    "ostree gpg-sign",
  );
  const { commit, meta } = commitFiles(repo, csum);
  assert.ok(meta);

  for (const file of [key.keyringFile, key.armoredFile]) {
    const report = await verifyCommitSignatures(
      commit,
      meta,
      { gpg: { keyrings: [readFileSync(file)] } },
      csum,
    );
    assert.deepEqual(report.gpg, [{ keyId: key.fingerprint, valid: true }]);
    assert.deepEqual(report.ed25519, []);
  }

  const policy = { gpg: { keyrings: [readFileSync(key.keyringFile)] } };
  const tampered = Buffer.from(commit);
  tampered[tampered.length - 70]! ^= 1;
  await assert.rejects(verifyCommitSignatures(tampered, meta, policy, csum), (e: Error) => {
    assert.ok(e instanceof SignatureError);
    assert.match(e.message, new RegExp(`^${csum}: gpg-verify requires a valid GPG signature`));
    return true;
  });
  // The wrong key: the signature's issuer is not in the keyring.
  await assert.rejects(
    verifyCommitSignatures(commit, meta, { gpg: { keyrings: [readFileSync(other.keyringFile)] } }, csum),
    SignatureError,
  );
  // A truncated signature.
  const sig = signaturesOf(parseDetached(meta, "x"), GPGSIGS_KEY)[0]!;
  const cut = serializeDetached(withSignatures([], GPGSIGS_KEY, [sig.subarray(0, sig.length - 10)]));
  await assert.rejects(verifyCommitSignatures(commit, cut, policy, csum), SignatureError);
  // Unsigned, and gpg-verify with no key at all.
  await assert.rejects(verifyCommitSignatures(commit, null, policy, csum), /no detached metadata/);
  await assert.rejects(
    verifyCommitSignatures(commit, meta, { gpg: { keyrings: [] } }, csum),
    /no GPG key is configured/,
  );
  // A policy that asks for nothing still reports what is there.
  const none = await verifyCommitSignatures(commit, meta, {}, csum);
  assert.deepEqual(
    none.gpg.map((g) => g.keyId),
    [key.fingerprint],
  );
});

test("tsostree gpg-sign: ostree verifies it (show, pull with the key imported), fsck is clean, --delete removes it", (t) => {
  if (!haveTools(t, "ostree", "gpg")) return;
  const dir = scratch(t);
  const key = gpgKey(t, dir, "signer");
  const { repo, csum } = signedRepoFixture(dir);
  ok(
    tsostree(["gpg-sign", `--repo=${repo}`, `--gpg-homedir=${key.home}`, "main", key.fingerprint]),
    "gpg-sign",
  );
  const again = tsostree([
    "gpg-sign",
    `--repo=${repo}`,
    `--gpg-homedir=${key.home}`,
    "main",
    key.fingerprint,
  ]);
  assert.equal(again.status, 1);
  assert.equal(again.stderr, `error: Commit is already signed with GPG key ${key.fingerprint}\n`);
  const missing = tsostree([
    "gpg-sign",
    `--repo=${repo}`,
    `--gpg-homedir=${key.home}`,
    "main",
    "nobody@example.org",
  ]);
  assert.equal(missing.stderr, `error: No gpg key found with ID nobody@example.org (homedir: ${key.home})\n`);

  const keydir = join(dir, "keys");
  mkdirSync(keydir);
  writeFileSync(join(keydir, "k.gpg"), readFileSync(key.keyringFile));
  const show = ok(ostree([`--repo=${repo}`, "show", `--gpg-homedir=${keydir}`, csum]), "ostree show");
  assert.match(show, /Found 1 signature:/);
  assert.match(show, /Good signature from "signer <signer@example.org>"/);
  assert.match(ok(ostree([`--repo=${repo}`, "fsck"]), "fsck"), /no errors found/);

  const client = join(dir, "client");
  ok(ostree(["init", `--repo=${client}`, "--mode=archive"]), "init");
  ok(
    ostree([
      `--repo=${client}`,
      "remote",
      "add",
      `--gpg-import=${key.keyringFile}`,
      "origin",
      `file://${repo}`,
    ]),
    "remote add",
  );
  ok(ostree([`--repo=${client}`, "pull", "origin", "main"]), "ostree pull with gpg-verify");
  assert.equal(ostree([`--repo=${client}`, "rev-parse", "origin:main"]).stdout.trim(), csum);
  // The keyring ostree imported for the remote is where our policy reads it from.
  const files = remoteGpgKeyringFiles(client, "origin");
  assert.deepEqual(files, [join(client, "origin.trustedkeys.gpg")]);

  assert.equal(
    ok(tsostree(["gpg-sign", `--repo=${repo}`, "--delete", csum, key.fingerprint.slice(-16)]), "delete"),
    "Signatures deleted: 1\n",
  );
  const client2 = join(dir, "client2");
  ok(ostree(["init", `--repo=${client2}`, "--mode=archive"]), "init");
  ok(
    ostree([
      `--repo=${client2}`,
      "remote",
      "add",
      `--gpg-import=${key.keyringFile}`,
      "origin",
      `file://${repo}`,
    ]),
    "remote add",
  );
  const refused = ostree([`--repo=${client2}`, "pull", "origin", "main"]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /no signatures found/);
  assert.match(ok(ostree([`--repo=${repo}`, "fsck"]), "fsck"), /no errors found/);
});

test("commit --gpg-sign --sign: both signatures in the staged .commitmeta, ostree verifies the GPG one", async (t) => {
  if (!haveTools(t, "ostree", "gpg")) return;
  const dir = scratch(t);
  const key = gpgKey(t, dir, "signer");
  const { repo } = signedRepoFixture(dir);
  const tree = join(dir, "repo-tree");
  const secret = Buffer.alloc(64);
  const { generateKeyPair } = await import("../../src/sign/ed25519.js");
  const pair = generateKeyPair();
  secret.set(Buffer.from(pair.secretKey, "base64"));
  const out = ok(
    tsostree([
      "commit",
      `--repo=${repo}`,
      "-b",
      "signed",
      `--gpg-sign=${key.fingerprint}`,
      `--gpg-homedir=${key.home}`,
      `--sign=${pair.secretKey}`,
      "--sign-type=ed25519",
      tree,
    ]),
    "commit",
  );
  const csum = out.trim();
  const { commit, meta } = commitFiles(repo, csum);
  assert.ok(meta, "the .commitmeta left the staging dir with the commit");
  const parsed = parseDetached(meta, csum);
  assert.equal(signaturesOf(parsed, GPGSIGS_KEY).length, 1);
  assert.equal(signaturesOf(parsed, ED25519_KEY).length, 1);
  const report = await verifyCommitSignatures(
    commit,
    meta,
    {
      gpg: { keyrings: [readFileSync(key.keyringFile)] },
      ed25519: { publicKeys: [Buffer.from(pair.publicKey, "base64")] },
    },
    csum,
  );
  assert.deepEqual(report, {
    gpg: [{ keyId: key.fingerprint, valid: true }],
    ed25519: [{ valid: true, keyIndex: 0 }],
  });
  const keydir = join(dir, "keys");
  mkdirSync(keydir);
  writeFileSync(join(keydir, "k.gpg"), readFileSync(key.keyringFile));
  assert.match(
    ok(ostree([`--repo=${repo}`, "show", `--gpg-homedir=${keydir}`, csum]), "show"),
    /Good signature/,
  );
  assert.match(ok(ostree([`--repo=${repo}`, "fsck"]), "fsck"), /no errors found/);
  assert.equal(ostree([`--repo=${repo}`, "ls", "signed", "/hello"]).status, 0);
  // A failed signing aborts the commit: no ref, nothing staged left behind.
  const bad = tsostree([
    "commit",
    `--repo=${repo}`,
    "-b",
    "nope",
    `--gpg-sign=nobody@example.org`,
    `--gpg-homedir=${key.home}`,
    tree,
  ]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /No gpg key found with ID nobody@example.org/);
  assert.equal(ostree([`--repo=${repo}`, "rev-parse", "nope"]).status, 1);
});

test("summary -u --gpg-sign: ostree verifies summary.sig (gpg-verify-summary); ours verifies ostree's", async (t) => {
  if (!haveTools(t, "ostree", "gpg")) return;
  const dir = scratch(t);
  const key = gpgKey(t, dir, "signer");
  const other = gpgKey(t, dir, "other");
  const { repo, csum } = signedRepoFixture(dir);
  ok(
    tsostree(["gpg-sign", `--repo=${repo}`, `--gpg-homedir=${key.home}`, csum, key.fingerprint]),
    "gpg-sign",
  );
  ok(
    tsostree([
      "summary",
      `--repo=${repo}`,
      "-u",
      `--gpg-sign=${key.fingerprint}`,
      `--gpg-homedir=${key.home}`,
    ]),
    "summary",
  );
  const client = join(dir, "client");
  ok(ostree(["init", `--repo=${client}`, "--mode=archive"]), "init");
  ok(
    ostree([
      `--repo=${client}`,
      "remote",
      "add",
      "--set=gpg-verify-summary=true",
      `--gpg-import=${key.keyringFile}`,
      "origin",
      `file://${repo}`,
    ]),
    "remote add",
  );
  assert.match(ok(ostree([`--repo=${client}`, "remote", "refs", "origin"]), "remote refs"), /origin:main/);
  ok(ostree([`--repo=${client}`, "pull", "origin", "main"]), "pull");

  // The other way: ostree signs the summary, we verify it; a summary that changed is refused.
  ok(
    ostree([
      `--repo=${repo}`,
      "summary",
      "-u",
      `--gpg-sign=${other.fingerprint}`,
      `--gpg-homedir=${other.home}`,
    ]),
    "ostree summary",
  );
  const summary = readFileSync(join(repo, "summary"));
  const sig = readFileSync(join(repo, "summary.sig"));
  const policy = { gpg: { keyrings: [readFileSync(other.armoredFile)] } };
  const report = await verifySummarySignatures(summary, sig, policy);
  assert.deepEqual(report.gpg, [{ keyId: other.fingerprint, valid: true }]);
  await assert.rejects(
    verifySummarySignatures(Buffer.concat([summary, Buffer.from([0])]), sig, policy),
    /^SignatureError: summary: gpg-verify-summary/,
  );
  await assert.rejects(verifySummarySignatures(summary, null, policy), SignatureError);
  // `summary -u` without signing drops the stale signature, as ostree does.
  ok(tsostree(["summary", `--repo=${repo}`, "-u"]), "summary -u");
  assert.equal(existsSync(join(repo, "summary.sig")), false);
});
