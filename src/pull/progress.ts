// The pull's counters and its one-line progress display (a TTY only; nothing when piped).
export interface PullProgress {
  metadataFetched: number;
  contentFetched: number;
  /** Objects known to be needed so far and not present locally (grows while dirtrees arrive). */
  requested: number;
  bytes: number;
  startedMs: number;
  /** Static delta parts to fetch (inline and already-present parts excluded once known). */
  deltaParts?: number;
  deltaPartsFetched?: number;
  /** Bytes of superblocks and parts, part of `bytes`. */
  deltaBytes?: number;
}

/** A pull's counters, all zero, started now. */
export function newPullProgress(): PullProgress {
  return { metadataFetched: 0, contentFetched: 0, requested: 0, bytes: 0, startedMs: Date.now() };
}

function size(n: number): string {
  const units = ["B", "kB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/**
 * `Receiving objects: 120/300 (40%) 1.2 MB 3.4 MB/s ETA 2s`, or while a static delta is being
 * fetched `Receiving delta parts: 1/2 …`.
 */
export function progressLine(p: PullProgress, nowMs = Date.now()): string {
  const parts = p.deltaParts ?? 0;
  const partsDone = p.deltaPartsFetched ?? 0;
  if (parts > partsDone) {
    const secs = Math.max((nowMs - p.startedMs) / 1000, 0.001);
    return `Receiving delta parts: ${partsDone}/${parts} ${size(p.bytes)} ${size(p.bytes / secs)}/s`;
  }
  const done = p.metadataFetched + p.contentFetched;
  const secs = Math.max((nowMs - p.startedMs) / 1000, 0.001);
  const rate = p.bytes / secs;
  const pct = p.requested ? Math.floor((100 * done) / p.requested) : 100;
  const perObject = done ? secs / done : 0;
  const eta = Math.max(0, Math.round(perObject * (p.requested - done)));
  return `Receiving objects: ${done}/${p.requested} (${pct}%) ${size(p.bytes)} ${size(rate)}/s ETA ${eta}s`;
}

/** Redraws the progress line on stderr every `everyMs` while a TTY is attached; stop() clears it. */
export function ttyProgress(get: () => PullProgress, everyMs = 250): { stop(): void } {
  if (!process.stderr.isTTY) return { stop() {} };
  const draw = () => process.stderr.write(`\r\x1b[K${progressLine(get())}`);
  const timer = setInterval(draw, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      process.stderr.write("\r\x1b[K");
    },
  };
}
