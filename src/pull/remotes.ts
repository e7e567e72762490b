// Remotes, kept where ostree keeps them: `[remote "NAME"]` groups in REPO/config and, for a
// sysroot's repo, files in SYSROOT/etc/ostree/remotes.d/*.conf (read for /ostree/repo and for a repo
// opened through --sysroot; new remotes go there only for /ostree/repo, unless
// `[core] add-remotes-config-dir=false`).
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Repo } from "../repo/repo.js";
import { RepoError } from "../repo/repo.js";
import { writeFileAtomic } from "../util/atomic.js";
import { KeyFile } from "../util/keyfile.js";

export class RemoteError extends RepoError {
  override name = "RemoteError";
}

/** One remote's settings, as the pull and the (separately wired) signature checks need them. */
export interface Remote {
  name: string;
  url: string;
  contentUrl?: string;
  branches: string[];
  /** ostree's default is true: commits must carry a good GPG signature. */
  gpgVerify: boolean;
  gpgVerifySummary: boolean;
  /** sign-verify=true or a list of signature types (ed25519). */
  signVerify: boolean;
  signVerifySummary: boolean;
  /** Inline base64 ed25519 public key(s) (`verification-ed25519-key`). */
  ed25519Key?: string;
  /** File of base64 ed25519 public keys, one a line (`verification-ed25519-file`). */
  ed25519File?: string;
  /** `gpgkeypath`: extra keyring files or directories. */
  gpgKeyPath?: string;
  tlsPermissive: boolean;
  /** `tls-ca-path`: the certificates to trust instead of the system's (a PEM file). */
  tlsCaPath?: string;
  /** `tls-client-cert-path` and `tls-client-key-path`: the certificate this client shows (PEM files). */
  tlsClientCertPath?: string;
  tlsClientKeyPath?: string;
  collectionId?: string;
  /** Every key of the group, as written. */
  options: Record<string, string>;
  /** The file the group lives in (REPO/config or a remotes.d/*.conf). */
  file: string;
}

const REMOTE_NAME = /^[\w\d][-._\w\d]*$/;

export function validateRemoteName(name: string): void {
  if (!REMOTE_NAME.test(name)) throw new RemoteError(`Invalid remote name ${name}`);
}

const groupName = (name: string) => `remote "${name}"`;
const GROUP_RE = /^remote "(.+)"$/;

/**
 * SYSROOT/etc/ostree/remotes.d for a sysroot's repo, else null (ostree's get_remotes_d_dir): the
 * repo of an explicitly named sysroot, or /ostree/repo itself (the booted system's).
 */
export function remotesConfigDir(repo: Repo, sysroot?: string): string | null {
  if (sysroot !== undefined) return join(sysroot, "etc", "ostree", "remotes.d");
  return repo.path === "/ostree/repo" ? "/etc/ostree/remotes.d" : null;
}

function boolOf(kf: KeyFile, group: string, key: string, dflt: boolean): boolean {
  const v = kf.get(group, key);
  if (v === undefined) return dflt;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0" || v === "") return false;
  // sign-verify may list signature types instead of a boolean.
  if (key.startsWith("sign-verify")) return true;
  throw new RemoteError(`remote ${group}: ${key}=${v} is not a boolean`);
}

function remoteFrom(kf: KeyFile, group: string, name: string, file: string): Remote {
  const url = kf.get(group, "url");
  if (!url) throw new RemoteError(`remote "${name}" in ${file} has no url`);
  const options: Record<string, string> = {};
  for (const k of kf.keys(group)) options[k] = kf.get(group, k) ?? "";
  return {
    name,
    url,
    contentUrl: kf.get(group, "contenturl"),
    branches: kf.getList(group, "branches") ?? [],
    gpgVerify: boolOf(kf, group, "gpg-verify", true),
    gpgVerifySummary: boolOf(kf, group, "gpg-verify-summary", false),
    signVerify: boolOf(kf, group, "sign-verify", false),
    signVerifySummary: boolOf(kf, group, "sign-verify-summary", false),
    ed25519Key: kf.get(group, "verification-ed25519-key"),
    ed25519File: kf.get(group, "verification-ed25519-file"),
    gpgKeyPath: kf.get(group, "gpgkeypath"),
    tlsPermissive: boolOf(kf, group, "tls-permissive", false),
    tlsCaPath: kf.get(group, "tls-ca-path"),
    tlsClientCertPath: kf.get(group, "tls-client-cert-path"),
    tlsClientKeyPath: kf.get(group, "tls-client-key-path"),
    collectionId: kf.get(group, "collection-id"),
    options,
    file,
  };
}

function remotesIn(kf: KeyFile, file: string): Remote[] {
  const out: Remote[] = [];
  for (const g of kf.groupNames()) {
    const m = GROUP_RE.exec(g);
    if (m) out.push(remoteFrom(kf, g, m[1]!, file));
  }
  return out;
}

/** Every configured remote: the repo's config first, then remotes.d (a name defined twice is an error, as in ostree). */
export function listRemotes(repo: Repo, sysroot?: string): Remote[] {
  const all = remotesIn(repo.config, join(repo.path, "config"));
  const dir = remotesConfigDir(repo, sysroot);
  if (dir && existsSync(dir))
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith(".conf"))
      .sort()) {
      const file = join(dir, f);
      for (const r of remotesIn(KeyFile.parse(readFileSync(file, "utf8")), file)) {
        const twin = all.find((x) => x.name === r.name);
        if (twin)
          throw new RemoteError(
            `Multiple specifications found for remote "${r.name}" (${twin.file}, ${file})`,
          );
        all.push(r);
      }
    }
  return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function findRemote(repo: Repo, name: string, sysroot?: string): Remote | undefined {
  return listRemotes(repo, sysroot).find((r) => r.name === name);
}

export function getRemote(repo: Repo, name: string, sysroot?: string): Remote {
  const r = findRemote(repo, name, sysroot);
  if (!r) throw new RemoteError(`Remote "${name}" not found; add it with \`remote add ${name} URL\``);
  return r;
}

export interface AddRemoteOptions {
  branches?: string[];
  /** --set=KEY=VALUE, in order. */
  set?: [string, string][];
  noGpgVerify?: boolean;
  /** --sign-verify=TYPE=inline:KEY|file:PATH, in order (parsed by signVerifyOption). */
  signVerify?: [string, string][];
  ifNotExists?: boolean;
  /** The repo is this sysroot's: the remote goes to its remotes.d (see remotesConfigDir). */
  sysroot?: string;
}

/**
 * `--sign-verify=TYPE=inline:KEY` or `TYPE=file:PATH` (ostree's remote add) → the remote option
 * `verification-TYPE-key` or `verification-TYPE-file`. ed25519 is the one type there is.
 */
export function signVerifyOption(spec: string): [string, string] {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new RemoteError(`Failed to parse KEYTYPE=[inline|file]:DATA in ${spec}`);
  const type = spec.slice(0, eq);
  if (type !== "ed25519")
    throw new RemoteError(
      `Requested signature type '${type}' is not implemented; use ed25519=inline:KEY or ed25519=file:PATH`,
    );
  const rest = spec.slice(eq + 1);
  const colon = rest.indexOf(":");
  const ref = colon < 0 ? rest : rest.slice(0, colon);
  if (ref !== "inline" && ref !== "file")
    throw new RemoteError(`Invalid key reference ${ref} in ${spec}, expected inline|file`);
  if (colon < 0 || colon === rest.length - 1) throw new RemoteError(`No key data after ${ref}: in ${spec}`);
  return [`verification-${type}-${ref === "inline" ? "key" : "file"}`, rest.slice(colon + 1)];
}

/** Adds a remote as `ostree remote add` does (same keys, same order); false when it existed and ifNotExists. */
export function addRemote(repo: Repo, name: string, url: string, opts: AddRemoteOptions = {}): boolean {
  validateRemoteName(name);
  const existing = findRemote(repo, name, opts.sysroot);
  if (existing) {
    if (opts.ifNotExists) return false;
    const where = existing.file === join(repo.path, "config") ? "(in config)" : existing.file;
    throw new RemoteError(`Remote configuration for "${name}" already exists: ${where}`);
  }
  if (!/^(https?|file):\/\//.test(url.replace(/^mirrorlist=/, "")))
    throw new RemoteError(`Invalid URL '${url}': use http://, https:// or file://`);
  // ostree 2022.7 writes to remotes.d only for the running system's repo; a repo opened through
  // another sysroot gets the group in its config (checked against `ostree remote add --sysroot`).
  const dir = repo.path === "/ostree/repo" ? remotesConfigDir(repo) : null;
  const useDir = dir !== null && repo.config.getBool("core", "add-remotes-config-dir", true);
  const kf = useDir ? new KeyFile() : repo.config;
  const g = groupName(name);
  kf.set(g, "url", url);
  if (opts.branches?.length) kf.setList(g, "branches", opts.branches);
  for (const [k, v] of opts.set ?? []) kf.set(g, k, v);
  if (opts.noGpgVerify) kf.set(g, "gpg-verify", "false");
  for (const [k, v] of opts.signVerify ?? []) kf.set(g, k, v);
  if (opts.signVerify?.length) kf.set(g, "sign-verify", "true");
  if (useDir) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileAtomic(join(dir, `${name}.conf`), kf.toString(), { fsync: repo.fsyncEnabled });
  } else repo.saveConfig();
  return true;
}

/** Deletes a remote from wherever it is defined (a remotes.d file is removed); false when absent and ifExists. */
export function deleteRemote(
  repo: Repo,
  name: string,
  opts: { ifExists?: boolean; sysroot?: string } = {},
): boolean {
  validateRemoteName(name);
  const r = findRemote(repo, name, opts.sysroot);
  if (!r) {
    if (opts.ifExists) return false;
    throw new RemoteError(`Remote "${name}" not found`);
  }
  if (r.file === join(repo.path, "config")) {
    repo.config.remove(groupName(name));
    repo.saveConfig();
  } else {
    const kf = KeyFile.parse(readFileSync(r.file, "utf8"));
    kf.remove(groupName(name));
    if (kf.groupNames().length === 0) unlinkSync(r.file);
    else writeFileAtomic(r.file, kf.toString(), { fsync: repo.fsyncEnabled });
  }
  return true;
}

/** REPO/NAME.trustedkeys.gpg, the keyring `remote gpg-import` writes. */
export function remoteKeyringPath(repo: Repo, name: string): string {
  return join(repo.path, `${name}.trustedkeys.gpg`);
}
