// INTERIM: dpkg version order, only until backends/deb/version.ts (compareDebVersions) lands; then
// the resolver switches to it and this file is deleted.

function order(c: number): number {
  if (c === 0x7e) return -1; // "~" sorts before everything, even the end of the string
  if (c >= 0x30 && c <= 0x39) return 0;
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return c;
  return c + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = i < a.length ? order(a.charCodeAt(i)) : 0;
      const bc = j < b.length ? order(b.charCodeAt(j)) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (i < a.length && a.charCodeAt(i) === 0x30) i++;
    while (j < b.length && b.charCodeAt(j) === 0x30) j++;
    while (i < a.length && isDigit(a.charCodeAt(i)) && j < b.length && isDigit(b.charCodeAt(j))) {
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

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function split(v: string): [number, string, string] {
  const colon = v.indexOf(":");
  const epoch = colon > 0 ? Number.parseInt(v.slice(0, colon), 10) || 0 : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf("-");
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ""];
}

export function compareDebVersions(a: string, b: string): number {
  if (a === b) return 0;
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return verrevcmp(ua, ub) || verrevcmp(ra, rb);
}
