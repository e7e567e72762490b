// GLib key files (INI-like), as OSTree uses for repo config, origin files and remotes. Groups and
// keys keep their order so that rewriting a file someone else wrote changes only what we touched.

export class KeyFileError extends Error {
  override name = "KeyFileError";
}

export class KeyFile {
  private groups = new Map<string, Map<string, string>>();

  static parse(text: string): KeyFile {
    const kf = new KeyFile();
    let current: Map<string, string> | null = null;
    text.split("\n").forEach((raw, i) => {
      const line = raw.replace(/\r$/, "").trim();
      if (line === "" || line.startsWith("#")) return;
      if (line.startsWith("[")) {
        if (!line.endsWith("]")) throw new KeyFileError(`line ${i + 1}: unterminated group header '${line}'`);
        const name = line.slice(1, -1);
        current = kf.groups.get(name) ?? new Map();
        kf.groups.set(name, current);
        return;
      }
      const eq = line.indexOf("=");
      if (eq <= 0) throw new KeyFileError(`line ${i + 1}: expected KEY=VALUE, got '${line}'`);
      if (!current) throw new KeyFileError(`line ${i + 1}: key outside of any [group]`);
      current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    });
    return kf;
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  hasGroup(group: string): boolean {
    return this.groups.has(group);
  }

  keys(group: string): string[] {
    return [...(this.groups.get(group)?.keys() ?? [])];
  }

  get(group: string, key: string): string | undefined {
    const v = this.groups.get(group)?.get(key);
    return v === undefined ? undefined : unescapeValue(v);
  }

  getBool(group: string, key: string, dflt: boolean): boolean {
    const v = this.get(group, key);
    if (v === undefined) return dflt;
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw new KeyFileError(`[${group}] ${key}: '${v}' is not a boolean`);
  }

  getList(group: string, key: string): string[] | undefined {
    const v = this.groups.get(group)?.get(key);
    if (v === undefined) return undefined;
    return v
      .split(/(?<!\\);/)
      .filter((x) => x !== "")
      .map(unescapeValue);
  }

  set(group: string, key: string, value: string): void {
    let g = this.groups.get(group);
    if (!g) {
      g = new Map();
      this.groups.set(group, g);
    }
    g.set(key, escapeValue(value));
  }

  setList(group: string, key: string, values: string[]): void {
    this.set(group, key, "");
    this.groups.get(group)!.set(key, values.map((v) => `${escapeValue(v).replace(/;/g, "\\;")};`).join(""));
  }

  remove(group: string, key?: string): void {
    if (key === undefined) this.groups.delete(group);
    else {
      this.groups.get(group)?.delete(key);
    }
  }

  toString(): string {
    const out: string[] = [];
    for (const [name, g] of this.groups) {
      if (out.length) out.push("");
      out.push(`[${name}]`);
      for (const [k, v] of g) out.push(`${k}=${v}`);
    }
    return `${out.join("\n")}\n`;
  }
}

function unescapeValue(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => ({ s: " ", n: "\n", t: "\t", r: "\r", "\\": "\\" })[c] ?? c);
}

function escapeValue(v: string): string {
  return v
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\t/g, "\\t")
    .replace(/\r/g, "\\r")
    .replace(/^ /, "\\s");
}
