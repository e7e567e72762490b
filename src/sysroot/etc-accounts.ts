// /etc/passwd, group, shadow and gshadow are merged entry by entry, not file by file: a layered
// package's script adds a system user to the new tree's usr/etc/passwd while the admin has edited
// /etc/passwd on the running system (added a user, changed a shell). ostree's file-level merge
// would keep the admin's file and lose the package's user; here the admin's changes — relative to
// the old deployment's defaults — are replayed onto the new defaults, per entry (the name before
// the first colon). An entry both sides changed takes the admin's version; in group and gshadow
// its member lists are joined, so members a package added survive the admin's edit.
import { chmodSync, lchownSync, lstatSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The files merged by entry (relative to etc/). */
export const ACCOUNT_FILES = new Set(["passwd", "group", "shadow", "gshadow"]);

/** The colon field that lists members: group's 4th (index 3), gshadow's 4th as well. */
const MEMBER_FIELD: Record<string, number> = { group: 3, gshadow: 3 };

interface Entries {
  /** name → whole line */
  byName: Map<string, string>;
  lines: string[];
}

function parse(text: string): Entries {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const byName = new Map<string, string>();
  for (const l of lines) {
    const name = entryName(l);
    if (name !== null && !byName.has(name)) byName.set(name, l);
  }
  return { byName, lines };
}

/** The entry's name, or null for a comment, a blank or an NIS "+"/"-" line. */
function entryName(line: string): string | null {
  if (!line.includes(":") || /^\s*#/.test(line) || /^[+-]/.test(line)) return null;
  return line.slice(0, line.indexOf(":"));
}

function joinMembers(mine: string, theirs: string, base: string | undefined, field: number): string {
  const f = mine.split(":");
  const t = theirs.split(":");
  const b = base?.split(":") ?? [];
  if (f.length <= field || t.length <= field) return mine;
  const list = (s: string | undefined) => (s ? s.split(",").filter(Boolean) : []);
  const added = list(t[field]).filter((m) => !list(b[field]).includes(m));
  const members = [...list(f[field])];
  for (const m of added) if (!members.includes(m)) members.push(m);
  f[field] = members.join(",");
  return f.join(":");
}

/**
 * Three-way merge of one account file: `orig` (old defaults), `local` (the admin's), `next` (new
 * defaults). Entries come in `next`'s order, then the admin's additions in their order.
 */
export function mergeAccountEntries(file: string, orig: string, local: string, next: string): string {
  const o = parse(orig);
  const l = parse(local);
  const n = parse(next);
  const field = MEMBER_FIELD[file];
  const out: string[] = [];
  const placed = new Set<string>();
  for (const line of n.lines) {
    const name = entryName(line);
    if (name === null) {
      out.push(line);
      continue;
    }
    if (placed.has(name)) continue;
    placed.add(name);
    const was = o.byName.get(name);
    const mine = l.byName.get(name);
    if (was !== undefined && mine === undefined) continue; // the admin removed it
    if (mine === undefined || mine === was)
      out.push(line); // untouched locally: the new default
    else if (field !== undefined && line !== was) out.push(joinMembers(mine, line, was, field));
    else out.push(mine); // changed or added locally: the admin's wins
  }
  for (const line of l.lines) {
    const name = entryName(line);
    if (name === null || placed.has(name)) continue;
    placed.add(name);
    if (!o.byName.has(name)) out.push(line); // the admin's own addition
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

/**
 * Merges etc/FILE of the merge deployment into the new deployment's etc/FILE by entry; the result
 * keeps the admin's file's owner and mode (shadow stays root:shadow 0640).
 */
export function mergeAccountFile(mergeRoot: string, newRoot: string, file: string): void {
  const read = (p: string) => readFileSync(p, "utf8");
  const origPath = join(mergeRoot, "usr/etc", file);
  const localPath = join(mergeRoot, "etc", file);
  const dest = join(newRoot, "etc", file);
  const merged = mergeAccountEntries(file, read(origPath), read(localPath), read(dest));
  const st = lstatSync(localPath);
  const tmp = `${dest}.tsostree-merge`;
  writeFileSync(tmp, merged, { mode: 0o600 });
  try {
    lchownSync(tmp, st.uid, st.gid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") throw e;
  }
  chmodSync(tmp, st.mode & 0o7777);
  renameSync(tmp, dest);
}

/** Whether `rel` (relative to etc/) is merged by entry here: an account file, regular on all sides. */
export function isAccountMerge(mergeRoot: string, newRoot: string, rel: string): boolean {
  if (!ACCOUNT_FILES.has(rel)) return false;
  const reg = (p: string) => lstatSync(p, { throwIfNoEntry: false })?.isFile() === true;
  return (
    reg(join(mergeRoot, "usr/etc", rel)) && reg(join(mergeRoot, "etc", rel)) && reg(join(newRoot, "etc", rel))
  );
}
