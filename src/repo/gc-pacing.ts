// Pacing garbage collection by bytes processed, for threads that churn through big buffers.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Once a thread calls enableCollection(), a young-generation collection every few MiB frees dead
 * zlib output and chunk buffers, which V8 would otherwise let pile up (it waits for ~64 MiB of
 * external memory): the content pool's workers and the walking main thread each call it. Before
 * that, and in other programs, this does nothing.
 */
let gc = (globalThis as { gc?: (o: { type: "minor" }) => void }).gc;
const GC_EVERY = 2 << 20;
let sinceGc = 0;

/**
 * Turns on the periodic collections for this thread. `--expose-gc` is set only while a new context
 * picks gc() up: a V8 flag left set makes V8 refuse every code cache made under the default flags,
 * Node's own for its built-in modules and for a worker's start-up too (two content workers took
 * 47 ms to start instead of 28). V8's flags are the process's: another thread may reset the flag
 * in between, hence the retries.
 */
export function enableCollection(): void {
  for (let i = 0; !gc && i < 8; i++) {
    setFlagsFromString("--expose-gc");
    try {
      gc = runInNewContext("gc") as typeof gc;
    } catch {
      // the flag was reset before the context was made: try again
    } finally {
      setFlagsFromString("--no-expose-gc");
    }
  }
}

/** Counts bytes (or a cost in bytes) of garbage-producing work; collects every GC_EVERY. */
export function collectEvery(bytes: number): void {
  sinceGc += bytes;
  if (gc && sinceGc >= GC_EVERY) {
    sinceGc = 0;
    gc({ type: "minor" });
  }
}
