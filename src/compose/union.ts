// The union of a package's tree into the layered root, on dirtree level: a subtree the root does
// not have yet is attached by checksum without being read; only the directories both sides have are
// loaded, so the cost follows the package, never the base (DESIGN.md #3). Like dpkg, a package
// directory that meets a symlink to a directory in the root (merged /usr: `lib -> usr/lib`) goes
// through the symlink. A file that another package or the base already has with other content is a
// conflict the caller decides on (dpkg's Replaces, rpm's identical files).

import type { MutableTree } from "../repo/mtree.js";
import { S_IFLNK, S_IFMT } from "../repo/objects.js";

export class UnionError extends Error {
  override name = "UnionError";
}

export interface UnionHooks {
  /** The symlink target when `csum` is a symlink object, else null. */
  symlinkTarget(csum: string): string | null;
  /**
   * `path` exists in the root as a file with checksum `had` and the package brings `csum`: return
   * true to replace it, false to keep it, or throw to refuse the transaction.
   */
  onFileConflict(path: string, had: string, csum: string): boolean;
}

/** What the union did for one package: every path it brought, as the package names them. */
export interface UnionRecord {
  files: { path: string; csum: string }[];
  dirs: string[];
}

const MAX_LINK_HOPS = 16;

/** Splits a normalized absolute or relative path into names. */
function names(path: string): string[] {
  return path.split("/").filter((n) => n !== "" && n !== ".");
}

/**
 * Resolves `target` of a symlink found in directory `dirPath` to a directory of `root`, following
 * further symlinks; null when it does not lead to a directory inside the tree.
 */
export function resolveDirLink(
  root: MutableTree,
  dirPath: string[],
  target: string,
  hooks: Pick<UnionHooks, "symlinkTarget">,
): { tree: MutableTree; path: string[] } | null {
  let hops = 0;
  const walk = (start: string[], rel: string): { tree: MutableTree; path: string[] } | null => {
    const stack = rel.startsWith("/") ? [] : [...start];
    for (const n of names(rel)) {
      if (n === "..") {
        stack.pop();
        continue;
      }
      const here = root.lookup(stack.join("/"));
      if (here?.kind !== "dir") return null;
      const c = here.tree.child(n);
      if (!c) return null;
      if (c.kind === "dir") {
        stack.push(n);
        continue;
      }
      const t = hooks.symlinkTarget(c.checksum);
      if (t === null || ++hops > MAX_LINK_HOPS) return null;
      const r = walk(stack, t);
      if (!r) return null;
      stack.splice(0, stack.length, ...r.path);
    }
    const end = root.lookup(stack.join("/"));
    return end?.kind === "dir" ? { tree: end.tree, path: stack } : null;
  };
  return walk(dirPath, target);
}

/** Unions `pkg` into `root`; returns the package's paths. */
export function unionInto(root: MutableTree, pkg: MutableTree, hooks: UnionHooks): UnionRecord {
  const rec: UnionRecord = { files: [], dirs: [] };
  const visit = (into: MutableTree, intoPath: string[], from: MutableTree, fromPath: string): void => {
    const { files, dirs } = from.entries();
    for (const [name, csum] of files) {
      const path = `${fromPath}/${name}`;
      rec.files.push({ path, csum });
      const had = into.child(name);
      if (!had) into.replaceFile(name, csum);
      else if (had.kind === "dir") {
        // A symlink onto a directory (usrmerge's own `lib -> usr/lib`) is fine when it points
        // where the directory already is; anything else would hide the directory's content.
        throw new UnionError(`${path}: the package has a file where the tree has a directory`);
      } else if (had.checksum !== csum && hooks.onFileConflict(path, had.checksum, csum))
        into.replaceFile(name, csum);
    }
    for (const [name, sub] of dirs) {
      const path = `${fromPath}/${name}`;
      rec.dirs.push(path);
      const had = into.child(name);
      if (!had) {
        // Attach by checksum when the package subtree is unchanged; still walk it for the record.
        const child = into.ensureChild(name, sub.metadataChecksum);
        const clean = sub.contentsChecksum;
        if (clean !== null && sub.metadataChecksum !== null) {
          child.overlay(clean, sub.metadataChecksum);
          recordOnly(sub, path, rec);
        } else visit(child, [...intoPath, name], sub, path);
        continue;
      }
      if (had.kind === "dir") {
        visit(had.tree, [...intoPath, name], sub, path);
        continue;
      }
      const target = hooks.symlinkTarget(had.checksum);
      const dir = target === null ? null : resolveDirLink(root, intoPath, target, hooks);
      if (!dir) throw new UnionError(`${path}: the package has a directory where the tree has a file`);
      visit(dir.tree, dir.path, sub, path);
    }
  };
  visit(root, [], pkg, "");
  return rec;
}

function recordOnly(tree: MutableTree, path: string, rec: UnionRecord): void {
  const { files, dirs } = tree.entries();
  for (const [name, csum] of files) rec.files.push({ path: `${path}/${name}`, csum });
  for (const [name, sub] of dirs) {
    rec.dirs.push(`${path}/${name}`);
    recordOnly(sub, `${path}/${name}`, rec);
  }
}

/** A `symlinkTarget` hook over a repo's file objects, cached by checksum. */
export function symlinkReader(
  loadFile: (csum: string) => { meta: { mode: number; symlinkTarget: string } },
): (csum: string) => string | null {
  const cache = new Map<string, string | null>();
  return (csum) => {
    let t = cache.get(csum);
    if (t === undefined) {
      const m = loadFile(csum).meta;
      t = (m.mode & S_IFMT) === S_IFLNK ? m.symlinkTarget : null;
      cache.set(csum, t);
    }
    return t;
  };
}
