// dpkg's version order (deb-version(7)): epoch numerically, then upstream and revision with verrevcmp,
// where letters sort before non-letters and '~' sorts before everything, even the end of the string.

export interface DebVersion {
  epoch: number;
  upstream: string;
  /** "" when the version has no Debian revision. */
  revision: string;
}

/** Splits `[epoch:]upstream[-revision]`. Lenient, like dpkg's comparison: it never throws. */
export function parseDebVersion(text: string): DebVersion {
  const v = text.trim();
  let epoch = 0;
  let rest = v;
  const colon = v.indexOf(":");
  if (colon >= 0 && /^\d+$/.test(v.slice(0, colon))) {
    epoch = Number.parseInt(v.slice(0, colon), 10);
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  if (dash >= 0) return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
  return { epoch, upstream: rest, revision: "" };
}

/** The version as dpkg prints it: epoch only when non-zero, revision only when present. */
export function formatDebVersion(v: { epoch: number; version: string; release: string }): string {
  return `${v.epoch ? `${v.epoch}:` : ""}${v.version}${v.release ? `-${v.release}` : ""}`;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Weight of one non-digit character; 0 stands for "end of string". */
function order(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e) return -1; // '~'
  return c + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a, i);
      const bc = order(b, j);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** dpkg --compare-versions as a comparator: negative, 0 or positive. */
export function compareDebVersions(a: string, b: string): number {
  const va = parseDebVersion(a);
  const vb = parseDebVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const u = verrevcmp(va.upstream, vb.upstream);
  if (u) return Math.sign(u);
  return Math.sign(verrevcmp(va.revision, vb.revision));
}
