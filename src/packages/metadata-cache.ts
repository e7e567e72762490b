// The per-repository metadata cache (under the sysroot's /var/cache/tsostree/md, or the user's cache
// when resolving without a sysroot). A repository's files are replaced only after the new set has
// been fully verified, each file atomically and the manifest last, so a refused refresh leaves the
// previous cache untouched.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import type { Validators } from "./fetch.js";

export interface CacheManifest extends Validators {
  url: string;
  fetchedAt: string;
  /** Cached file name → SHA256 of its content when written. */
  files: Record<string, string>;
  /** Backend-specific facts worth keeping (e.g. apt pin of the suite). */
  extra?: Record<string, unknown>;
}

export function defaultCacheDir(root?: string): string {
  if (root) return join(root, "var/cache/tsostree/md");
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tsostree/md");
}

export class MetadataCache {
  constructor(readonly dir: string) {}

  private repoDir(id: string): string {
    return join(this.dir, id.replace(/^[a-z+]+:\/\//, "").replace(/[^A-Za-z0-9._-]+/g, "_"));
  }

  manifest(id: string): CacheManifest | undefined {
    const p = join(this.repoDir(id), "manifest.json");
    if (!existsSync(p)) return undefined;
    try {
      return JSON.parse(readFileSync(p, "utf8")) as CacheManifest;
    } catch {
      return undefined;
    }
  }

  read(id: string, name: string): Buffer | undefined {
    const p = join(this.repoDir(id), name);
    return existsSync(p) ? readFileSync(p) : undefined;
  }

  /** Stores verified files, then the manifest that makes them current. */
  commit(id: string, files: Map<string, Buffer>, manifest: Omit<CacheManifest, "files">): void {
    const dir = this.repoDir(id);
    mkdirSync(dir, { recursive: true });
    const sums: Record<string, string> = {};
    for (const [name, data] of files) {
      writeFileAtomic(join(dir, name), data, { fsync: false });
      sums[name] = createHash("sha256").update(data).digest("hex");
    }
    writeFileAtomic(join(dir, "manifest.json"), `${JSON.stringify({ ...manifest, files: sums }, null, 2)}\n`);
  }
}
