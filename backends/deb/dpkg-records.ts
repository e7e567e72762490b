// Package database records for the packages a Debian tree already has, from dpkg's own database:
// the status file (what is installed, its version and relations) and info/ (each package's file
// list, md5sums, conffiles and maintainer scripts). Used when a base tree is composed, so that the
// package database describes the base before anything is layered on it.

import type { Relations } from "../../src/packages/model.js";
import type { DbFile, DbPackage } from "../../src/packages/pkgdb.js";
import { field, parseDeb822, type Stanza } from "./deb822.js";
import { type DebControl, debConffiles, debMd5sums, debMeta, debScripts } from "./package.js";
import { formatDebDep } from "./relations.js";
import { formatDebVersion } from "./version.js";

/** What a tree says about one path (lstat, not following a final symlink). */
export interface TreeStat {
  type: DbFile["type"];
  /** Permission bits (07777); type bits are ignored. */
  mode: number;
  uid: number;
  gid: number;
  /** Owner names, when the caller knows them; otherwise looked up in the tree's passwd and group. */
  user?: string;
  group?: string;
  target?: string;
}

/** Reads a file of the tree by its path relative to the root ("var/lib/dpkg/status"), or null. */
export type TreeRead = (rel: string) => Buffer | null;
export type TreeStatFn = (rel: string) => TreeStat | null;

export class DpkgRecordsError extends Error {
  override name = "DpkgRecordsError";
}

/**
 * dpkg states of a configured package: its files are on disk and its postinst has run (pending
 * triggers do not change either). Unpacked, half-installed or config-files packages are left out.
 */
const CONFIGURED = new Set(["installed", "triggers-pending", "triggers-awaited"]);

/** Control members dpkg keeps in info/ that a record carries. */
const INFO_MEMBERS = ["md5sums", "conffiles", "preinst", "postinst", "prerm", "postrm", "config"];

const REQUIRE_KINDS = [
  "pre-depends",
  "depends",
  "recommends",
  "suggests",
  "enhances",
  "conflicts",
  "breaks",
  "replaces",
] as const;

/**
 * One record per configured package in ADMINDIR/status (admindir relative to the tree root, e.g.
 * "var/lib/dpkg" or "usr/share/dpkg/database"); origin "base", not requested. Without `stat`, file
 * types come from the .list alone (a path another path lies under is a dir) with 0755/0644 root:root.
 */
export function dpkgRecords(read: TreeRead, admindir: string, stat?: TreeStatFn): DbPackage[] {
  const dir = admindir.replace(/^\/+|\/+$/g, "");
  const statusPath = `${dir}/status`;
  const status = read(statusPath);
  if (!status)
    throw new DpkgRecordsError(`${statusPath}: no dpkg status file; is ${dir} dpkg's admin directory?`);
  let stanzas: Stanza[];
  try {
    stanzas = parseDeb822(status.toString("utf8"));
  } catch (e) {
    throw new DpkgRecordsError(`${statusPath}: ${(e as Error).message}`);
  }
  const owners = stat ? ownerNames(read) : undefined;
  const out: DbPackage[] = [];
  for (const stanza of stanzas) {
    if (!CONFIGURED.has((field(stanza, "Status") ?? "").split(/\s+/)[2] ?? "")) continue;
    const meta = debMeta(statusPath, { stanza, members: new Map() });
    const info = infoMembers(read, `${dir}/info`, meta.name, meta.arch);
    const control: DebControl = { stanza, members: info.members };
    out.push({
      kind: "deb",
      name: meta.name,
      epoch: meta.epoch,
      version: meta.version,
      release: meta.release,
      evr: formatDebVersion(meta),
      arch: meta.arch,
      summary: meta.summary,
      origin: "base",
      requested: false,
      ...(meta.installedSize === undefined ? {} : { installedSize: meta.installedSize }),
      provides: provides(meta.relations),
      requires: REQUIRE_KINDS.flatMap((kind) =>
        (meta.relations[kind] ?? []).map((d) => ({ kind, text: formatDebDep(d) })),
      ),
      scripts: debScripts(control),
      files: files(info.list, control, stanza, stat && ((rel) => statWithNames(stat, rel, owners))),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : 1));
}

/** info/NAME:ARCH.* for Multi-Arch: same packages (dpkg ≥ 1.16.2 names them so), info/NAME.* otherwise. */
function infoMembers(
  read: TreeRead,
  info: string,
  name: string,
  arch: string,
): { list: string[]; members: Map<string, Buffer> } {
  let base = `${info}/${name}:${arch}`;
  let list = read(`${base}.list`);
  if (!list) {
    base = `${info}/${name}`;
    list = read(`${base}.list`);
  }
  const members = new Map<string, Buffer>();
  for (const m of INFO_MEMBERS) {
    const b = read(`${base}.${m}`);
    if (b) members.set(m, b);
  }
  // "/." is dpkg's record of the root directory every package "contains".
  const paths = (list?.toString("utf8") ?? "").split("\n").filter((p) => p.startsWith("/") && p !== "/.");
  return { list: paths, members };
}

function provides(rel: Relations): { name: string; version: string }[] {
  return (rel.provides ?? []).flatMap((d) =>
    d.kind === "atom" ? [{ name: d.atom.name, version: d.atom.version ?? "" }] : [],
  );
}

/** Status "Conffiles:" lines (" /etc/x md5 [obsolete]"): the digest dpkg recorded when it installed them. */
function conffileSums(stanza: Stanza): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (field(stanza, "Conffiles") ?? "").split("\n")) {
    const [path, sum] = line.trim().split(/\s+/);
    if (path?.startsWith("/") && /^[0-9a-f]{32}$/.test(sum ?? "")) out.set(path, sum);
  }
  return out;
}

function files(list: string[], control: DebControl, stanza: Stanza, stat?: TreeStatFn): DbFile[] {
  const md5 = debMd5sums(control);
  const confSums = conffileSums(stanza);
  const conffiles = new Set([...debConffiles(control), ...confSums.keys()]);
  const parents = new Set<string>();
  for (const p of list)
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) parents.add(p.slice(0, i));
  return list.map((path) => {
    const st = stat?.(path.slice(1));
    const type = st?.type ?? (parents.has(path) ? "dir" : "file");
    const f: DbFile = {
      path,
      type,
      mode: st ? st.mode & 0o7777 : type === "dir" ? 0o755 : 0o644,
      user: st?.user ?? "root",
      group: st?.group ?? "root",
    };
    if (type === "symlink" && st?.target !== undefined) f.target = st.target;
    if (type === "file") {
      const sum = md5.get(path) ?? confSums.get(path);
      if (sum) f.digest = `md5:${sum}`;
      if (conffiles.has(path)) f.conffile = true;
    }
    return f;
  });
}

function statWithNames(stat: TreeStatFn, rel: string, owners?: OwnerNames): TreeStat | null {
  const st = stat(rel);
  if (!st || !owners) return st;
  return {
    ...st,
    user: st.user ?? owners.users.get(st.uid) ?? String(st.uid),
    group: st.group ?? owners.groups.get(st.gid) ?? String(st.gid),
  };
}

interface OwnerNames {
  users: Map<number, string>;
  groups: Map<number, string>;
}

/** uid/gid → name from the tree's passwd and group (etc/, or usr/etc/ and usr/lib/ in an ostree tree). */
function ownerNames(read: TreeRead): OwnerNames {
  const table = (file: string): Map<number, string> => {
    // uid and gid 0 are root even in a tree without passwd yet.
    const out = new Map<number, string>([[0, "root"]]);
    for (const dir of ["etc", "usr/etc", "usr/lib"]) {
      for (const line of (read(`${dir}/${file}`)?.toString("utf8") ?? "").split("\n")) {
        const [name, , id] = line.split(":");
        const n = Number(id);
        if (name && id && Number.isInteger(n) && (!out.has(n) || n === 0)) out.set(n, name);
      }
    }
    return out;
  };
  return { users: table("passwd"), groups: table("group") };
}
