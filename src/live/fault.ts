// Kill points of live-apply for the crash tests, through the sysroot's mechanism
// (src/sysroot/fault.ts): TSOSTREE_FAULT=live:STEP kills the process with SIGKILL at STEP.
import { faultPoint, setFaultOp } from "../sysroot/fault.js";

export type LiveStep =
  /** The state says "in-progress", nothing in the running root is touched yet. */
  | "started"
  /** The first added path is in the running root, the others not yet. */
  | "added-one"
  /** Every file is in place; the linker cache and the final state are not written. */
  | "files-done"
  /** The first path a trigger made is in the running root (its list is in the state). */
  | "trigger-added";

export function beginLiveFaults(): void {
  setFaultOp("live");
}

export function liveFault(step: LiveStep): void {
  faultPoint(step);
}
