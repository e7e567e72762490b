// A transaction's staging directory, allocated as ostree allocates its own: `tmp/staging-<boot
// id>-XXXXXX`, locked through a sibling `<name>-lock`, so an ostree that looks for a staging dir to
// reuse never takes one that is in use.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FileLock } from "../util/lock.js";
import { RepoError } from "./repo.js";

/** ostree's staging dir name: `staging-<boot id>-XXXXXX`, locked via a sibling `<name>-lock`. */
export async function allocateStagingDir(tmp: string): Promise<{ dir: string; lock: FileLock }> {
  mkdirSync(tmp, { recursive: true, mode: 0o775 });
  const prefix = `staging-${bootId()}-`;
  for (let attempt = 0; attempt < 8; attempt++) {
    const dir = mkdtempSync(join(tmp, prefix));
    let lock: FileLock;
    try {
      lock = await FileLock.acquire(`${dir}-lock`, "exclusive", 0);
    } catch {
      // Another ostree grabbed the fresh dir to reuse it before we locked it; make another.
      continue;
    }
    if (existsSync(dir)) return { dir, lock };
    lock.release();
  }
  throw new RepoError(`could not allocate a staging directory in ${tmp}`);
}

let cachedBootId: string | undefined;
function bootId(): string {
  if (cachedBootId === undefined) {
    cachedBootId =
      process.env.OSTREE_BOOTID ?? readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  }
  return cachedBootId;
}
