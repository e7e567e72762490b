// What was applied live on top of the booted deployment, kept where a reboot forgets it: the
// sysroot's /run (SYSROOT/run on a sandbox, cleared by `admin boot`). Written atomically before
// anything is touched (state "in-progress", naming the target) and again when done ("complete"), so
// an interrupted apply is recognized and completed by the next one, and `--reset` knows what to undo.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runDir } from "../sysroot/booted.js";
import type { Deployment } from "../sysroot/deployment.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface EtcAddition {
  /** Below /etc, no leading slash ("tso-greeting.conf"). */
  path: string;
  /** sha256 of the content written, or "dir": removed by `--reset` only while unchanged (or empty). */
  sha256: string;
}

/** A trigger run live and what it made; `--reset` removes `added`. */
export interface TriggerRecord {
  /** The commit being applied when it ran. */
  target: string;
  /** "debianutils postinst triggered /usr/share/debianutils/shells.d". */
  label: string;
  /** Paths it made in the running root (roots of new subtrees), recorded before they are placed. */
  added: string[];
  /** False while its paths are being placed: a rerun removes them and runs it again. */
  done: boolean;
}

export interface LiveState {
  /** The booted deployment this state belongs to (`CSUM.SERIAL`). */
  booted: string;
  /** The commit the running root matches (null: nothing applied yet, or everything reset). */
  commit: string | null;
  /** "in-progress": an apply towards `target` started and did not finish (killed or failed). */
  state: "complete" | "in-progress";
  /** The commit of the apply in progress (equals `commit` once complete). */
  target: string | null;
  /** Paths added to the running root relative to the booted commit (roots of added subtrees). */
  added: string[];
  /** Package databases and /usr/etc defaults of the booted commit, updated with the package set. */
  updated: string[];
  /** Other paths of the booted commit replaced (--allow-replacement). */
  replaced: string[];
  /** Paths of the booted commit removed from the running root (--allow-replacement). */
  removed: string[];
  /** The added packages' triggers run against the running root (triggers.ts), in order. */
  triggers?: TriggerRecord[];
  /** Files and directories added to /etc (only where absent). */
  etcAdded: EtcAddition[];
  /** What the last apply could not do, for `status` (ldconfig unavailable, …). */
  notes: string[];
}

export function liveStatePath(sysroot: string): string {
  return join(runDir(sysroot), "tsostree/live.json");
}

export function bootedId(d: Deployment): string {
  return `${d.csum}.${d.deployserial}`;
}

/** The live state of the booted deployment, or null (nothing applied since the boot). */
export function readLiveState(sysroot: string, booted: Deployment | null): LiveState | null {
  const p = liveStatePath(sysroot);
  if (!booted || !existsSync(p)) return null;
  const st = JSON.parse(readFileSync(p, "utf8")) as LiveState;
  // A state left by another boot is no state (a real /run is a tmpfs; a sandbox's is cleared).
  return st.booted === bootedId(booted) ? st : null;
}

export function writeLiveState(sysroot: string, st: LiveState): void {
  const p = liveStatePath(sysroot);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileAtomic(p, `${JSON.stringify(st, null, 2)}\n`);
}

export function clearLiveState(sysroot: string): void {
  rmSync(liveStatePath(sysroot), { force: true });
}
