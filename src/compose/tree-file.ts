// A regular file of a tree being assembled, read through the transaction (which also sees what it
// staged): the package databases the assembly steps update in place.
import type { MutableTree } from "../repo/mtree.js";
import type { Transaction } from "../repo/transaction.js";

/** The content of the file at `path`, or null when it is absent or a directory. */
export function readTreeFile(
  tree: MutableTree,
  tx: Pick<Transaction, "loadFile">,
  path: string,
): Buffer | null {
  const e = tree.lookup(path);
  return e?.kind === "file" ? tx.loadFile(e.checksum).read() : null;
}
