// Integrity check: every object reachable from the repo's commits is re-read and its checksum
// recomputed, and (our addition to ostree) so is every other loose object. Corrupt objects can be
// deleted, in which case the commits that needed them are marked partial, as ostree does.
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gHashOrder } from "../util/ghash.js";
import {
  checksumPrefix,
  type ObjectType,
  parseCommit,
  parseDirMeta,
  parseDirTree,
  S_IFMT,
  S_IFREG,
} from "./objects.js";
import { listRefs } from "./refs.js";
import type { Repo } from "./repo.js";
import {
  isPartialCommit,
  listObjects,
  type ObjectName,
  objectName,
  parseObjectName,
  traverseCommit,
} from "./traverse.js";

export interface FsckProblem {
  object: ObjectName;
  kind: "missing" | "corrupt";
  message: string;
  /** Commits that reach the object. */
  commits: string[];
}

export interface FsckResult {
  commits: number;
  partialCommits: number;
  objectsChecked: number;
  problems: FsckProblem[];
  markedPartial: string[];
  deleted: ObjectName[];
}

/** Recomputes an object's checksum from its stored form; returns an error message or null. */
export function verifyObject(repo: Repo, csum: string, type: ObjectType): string | null {
  let actual: string;
  try {
    if (type === "file") {
      const f = repo.loadFile(csum);
      const h = createHash("sha256").update(checksumPrefix(f.meta));
      if ((f.meta.mode & S_IFMT) === S_IFREG) {
        if (f.path && !repo.isArchive) hashFile(h, f.path);
        else h.update(f.read());
      }
      actual = h.digest("hex");
    } else {
      const bytes = repo.readMetadataBytes(csum, type as Exclude<ObjectType, "file">);
      actual = createHash("sha256").update(bytes).digest("hex");
      if (actual === csum) {
        // The bytes hash right, but ostree also refuses metadata that does not parse.
        if (type === "commit") parseCommit(bytes);
        else if (type === "dirtree") parseDirTree(bytes);
        else if (type === "dirmeta") parseDirMeta(bytes);
      }
    }
  } catch (e) {
    return `Corrupted ${type} object ${csum}: ${(e as Error).message}`;
  }
  if (actual !== csum) return `Corrupted ${type} object; checksum expected='${csum}' actual='${actual}'`;
  return null;
}

function hashFile(h: ReturnType<typeof createHash>, path: string): void {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/** ostree's marker for a commit whose objects are not all present. */
export function markCommitPartial(repo: Repo, csum: string): void {
  mkdirSync(join(repo.path, "state"), { recursive: true, mode: 0o775 });
  writeFileSync(join(repo.path, "state", `${csum}.commitpartial`), "");
}

export function fsck(
  repo: Repo,
  opts: { delete?: boolean; onProgress?: (line: string) => void } = {},
): FsckResult {
  const say = opts.onProgress ?? (() => {});
  const result: FsckResult = {
    commits: 0,
    partialCommits: 0,
    objectsChecked: 0,
    problems: [],
    markedPartial: [],
    deleted: [],
  };
  say("Validating refs...");
  const problem = (object: ObjectName, kind: FsckProblem["kind"], message: string, commits: string[]) =>
    result.problems.push({ object, kind, message, commits });
  for (const [ref, csum] of listRefs(repo)) {
    const msg = verifyObject(repo, csum, "commit");
    if (msg)
      problem(
        objectName(csum, "commit"),
        repo.hasObject(csum, "commit") ? "corrupt" : "missing",
        `Loading commit for ref ${ref}: ${msg}`,
        [],
      );
  }
  say("Validating refs in collections...");
  say("Enumerating commits...");
  const all = listObjects(repo);
  const commits = all.filter((n) => n.endsWith(".commit")).map((n) => parseObjectName(n).checksum);
  const complete = commits.filter((c) => !isPartialCommit(repo, c));
  result.commits = complete.length;
  result.partialCommits = commits.length - complete.length;
  say(`Verifying content integrity of ${complete.length} commit objects...`);
  const reachable = new Set<ObjectName>();
  const parents = new Map<ObjectName, ObjectName[]>();
  for (const c of complete) {
    traverseCommit(repo, c, reachable, {
      depth: 0,
      onParent: (n, parent) => {
        const list = parents.get(n);
        if (!list) parents.set(n, [parent]);
        else if (!list.includes(parent)) list.push(parent);
      },
      onMissing: () => {},
    });
  }
  /** The commits that reach an object, in the order ostree lists them (a GHashTable's). */
  const commitsOf = (name: ObjectName): string[] => {
    const found: string[] = [];
    const seen = new Set<ObjectName>();
    const up = (n: ObjectName) => {
      if (seen.has(n)) return;
      seen.add(n);
      if (n.endsWith(".commit")) found.push(parseObjectName(n).checksum);
      else for (const p of parents.get(n) ?? []) up(p);
    };
    up(name);
    return gHashOrder(found);
  };
  // Objects whose commits become partial: missing ones always (as ostree), corrupt ones once deleted.
  const lost = new Set<ObjectName>();
  const check = (name: ObjectName) => {
    const { checksum, type } = parseObjectName(name);
    result.objectsChecked++;
    const owners = name.endsWith(".commit") ? [] : commitsOf(name);
    if (!repo.hasObject(checksum, type)) {
      const where = owners.length ? ` in commits ${owners.join(", ")}` : "";
      problem(name, "missing", `Object missing${where}: ${name}`, owners);
      lost.add(name);
      return;
    }
    const msg = verifyObject(repo, checksum, type);
    if (!msg) return;
    problem(name, "corrupt", owners.length ? `In commits ${owners.join(", ")}: ${msg}` : msg, owners);
    if (opts.delete) {
      unlinkSync(repo.objectPath(checksum, type));
      result.deleted.push(name);
      lost.add(name);
    }
  };
  for (const name of reachable) check(name);
  // Beyond ostree: loose objects no commit reaches are verified too.
  for (const name of all) if (!reachable.has(name)) check(name);
  for (const name of lost) {
    if (name.endsWith(".commit")) continue;
    for (const c of commitsOf(name)) {
      if (isPartialCommit(repo, c) || result.markedPartial.includes(c)) continue;
      markCommitPartial(repo, c);
      result.markedPartial.push(c);
    }
  }
  return result;
}
