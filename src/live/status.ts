// The live state as `tsostree-pkg status` shows it: rows of the booted deployment and a JSON object.
import type { Sysroot } from "../sysroot/sysroot.js";
import { readLiveState } from "./state.js";

export interface LiveStatus {
  /** The commit the running root matches (null while the first apply is interrupted). */
  commit: string | null;
  /** "complete", or "interrupted" (run apply-live again, or --reset). */
  state: "complete" | "interrupted";
  /** The commit of the interrupted apply. */
  target: string | null;
  added: string[];
  updated: string[];
  replaced: string[];
  removed: string[];
  etcAdded: string[];
  /** Paths the added packages' triggers made in the running root. */
  triggerAdded: string[];
  notes: string[];
}

export function liveStatus(s: Sysroot): LiveStatus | null {
  const st = readLiveState(s.path, s.booted);
  if (!st) return null;
  return {
    commit: st.commit,
    state: st.state === "complete" ? "complete" : "interrupted",
    target: st.state === "complete" ? null : st.target,
    added: st.added,
    updated: st.updated,
    replaced: st.replaced,
    removed: st.removed,
    etcAdded: st.etcAdded.map((e) => `/etc/${e.path}`),
    triggerAdded: (st.triggers ?? []).flatMap((t) => t.added),
    notes: st.notes,
  };
}

export function liveRows(l: LiveStatus | null): [string, string][] {
  if (!l) return [];
  const rows: [string, string][] = [];
  if (l.commit) rows.push(["LiveCommit", l.commit]);
  if (l.state === "interrupted")
    rows.push(["LiveApply", `interrupted towards ${l.target} (run apply-live again, or --reset)`]);
  const count = (n: number, what: string) => (n ? [`${n} ${what}`] : []);
  const diff = [
    ...count(l.added.length, "added"),
    ...count(l.updated.length, "updated (package databases, /usr/etc)"),
    ...count(l.replaced.length, "replaced"),
    ...count(l.removed.length, "removed"),
    ...count(l.etcAdded.length, "added to /etc"),
    ...count(l.triggerAdded.length, "added by triggers"),
  ];
  if (diff.length) rows.push(["LiveDiff", diff.join(", ")]);
  return rows;
}
