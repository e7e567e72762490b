// Refs: local heads under refs/heads, remote-tracking refs under refs/remotes/REMOTE, and
// revision parsing (`REF`, `REMOTE:REF`, a full or unique abbreviated checksum, `REV^`).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { isChecksum } from "./objects.js";
import { type Repo, RepoError } from "./repo.js";

const FRAGMENT = "[\\w\\d][-._\\w\\d]*";
const REF_RE = new RegExp(`^(${FRAGMENT}/)*${FRAGMENT}$`);
const REMOTE_RE = new RegExp(`^${FRAGMENT}$`);

export class RefError extends RepoError {
  override name = "RefError";
}

export function validateRef(ref: string): void {
  if (!REF_RE.test(ref)) throw new RefError(`invalid ref name '${ref}'`);
}

/** Splits `REMOTE:REF` into its parts (remote null for a local ref). */
export function parseRefspec(spec: string): { remote: string | null; ref: string } {
  const i = spec.indexOf(":");
  if (i < 0) {
    validateRef(spec);
    return { remote: null, ref: spec };
  }
  const remote = spec.slice(0, i);
  const ref = spec.slice(i + 1);
  if (!REMOTE_RE.test(remote)) throw new RefError(`invalid remote name '${remote}'`);
  validateRef(ref);
  return { remote, ref };
}

function refFile(repo: Repo, spec: string): string {
  const { remote, ref } = parseRefspec(spec);
  return remote ? join(repo.path, "refs/remotes", remote, ref) : join(repo.path, "refs/heads", ref);
}

/** The commit a ref points at, or null when the ref does not exist. */
export function readRef(repo: Repo, spec: string): string | null {
  const file = refFile(repo, spec);
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR") {
      // Local refs may also be mirrors (refs/mirrors/COLLECTION/REF) — not looked up here.
      return null;
    }
    throw e;
  }
  if (!isChecksum(text))
    throw new RefError(`ref ${spec} is corrupt: '${text.slice(0, 80)}' is not a checksum`);
  return text;
}

/**
 * Points a ref at `csum` (atomically: temporary file + rename). `sync: false` leaves durability to
 * the caller, who writes several refs and then syncs the file system once.
 */
export function writeRef(repo: Repo, spec: string, csum: string, opts: { sync?: boolean } = {}): void {
  if (!isChecksum(csum)) throw new RefError(`'${csum}' is not a checksum`);
  const file = refFile(repo, spec);
  mkdirSync(dirname(file), { recursive: true, mode: 0o775 });
  writeFileAtomic(file, `${csum}\n`, { fsync: repo.fsyncEnabled && opts.sync !== false });
}

/** Deletes a ref and the directories it leaves empty; false when it did not exist. */
export function deleteRef(repo: Repo, spec: string): boolean {
  const file = refFile(repo, spec);
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
  const { remote } = parseRefspec(spec);
  const top = remote ? join(repo.path, "refs/remotes", remote) : join(repo.path, "refs/heads");
  for (let d = dirname(file); d.startsWith(top) && d !== top; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      break;
    }
  }
  return true;
}

/** All refs as [refspec, checksum], sorted; remote refs are spelled `REMOTE:REF`. */
export function listRefs(repo: Repo, opts: { remotes?: boolean } = {}): [string, string][] {
  const out: [string, string][] = [];
  const walk = (dir: string, prefix: string, spec: (name: string) => string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      if (statSync(p).isDirectory()) walk(p, rel, spec);
      else {
        const s = spec(rel);
        const c = readRef(repo, s);
        if (c) out.push([s, c]);
      }
    }
  };
  walk(join(repo.path, "refs/heads"), "", (r) => r);
  if (opts.remotes !== false) {
    const remotes = join(repo.path, "refs/remotes");
    if (existsSync(remotes))
      for (const remote of readdirSync(remotes)) walk(join(remotes, remote), "", (r) => `${remote}:${r}`);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Resolves a revision to a commit checksum: a ref, `REMOTE:REF`, a full checksum, or a unique
 * abbreviated checksum of a commit in the repo; each trailing `^` steps to the parent.
 */
export function resolveRev(repo: Repo, rev: string, allowMissing = false): string | null {
  let base = rev;
  let ups = 0;
  while (base.endsWith("^")) {
    base = base.slice(0, -1);
    ups++;
  }
  let csum: string | null = null;
  if (isChecksum(base)) csum = base;
  else {
    try {
      csum = readRef(repo, base);
    } catch (e) {
      if (!(e instanceof RefError) || !/^[0-9a-f]{4,63}$/.test(base)) throw e;
    }
    if (!csum && /^[0-9a-f]{4,63}$/.test(base)) csum = findAbbreviated(repo, base);
  }
  if (!csum) {
    if (allowMissing) return null;
    throw new RefError(`refspec '${rev}' not found`);
  }
  for (let i = 0; i < ups; i++) {
    const parent: string | null = repo.loadCommit(csum as string).parent;
    if (!parent) throw new RefError(`commit ${csum} has no parent (from '${rev}')`);
    csum = parent;
  }
  return csum;
}

function findAbbreviated(repo: Repo, prefix: string): string | null {
  const dir = join(repo.path, "objects", prefix.slice(0, 2));
  if (!existsSync(dir)) return null;
  const matches = readdirSync(dir)
    .filter((n) => n.endsWith(".commit") && n.startsWith(prefix.slice(2)))
    .map((n) => prefix.slice(0, 2) + n.slice(0, -".commit".length));
  if (matches.length > 1) throw new RefError(`abbreviated checksum '${prefix}' is ambiguous`);
  return matches[0] ?? null;
}
