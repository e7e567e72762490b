// A remote's trusted keys, REPO/NAME.trustedkeys.gpg, as `ostree remote gpg-import` keeps them: a
// binary OpenPGP keyring (public key packets, as `gpg --export` writes). Keys are merged by
// fingerprint, so importing a key twice keeps one copy.
import { existsSync, readFileSync } from "node:fs";
import type { Repo } from "../repo/repo.js";
import { writeFileAtomic } from "../util/atomic.js";
import { parseKeys } from "../util/pgp-keys.js";
import { remoteKeyringPath } from "./remotes.js";

/** Adds the keys in `data` (binary or armored) to the remote's keyring; returns how many were new. */
export async function importRemoteKeys(
  repo: Repo,
  remote: string,
  data: Buffer,
  what: string,
): Promise<number> {
  const incoming = await parseKeys(data, what);
  const path = remoteKeyringPath(repo, remote);
  const existing = existsSync(path) ? await parseKeys(readFileSync(path), path) : [];
  const known = new Set(existing.map((k) => k.getFingerprint()));
  const added = incoming.filter((k) => {
    const fp = k.getFingerprint();
    if (known.has(fp)) return false;
    known.add(fp);
    return true;
  });
  if (added.length === 0) return 0;
  const all = [...existing, ...added];
  writeFileAtomic(path, Buffer.concat(all.map((k) => Buffer.from(k.write()))), { fsync: repo.fsyncEnabled });
  return added.length;
}
