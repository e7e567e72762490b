import { sh } from "../../helpers.js";

export { walk } from "../../helpers.js";

/** Parses `dpkg-deb -c` lines: perms owner/group size date time name [-> target | link to target]. */
export function dpkgList(
  deb: string,
): Map<string, { perms: string; owner: string; size: number; link?: string }> {
  const out = new Map<string, { perms: string; owner: string; size: number; link?: string }>();
  for (const line of sh("dpkg-deb", ["-c", deb]).split("\n")) {
    const m = /^(\S{10}) (\S+)\s+(\d+) \S+ \S+ \.(\/.*?)(?: -> (.*)| link to \.(.*))?$/.exec(line);
    if (!m) continue;
    const path = m[4] === "/" ? "/" : m[4].replace(/\/$/, "");
    out.set(path, { perms: m[1], owner: m[2], size: Number(m[3]), link: m[5] ?? m[6] });
  }
  return out;
}

export function permBits(perms: string): number {
  let mode = 0;
  const s = perms.slice(1);
  const bit = (i: number, v: number) => (s[i] !== "-" && s[i] !== "S" && s[i] !== "T" ? v : 0);
  mode |=
    bit(0, 0o400) |
    bit(1, 0o200) |
    bit(2, 0o100) |
    bit(3, 0o40) |
    bit(4, 0o20) |
    bit(5, 0o10) |
    bit(6, 4) |
    bit(7, 2) |
    bit(8, 1);
  if ("sS".includes(s[2])) mode |= 0o4000;
  if ("sS".includes(s[5])) mode |= 0o2000;
  if ("tT".includes(s[8])) mode |= 0o1000;
  return mode;
}
