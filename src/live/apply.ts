// `tsostree-pkg apply-live`: puts the change between the running root and a target commit (the
// pending deployment's) into the running root now. The booted deployment directory and the repo's
// objects are never written: new paths arrive as checkouts (new hardlinks to objects, or copies)
// renamed into place, a replaced file is a new file renamed over the old name (never a write through
// a shared inode), and /etc only gains files it lacks. On a sandbox sysroot the running root is
// SYSROOT/run/root, the link farm `tsostree admin boot` lays out.
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
} from "node:fs";
import { basename, join } from "node:path";
import { checkout } from "../repo/checkout.js";
import type { DirTree } from "../repo/objects.js";
import { deleteRef, resolveRev, writeRef } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { children } from "../repo/walk.js";
import { checkoutMode } from "../sysroot/deploy.js";
import type { Deployment } from "../sysroot/deployment.js";
import { withLockedSysroot } from "../sysroot/ops.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { beginLiveFaults, liveFault } from "./fault.js";
import { changedUnits, reloadUnits } from "./hooks.js";
import { describeInUse, filesInUse } from "./in-use.js";
import { isSharedLibrary, refreshLinkerCache } from "./ldconfig.js";
import { type LivePlan, needsReplacement, pathList, planLive } from "./plan.js";
import { type LiveRoot, LiveRootError, liveRootPath, notLive, openLiveRoot } from "./root.js";
import {
  bootedId,
  clearLiveState,
  type EtcAddition,
  type LiveState,
  readLiveState,
  writeLiveState,
} from "./state.js";
import { runLiveTriggers, type TriggerOutcome } from "./triggers.js";

export class LiveApplyError extends Error {
  override name = "LiveApplyError";
}

/**
 * Refs that keep the live commit (and one being applied) in the repository: a transaction that
 * replaces the pending deployment prunes its commit, which the running root still matches (the refs
 * of rpm-ostree's live-apply). A later boot's first apply-live or reset drops stale ones.
 */
export const LIVE_REF = "tsostree/live-apply";
export const LIVE_INPROGRESS_REF = "tsostree/live-apply-inprogress";

function syncRefs(repo: Repo, st: LiveState | null): void {
  if (st?.commit) writeRef(repo, LIVE_REF, st.commit);
  else deleteRef(repo, LIVE_REF);
  if (st?.state === "in-progress" && st.target) writeRef(repo, LIVE_INPROGRESS_REF, st.target);
  else deleteRef(repo, LIVE_INPROGRESS_REF);
}

export interface ApplyLiveOptions {
  sysroot: string;
  osname?: string;
  /** A commit or ref; default: the stateroot's default deployment's commit. */
  target?: string;
  /** Make the running root the booted deployment again. */
  reset?: boolean;
  allowReplacement?: boolean;
  /**
   * Removals may go live (`uninstall --apply-live`) when nothing removed is in use (in-use.ts);
   * modified paths still need allowReplacement.
   */
  allowRemoval?: boolean;
}

export interface ApplyLiveResult {
  /** "noop": the target was live already (or nothing to reset). */
  kind: "applied" | "reset" | "noop";
  from: string;
  to: string;
  /** The change made by this run (null for noop and reset). */
  plan: LivePlan | null;
  /** Null after a reset. */
  state: LiveState | null;
  /** What could not be done (linker cache, …). */
  notes: string[];
}

/** The running root being written and how checkouts into it are made. */
interface Live {
  repo: Repo;
  root: LiveRoot;
  userMode: boolean;
}

/** The booted deployment's running root, or why there is none to apply to. */
function runningRoot(s: Sysroot): { booted: Deployment; root: string } {
  const booted = s.booted;
  if (!booted)
    throw new LiveApplyError(
      "not booted: apply-live changes the running system; boot the sysroot first (`tsostree admin boot --sysroot=S`)",
    );
  try {
    return { booted, root: liveRootPath(s, booted) };
  } catch (e) {
    if (e instanceof LiveRootError) throw new LiveApplyError(e.message);
    throw e;
  }
}

function defaultTarget(s: Sysroot, osname?: string): string {
  const os = s.resolveOsname(osname);
  const d = s.deployments.find((x) => x.osname === os);
  if (!d) throw new LiveApplyError(`no deployment of '${os}'`);
  return d.csum;
}

function emptyState(booted: Deployment): LiveState {
  return {
    booted: bootedId(booted),
    commit: null,
    state: "complete",
    target: null,
    added: [],
    updated: [],
    replaced: [],
    removed: [],
    etcAdded: [],
    notes: [],
  };
}

function exists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** The running root's file for the commit's path `p` (a plan never names one it cannot take). */
function at(l: Live, p: string): string {
  const f = l.root.path(p);
  if (f === null) throw new LiveApplyError(`${p} is outside what live-apply may write; reboot to apply it`);
  return f;
}

/** Checks out `path` of `plan.to` and renames it onto the running root's `dest` (replacing a file there). */
async function place(l: Live, plan: LivePlan, path: string, dest: string, copy = false): Promise<void> {
  const rev = plan.to;
  const staging = l.root.staging(dest);
  const tmp = join(staging, `${readdirSync(staging).length}-${basename(path)}`);
  await checkout(l.repo, rev, tmp, { subpath: path, userMode: l.userMode, forceCopy: copy || l.root.copy });
  dest = at(l, dest);
  // A directory subpath becomes TMP itself; a file lands inside TMP (ostree's --subpath rule).
  if (plan.entry(path).kind === "dir") renameSync(tmp, dest);
  else {
    const file = join(tmp, basename(path));
    renameSync(file, dest);
    // rename(2) between two links of one inode does nothing: a rerun after a kill finds the file
    // placed already (the same object), and the new link stays behind.
    try {
      rmdirSync(tmp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOTEMPTY") throw e;
      unlinkSync(file);
      rmdirSync(tmp);
    }
  }
}

/** Makes the running root's `p` what commit `plan.to` has; additions are skipped when present. */
async function execute(l: Live, plan: LivePlan): Promise<void> {
  let first = true;
  for (const p of plan.added) {
    // Present: an interrupted run renamed it into place already (renames are atomic).
    if (!exists(at(l, p))) await place(l, plan, p, p);
    if (first) liveFault("added-one");
    first = false;
  }
  for (const p of [...plan.updated, ...plan.replaced]) {
    const e = plan.entry(p);
    const dest = at(l, p);
    if (e.kind === "file") await place(l, plan, p, p);
    else {
      // A directory of the link farm is the running root's own inode: its metadata may change.
      const m = l.repo.loadDirMeta(e.meta);
      if (!l.userMode) chownSync(dest, m.uid, m.gid);
      chmodSync(dest, m.mode & 0o7777);
    }
  }
  removeAll(l, plan.removed);
}

/** Removes the running root's paths `paths` where present, each out of the way in one rename. */
function removeAll(l: Live, paths: string[]): void {
  for (const p of paths) {
    const dest = at(l, p);
    if (!exists(dest)) continue;
    // Out of the way in one rename, then deleted: the running root never holds half of it.
    const staging = l.root.staging(p);
    const gone = join(staging, `${readdirSync(staging).length}-removed`);
    renameSync(dest, gone);
    rmSync(gone, { recursive: true, force: true });
  }
}

function digest(p: string): string {
  const st = lstatSync(p);
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return `symlink:${readlinkSync(p)}`;
  return createHash("sha256").update(readFileSync(p)).digest("hex");
}

/** Every path of a tree just written into /etc, parents first. */
function recordTree(etc: string, rel: string, out: EtcAddition[]): void {
  const p = join(etc, rel);
  out.push({ path: rel, sha256: digest(p) });
  if (lstatSync(p).isDirectory()) for (const n of readdirSync(p).sort()) recordTree(etc, `${rel}/${n}`, out);
}

/** /usr/etc additions reach /etc where /etc has nothing at that path (copies: /etc is writable). */
async function addToEtc(l: Live, plan: LivePlan): Promise<EtcAddition[]> {
  const out: EtcAddition[] = [];
  const etc = at(l, "/etc");
  const visit = async (path: string, rel: string): Promise<void> => {
    const dest = join(etc, rel);
    if (!exists(join(dest, ".."))) return;
    if (!exists(dest)) {
      await place(l, plan, path, `/etc/${rel}`, true);
      recordTree(etc, rel, out);
      return;
    }
    const e = plan.entry(path);
    if (e.kind !== "dir" || !lstatSync(dest).isDirectory()) return;
    for (const c of children(l.repo.loadDirTree(e.tree), path)) await visit(c.path, `${rel}/${c.name}`);
  };
  const added = new Set(plan.etcAdded);
  for (const p of plan.etcAdded) {
    const parent = p.slice(0, p.lastIndexOf("/"));
    if (!added.has(parent)) await visit(p, p.slice("/usr/etc/".length));
  }
  return out;
}

/** Removes what live-apply added to /etc, unless the admin changed it since. */
function removeFromEtc(root: string, list: EtcAddition[]): string[] {
  const kept: string[] = [];
  for (const e of [...list].sort((a, b) => b.path.length - a.path.length)) {
    const p = join(root, "etc", e.path);
    if (!exists(p)) continue;
    if (e.sha256 === "dir") {
      if (readdirSync(p).length === 0) rmdirSync(p);
      else kept.push(`/etc/${e.path}`);
    } else if (digest(p) === e.sha256) unlinkSync(p);
    else kept.push(`/etc/${e.path}`);
  }
  return kept;
}

function prepare(s: Sysroot, booted: Deployment): Live {
  return { repo: withDirTreeCache(s.repo), root: openLiveRoot(s, booted), ...checkoutMode(s) };
}

/**
 * The repo with the dirtrees it parses kept for this apply: every placed path is looked up from the
 * root, and the big directories on the way (usr/lib/x86_64-linux-gnu, usr/bin) would otherwise be
 * parsed again for each file — a cost that grows with the base, not with what is applied. Objects
 * are immutable, and nothing here writes dirtrees.
 */
function withDirTreeCache(repo: Repo): Repo {
  const cache = new Map<string, DirTree>();
  const view = Object.create(repo) as Repo;
  view.loadDirTree = (csum: string): DirTree => {
    let t = cache.get(csum);
    if (!t) {
      t = repo.loadDirTree(csum);
      cache.set(csum, t);
    }
    return t;
  };
  return view;
}

function refusal(plan: LivePlan, real: boolean, removalAllowed: boolean): string | null {
  const outside = notLive(real, [...plan.added, ...plan.replaced, ...plan.removed, ...plan.typeChanged]);
  if (outside.length)
    return `on a host only /usr (and additions to /etc) can change live, the target also changes ${pathList(outside, ", ")}; nothing was changed — reboot to apply it`;
  if (plan.typeChanged.length)
    return `these paths change type (file <-> directory), which only a reboot applies: ${pathList(plan.typeChanged, ", ")}`;
  const need = needsReplacement(plan, removalAllowed);
  if (need.length)
    return `the target changes ${need.length} path(s) of the running system: ${pathList(need, ", ")}; nothing was changed — pass --allow-replacement to replace them in the running root (each atomically; the booted deployment keeps its files), or reboot`;
  return null;
}

export async function applyLive(o: ApplyLiveOptions): Promise<ApplyLiveResult> {
  beginLiveFaults();
  return withLockedSysroot(o.sysroot, async (s) => {
    const { booted, root } = runningRoot(s);
    const known = readLiveState(s.path, booted);
    // No state for this boot: refs left by an earlier boot's live apply keep nothing live any more.
    if (!known) syncRefs(s.repo, null);
    const prev = known ?? emptyState(booted);
    if (o.reset) return reset(s, root, booted, prev);
    const target = o.target ? (resolveRev(s.repo, o.target) as string) : defaultTarget(s, o.osname);
    const resume = prev.state === "in-progress";
    if (resume && prev.target !== target)
      throw new LiveApplyError(
        `a live apply of ${prev.target} was interrupted; complete it with \`apply-live --target=${prev.target}\` or undo it with \`apply-live --reset\``,
      );
    const from = prev.commit ?? booted.csum;
    if (from === target && !resume)
      return { kind: "noop", from, to: target, plan: null, state: prev.commit ? prev : null, notes: [] };
    const plan = planLive(s.repo, from, target);
    const real = root === "/";
    const why = refusal(plan, real, !!o.allowRemoval);
    const hard = plan.typeChanged.length || notLive(real, plan.added).length;
    if (why && !(o.allowReplacement && !hard)) throw new LiveApplyError(why);
    if (o.allowRemoval && !o.allowReplacement && plan.removedAll.length) {
      const busy = filesInUse(root, plan.removedAll);
      if (busy.length)
        throw new LiveApplyError(
          `the removal touches files in use: ${pathList(busy.map(describeInUse), ", ")}; nothing was changed in the running system (the new deployment waits for the next boot) — stop those processes and run \`tsostree-pkg apply-live --allow-replacement\`, or reboot`,
        );
    }
    if (!resume)
      for (const p of plan.added)
        if (exists(join(root, p)))
          throw new LiveApplyError(
            `${p} exists in the running root though ${from.slice(0, 12)} does not have it (changed outside apply-live?); nothing was changed — reboot, or remove it first`,
          );
    const l = prepare(s, booted);
    const started: LiveState = { ...prev, state: "in-progress", target };
    syncRefs(s.repo, started);
    writeLiveState(s.path, started);
    liveFault("started");
    let etcAdded: EtcAddition[];
    let triggers: TriggerOutcome;
    // Triggers of an interrupted run of this apply: the finished ones stand, an unfinished one's
    // paths go and it runs again (so a trigger's paths are there once, whatever it names them).
    let records = prev.triggers ?? [];
    const unfinished = records.filter((r) => !r.done);
    records = records.filter((r) => r.done);
    const save = () => writeLiveState(s.path, { ...started, triggers: records });
    const libs = [...plan.addedAll, ...plan.replaced, ...plan.removed].some(isSharedLibrary);
    // The linker cache is refreshed while the triggers run (they never touch ld.so.cache: ldconfig's
    // own triggers are left to this refresh); a trigger that adds a library gets a second refresh.
    let linker: Promise<string | null> = Promise.resolve(null);
    // The triggers' sandbox runs while the files are placed (it reads only the repository); what it
    // made is judged and placed once they are (`ready`).
    let open: (go: boolean) => void = () => {};
    const ready = new Promise<boolean>((resolve) => {
      open = resolve;
    });
    const mine = (label: string) => records.find((r) => r.target === target && r.label === label);
    const triggerRun = runLiveTriggers(s.repo, plan, {
      ready,
      path: (p) => l.root.path(p),
      staging: (p) => l.root.staging(p),
      done: (label) => resume && !!mine(label),
      begin(label, added) {
        records = [...records, { target, label, added, done: false }];
        save();
      },
      finish(label) {
        records = records.map((r) => (r.target === target && r.label === label ? { ...r, done: true } : r));
        save();
      },
      addedOne: () => liveFault("trigger-added"),
    });
    triggerRun.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    try {
      await execute(l, plan);
      etcAdded = [...prev.etcAdded, ...(await addToEtc(l, plan))];
      liveFault("files-done");
      if (libs) linker = refreshLinkerCache(root);
      if (unfinished.length) {
        removeAll(
          l,
          unfinished.flatMap((r) => r.added),
        );
        save();
      }
      open(true);
      triggers = await triggerRun;
    } finally {
      open(false);
      // Never leave a sandbox or ldconfig running behind a failure.
      await triggerRun.catch(() => null);
      await linker.catch(() => null);
      l.root.close();
    }
    const notes: string[] = [];
    let note = await linker;
    if (!note && triggers.added.some(isSharedLibrary)) note = await refreshLinkerCache(root);
    if (note) notes.push(note);
    notes.push(...reloadUnits(l.root.real, changedUnits(plan)));
    if (triggers.ran.length)
      notes.push(
        `triggers run against the live root: ${pathList(triggers.ran, "; ")}${triggers.added.length ? ` (added ${pathList(triggers.added, ", ")})` : " (their files came with the commit)"}`,
      );
    for (const d of triggers.deferred) notes.push(`trigger ${d}`);
    // Relative to the booted commit, so status and --reset see everything applied since the boot.
    const total = from === booted.csum ? plan : planLive(s.repo, booted.csum, target);
    const state: LiveState = {
      booted: bootedId(booted),
      commit: target,
      state: "complete",
      target,
      added: total.added,
      updated: total.updated,
      replaced: total.replaced,
      removed: total.removed,
      etcAdded,
      triggers: records,
      notes,
    };
    writeLiveState(s.path, state);
    syncRefs(s.repo, state);
    return { kind: "applied", from, to: target, plan, state, notes };
  });
}

/** Undoes every live change: each commit applied (or being applied) is diffed back to the booted one. */
async function reset(
  s: Sysroot,
  root: string,
  booted: Deployment,
  prev: LiveState,
): Promise<ApplyLiveResult> {
  const applied = [...new Set([prev.target, prev.commit])].filter(
    (c): c is string => !!c && c !== booted.csum,
  );
  const triggerAdded = (prev.triggers ?? []).flatMap((t) => t.added);
  if (!applied.length && !prev.etcAdded.length && !triggerAdded.length) {
    clearLiveState(s.path);
    return { kind: "noop", from: booted.csum, to: booted.csum, plan: null, state: null, notes: [] };
  }
  const l = prepare(s, booted);
  writeLiveState(s.path, { ...prev, state: "in-progress", target: booted.csum });
  let libs = false;
  const units: string[] = [];
  try {
    // What triggers made first: it may sit in directories of the base that the commits do not remove.
    removeAll(l, triggerAdded);
    libs = triggerAdded.some(isSharedLibrary);
    for (const c of applied) {
      const plan = planLive(s.repo, c, booted.csum);
      await execute(l, plan);
      libs ||= [...plan.addedAll, ...plan.replaced, ...plan.removed].some(isSharedLibrary);
      units.push(...changedUnits(plan));
    }
  } finally {
    l.root.close();
  }
  const notes = removeFromEtc(root, prev.etcAdded).map((p) => `${p} was changed since it was added; kept`);
  if (libs) {
    const note = await refreshLinkerCache(root);
    if (note) notes.push(note);
  }
  notes.push(...reloadUnits(l.root.real, [...new Set(units)]));
  clearLiveState(s.path);
  syncRefs(s.repo, null);
  return { kind: "reset", from: prev.commit ?? booted.csum, to: booted.csum, plan: null, state: null, notes };
}
