// Facts derived from a commit object that several readers need.
import { createHash } from "node:crypto";
import type { Commit } from "./objects.js";

/** sha256(root dirtree checksum bytes || root dirmeta checksum bytes), ostree's "content checksum". */
export function contentChecksumOfCommit(c: Commit): string {
  return createHash("sha256")
    .update(Buffer.from(c.rootTree, "hex"))
    .update(Buffer.from(c.rootMeta, "hex"))
    .digest("hex");
}
