// Describes a directory tree for comparison: type, mode, owner, content hash or symlink target.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export function describeTree(root: string, opts: { owner?: boolean } = {}): string[] {
  const out: string[] = [];
  const visit = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = `${rel}/${name}`;
      const st = lstatSync(p);
      const own = opts.owner === false ? "" : ` ${st.uid}:${st.gid}`;
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`d ${r} ${mode}${own}`);
        visit(p, r);
      } else if (st.isSymbolicLink()) out.push(`l ${r} -> ${readlinkSync(p)}${own}`);
      else
        out.push(
          `f ${r} ${mode}${own} ${createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16)}`,
        );
    }
  };
  visit(root, "");
  return out;
}
