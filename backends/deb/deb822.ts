// deb822 control syntax (deb822(5)): stanzas of "Field: value" lines separated by blank lines;
// continuation lines start with a space or tab; lines starting with '#' are comments.

export class Deb822Error extends Error {
  override readonly name = "Deb822Error";
}

/** One stanza: field names as written, values with continuation lines joined by "\n" (leading space kept). */
export type Stanza = Record<string, string>;

/**
 * Parses deb822 text into stanzas. A multi-line value keeps its continuation lines verbatim (with their
 * leading whitespace), which is exactly what `dpkg-deb -f` prints.
 */
export function parseDeb822(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let cur: Stanza | undefined;
  let lastKey: string | undefined;
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].endsWith("\r") ? lines[n].slice(0, -1) : lines[n];
    if (/^\s*$/.test(line)) {
      if (cur) stanzas.push(cur);
      cur = undefined;
      lastKey = undefined;
      continue;
    }
    if (line.startsWith("#")) continue;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (!cur || lastKey === undefined)
        throw new Deb822Error(`line ${n + 1}: continuation line without a field`);
      cur[lastKey] += `\n${line}`;
      continue;
    }
    const m = /^([^:\s][^:]*?):(.*)$/.exec(line);
    if (!m || /\s/.test(m[1])) throw new Deb822Error(`line ${n + 1}: expected "Field: value"`);
    cur ??= {};
    const key = m[1];
    if (fieldKey(cur, key) !== undefined) throw new Deb822Error(`line ${n + 1}: duplicate field ${key}`);
    cur[key] = m[2].trim();
    lastKey = key;
  }
  if (cur) stanzas.push(cur);
  return stanzas;
}

/** The key under which `name` is stored in `stanza`, compared case-insensitively as deb822 requires. */
export function fieldKey(stanza: Stanza, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const k of Object.keys(stanza)) if (k.toLowerCase() === lower) return k;
  return undefined;
}

/** Case-insensitive field lookup. */
export function field(stanza: Stanza, name: string): string | undefined {
  const k = fieldKey(stanza, name);
  return k === undefined ? undefined : stanza[k];
}
