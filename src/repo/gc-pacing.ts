// Pacing garbage collection by bytes processed, for threads that churn through big buffers.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Once the pool calls enableCollection() (--expose-gc), a young-generation collection every few
 * MiB frees dead zlib output and chunk buffers, which V8 would otherwise let pile up (it waits for
 * ~64 MiB of external memory), in the workers and in the walking main thread. Before that, and in
 * other programs, this does nothing.
 */
let gc = (globalThis as { gc?: (o: { type: "minor" }) => void }).gc;
const GC_EVERY = 2 << 20;
let sinceGc = 0;

/** Turns on the periodic collections: for workers created after this, and for this thread. */
export function enableCollection(): void {
  setFlagsFromString("--expose-gc");
  gc ??= runInNewContext("gc") as typeof gc;
}

/** Counts bytes (or a cost in bytes) of garbage-producing work; collects every GC_EVERY. */
export function collectEvery(bytes: number): void {
  sinceGc += bytes;
  if (gc && sinceGc >= GC_EVERY) {
    sinceGc = 0;
    gc({ type: "minor" });
  }
}
