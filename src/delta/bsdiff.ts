// bsdiff (Colin Percival's algorithm) producing patches in the form ostree's bspatch reads (see
// bspatch.ts): a suffix array of the old file, then a scan of the new file for long approximate
// matches; each stretch becomes a control triple, bytewise differences against the old file
// (mostly zeros, which xz then squeezes) and literal "extra" bytes.
import { offtout } from "./bspatch.js";

/**
 * The suffix array of `s` with the empty suffix first (n + 1 entries), by prefix doubling with
 * counting sorts: O(n log n), no recursion.
 */
export function suffixArray(s: Uint8Array): Int32Array {
  const n = s.length;
  const out = new Int32Array(n + 1);
  out[0] = n;
  if (n === 0) return out;
  const sa = new Int32Array(n);
  let rank = new Int32Array(n);
  let next = new Int32Array(n);
  const tmp = new Int32Array(n);
  let classes = 256;
  let cnt = new Int32Array(classes);
  for (let i = 0; i < n; i++) cnt[s[i]!]!++;
  for (let c = 1; c < classes; c++) cnt[c]! += cnt[c - 1]!;
  for (let i = n - 1; i >= 0; i--) sa[--cnt[s[i]!]!] = i;
  // Classes of the first byte.
  classes = 0;
  for (let j = 0; j < n; j++) {
    if (j === 0 || s[sa[j]!] !== s[sa[j - 1]!]) classes++;
    next[sa[j]!] = classes - 1;
  }
  [rank, next] = [next, rank];
  for (let k = 1; classes < n; k *= 2) {
    // Order by the second key (rank at i+k; past the end sorts first), then stably by the first.
    let p = 0;
    for (let i = n - k; i < n; i++) tmp[p++] = i;
    for (let j = 0; j < n; j++) if (sa[j]! >= k) tmp[p++] = sa[j]! - k;
    cnt = new Int32Array(classes);
    for (let i = 0; i < n; i++) cnt[rank[i]!]!++;
    for (let c = 1; c < classes; c++) cnt[c]! += cnt[c - 1]!;
    for (let j = n - 1; j >= 0; j--) sa[--cnt[rank[tmp[j]!]!]!] = tmp[j]!;
    const second = (i: number) => (i + k < n ? rank[i + k]! : -1);
    classes = 0;
    for (let j = 0; j < n; j++) {
      const b = sa[j]!;
      if (j === 0) classes = 1;
      else {
        const a = sa[j - 1]!;
        if (rank[a] !== rank[b] || second(a) !== second(b)) classes++;
      }
      next[b] = classes - 1;
    }
    [rank, next] = [next, rank];
  }
  out.set(sa, 1);
  return out;
}

function matchLen(old: Uint8Array, op: number, nw: Uint8Array, np: number): number {
  let i = 0;
  while (op + i < old.length && np + i < nw.length && old[op + i] === nw[np + i]) i++;
  return i;
}

/** Whether old[op..] sorts before nw[np..] over their common length (memcmp < 0). */
function oldBefore(old: Uint8Array, op: number, nw: Uint8Array, np: number): boolean {
  const n = Math.min(old.length - op, nw.length - np);
  for (let i = 0; i < n; i++) {
    const d = old[op + i]! - nw[np + i]!;
    if (d !== 0) return d < 0;
  }
  return false;
}

/** The longest match of nw[np..] among the old file's suffixes: [length, position]. */
function search(sa: Int32Array, old: Uint8Array, nw: Uint8Array, np: number): [number, number] {
  let st = 0;
  let en = old.length;
  while (en - st >= 2) {
    const x = st + ((en - st) >> 1);
    if (oldBefore(old, sa[x]!, nw, np)) st = x;
    else en = x;
  }
  const a = matchLen(old, sa[st]!, nw, np);
  const b = matchLen(old, sa[en]!, nw, np);
  return a > b ? [a, sa[st]!] : [b, sa[en]!];
}

/** A patch rebuilding `nw` from `old`. */
export function bsdiff(old: Buffer, nw: Buffer): Buffer {
  const sa = suffixArray(old);
  const oldsize = old.length;
  const newsize = nw.length;
  const chunks: Buffer[] = [];
  let scan = 0;
  let len = 0;
  let pos = 0;
  let lastscan = 0;
  let lastpos = 0;
  let lastoffset = 0;
  while (scan < newsize) {
    let oldscore = 0;
    scan += len;
    for (let scsc = scan; scan < newsize; scan++) {
      [len, pos] = search(sa, old, nw, scan);
      for (; scsc < scan + len; scsc++)
        if (scsc + lastoffset < oldsize && old[scsc + lastoffset] === nw[scsc]) oldscore++;
      if ((len === oldscore && len !== 0) || len > oldscore + 8) break;
      if (scan + lastoffset < oldsize && old[scan + lastoffset] === nw[scan]) oldscore--;
    }
    if (len === oldscore && scan !== newsize) continue;
    // Extend the previous match forwards and this one backwards while they mostly agree.
    let s = 0;
    let best = 0;
    let lenf = 0;
    for (let i = 0; lastscan + i < scan && lastpos + i < oldsize; ) {
      if (old[lastpos + i] === nw[lastscan + i]) s++;
      i++;
      if (s * 2 - i > best * 2 - lenf) {
        best = s;
        lenf = i;
      }
    }
    let lenb = 0;
    if (scan < newsize) {
      s = 0;
      best = 0;
      for (let i = 1; scan >= lastscan + i && pos >= i; i++) {
        if (old[pos - i] === nw[scan - i]) s++;
        if (s * 2 - i > best * 2 - lenb) {
          best = s;
          lenb = i;
        }
      }
    }
    if (lastscan + lenf > scan - lenb) {
      const overlap = lastscan + lenf - (scan - lenb);
      s = 0;
      best = 0;
      let lens = 0;
      for (let i = 0; i < overlap; i++) {
        if (nw[lastscan + lenf - overlap + i] === old[lastpos + lenf - overlap + i]) s++;
        if (nw[scan - lenb + i] === old[pos - lenb + i]) s--;
        if (s > best) {
          best = s;
          lens = i + 1;
        }
      }
      lenf += lens - overlap;
      lenb -= lens;
    }
    const extra = scan - lenb - (lastscan + lenf);
    const entry = Buffer.allocUnsafe(24 + lenf + extra);
    offtout(lenf, entry, 0);
    offtout(extra, entry, 8);
    offtout(pos - lenb - (lastpos + lenf), entry, 16);
    for (let i = 0; i < lenf; i++) entry[24 + i] = (nw[lastscan + i]! - old[lastpos + i]!) & 0xff;
    nw.copy(entry, 24 + lenf, lastscan + lenf, lastscan + lenf + extra);
    chunks.push(entry);
    lastscan = scan - lenb;
    lastpos = pos - lenb;
    lastoffset = pos - scan;
  }
  return Buffer.concat(chunks);
}
