// The added packages' triggers against the live root. The layering ran them in its script sandbox
// (compose/sandbox.ts) when it made the target commit; which ones is decided again here by the same
// pure planner (compose/scripts-plan.ts) for the packages the target layers and the live commit
// does not: the base's dpkg trigger interests their new paths activate (`postinst triggered`), and
// the layered packages' rpm file triggers. ldconfig's triggers are left out (ldconfig.ts serves
// them). A base package's trigger is listed, not re-run: it ran when the commit was composed, its
// files come with the commit, and what else it does (man-db's index under /var, update-shells
// rewriting /etc/shells) waits for the next boot either way; running it again would cost what the
// size of the base costs and change nothing live.
//
// Each layered package's trigger is re-run alone in that sandbox over the target commit (the tree the live /usr now has, with
// /etc = usr/etc and a scratch /var, as at compose time), and what it writes (the overlay's upper
// dir) decides:
// - every path it writes is one the live commit lacks (its effect on the target commit was purely
//   additive): it counts as run live; what it made that the running root lacks is copied in, each
//   new path renamed into place whole (on a host: only below /usr), never over an existing one;
// - it changes or removes a path the live commit has (update-shells rewriting /etc/shells, a cache
//   rebuilt in place): not run live; its effect is in the new deployment and arrives at the next
//   boot — listed with the paths as the reason.
// Effects on /var stay in the scratch /var, as they do at compose time.
import { spawnSync } from "node:child_process";
import { lstatSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { baseOf, type LayeredPackageStatus, layeredPackagesOf } from "../compose/layered-commit.js";
import { type PackageCommitMeta, readPackageMeta } from "../compose/package-meta.js";
import { runSandboxed, SandboxError, type SandboxFile } from "../compose/sandbox.js";
import { dpkgVersion, type PlannedScript, planScripts, readInstalledInterests } from "../compose/scripts.js";
import { packageRef } from "../packages/import.js";
import { MutableTree } from "../repo/mtree.js";
import { metadataGet } from "../repo/objects.js";
import { resolveRev } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import { getXattr } from "../util/native.js";
import { type LivePlan, pathList } from "./plan.js";

/** The steps of a layering that are triggers (the rest are the packages' own scripts). */
const TRIGGER_STEPS = new Set(["postinst triggered", "%filetriggerin", "%transfiletriggerin", "%triggerin"]);

/** ldconfig's triggers are served by the linker cache refresh. */
export const isLdconfig = (condition: string, body: string) =>
  /(^|\/)ldconfig\b/.test(condition) || /^\s*(\/sbin\/|\/usr\/sbin\/)?ldconfig\s*$/.test(body);

/** The package commits of what `to` layers and `from` does not (read from commit metadata only). */
export function addedPackages(repo: Repo, from: string, to: string): PackageCommitMeta[] {
  const key = (p: LayeredPackageStatus) => `${p.name}\0${p.version}\0${p.arch}`;
  const had = new Set(layeredPackagesOf(repo, from).map(key));
  const out: PackageCommitMeta[] = [];
  for (const p of layeredPackagesOf(repo, to)) {
    if (had.has(key(p))) continue;
    const commit = ["deb", "rpm"]
      .map((kind) => resolveRev(repo, packageRef(kind, p.name, p.version, p.arch), true))
      .find((c): c is string => !!c);
    if (commit) out.push(readPackageMeta(repo, commit));
  }
  return out;
}

/** False when the layering of `commit` skipped every script (`--no-scripts`): no trigger ran. */
function scriptsRan(repo: Repo, commit: string): boolean {
  return metadataGet(repo.loadCommit(commit).metadata, "tsostree.scripts")?.value !== false;
}

export interface TriggerOutcome {
  /** Labels of the triggers counted as run live ("debianutils postinst triggered"). */
  ran: string[];
  /** Paths they added to the running root in this run (roots of new subtrees). */
  added: string[];
  /** One line per trigger not run live: label and reason. */
  deferred: string[];
}

/** What a trigger wrote, read from the sandbox's upper dir. */
export interface UpperChanges {
  /** New paths (roots: a new directory stands for what is below it). */
  added: string[];
  /** Paths that existed and were rewritten, removed, replaced or got new metadata. */
  changed: string[];
}

/**
 * Sorts an overlay upper dir into new and changed paths ("/usr/x"), against the lower layers.
 * `skip`: the sandbox's own mount points (relative), not a step's doing.
 */
export function upperChanges(upper: string, lower: string[], skip: ReadonlySet<string>): UpperChanges {
  const out: UpperChanges = { added: [], changed: [] };
  const inLower = (rel: string) => {
    for (const l of lower) {
      const st = lstatSync(join(l, rel), { throwIfNoEntry: false });
      if (st) return st;
    }
    return undefined;
  };
  const opaque = (p: string) =>
    ["trusted.overlay.opaque", "user.overlay.opaque"].some((x) => getXattr(p, x)?.toString() === "y");
  const visit = (rel: string) => {
    for (const name of readdirSync(join(upper, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip.has(r)) continue;
      const p = join(upper, r);
      const st = lstatSync(p);
      const was = inLower(r);
      if (!was) {
        // A whiteout over nothing is no change; anything else is new.
        if (!(st.isCharacterDevice() && st.rdev === 0)) out.added.push(`/${r}`);
        continue;
      }
      if (st.isDirectory() && was.isDirectory() && !opaque(p)) {
        // Copied up for a change below, unless its own mode or owner changed.
        if ((st.mode & 0o7777) !== (was.mode & 0o7777) || st.uid !== was.uid || st.gid !== was.gid)
          out.changed.push(`/${r}`);
        visit(r);
        continue;
      }
      out.changed.push(`/${r}`);
    }
  };
  visit("");
  return out;
}

/**
 * The trigger steps the layering of `plan.to` ran for the packages it adds over `plan.from`: those
 * of layered packages (`steps`, re-run live) and the base packages' dpkg interests their files
 * activated (`base`, labels only: not re-run — see runLiveTriggers).
 */
export function plannedTriggers(
  repo: Repo,
  plan: LivePlan,
): { steps: PlannedScript[]; base: string[]; files: SandboxFile[]; lua: string[] } {
  const none = { steps: [], base: [], files: [], lua: [] };
  if (!scriptsRan(repo, plan.to)) return none;
  const added = addedPackages(repo, plan.from, plan.to);
  if (!added.length) return none;
  const tree = MutableTree.fromCommit(repo, plan.to);
  // A layered package's own interests were handled by its configure in the layering, not triggered.
  const layered = new Set(layeredPackagesOf(repo, plan.to).map((p) => p.name));
  const installed = readInstalledInterests(tree, repo).filter(
    (i) => !layered.has(i.package) && i.trigger !== "ldconfig",
  );
  // The paths the live commit gains (files and links): the layering matched its packages' files,
  // which are these, less what its scripts made.
  const newPaths = plan.addedAll.filter((p) => plan.entry(p).kind === "file");
  const lua: string[] = [];
  const packages = added.map((m, i) => ({
    kind: m.kind,
    name: m.name,
    arch: m.arch,
    version: m.evr,
    scripts: [],
    triggers: m.triggers.filter((t) => {
      if (isLdconfig(t.condition, t.body)) return false;
      if (t.interpreter.trim() !== "<lua>") return true;
      lua.push(`${m.name}: ${t.kind} ${t.condition}`);
      return false;
    }),
    newPaths: i === 0 ? newPaths : [],
  }));
  const p = planScripts({
    packages,
    installed,
    dpkgVersion: added.some((m) => m.kind === "deb") ? dpkgVersion(tree, repo) : "",
    hasLdconfig: false,
  });
  const steps = p.steps.filter((s) => TRIGGER_STEPS.has(s.script));
  return {
    steps: steps.filter((s) => layered.has(s.package)),
    base: steps.filter((s) => !layered.has(s.package)).map((s) => s.label),
    files: p.files,
    lua,
  };
}

export interface TriggerTarget {
  /** Where the commit path `p` lives in the running root, or null when it is not live-writable. */
  path(p: string): string | null;
  /** A directory on the same filesystem as `path(p)`. */
  staging(p: string): string;
  /** True when an interrupted run of this apply completed the trigger `label` already. */
  done(label: string): boolean;
  /** Records that `label` is about to place `paths` (before the first, so --reset finds them). */
  begin(label: string, paths: string[]): void;
  /** Records that `label` is complete. */
  finish(label: string): void;
  /** Called after the first path is in place (fault injection). */
  addedOne(): void;
  /**
   * Resolves once the running root has the commit's own files (true), or the apply failed (false:
   * place nothing). The sandbox runs meanwhile: it reads only the repository.
   */
  ready: Promise<boolean>;
}

function exists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** Copies `src` (a path in the upper dir) to the running root's `dest` by a copy renamed into place. */
function placeCopy(t: TriggerTarget, src: string, p: string, dest: string): void {
  const staging = t.staging(p);
  const tmp = join(staging, `${readdirSync(staging).length}-trigger`);
  // No xattrs: the upper dir's overlay.* attributes must not reach the running root.
  const r = spawnSync("cp", ["-R", "-P", "--preserve=mode,ownership,timestamps", src, tmp], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`cp ${src}: ${(r.stderr || r.error?.message || "").trim()}`);
  renameSync(tmp, dest);
}

/** Runs the added packages' triggers against the live root as the header says. */
export async function runLiveTriggers(repo: Repo, plan: LivePlan, t: TriggerTarget): Promise<TriggerOutcome> {
  const out: TriggerOutcome = { ran: [], added: [], deferred: [] };
  const { steps, base, files, lua } = plannedTriggers(repo, plan);
  for (const l of lua) out.deferred.push(`${l}: a Lua trigger cannot run in the script sandbox`);
  // A base package's trigger (man-db's index, update-shells) is not the added packages' own: it ran
  // when the new deployment was composed, so the files it made come with the commit; re-running it
  // here would only rebuild state under the sandbox's scratch /var or rewrite files of the running
  // system, which waits for the next boot either way — and would cost what the base's size costs.
  for (const l of base)
    out.deferred.push(
      `${l}: a trigger of the base, not of an added package — it ran when the new deployment was composed: the files it made come with the commit, the rest takes effect at the next boot`,
    );
  if (!steps.length) return out;
  const addedAll = new Set(plan.addedAll);
  const newInLive = (p: string): boolean => {
    for (let q = p; q; q = q.slice(0, q.lastIndexOf("/"))) if (addedAll.has(q)) return true;
    return false;
  };
  let first = true;
  // Staged objects (the sandbox's in-memory tree) are dropped: nothing reaches the repository.
  const tx = await Transaction.begin(repo);
  try {
    const tree = MutableTree.fromCommit(tx, plan.to);
    for (const step of steps) {
      if (t.done(step.label)) {
        out.ran.push(step.label);
        continue;
      }
      let why: string | null = null;
      let cancelled = false;
      const judge = async (upper: string, o: { lower: string[]; skip: ReadonlySet<string> }) => {
        if (!(await t.ready)) {
          cancelled = true;
          return;
        }
        const c = upperChanges(upper, o.lower, o.skip);
        // Rewriting what the live commit lacks is still additive: the live commit gains it anyway.
        const changed = c.changed.filter((p) => !newInLive(p));
        const outside = [...c.added, ...c.changed].filter((p) => t.path(p) === null);
        if (changed.length) why = `it changes ${pathList(changed, ", ")}`;
        else if (outside.length)
          why = `it writes ${pathList(outside, ", ")}, which cannot change live on a host`;
        if (why) return;
        const fresh = c.added.filter((p) => !exists(t.path(p)!));
        t.begin(step.label, fresh);
        for (const p of fresh) {
          placeCopy(t, join(upper, p), p, t.path(p)!);
          out.added.push(p);
          if (first) t.addedOne();
          first = false;
        }
      };
      try {
        const r = await runSandboxed(tx, tree, [step], files, baseOf(repo, plan.to), judge);
        if (cancelled) return out;
        if (r.failed) why = `it failed with exit status ${r.failed.status} in the sandbox`;
      } catch (e) {
        // The sandbox itself could not run here (no bwrap, no overlay): nothing was placed.
        if (!(e instanceof SandboxError)) throw e;
        why = e.message;
      }
      if (why)
        out.deferred.push(
          `${step.label}: runs at the next boot (its effect is in the new deployment) — ${why}`,
        );
      else {
        t.finish(step.label);
        out.ran.push(step.label);
      }
    }
    return out;
  } finally {
    tx.abort();
  }
}
