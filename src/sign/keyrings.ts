// Where ostree finds the keys that verify a remote's signatures, so a policy can be built from the
// same files (src/libostree/ostree-repo.c find_keyring / _ostree_repo_gpg_prepare_verifier,
// ostree-gpg-verifier.c, ostree-sign-ed25519.c _ed25519_load_pk):
//   GPG: REPO/REMOTE.trustedkeys.gpg (else the same name in the remotes.d dir); each gpgkeypath
//   entry (a file, or a dir of *.gpg); and only when no remote keyring exists, the global
//   $OSTREE_GPG_HOME or /usr/share/ostree/trusted.gpg.d/*.gpg (trustdb.gpg, secring.gpg skipped).
//   ed25519: an inline key, a keys file, or the system files /etc/ostree/trusted.ed25519(.d/*)
//   and /usr/share/ostree/trusted.ed25519(.d/*), less the keys in the matching revoked.ed25519.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { keyFileLines, parsePublicKey } from "./ed25519.js";

export const GLOBAL_GPG_KEYRING_DIR = "/usr/share/ostree/trusted.gpg.d";
export const ED25519_SYSTEM_DIRS = ["/etc/ostree", "/usr/share/ostree"];

function isFile(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** `*.gpg` keyrings of a directory, as `_ostree_gpg_verifier_add_keyring_dir` picks them. */
export function keyringFilesIn(dir: string): string[] {
  if (!isDir(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".gpg") && n !== "trustdb.gpg" && n !== "secring.gpg")
    .sort()
    .map((n) => join(dir, n))
    .filter(isFile);
}

export interface RemoteGpgOptions {
  /** The remote's `gpgkeypath` entries (files or directories). */
  gpgkeypath?: string[];
  /** Where system remotes live (`/etc/ostree/remotes.d` for a sysroot's repo). */
  remotesDir?: string;
  /** The global keyring directory (default: $OSTREE_GPG_HOME or /usr/share/ostree/trusted.gpg.d). */
  globalDir?: string;
}

/** The keyring files ostree would use to verify GPG signatures for `remote` of the repo at `repoPath`. */
export function remoteGpgKeyringFiles(
  repoPath: string,
  remote: string,
  opts: RemoteGpgOptions = {},
): string[] {
  const name = `${remote}.trustedkeys.gpg`;
  const own = [join(repoPath, name), ...(opts.remotesDir ? [join(opts.remotesDir, name)] : [])].find(isFile);
  const files = own ? [own] : [];
  for (const p of opts.gpgkeypath ?? []) files.push(...(isDir(p) ? keyringFilesIn(p) : [p]));
  if (!own)
    files.push(...keyringFilesIn(opts.globalDir ?? process.env.OSTREE_GPG_HOME ?? GLOBAL_GPG_KEYRING_DIR));
  return files;
}

/** Reads keyring files into the byte arrays a SignaturePolicy takes. */
export function readKeyrings(files: string[]): Uint8Array[] {
  return files.map((f) => readFileSync(f));
}

/** Public keys from a keys file (one base64 key per line); lines that are not keys are skipped, as ostree does. */
export function ed25519KeysFromFile(path: string): Buffer[] {
  const out: Buffer[] = [];
  for (const line of keyFileLines(path)) {
    try {
      out.push(parsePublicKey(line));
    } catch {
      // ostree logs and skips a line that is not a key
    }
  }
  return out;
}

function systemKeys(kind: "trusted" | "revoked", baseDirs: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const base of baseDirs) {
    const file = join(base, `${kind}.ed25519`);
    const files = [
      file,
      ...(isDir(`${file}.d`)
        ? readdirSync(`${file}.d`)
            .sort()
            .map((n) => join(`${file}.d`, n))
        : []),
    ];
    for (const f of files.filter(isFile)) out.push(...ed25519KeysFromFile(f));
  }
  return out;
}

/** The system's trusted ed25519 public keys less the revoked ones (ostree's default when no key is given). */
export function systemEd25519Keys(baseDirs: string[] = ED25519_SYSTEM_DIRS): Buffer[] {
  const revoked = systemKeys("revoked", baseDirs);
  return systemKeys("trusted", baseDirs).filter((k) => !revoked.some((r) => r.equals(k)));
}
