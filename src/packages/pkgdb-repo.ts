// The package database of a commit, read from its file object: no checkout, and nothing of the
// tree is read but the dirtrees on the way to PKGDB_PATH.
import { S_IFMT, S_IFREG } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { lookupPath, PathNotFoundError, rootEntry } from "../repo/walk.js";
import { PackageDb, PackageDbError, PKGDB_PATH } from "./pkgdb.js";

/** The package database inside `commit`, or null when the commit has none (a tree nothing layered). */
export function readPackageDb(repo: Repo, commit: string): PackageDb | null {
  let entry: ReturnType<typeof lookupPath>;
  try {
    entry = lookupPath(repo, rootEntry(repo, commit), PKGDB_PATH);
  } catch (e) {
    if (e instanceof PathNotFoundError) return null;
    throw e;
  }
  const f = entry.kind === "file" ? repo.loadFile(entry.checksum) : undefined;
  if (!f || (f.meta.mode & S_IFMT) !== S_IFREG)
    throw new PackageDbError(
      `commit ${commit}: /${PKGDB_PATH} is not a regular file; the tree was not composed by tsostree, recompose it`,
    );
  return PackageDb.fromBytes(f.read());
}
