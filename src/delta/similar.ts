// Which new regular files are modified versions of old ones, as ostree judges it for bsdiff: same
// basename (or, in a second pass, the same name up to its first '.'), sizes within 30%, not empty,
// not already compressed (.xz, .bz2). One candidate per new file.

import { S_IFMT, S_IFREG } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";

const THRESHOLD_PERCENT = 30;

interface SizeNames {
  checksum: string;
  size: number;
  names: string[];
}

function sizeNames(repo: Repo, commit: string, only: Set<string> | null): SizeNames[] {
  const map = new Map<string, SizeNames | null>();
  const visit = (tree: string): void => {
    const t = repo.loadDirTree(tree);
    for (const [name, csum] of t.files) {
      if (only && !only.has(csum)) continue;
      let e = map.get(csum);
      if (e === undefined) {
        const f = repo.loadFile(csum);
        e = (f.meta.mode & S_IFMT) === S_IFREG ? { checksum: csum, size: f.size, names: [] } : null;
        map.set(csum, e);
      }
      e?.names.push(name);
    }
    // Every path is visited, shared subtrees too: each path's basename counts.
    for (const [, sub] of t.dirs) visit(sub);
  };
  visit(repo.loadCommit(commit).rootTree);
  return [...map.values()].filter((e): e is SizeNames => e !== null).sort((a, b) => a.size - b.size);
}

function candidate(s: SizeNames): boolean {
  if (s.size === 0) return false;
  for (const n of s.names) {
    const dot = n.lastIndexOf(".");
    if (dot < 0) continue;
    const ext = n.slice(dot + 1);
    if (ext === "xz" || ext === "bz2") return false;
  }
  return true;
}

function namesIntersect(a: string[], b: string[], fuzzy: boolean): boolean {
  for (const x of a) {
    const xd = x.indexOf(".");
    for (const y of b) {
      const yd = y.indexOf(".");
      if (fuzzy && xd >= 0 && yd > 0 && xd === yd) {
        if (x.slice(0, xd) === y.slice(0, yd)) return true;
      } else if (x === y) return true;
    }
  }
  return false;
}

/** new checksum → old checksum, for the new regular files `added` of `to`. */
export function similarObjects(
  repo: Repo,
  from: string,
  to: string,
  added: Set<string>,
): Map<string, string> {
  const out = new Map<string, string>();
  const fromSizes = sizeNames(repo, from, null);
  const toSizes = sizeNames(repo, to, added);
  let lower = 0;
  for (const t of toSizes) {
    if (!candidate(t)) continue;
    const min = Math.floor(t.size * (1 - THRESHOLD_PERCENT / 100));
    const max = Math.floor(t.size * (1 + THRESHOLD_PERCENT / 100));
    let found = false;
    for (let fuzzy = 0; fuzzy < 2 && !found; fuzzy++) {
      for (let j = lower; j < fromSizes.length; j++) {
        const f = fromSizes[j]!;
        if (!candidate(f)) continue;
        if (f.size < min) {
          lower++;
          continue;
        }
        if (f.size > max) break;
        if (!namesIntersect(f.names, t.names, fuzzy === 1)) continue;
        out.set(t.checksum, f.checksum);
        found = true;
        break;
      }
    }
  }
  return out;
}
