// Shared set-up for the signing tests: a small archive repo with one commit made by the real
// ostree, and throwaway GnuPG keys whose agents are stopped when the test ends.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { gpgTestKey, ostree, run, sh } from "../helpers.js";

/** An archive repo at DIR/repo with one commit on `main`; returns the repo path and commit checksum. */
export function signedRepoFixture(dir: string, name = "repo"): { repo: string; csum: string } {
  const repo = join(dir, name);
  const tree = join(dir, `${name}-tree`);
  mkdirSync(join(tree, "etc"), { recursive: true });
  writeFileSync(join(tree, "etc", "os-release"), "ID=test\n");
  writeFileSync(join(tree, "hello"), "hello world\n");
  sh("ostree", ["init", `--repo=${repo}`, "--mode=archive"]);
  const r = ostree([`--repo=${repo}`, "commit", "-b", "main", "-s", "signed", tree]);
  if (r.status !== 0) throw new Error(`ostree commit failed: ${r.stderr}`);
  return { repo, csum: r.stdout.trim() };
}

export interface GpgKey {
  home: string;
  fingerprint: string;
  /** The public key exported as a binary keyring (what `remote add --gpg-import` takes). */
  keyringFile: string;
  armoredFile: string;
}

/** A throwaway ed25519 signing key in DIR/NAME; its gpg-agent is killed after the test. */
export function gpgKey(t: TestContext, dir: string, name: string): GpgKey {
  mkdirSync(join(dir, name), { recursive: true });
  const env = gpgTestKey(join(dir, name), `${name} <${name}@example.org>`);
  const home = env.GNUPGHOME!;
  t.after(() => run("gpgconf", ["--homedir", home, "--kill", "all"]));
  const colons = sh("gpg", ["--homedir", home, "--with-colons", "--list-secret-keys"]);
  const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(colons)![1]!;
  const keyringFile = join(dir, name, "key.gpg");
  const armoredFile = join(dir, name, "key.asc");
  sh("gpg", ["--homedir", home, "--batch", "--yes", "--output", keyringFile, "--export", fingerprint]);
  sh("gpg", [
    "--homedir",
    home,
    "--batch",
    "--yes",
    "--armor",
    "--output",
    armoredFile,
    "--export",
    fingerprint,
  ]);
  return { home, fingerprint, keyringFile, armoredFile };
}
