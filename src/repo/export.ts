// A commit's tree (or a subtree) as a tar stream, as `ostree export` writes it: a `./` entry for
// the exported root, paths relative to it, ownership and modes from the objects, every mtime set
// to the commit's timestamp, symlinks as symlinks.
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { S_IFLNK, S_IFMT } from "./objects.js";
import { resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";
import { lookupPath, rootEntry, type TreeEntry, walk } from "./walk.js";

/** Writes `rev` (or `subpath` of it) as a tar archive to `output` (a file path or a stream). */
export async function exportTar(
  repo: Repo,
  rev: string,
  output: string | NodeJS.WritableStream,
  opts: { subpath?: string } = {},
): Promise<void> {
  const commit = resolveRev(repo, rev) as string;
  let top: TreeEntry = rootEntry(repo, commit);
  if (opts.subpath) top = lookupPath(repo, top, opts.subpath);
  const pack = tar.pack();
  const done = pipeline(pack, typeof output === "string" ? createWriteStream(output) : output);
  // Awaited at the end; until then a failure to open the output must not count as unhandled.
  done.catch(() => {});
  const base = top.path === "/" ? "" : top.path;
  const rel = (p: string) => p.slice(base.length + 1);
  const mtime = new Date(repo.loadCommit(commit).timestamp * 1000);
  const entries: TreeEntry[] = top.kind === "dir" ? [...walk(repo, top)] : [top];
  try {
    if (top.kind === "dir") {
      const m = repo.loadDirMeta(top.meta);
      await entry(pack, {
        name: "./",
        type: "directory",
        mode: m.mode & 0o7777,
        uid: m.uid,
        gid: m.gid,
        mtime,
      });
    }
    for (const e of entries) {
      const name = top.kind === "dir" ? rel(e.path) : e.name;
      if (e.kind === "dir") {
        const m = repo.loadDirMeta(e.meta);
        await entry(pack, {
          name: `${name}/`,
          type: "directory",
          mode: m.mode & 0o7777,
          uid: m.uid,
          gid: m.gid,
          mtime,
        });
        continue;
      }
      const f = repo.loadFile(e.checksum);
      const h = { name, mode: f.meta.mode & 0o7777, uid: f.meta.uid, gid: f.meta.gid, mtime };
      if ((f.meta.mode & S_IFMT) === S_IFLNK)
        await entry(pack, { ...h, type: "symlink", linkname: f.meta.symlinkTarget });
      else await entry(pack, { ...h, type: "file", size: f.size }, f.read());
    }
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
  }
  await done;
}

function entry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, body?: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const cb = (err?: Error | null) => (err ? rej(err) : res());
    if (body) pack.entry(header as tar.Header, body, cb);
    else pack.entry(header as tar.Header, cb);
  });
}
