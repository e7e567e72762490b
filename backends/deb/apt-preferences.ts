// apt preferences (apt_preferences(5)): pin stanzas that change a version's candidate priority.
// Pure: text in, a policy out; the caller reads /etc/apt/preferences{,.d/*} and --apt-preferences.
// The rules follow apt 2.x's pkgPolicy/pkgVersionMatch: "Package: *" stanzas are general pins on
// whole package files (the first matching one sets a file's priority); every other stanza is a
// specific pin on package versions (the first matching one sets a version's priority, whatever
// file it comes from).

export class AptPreferencesError extends Error {
  override name = "AptPreferencesError";
}

/** Release fields a `Pin: release` term can test: a= n= v= o= l= c= b=. */
export type ReleaseKey = "a" | "n" | "v" | "o" | "l" | "c" | "b";

export type PinTarget =
  | { kind: "version"; pattern: string }
  /** `release *` matches every file; a bare word is a suite or codename, a bare number a version. */
  | { kind: "release"; all: boolean; terms: Partial<Record<ReleaseKey | "suiteOrCodename", string>> }
  | { kind: "origin"; site: string };

export interface PinStanza {
  /** Package names, globs or /regex/ (optionally `:arch`, or `src:` for source names); null = "*". */
  packages: string[] | null;
  pin: PinTarget;
  priority: number;
}

/** What a pin can know of the package file a version comes from (apt's PkgFile + its Release). */
export interface FileFacts {
  archive?: string;
  codename?: string;
  version?: string;
  origin?: string;
  label?: string;
  component?: string;
  arch?: string;
  /** The URI's host ("" for file: and copy: sources); undefined for dpkg's status file. */
  site?: string;
}

/** dpkg's status file, as apt describes it to pins (Archive: now). */
export const STATUS_FACTS: FileFacts = { archive: "now" };

export interface PinnedVersion {
  name: string;
  arch: string;
  evr: string;
  source?: { name: string };
}

/** fnmatch(3) without flags, as a RegExp: `*`, `?`, `[...]` / `[!...]`, backslash escapes. */
export function globRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "\\" && i + 1 < glob.length) re += escapeRe(glob[++i]);
    else if (c === "[" && glob.indexOf("]", i + 2) > 0) {
      const end = glob.indexOf("]", i + 2);
      let body = glob.slice(i + 1, end);
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, "s");
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** apt's ExpressionMatches: `/regex/` is an extended regex, case-insensitive, unanchored; else a glob. */
export function expressionMatches(pattern: string, text: string | undefined): boolean {
  if (text === undefined) return false;
  if (pattern.length >= 2 && pattern.startsWith("/") && pattern.endsWith("/")) {
    try {
      return new RegExp(pattern.slice(1, -1), "i").test(text);
    } catch {
      return false; // apt warns about an invalid regex and treats it as not matching
    }
  }
  return globRegExp(pattern).test(text);
}

/** apt's version matching: "1.2*" is a case-insensitive prefix, else exact, else a glob/regex. */
function versionMatches(pattern: string, have: string | undefined): boolean {
  if (have === undefined) return false;
  const prefix = pattern.endsWith("*");
  const want = prefix ? pattern.slice(0, -1) : pattern;
  const lower = have.toLowerCase();
  if (prefix ? lower.startsWith(want.toLowerCase()) : lower === want.toLowerCase()) return true;
  return expressionMatches(want, have);
}

const RELEASE_KEYS = new Set<string>(["a", "n", "v", "o", "l", "c", "b"]);

function parseRelease(data: string): PinTarget {
  if (data === "*") return { kind: "release", all: true, terms: {} };
  if (!data.includes("="))
    return {
      kind: "release",
      all: false,
      terms: /^\d/.test(data) ? { v: data } : { suiteOrCodename: data },
    };
  const terms: Partial<Record<ReleaseKey, string>> = {};
  for (const frag of data.split(",").map((f) => f.trim())) {
    const key = frag.slice(0, 2).toLowerCase();
    if (frag.length >= 3 && key.endsWith("=") && RELEASE_KEYS.has(key[0]))
      terms[key[0] as ReleaseKey] = frag.slice(2);
  }
  return { kind: "release", all: false, terms };
}

function parsePin(line: string, general: boolean): PinTarget | undefined {
  const m = /^(\S+)\s*(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const type = m[1].toLowerCase();
  const data = m[2].trim();
  // apt ignores a version pin on "Package: *" (a version means nothing without a package).
  if (type === "version" && !general) return { kind: "version", pattern: data };
  if (type === "release") return parseRelease(data);
  if (type === "origin") return { kind: "origin", site: /^".*"$/.test(data) ? data.slice(1, -1) : data };
  return undefined;
}

/** Stanzas of Field: value lines; '#' lines are comments anywhere, continuation lines are joined. */
function stanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur: Map<string, string> | undefined;
  let last: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") {
      cur = undefined;
      continue;
    }
    if (line.startsWith("#")) continue;
    if (/^\s/.test(line) && cur && last) {
      cur.set(last, `${cur.get(last)} ${line.trim()}`);
      continue;
    }
    const m = /^([^:\s]+)\s*:(.*)$/.exec(line);
    if (!m) continue;
    if (!cur) {
      cur = new Map();
      out.push(cur);
    }
    last = m[1].toLowerCase();
    cur.set(last, m[2].trim());
  }
  return out;
}

/** Parses one preferences file. Stanzas apt would skip (no Pin, unknown type, priority 0) are dropped. */
export function parsePreferences(text: string, what: string): PinStanza[] {
  const out: PinStanza[] = [];
  for (const st of stanzas(text)) {
    const pkg = st.get("package");
    if (!pkg) {
      // apt refuses the whole file; a stanza holding only Explanation: lines counts too.
      throw new AptPreferencesError(`${what}: a stanza has no Package: field, apt would refuse the file`);
    }
    const general = pkg === "*";
    const pin = st.has("pin") ? parsePin(st.get("pin") ?? "", general) : undefined;
    const priority = Number.parseInt(st.get("pin-priority") ?? "", 10);
    if (!pin || !Number.isFinite(priority) || priority === 0) continue;
    out.push({ packages: general ? null : pkg.split(/\s+/), pin, priority });
  }
  return out;
}

function releaseMatches(t: Extract<PinTarget, { kind: "release" }>, f: FileFacts): boolean {
  if (t.all) return true;
  const { a, n, v, o, l, c, b, suiteOrCodename } = t.terms;
  if (Object.values(t.terms).every((x) => !x)) return false;
  if (v && !versionMatches(v, f.version)) return false;
  if (o && !expressionMatches(o, f.origin)) return false;
  if (a && !expressionMatches(a, f.archive)) return false;
  if (n && !expressionMatches(n, f.codename)) return false;
  if (
    suiteOrCodename &&
    !expressionMatches(suiteOrCodename, f.archive) &&
    !expressionMatches(suiteOrCodename, f.codename)
  )
    return false;
  if (l && !expressionMatches(l, f.label)) return false;
  if (c && !expressionMatches(c, f.component)) return false;
  if (b && !expressionMatches(b, f.arch)) return false;
  return true;
}

/** Does a release or origin pin match a package file? */
export function fileMatches(t: PinTarget, f: FileFacts): boolean {
  if (t.kind === "release") return releaseMatches(t, f);
  // The status file has no site; an empty origin means local (file:) sources only.
  if (t.kind === "origin") return f.site !== undefined && expressionMatches(t.site, f.site);
  return false;
}

function isPattern(name: string): boolean {
  return /[*[?]/.test(name) || (name.length >= 2 && name.startsWith("/") && name.endsWith("/"));
}

/** Does a `Package:` entry (name, glob or /regex/, `:arch`, `src:`) name this version? */
export function packageMatches(entry: string, v: PinnedVersion, nativeArch: string): boolean {
  let name = entry;
  const source = name.startsWith("src:");
  if (source) name = name.slice(4);
  let arch: string | undefined;
  const colon = name.lastIndexOf(":");
  if (colon > 0 && !(name.startsWith("/") && name.endsWith("/"))) {
    arch = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const want = arch ?? nativeArch;
  // arch:all packages live under the native architecture in apt's cache.
  const archOk = want === "any" || v.arch === want || (v.arch === "all" && want === nativeArch);
  if (!archOk) return false;
  const have = source ? (v.source?.name ?? v.name) : v.name;
  return isPattern(name) ? expressionMatches(name, have) : have === name;
}

/** The pins of every preferences file, in reading order. */
export class AptPolicy {
  private readonly general: PinStanza[];
  private readonly specific: PinStanza[];

  constructor(
    stanzas: readonly PinStanza[],
    private readonly nativeArch: string,
  ) {
    this.general = stanzas.filter((s) => s.packages === null);
    this.specific = stanzas.filter((s) => s.packages !== null);
  }

  get empty(): boolean {
    return this.general.length === 0 && this.specific.length === 0;
  }

  /** A package file's priority: the first general pin that matches it, else its default. */
  filePriority(f: FileFacts, dflt: number): number {
    return this.general.find((s) => fileMatches(s.pin, f))?.priority ?? dflt;
  }

  /** The first specific pin naming this version and matching it (its version, or its file). */
  versionPin(v: PinnedVersion, f: FileFacts): number | undefined {
    for (const s of this.specific) {
      if (!s.packages?.some((p) => packageMatches(p, v, this.nativeArch))) continue;
      if (s.pin.kind === "version" ? versionMatches(s.pin.pattern, v.evr) : fileMatches(s.pin, f))
        return s.priority;
    }
    return undefined;
  }

  /** A version's priority as seen from one file: its specific pin, else the file's priority. */
  priority(v: PinnedVersion, f: FileFacts, dflt: number): number {
    return this.versionPin(v, f) ?? this.filePriority(f, dflt);
  }
}
