// Kill points of the layering transaction for the crash tests, through the sysroot's mechanism
// (src/sysroot/fault.ts): TSOSTREE_FAULT=layer:STEP kills the process with SIGKILL at STEP. The
// transaction names its operation "layer", so the deploy's own points count too (layer:checkout,
// layer:etc-merged, layer:entries-written, …); TSOSTREE_FAULT_TRACE=FILE lists every point reached.
import { faultPoint, setFaultOp } from "../sysroot/fault.js";

/** The points the transaction itself passes, in order. */
export type LayerStep =
  /** Every package archive is in the package cache, none imported yet. */
  | "downloaded"
  /** Every package has its commit (and ref) in the repo. */
  | "imported"
  /** The layered commit is written, no deployment refers to it yet. */
  | "assembled"
  /** The new deployment and boot entries are in place, the lock not yet released. */
  | "deployed";

/** Marks the start of a layering transaction: the following points are `layer:…`. */
export function beginLayerFaults(): void {
  setFaultOp("layer");
}

export function layerFault(step: LayerStep): void {
  faultPoint(step);
}
