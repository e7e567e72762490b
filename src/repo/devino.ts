// ostree's "devino cache" for --link-checkout-speedup: the (device, inode) of every loose content
// object in a bare repo, so that committing a hardlink checkout can take each file's checksum from
// the object it is a link of, without reading it. Built with one readdir per objects/XX directory
// one lstat per content object, batched in native code, and only when the first multiply-linked source file shows up.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { SCAN_FIELDS, scanDir } from "../util/native.js";
import type { Repo } from "./repo.js";

export class DevInoCache {
  private constructor(
    readonly dev: number,
    private byIno: Map<number, string>,
  ) {}

  /** Scans the repo's content objects; archive repos have none that a checkout could link to. */
  static scan(repo: Repo): DevInoCache {
    const objects = join(repo.path, "objects");
    const dev = statSync(objects).dev;
    const byIno = new Map<number, string>();
    if (repo.isArchive) return new DevInoCache(dev, byIno);
    for (const xx of readdirSync(objects)) {
      if (xx.length !== 2) continue;
      const { names, stats } = scanDir(join(objects, xx), ".file");
      names.forEach((name, i) => {
        // 62 hex characters + ".file"
        if (name.length !== 67 || !name.endsWith(".file")) return;
        if (stats[i * SCAN_FIELDS + 6] === dev)
          byIno.set(stats[i * SCAN_FIELDS + 4]!, xx + name.slice(0, 62));
      });
    }
    return new DevInoCache(dev, byIno);
  }

  lookup(dev: number, ino: number): string | undefined {
    return dev === this.dev ? this.byIno.get(ino) : undefined;
  }

  get size(): number {
    return this.byIno.size;
  }
}
