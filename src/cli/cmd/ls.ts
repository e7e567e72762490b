// `tsostree ls [-R] [-C] [-d] [-X] REV [PATH…]`: list a commit's tree in ostree's exact format.
import type { Command } from "commander";
import type { DirMeta } from "../../repo/objects.js";
import { resolveRev } from "../../repo/refs.js";
import type { Repo } from "../../repo/repo.js";
import { lookupPath, rootEntry, splitTreePath, type TreeEntry, walk } from "../../repo/walk.js";
import { LineWriter, openRepo, printJson, withJson, withRepo } from "../common.js";
import { formatLsLine, type LsItem } from "../format.js";

interface LsOpts {
  repo?: string;
  json?: boolean;
  recursive?: boolean;
  checksum?: boolean;
  dironly?: boolean;
  xattrs?: boolean;
  nulFilenamesOnly?: boolean;
}

/**
 * The printable facts about one tree entry (reads the file object's or dirmeta's metadata).
 * `dirMetas` caches dirmetas across calls: a tree has few distinct ones.
 */
export function lsItem(repo: Repo, e: TreeEntry, dirMetas = new Map<string, DirMeta>()): LsItem {
  if (e.kind === "dir") {
    let m = dirMetas.get(e.meta);
    if (!m) {
      m = repo.loadDirMeta(e.meta);
      dirMetas.set(e.meta, m);
    }
    return { path: e.path, meta: m, size: 0, checksums: [e.tree, e.meta] };
  }
  const f = repo.loadFile(e.checksum);
  return { path: e.path, meta: f.meta, size: f.size, checksums: [e.checksum] };
}

export function registerLs(program: Command): void {
  withJson(withRepo(program.command("ls")))
    .description("list file paths of a commit")
    .argument("<rev>", "commit or ref")
    .argument("[paths...]", "paths inside the commit (default: /)")
    .option("-R, --recursive", "print directories recursively")
    .option("-C, --checksum", "print checksums")
    .option("-d, --dironly", "do not recurse into directory arguments")
    .option("-X, --xattrs", "print extended attributes")
    .option("--nul-filenames-only", "print only filenames, NUL separated")
    .action((rev: string, paths: string[], opts: LsOpts) => {
      const repo = openRepo(opts);
      const root = rootEntry(repo, resolveRev(repo, rev) as string);
      const out = new LineWriter();
      const dirMetas = new Map<string, DirMeta>();
      const json: unknown[] = [];
      const emit = (e: TreeEntry) => {
        if (opts.nulFilenamesOnly) return process.stdout.write(`${e.path}\0`);
        const item = lsItem(repo, e, dirMetas);
        if (opts.json) json.push(jsonItem(item, e));
        else out.line(formatLsLine(item, opts));
      };
      for (const arg of paths.length ? paths : ["/"]) {
        let e: TreeEntry;
        try {
          e = lookupPath(repo, root, arg);
        } catch (err) {
          throw new Error(`Inspecting path '${arg}': ${(err as Error).message}`);
        }
        // A looked-up entry's path is canonical ("/usr/bin"), like g_file_resolve_relative_path.
        e = { ...e, path: `/${splitTreePath(arg).join("/")}` };
        emit(e);
        if (e.kind === "dir" && !opts.dironly)
          for (const c of walk(repo, e, opts.recursive ? -1 : 1)) emit(c);
      }
      if (opts.json) printJson(json);
      out.flush();
    });
}

function jsonItem(item: LsItem, e: TreeEntry) {
  return {
    path: item.path,
    type: e.kind === "dir" ? "directory" : item.meta.symlinkTarget ? "symlink" : "regular",
    mode: item.meta.mode & 0o7777,
    uid: item.meta.uid,
    gid: item.meta.gid,
    size: item.size,
    ...(e.kind === "dir" ? { dirtree: e.tree, dirmeta: e.meta } : { checksum: e.checksum }),
    ...(item.meta.symlinkTarget ? { target: item.meta.symlinkTarget } : {}),
    xattrs: Object.fromEntries(item.meta.xattrs.map(([k, v]) => [k, v.toString("base64")])),
  };
}
