// Fault injection for the crash tests: TSOSTREE_FAULT=OP:STEP makes the process die with SIGKILL
// when operation OP reaches STEP (OP:STEP:throw raises an error instead, as a failed write would).
// TSOSTREE_FAULT_TRACE=FILE appends every step reached, so a test can enumerate them.
import { appendFileSync } from "node:fs";

let currentOp = "none";

export class InjectedFault extends Error {
  override name = "InjectedFault";
}

/** Names the operation whose steps follow (deploy, rollback, undeploy, cleanup, …). */
export function setFaultOp(op: string): void {
  currentOp = op;
}

export function faultPoint(step: string): void {
  const trace = process.env.TSOSTREE_FAULT_TRACE;
  if (trace) appendFileSync(trace, `${currentOp}:${step}\n`);
  const spec = process.env.TSOSTREE_FAULT;
  if (!spec) return;
  const [op, at, how] = spec.split(":");
  if (at !== step || (op !== currentOp && op !== "*")) return;
  if (how === "throw") throw new InjectedFault(`injected failure at ${currentOp}:${step}`);
  process.kill(process.pid, "SIGKILL");
}
