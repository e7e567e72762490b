// dnf/yum `.repo` files (INI): one section per repository, with $basearch/$releasever/$arch expanded.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export class RepoFileError extends Error {
  override name = "RepoFileError";
}

export interface RpmRepo {
  id: string;
  name: string;
  baseurls: string[];
  enabled: boolean;
  gpgcheck: boolean;
  repoGpgcheck: boolean;
  gpgkeys: string[];
  /** dnf priority: lower wins (default 99). */
  priority: number;
  origin: string;
}

export interface RepoVars {
  basearch: string;
  arch?: string;
  releasever?: string;
}

function expand(v: string, vars: RepoVars): string {
  return v.replace(/\$\{?(basearch|arch|releasever)\}?/g, (_, k: keyof RepoVars) => vars[k] ?? vars.basearch);
}

const truthy = (v: string | undefined, dflt: boolean) =>
  v === undefined ? dflt : /^(1|yes|true|on)$/i.test(v.trim());

export function parseRepoFile(text: string, origin: string, vars: RepoVars): RpmRepo[] {
  const sections: { id: string; kv: Map<string, string> }[] = [];
  let cur: { id: string; kv: Map<string, string> } | undefined;
  let lastKey: string | undefined;
  text.split("\n").forEach((raw, n) => {
    const line = raw.replace(/\r$/, "");
    if (/^\s*([#;].*)?$/.test(line)) return;
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (sec) {
      cur = { id: sec[1].trim(), kv: new Map() };
      sections.push(cur);
      lastKey = undefined;
      return;
    }
    if (/^\s/.test(line) && cur && lastKey) {
      cur.kv.set(lastKey, `${cur.kv.get(lastKey)} ${line.trim()}`);
      return;
    }
    const kv = /^\s*([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !cur)
      throw new RepoFileError(`${origin}:${n + 1}: expected "key=value" inside a [repo] section`);
    lastKey = kv[1].toLowerCase();
    cur.kv.set(lastKey, kv[2]);
  });
  return sections.map(({ id, kv }) => {
    const list = (k: string) =>
      expand(kv.get(k) ?? "", vars)
        .split(/[\s,]+/)
        .filter(Boolean);
    const baseurls = list("baseurl");
    if (!baseurls.length && (kv.has("metalink") || kv.has("mirrorlist")))
      throw new RepoFileError(
        `${origin} [${id}]: only baseurl is supported (metalink/mirrorlist are not); add a baseurl`,
      );
    return {
      id,
      name: expand(kv.get("name") ?? id, vars),
      baseurls,
      enabled: truthy(kv.get("enabled"), true),
      gpgcheck: truthy(kv.get("gpgcheck"), false),
      repoGpgcheck: truthy(kv.get("repo_gpgcheck"), false),
      gpgkeys: list("gpgkey"),
      priority: Number(kv.get("priority") ?? 99) || 99,
      origin,
    };
  });
}

export function readRepoFile(path: string, vars: RepoVars): RpmRepo[] {
  return parseRepoFile(readFileSync(path, "utf8"), path, vars);
}

/** A tree's enabled repositories (etc/yum.repos.d, etc/dnf/repos.d). */
export function treeRepos(root: string, vars: RepoVars): RpmRepo[] {
  const out: RpmRepo[] = [];
  for (const d of ["etc/yum.repos.d", "etc/dnf/repos.d"]) {
    const dir = join(root, d);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort())
      if (f.endsWith(".repo")) out.push(...readRepoFile(join(dir, f), vars));
  }
  return out;
}

/** $releasever of a tree, from os-release's VERSION_ID. */
export function treeReleasever(root: string): string | undefined {
  for (const p of ["etc/os-release", "usr/lib/os-release"]) {
    const f = join(root, p);
    if (existsSync(f)) return /^VERSION_ID="?([^"\n]*)"?/m.exec(readFileSync(f, "utf8"))?.[1];
  }
  return undefined;
}
