// `remote` against the real ostree: the config each writes is read by the other, a sysroot's repo
// keeps remotes in SYSROOT/etc/ostree/remotes.d, and gpg-import writes the keyring ostree reads.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gpgTestKey, haveTools, ostree, scratch, sh, tsostree } from "../helpers.js";
import { ok } from "./fixture.js";

function ts(args: string[]): string {
  const r = tsostree(args);
  assert.equal(r.status, 0, `tsostree ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

test("remotes we add are ostree's, and ostree's are ours", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  ok(["init", `--repo=${repo}`, "--mode=archive"]);
  ts([
    `--repo=${repo}`,
    "remote",
    "add",
    "--no-gpg-verify",
    "--set=tls-permissive=true",
    "ours",
    "http://example.invalid/repo",
    "main",
    "other",
  ]);
  ok([
    `--repo=${repo}`,
    "remote",
    "add",
    "--no-gpg-verify",
    "--set=tls-permissive=true",
    "theirs",
    "http://example.invalid/repo",
    "main",
    "other",
  ]);
  // Same keys, same order: the two groups read alike.
  const config = readFileSync(join(repo, "config"), "utf8");
  const group = (n: string) => config.split(`[remote "${n}"]`)[1]!.split("\n[")[0]!.trim();
  assert.equal(group("ours"), group("theirs"));
  ts([`--repo=${repo}`, "remote", "add", "signed", "https://example.invalid/x"]);
  for (const args of [
    ["remote", "list"],
    ["remote", "list", "-u"],
    ["remote", "show-url", "theirs"],
  ])
    assert.equal(ts([`--repo=${repo}`, ...args]), ok([`--repo=${repo}`, ...args]));
  assert.equal(ok([`--repo=${repo}`, "config", "get", 'remote "ours".branches']).trim(), "main;other;");

  // Errors and their opt-outs, as ostree.
  const dup = tsostree([`--repo=${repo}`, "remote", "add", "ours", "http://x"]);
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /already exists/);
  ts([`--repo=${repo}`, "remote", "add", "--if-not-exists", "ours", "http://x"]);
  assert.equal(tsostree([`--repo=${repo}`, "remote", "delete", "nope"]).status, 1);
  ts([`--repo=${repo}`, "remote", "delete", "--if-exists", "nope"]);
  ts([`--repo=${repo}`, "remote", "delete", "theirs"]);
  ok([`--repo=${repo}`, "remote", "delete", "ours"]);
  assert.equal(ok([`--repo=${repo}`, "remote", "list"]), "signed\n");
});

test("a sysroot's remotes.d is read with --sysroot; add writes where ostree does", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const sysroot = join(dir, "sysroot");
  sh("mkdir", ["-p", sysroot]);
  ok(["admin", "init-fs", sysroot]);
  const s = `--sysroot=${sysroot}`;
  const repo = join(sysroot, "ostree", "repo");
  // ostree 2022.7 puts a remote added through --sysroot into the repo's config; so do we.
  ts(["remote", "add", s, "--no-gpg-verify", "os", "http://example.invalid/os"]);
  ok(["remote", "add", s, "--no-gpg-verify", "theirs", "http://example.invalid/os"]);
  assert.equal(ok([`--repo=${repo}`, "remote", "list"]), "os\ntheirs\n");
  const remotesD = join(sysroot, "etc", "ostree", "remotes.d");
  sh("mkdir", ["-p", remotesD]);
  writeFileSync(join(remotesD, "vendor.conf"), '[remote "vendor"]\nurl=http://example.invalid/v\n');
  assert.equal(
    ts(["remote", "list", "-u", s]),
    "os      http://example.invalid/os\ntheirs  http://example.invalid/os\nvendor  http://example.invalid/v\n",
  );
  ts(["remote", "delete", s, "vendor"]);
  assert.equal(existsSync(join(remotesD, "vendor.conf")), false);
  ts(["remote", "delete", s, "theirs"]);
  assert.equal(ok([`--repo=${repo}`, "remote", "list"]), "os\n");
  // Without the sysroot, its repo is an ordinary repo: remotes.d is not consulted.
  writeFileSync(join(remotesD, "vendor.conf"), '[remote "vendor"]\nurl=http://example.invalid/v\n');
  assert.equal(ts([`--repo=${repo}`, "remote", "list"]), "os\n");
});

test("gpg-import writes REPO/NAME.trustedkeys.gpg with the file's keys", (t) => {
  if (!haveTools(t, "ostree", "gpg")) return;
  const dir = scratch(t);
  const env = gpgTestKey(dir, "Pull Test <pull@example.invalid>");
  const armored = join(dir, "key.asc");
  writeFileSync(armored, sh("gpg", ["--armor", "--export"], { env }));
  const binary = join(dir, "key.gpg");
  sh("gpg", ["--output", binary, "--export"], { env });
  const repo = join(dir, "repo");
  ts(["init", `--repo=${repo}`, "--mode=archive"]);
  ts([`--repo=${repo}`, "remote", "add", "--gpg-import", armored, "os", "http://example.invalid/os"]);
  assert.match(ts([`--repo=${repo}`, "remote", "gpg-import", "os", "-k", binary]), /Imported 0 GPG keys/);
  const keyring = join(repo, "os.trustedkeys.gpg");
  const listed = sh("gpg", ["--no-default-keyring", "--keyring", keyring, "--list-keys", "--with-colons"], {
    env: { ...process.env, GNUPGHOME: dir },
  });
  assert.match(listed, /pull@example\.invalid/);
  // ostree reads the keyring: signing a commit and verifying it against the remote's keys works.
  const tree = join(dir, "tree");
  sh("mkdir", ["-p", tree]);
  writeFileSync(join(tree, "f"), "x");
  const commit = ok([`--repo=${repo}`, "commit", "-b", "main", `--tree=dir=${tree}`]).trim();
  const keyId = /^fpr:+([0-9A-F]+):/m.exec(listed)![1]!;
  ok([`--repo=${repo}`, "gpg-sign", `--gpg-homedir=${env.GNUPGHOME}`, commit, keyId]);
  const verify = ostree([`--repo=${repo}`, "show", "--gpg-verify-remote=os", commit]);
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stdout, /Good signature/);
});

test("remote add --sign-verify: ed25519 inline or file keys; other forms refused, nothing written", (t) => {
  const dir = scratch(t);
  const repo = join(dir, "repo");
  ts(["init", `--repo=${repo}`, "--mode=archive"]);
  const key = Buffer.alloc(32, 7).toString("base64");
  ts([
    `--repo=${repo}`,
    "remote",
    "add",
    `--sign-verify=ed25519=inline:${key}`,
    "a",
    "http://example.invalid/a",
  ]);
  const config = readFileSync(join(repo, "config"), "utf8");
  assert.match(
    config,
    new RegExp(
      `\\[remote "a"\\]\\nurl=http://example.invalid/a\\nverification-ed25519-key=${key.replace(/[+/]/g, "\\$&")}\\nsign-verify=true\\n`,
    ),
  );
  for (const [spec, why] of [
    ["spki=inline:abc", /signature type 'spki' is not implemented/],
    ["ed25519=url:abc", /Invalid key reference url/],
    ["ed25519", /Failed to parse KEYTYPE=\[inline\|file\]:DATA/],
    ["ed25519=file:", /No key data after file:/],
  ] as const) {
    const r = tsostree([
      `--repo=${repo}`,
      "remote",
      "add",
      `--sign-verify=${spec}`,
      "b",
      "http://example.invalid/b",
    ]);
    assert.notEqual(r.status, 0, spec);
    assert.match(r.stderr, why);
  }
  assert.doesNotMatch(readFileSync(join(repo, "config"), "utf8"), /remote "b"/);
});
