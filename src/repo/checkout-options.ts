// What a checkout is asked to do (ostree's checkout flags), where it may read objects not yet
// committed, its errors, and ostree's rule for when it may hardlink into the object store.
import { type Repo, RepoError } from "./repo.js";

export interface CheckoutOptions {
  /** Don't apply ownership or xattrs; strip setuid/setgid (`-U`). */
  userMode?: boolean;
  /** Write into an existing directory, replacing files that exist (`--union`). */
  union?: boolean;
  /** Write into an existing directory, keeping files that exist (`--union-add`). */
  unionAdd?: boolean;
  /**
   * With `union`: the destination is a directory made empty for this checkout (a new deployment's),
   * so it is filled like a new destination, through the native plan.
   */
  intoEmpty?: boolean;
  /** Check out only this path of the commit (`--subpath`). */
  subpath?: string;
  /** Never hardlink (`-C`). */
  forceCopy?: boolean;
  /** Fail instead of copying when a hardlink is impossible (`-H`). */
  requireHardlinks?: boolean;
  /** With a subpath: succeed without writing anything when it does not exist (`--allow-noent`). */
  allowNoent?: boolean;
  /**
   * Aborting it stops a whole-tree walk in C where it is (a CheckoutError; what it made stays for the
   * caller to remove); other checkouts only look at it before they start.
   */
  signal?: AbortSignal;
}

/**
 * Where a checkout finds objects that are not in objects/ yet: dirtrees held in memory and what an
 * open transaction staged (see MemoryTreeSink), for checking out a tree before it is committed.
 */
export interface CheckoutSource {
  readMetadata(csum: string, type: "dirtree" | "dirmeta"): Buffer | null;
  /** The path of a staged content object, or null. */
  stagedFile(csum: string): string | null;
  /** The checksums of every staged content object. */
  stagedFiles(): ReadonlySet<string>;
}

export class CheckoutError extends RepoError {
  override name = "CheckoutError";
}

export class CorruptObjectError extends RepoError {
  override name = "CorruptObjectError";
}

/** Whether this repo mode and checkout mode allow sharing inodes with the object store. */
export function hardlinkPolicy(repo: Repo, opts: CheckoutOptions): boolean {
  if (opts.forceCopy) {
    if (opts.requireHardlinks)
      throw new CheckoutError("--force-copy and --require-hardlinks exclude each other");
    return false;
  }
  const ok =
    (repo.mode === "bare" && !opts.userMode) ||
    ((repo.mode === "bare-user" || repo.mode === "bare-user-only") && opts.userMode === true);
  if (!ok && opts.requireHardlinks) {
    if (repo.isArchive)
      throw new CheckoutError(
        "Hardlinks were requested, but an archive repository stores compressed objects; copy instead",
      );
    if (repo.mode === "bare")
      throw new CheckoutError("Bare repository mode cannot hardlink in user checkout mode");
    throw new CheckoutError("User repository mode requires user checkout mode to hardlink (add -U)");
  }
  return ok;
}
