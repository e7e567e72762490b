// Fault injection for crash-safety tests: TSOSTREE_FAULT=<step> kills the process with SIGKILL when
// it reaches that step, exactly as a power cut or OOM kill would stop it (no cleanup handlers run).
// Steps: staged-write (commit object staged), before-rename (after syncfs), mid-rename (half of the
// objects renamed into objects/), before-ref (objects durable, refs not yet moved).

export function fault(step: string): void {
  if (process.env.TSOSTREE_FAULT === step) process.kill(process.pid, "SIGKILL");
}
