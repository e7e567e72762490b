// A remote's signature policy as ostree derives it from the `[remote "NAME"]` options
// (ostree-repo-pull-verify.c verifiers_from_config / _signapi_load_public_keys, and
// _ostree_repo_gpg_prepare_verifier): gpg-verify (default true) / gpg-verify-summary (default
// false) with the remote's keyrings; sign-verify / sign-verify-summary = true (any engine, keys
// optional: the system's trusted.ed25519 files serve) or a list of engines (keys required), keys
// from verification-ed25519-file and verification-ed25519-key. The pull code passes the options
// it parsed; this only reads key files.
import { parsePublicKey } from "./ed25519.js";
import { SignatureError } from "./errors.js";
import {
  ed25519KeysFromFile,
  type RemoteGpgOptions,
  readKeyrings,
  remoteGpgKeyringFiles,
  systemEd25519Keys,
} from "./keyrings.js";
import type { SignaturePolicy } from "./verify.js";

export type RemoteOptions = Record<string, string | undefined>;

/** GKeyFile's booleans: true/1, false/0; anything else is not a boolean. */
function keyfileBool(v: string | undefined): boolean | undefined {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return undefined;
}

function list(v: string | undefined, seps: RegExp): string[] {
  return (v ?? "")
    .split(seps)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function ed25519Keys(
  remote: string,
  options: RemoteOptions,
  required: boolean,
  systemDirs?: string[],
): Uint8Array[] {
  const file = options["verification-ed25519-file"];
  const inline = options["verification-ed25519-key"];
  if (file === undefined && inline === undefined) {
    if (required)
      throw new SignatureError(
        `remote '${remote}': No keys found for required signapi type ed25519; set verification-ed25519-key or verification-ed25519-file`,
      );
    return systemEd25519Keys(systemDirs);
  }
  const keys: Uint8Array[] = [];
  if (file !== undefined) {
    const fromFile = ed25519KeysFromFile(file);
    if (fromFile.length === 0)
      throw new SignatureError(`remote '${remote}': Failed loading 'ed25519' keys from '${file}'`);
    keys.push(...fromFile);
  }
  if (inline !== undefined) {
    try {
      keys.push(parsePublicKey(inline));
    } catch {
      throw new SignatureError(
        `remote '${remote}': Failed loading 'ed25519' keys from inline \`verification-key\``,
      );
    }
  }
  return keys;
}

export interface PolicyEnvironment extends RemoteGpgOptions {
  /** Base dirs for the system ed25519 key files (default /etc/ostree, /usr/share/ostree). */
  ed25519Dirs?: string[];
}

/** The policy for `remote`'s commits or its summary, from the remote's config options. */
export function remoteSignaturePolicy(
  repoPath: string,
  remote: string,
  options: RemoteOptions,
  target: "commit" | "summary",
  env: PolicyEnvironment = {},
): SignaturePolicy {
  const policy: SignaturePolicy = {};
  const gpgKey = target === "commit" ? "gpg-verify" : "gpg-verify-summary";
  const gpgOn = keyfileBool(options[gpgKey]) ?? target === "commit";
  if (gpgOn) {
    const files = remoteGpgKeyringFiles(repoPath, remote, {
      ...env,
      gpgkeypath: [...(env.gpgkeypath ?? []), ...list(options.gpgkeypath, /[;,]/)],
    });
    policy.gpg = { keyrings: readKeyrings(files) };
  }
  const signKey = target === "commit" ? "sign-verify" : "sign-verify-summary";
  const raw = options[signKey];
  if (raw !== undefined && raw !== "") {
    const truthy = keyfileBool(raw);
    if (truthy === true)
      policy.ed25519 = { publicKeys: ed25519Keys(remote, options, false, env.ed25519Dirs) };
    else if (truthy === undefined) {
      for (const type of list(raw, /;/))
        if (type !== "ed25519")
          throw new SignatureError(
            `remote '${remote}': ${signKey}: Requested signature type is not implemented (${type})`,
          );
      policy.ed25519 = { publicKeys: ed25519Keys(remote, options, true, env.ed25519Dirs) };
    }
  }
  return policy;
}
