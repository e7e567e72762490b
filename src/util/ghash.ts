// The iteration order of a GLib GHashTable keyed by strings. ostree builds some dictionaries
// (summary metadata) in a GVariantDict, whose a{sv} comes out in hash-table order; reproducing
// its bytes means reproducing that order: g_str_hash (djb2 over signed chars), index =
// (hash * 11) mod prime (32-bit wrap), quadratic probing, 8 buckets grown as GLib grows them.

const PRIME_MOD = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381];

export function gStrHash(s: string): number {
  let h = 5381;
  for (const b of Buffer.from(s, "utf8")) h = (Math.imul(h, 33) + (b > 127 ? b - 256 : b)) >>> 0;
  return h;
}

function place(keys: string[], shift: number): (string | null)[] {
  const size = 1 << shift;
  const mod = PRIME_MOD[shift]!;
  const mask = size - 1;
  const slots: (string | null)[] = new Array(size).fill(null);
  for (const k of keys) {
    let h = gStrHash(k);
    if (h < 2) h = 2;
    let i = (Math.imul(h, 11) >>> 0) % mod;
    let step = 0;
    while (slots[i] !== null && slots[i] !== k) {
      step++;
      i = (i + step) & mask;
    }
    slots[i] = k;
  }
  return slots;
}

/** Keys (in insertion order) → the order a GHashTable iterates them. */
export function gHashOrder(keys: string[]): string[] {
  let shift = 3;
  // GLib grows the table once occupancy passes size - size/16; re-placing in insertion order is
  // an approximation of its in-place rehash, exact for the small dicts ostree builds.
  while (1 << shift <= keys.length + Math.floor(keys.length / 16)) shift++;
  return place(keys, shift).filter((k): k is string => k !== null);
}
