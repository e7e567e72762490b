// ed25519 signatures as ostree makes them with libsodium. Debian's ostree 2022.7 is built without
// libsodium ("Requested signature type is not implemented"), so libsodium itself is the oracle:
// keys made the way ostree's own test suite makes them (openssl genpkey; secret = seed || public),
// signatures byte-identical to crypto_sign_detached (ed25519 is deterministic) and accepted by
// crypto_sign_verify_detached; ostree still reads the detached metadata and fscks the repo.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Repo } from "../../src/repo/repo.js";
import {
  ED25519_KEY,
  parseDetached,
  serializeDetached,
  signaturesOf,
  withSignatures,
} from "../../src/sign/detached.js";
import { generateKeyPair, parseSecretKey, signEd25519 } from "../../src/sign/ed25519.js";
import { SignatureError, SigningError } from "../../src/sign/errors.js";
import { verifyCommitSignatures, verifySummarySignatures } from "../../src/sign/verify.js";
import { haveTools, ostree, scratch, sh, tsostree } from "../helpers.js";
import { signedRepoFixture } from "./fixture.js";
import { haveSodium, sodium } from "./sodium.js";

/** ostree's tests/libtest.sh gen_ed25519_keys, with openssl. */
function opensslKeys(dir: string, name: string): { pub: string; sec: string } {
  const pem = join(dir, `${name}.pem`);
  sh("openssl", ["genpkey", "-algorithm", "ed25519", "-outform", "PEM", "-out", pem]);
  const pub = Buffer.from(
    sh("sh", ["-c", `openssl pkey -outform DER -pubout -in '${pem}' | tail -c 32 | base64`]).trim(),
    "base64",
  );
  const seed = Buffer.from(
    sh("sh", ["-c", `openssl pkey -outform DER -in '${pem}' | tail -c 32 | base64`]).trim(),
    "base64",
  );
  return { pub: pub.toString("base64"), sec: Buffer.concat([seed, pub]).toString("base64") };
}

function ok(r: { status: number; stderr: string; stdout: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test("sign with an openssl-made key: the signature is libsodium's, byte for byte, and libsodium verifies it", async (t) => {
  if (!haveTools(t, "ostree", "openssl") || !haveSodium(t)) return;
  const dir = scratch(t);
  const { repo, csum } = signedRepoFixture(dir);
  const k = opensslKeys(dir, "a");
  // libsodium derives the same key pair from the seed.
  const seedFile = join(dir, "seed");
  writeFileSync(seedFile, Buffer.from(k.sec, "base64").subarray(0, 32));
  assert.equal(sodium("keypair", seedFile), `${k.pub} ${k.sec}`);

  ok(tsostree(["sign", `--repo=${repo}`, "main", k.sec]), "sign");
  const r = Repo.open(repo);
  const commitFile = r.objectPath(csum, "commit");
  const meta = readFileSync(r.objectPath(csum, "commitmeta"));
  const [sig] = signaturesOf(parseDetached(meta, csum), ED25519_KEY);
  assert.equal(sig!.toString("base64"), sodium("sign", commitFile, k.sec));
  assert.equal(sodium("verify", commitFile, sig!.toString("base64"), k.pub), "ok");
  // ostree reads the detached metadata we wrote, and the repo is clean.
  const shown = ok(
    ostree([`--repo=${repo}`, "show", "--print-detached-metadata-key=ostree.sign.ed25519", csum]),
    "show",
  );
  assert.deepEqual(printedBytes(shown.trim()), sig);
  assert.match(ok(ostree([`--repo=${repo}`, "fsck"]), "fsck"), /no errors found/);

  // Signing again with the same key adds nothing (the signature is deterministic).
  ok(tsostree(["sign", `--repo=${repo}`, "main", k.sec]), "sign again");
  assert.deepEqual(readFileSync(r.objectPath(csum, "commitmeta")), meta);

  // A signature libsodium made is verified by us.
  const theirs = Buffer.from(sodium("sign", commitFile, k.sec), "base64");
  const report = await verifyCommitSignatures(
    readFileSync(commitFile),
    serializeDetached(withSignatures([], ED25519_KEY, [theirs])),
    {
      ed25519: {
        publicKeys: [Buffer.from(opensslKeys(dir, "x").pub, "base64"), Buffer.from(k.pub, "base64")],
      },
    },
    csum,
  );
  assert.deepEqual(report.ed25519, [{ valid: true, keyIndex: 1 }]);
});

test("sign --verify, --keys-file, --delete; ostree's messages", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const { repo } = signedRepoFixture(dir);
  const a = generateKeyPair();
  const b = generateKeyPair();
  const secrets = join(dir, "secret.keys");
  writeFileSync(secrets, `${a.secretKey}\n${b.secretKey}\n`);
  ok(tsostree(["sign", `--repo=${repo}`, "--keys-file", secrets, "main"]), "sign --keys-file");
  const pubs = join(dir, "trusted.ed25519");
  writeFileSync(pubs, `${b.publicKey}\n`);
  const hexB = Buffer.from(b.publicKey, "base64").toString("hex");
  assert.equal(
    ok(tsostree(["sign", `--repo=${repo}`, "--verify", "--keys-file", pubs, "main"]), "verify file"),
    `ed25519: Signature verified successfully with key '${hexB}'\n`,
  );
  ok(tsostree(["sign", `--repo=${repo}`, "--verify", "main", a.publicKey]), "verify key");
  // --keys-dir: ostree's basedir with trusted.ed25519 (and trusted.ed25519.d/).
  ok(tsostree(["sign", `--repo=${repo}`, "--verify", `--keys-dir=${dir}`, "main"]), "verify keys-dir");

  const other = generateKeyPair();
  const bad = tsostree(["sign", `--repo=${repo}`, "--verify", "main", other.publicKey]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, "error: No valid signatures found\n");
  writeFileSync(pubs, `${other.publicKey}\n`);
  const badFile = tsostree(["sign", `--repo=${repo}`, "--verify", "--keys-file", pubs, "main"]);
  assert.match(
    badFile.stderr,
    /^error: ed25519: Signature couldn't be verified with: key '[0-9a-f]{64}'; key '[0-9a-f]{64}'\n$/,
  );

  assert.equal(
    ok(tsostree(["sign", `--repo=${repo}`, "--delete", "main", a.secretKey]), "delete"),
    "Signatures deleted: 1\n",
  );
  assert.equal(tsostree(["sign", `--repo=${repo}`, "--verify", "main", a.publicKey]).status, 1);
  ok(tsostree(["sign", `--repo=${repo}`, "--verify", "main", b.publicKey]), "b still there");

  const usage = tsostree(["sign", `--repo=${repo}`, "main"]);
  assert.equal(usage.stderr, "error: Need at least one KEY-ID to sign with\n");
  const type = tsostree(["sign", `--repo=${repo}`, "--sign-type=dummy", "main", a.secretKey]);
  assert.equal(type.stderr, "error: Requested signature type is not implemented\n");
  // ostree 2022.7 says the same: its build has no ed25519 engine.
  assert.match(
    ostree([`--repo=${repo}`, "sign", "main", a.secretKey]).stderr,
    /Requested signature type is not implemented/,
  );
  const short = tsostree(["sign", `--repo=${repo}`, "main", a.publicKey]);
  assert.match(short.stderr, /^error: Incorrect ed25519 secret key: it decodes to 32 bytes, expected 64/);
  assert.match(ok(ostree([`--repo=${repo}`, "fsck"]), "fsck"), /no errors found/);
});

test("ed25519 policy: tampered commit, wrong key, truncated signature, bad secret key are refused", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const { repo, csum } = signedRepoFixture(dir);
  const k = generateKeyPair();
  const commit = Repo.open(repo).readMetadataBytes(csum, "commit");
  const sig = signEd25519(commit, parseSecretKey(k.secretKey));
  const meta = serializeDetached(withSignatures([], ED25519_KEY, [sig]));
  const policy = { ed25519: { publicKeys: [Buffer.from(k.publicKey, "base64")] } };
  assert.deepEqual((await verifyCommitSignatures(commit, meta, policy, csum)).ed25519, [
    { valid: true, keyIndex: 0 },
  ]);

  const tampered = Buffer.from(commit);
  tampered[10]! ^= 0x80;
  const wrong = { ed25519: { publicKeys: [Buffer.from(generateKeyPair().publicKey, "base64")] } };
  const truncated = serializeDetached(withSignatures([], ED25519_KEY, [sig.subarray(0, 63)]));
  for (const [bytes, m, p] of [
    [tampered, meta, policy],
    [commit, meta, wrong],
    [commit, truncated, policy],
    [commit, null, policy],
    [commit, Buffer.from("garbage!"), policy],
  ] as const)
    await assert.rejects(verifyCommitSignatures(bytes, m, p, `commit ${csum}`), (e: Error) => {
      assert.ok(e instanceof SignatureError, e.message);
      assert.match(e.message, new RegExp(`^commit ${csum}: `));
      return true;
    });
  await assert.rejects(verifyCommitSignatures(commit, truncated, policy, "c"), /1 of them not 64 bytes long/);
  await assert.rejects(
    verifyCommitSignatures(commit, meta, { ed25519: { publicKeys: [] } }, "c"),
    /no ed25519 public key/,
  );

  // A secret key whose second half is not its seed's public key would sign garbage: refused.
  const mixed = Buffer.concat([
    parseSecretKey(k.secretKey).subarray(0, 32),
    Buffer.from(generateKeyPair().publicKey, "base64"),
  ]);
  assert.throws(() => signEd25519(commit, mixed), SigningError);
});

test("summary -u --sign: summary.sig carries an ed25519 signature libsodium verifies", async (t) => {
  if (!haveTools(t, "ostree") || !haveSodium(t)) return;
  const dir = scratch(t);
  const { repo } = signedRepoFixture(dir);
  const k = generateKeyPair();
  ok(
    tsostree(["summary", `--repo=${repo}`, "-u", `--sign=${k.secretKey}`, "--sign-type=ed25519"]),
    "summary -u --sign",
  );
  const summary = readFileSync(join(repo, "summary"));
  const sigFile = readFileSync(join(repo, "summary.sig"));
  const [sig] = signaturesOf(parseDetached(sigFile, "summary.sig"), ED25519_KEY);
  assert.equal(sodium("verify", join(repo, "summary"), sig!.toString("base64"), k.publicKey), "ok");
  const policy = { ed25519: { publicKeys: [Buffer.from(k.publicKey, "base64")] } };
  assert.deepEqual((await verifySummarySignatures(summary, sigFile, policy)).ed25519, [
    { valid: true, keyIndex: 0 },
  ]);
  // ostree reads the summary we signed.
  assert.match(ok(ostree([`--repo=${repo}`, "summary", "--view"]), "view"), /\* main/);
  // A summary regenerated later no longer matches the old signature.
  const later = Buffer.from(summary);
  later[later.length - 1]! ^= 1;
  await assert.rejects(
    verifySummarySignatures(later, sigFile, policy),
    /sign-verify-summary \(ed25519\) requires/,
  );
});

/**
 * The bytes of GLib's printed `[ay]`: `[[byte 0x33, …]]`, or `[b'…']` when the array ends with its
 * only NUL byte (GLib prints it as a C string then: octal and letter escapes, the NUL left out).
 */
function printedBytes(text: string): Buffer {
  const list = /^\[\[byte (.*)\]\]$/.exec(text);
  if (list) return Buffer.from(list[1]!.split(", ").map((h) => Number.parseInt(h, 16)));
  const str = /^\[b'(.*)'\]$/s.exec(text);
  assert.ok(str, `unexpected output: ${text}`);
  const letters: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
  const out: number[] = [];
  const s = str[1]!;
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "\\") {
      out.push(s.charCodeAt(i));
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(s.slice(i + 1));
    if (octal) {
      out.push(Number.parseInt(octal[0], 8));
      i += octal[0].length;
    } else {
      const c = s[++i]!;
      out.push(letters[c] ?? c.charCodeAt(0));
    }
  }
  return Buffer.from([...out, 0]);
}
