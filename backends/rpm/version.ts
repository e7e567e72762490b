// rpm's version order: rpmvercmp on alternating digit/letter segments, with '~' sorting before
// everything (even the end) and '^' sorting after the end but before any other segment.

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function isAlpha(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
}

function isAlnum(c: string): boolean {
  return isDigit(c) || isAlpha(c);
}

/** Compares two version (or release) strings the way rpm does: -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== "~" && a[i] !== "^") i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== "~" && b[j] !== "^") j++;
    if (a[i] === "~" || b[j] === "~") {
      if (a[i] !== "~") return 1;
      if (b[j] !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === "^" || b[j] === "^") {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== "^") return 1;
      if (b[j] !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const test = numeric ? isDigit : isAlpha;
    let ie = i;
    let je = j;
    while (ie < a.length && test(a[ie])) ie++;
    while (je < b.length && test(b[je])) je++;
    // A numeric segment always beats an alphabetic one.
    if (je === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ie);
    let sb = b.slice(j, je);
    if (numeric) {
      sa = sa.replace(/^0+/, "");
      sb = sb.replace(/^0+/, "");
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ie;
    j = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i < a.length ? 1 : -1;
}

export interface EVR {
  epoch: number;
  version: string;
  /** undefined when the text had no release. */
  release?: string;
}

/** Splits `[epoch:]version[-release]`. */
export function parseEVR(text: string): EVR {
  let rest = text.trim();
  let epoch = 0;
  const m = /^(\d+):/.exec(rest);
  if (m) {
    epoch = Number.parseInt(m[1], 10);
    rest = rest.slice(m[0].length);
  }
  const dash = rest.lastIndexOf("-");
  if (dash < 0) return { epoch, version: rest };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/**
 * Compares two `[epoch:]version[-release]` strings: epoch, then version, then release — the release
 * only when both sides have one, which is how rpm matches "foo >= 1.2" against "1.2-3".
 */
export function compareEVR(a: string, b: string): number {
  const x = parseEVR(a);
  const y = parseEVR(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0 || x.release === undefined || y.release === undefined) return v;
  return rpmvercmp(x.release, y.release);
}

/** The version as rpm prints it: `[epoch:]version-release`. */
export function formatRpmVersion(v: { epoch: number; version: string; release: string }): string {
  return `${v.epoch ? `${v.epoch}:` : ""}${v.version}${v.release ? `-${v.release}` : ""}`;
}
