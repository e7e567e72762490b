// The file list of an rpm, from the main header alone: paths (BASENAMES/DIRNAMES/DIRINDEXES or the
// old OLDFILENAMES), modes, owners, flags, digests, link targets and hardlink sets (FILEINODES +
// FILEDEVICES). Directories the paths imply but the list omits are added as 0755 root:root.
import type { PackageFile } from "../../src/packages/model.js";
import { impliedDir, parentOf, treePath } from "../../src/packages/payload-guard.js";
import type { RpmHeader } from "./header.js";
import { DIGEST_ALGO, FILEFLAG, TAG } from "./tags.js";

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

export interface RpmFileList {
  /** In header order (which is also archive order); implied directories are not in here. */
  files: PackageFile[];
  /** Directories implied by paths but not listed. */
  implied: PackageFile[];
  /** Header index of each path. */
  indexOf: Map<string, number>;
  /** For hardlink sets: path → path of the member that carries the content (the last of its set). */
  linkPrimary: Map<string, string>;
}

export function rpmPaths(h: RpmHeader): string[] {
  const base = h.stringArray(TAG.BASENAMES);
  if (base) {
    const dirs = h.stringArray(TAG.DIRNAMES) ?? [];
    const idx = h.ints(TAG.DIRINDEXES) ?? [];
    if (idx.length !== base.length) throw new Error("DIRINDEXES and BASENAMES disagree in length");
    return base.map((b, i) => {
      const d = dirs[idx[i]];
      if (d === undefined) throw new Error(`DIRINDEXES[${i}] = ${idx[i]} points past DIRNAMES`);
      return treePath(d + b);
    });
  }
  return (h.stringArray(TAG.OLDFILENAMES) ?? []).map((p) => treePath(p));
}

/** Returns the value array for `tag`, which must have one entry per file when present. */
function perFile<T>(arr: T[] | undefined, n: number, name: string): T[] | undefined {
  if (arr && arr.length !== n) throw new Error(`${name} has ${arr.length} entries for ${n} files`);
  return arr;
}

export function rpmFiles(h: RpmHeader): RpmFileList {
  const paths = rpmPaths(h);
  const n = paths.length;
  const modes = perFile(h.ints(TAG.FILEMODES), n, "FILEMODES") ?? [];
  const sizes = perFile(h.ints(TAG.LONGFILESIZES) ?? h.ints(TAG.FILESIZES), n, "FILESIZES") ?? [];
  const users = perFile(h.stringArray(TAG.FILEUSERNAME), n, "FILEUSERNAME") ?? [];
  const groups = perFile(h.stringArray(TAG.FILEGROUPNAME), n, "FILEGROUPNAME") ?? [];
  const flags = perFile(h.ints(TAG.FILEFLAGS), n, "FILEFLAGS") ?? [];
  const digests = perFile(h.stringArray(TAG.FILEDIGESTS), n, "FILEDIGESTS") ?? [];
  const links = perFile(h.stringArray(TAG.FILELINKTOS), n, "FILELINKTOS") ?? [];
  const mtimes = perFile(h.ints(TAG.FILEMTIMES), n, "FILEMTIMES") ?? [];
  const inodes = perFile(h.ints(TAG.FILEINODES), n, "FILEINODES") ?? [];
  const devices = perFile(h.ints(TAG.FILEDEVICES), n, "FILEDEVICES") ?? [];
  const caps = perFile(h.stringArray(TAG.FILECAPS), n, "FILECAPS") ?? [];
  const algo = DIGEST_ALGO[h.int(TAG.FILEDIGESTALGO) ?? 1] ?? "md5";
  if (n && modes.length !== n) throw new Error("FILEMODES is missing");

  const files: PackageFile[] = [];
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const mode = modes[i];
    const fmt = mode & S_IFMT;
    const f: PackageFile = {
      path: paths[i],
      type: fmt === S_IFDIR ? "dir" : fmt === S_IFLNK ? "symlink" : "file",
      mode: mode & 0o7777,
      user: users[i] ?? "root",
      group: groups[i] ?? "root",
      size: fmt === S_IFREG ? (sizes[i] ?? 0) : 0,
    };
    if (fmt === S_IFLNK) {
      f.linkTarget = links[i] ?? "";
      f.size = sizes[i] ?? 0;
    }
    if (fmt === S_IFCHR) f.special = "char";
    else if (fmt === S_IFBLK) f.special = "block";
    else if (fmt === S_IFIFO) f.special = "fifo";
    else if (fmt === S_IFSOCK) f.special = "socket";
    else if (fmt !== S_IFREG && fmt !== S_IFDIR && fmt !== S_IFLNK)
      throw new Error(`${paths[i]}: unknown file type ${fmt.toString(8)}`);
    if (fmt === S_IFREG && digests[i]) f.digest = { algo, hex: digests[i] };
    if (mtimes[i] !== undefined) f.mtime = mtimes[i];
    if (caps[i]) f.caps = caps[i];
    const fl = flags[i] ?? 0;
    if (fl & FILEFLAG.CONFIG) f.config = true;
    if (fl & FILEFLAG.GHOST) f.ghost = true;
    if (fl & (FILEFLAG.DOC | FILEFLAG.LICENSE | FILEFLAG.README)) f.doc = true;
    indexOf.set(f.path, i);
    files.push(f);
  }

  // Hardlink sets: regular, non-ghost files sharing (device, inode). rpm writes the content with the
  // last member of a set in archive order; the others point at it.
  const linkPrimary = new Map<string, string>();
  if (inodes.length === n) {
    const sets = new Map<string, number[]>();
    files.forEach((f, i) => {
      if (f.type !== "file" || f.special || f.ghost) return;
      const key = `${devices[i] ?? 0}:${inodes[i]}`;
      const s = sets.get(key);
      if (s) s.push(i);
      else sets.set(key, [i]);
    });
    for (const set of sets.values()) {
      if (set.length < 2) continue;
      const primary = files[set[set.length - 1]].path;
      for (const i of set.slice(0, -1)) {
        const f = files[i];
        f.type = "hardlink";
        f.linkTarget = primary;
        linkPrimary.set(f.path, primary);
      }
    }
  }

  const implied: PackageFile[] = [];
  const known = new Set(paths);
  for (const p of paths) {
    for (let d = parentOf(p); d !== "/" && !known.has(d); d = parentOf(d)) {
      known.add(d);
      implied.push(impliedDir(d));
    }
  }
  implied.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { files, implied, indexOf, linkPrimary };
}
