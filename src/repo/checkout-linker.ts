// ostree's per-object link decision, for union checkouts, which link entry by entry. A checkout
// into a new directory makes the same decision natively (native/checkout_ops.c: keep them alike).
import { lstatSync } from "node:fs";
import { getXattr } from "../util/native.js";
import type { RepoMode } from "./repo.js";

export interface LinkerConfig {
  /** REPO/objects */
  objects: string;
  mode: RepoMode;
  userMode: boolean;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export class Linker {
  private readonly verdicts = new Map<string, string>();
  constructor(private readonly cfg: LinkerConfig) {}

  objectPath(csum: string): string {
    return `${this.cfg.objects}/${csum.slice(0, 2)}/${csum.slice(2)}.file`;
  }

  /**
   * `link` when the object may be hardlinked, else the reason (cached per object): `COPY` (ostree's
   * rules say create it: empty file, symlink of a bare-user(-only) repo, unreadable file in user
   * mode), `NOMETA` (bare-user object without user.ostreemeta) or `ENOENT`.
   */
  verdict(csum: string, src = this.objectPath(csum)): string {
    let v = this.verdicts.get(src);
    if (v === undefined) {
      v = this.probe(src);
      this.verdicts.set(src, v);
    }
    return v;
  }

  private probe(src: string): string {
    const st = lstatSync(src, { throwIfNoEntry: false });
    if (!st) return "ENOENT";
    let mode = st.mode;
    if (this.cfg.mode === "bare-user") {
      const meta = getXattr(src, "user.ostreemeta");
      // (uuua(ayay)): the mode is the third big-endian u32.
      if (!meta || meta.length < 12) return "NOMETA";
      mode = meta.readUInt32BE(8);
    }
    if ((mode & S_IFMT) === S_IFLNK) return this.cfg.mode === "bare" ? "link" : "COPY";
    if (st.size === 0) return "COPY";
    if (this.cfg.userMode && (mode & 0o400) === 0) return "COPY";
    return "link";
  }
}
