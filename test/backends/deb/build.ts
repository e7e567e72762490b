// Test packages: real .debs built by dpkg-deb from a tree with every feature the reader must handle,
// plus hand-made ones (ar + tar written here) for formats dpkg-deb will not build and hostile input.
import { chmodSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { sh } from "../../helpers.js";

export const CONTROL = `Package: tso-demo
Version: 1:2.0~rc1-3
Architecture: all
Maintainer: Test Maintainer <test@example.org>
Installed-Size: 40
Section: utils
Priority: optional
Multi-Arch: foreign
Depends: libc6 (>= 2.36), foo:any | bar (<< 3),
 baz (>> 1:0.9-1)
Pre-Depends: dpkg (>= 1.19)
Recommends: rec1, rec2 (= 1.0)
Suggests: sug
Conflicts: old-demo (<< 1.0)
Breaks: broken-demo (<= 0.5)
Replaces: old-demo
Provides: demo-virtual (= 2.0)
Enhances: enh
Homepage: https://example.org/demo
Description: demo package for tsostree tests
 This description is folded over
 several lines.
 .
 With a paragraph break.
`;

/** Writes the package tree under `dir`/pkg and returns its path. */
export function demoTree(dir: string): string {
  const root = join(dir, "pkg");
  const p = (s: string) => join(root, s);
  for (const d of ["DEBIAN", "usr/bin", "usr/share/doc/tso-demo", "etc/tso-demo", "var/lib/tso-demo/empty"])
    mkdirSync(p(d), { recursive: true });
  writeFileSync(p("DEBIAN/control"), CONTROL);
  writeFileSync(p("DEBIAN/conffiles"), "/etc/tso-demo/demo.conf\n");
  for (const s of ["preinst", "postinst", "prerm", "postrm", "config"]) {
    writeFileSync(p(`DEBIAN/${s}`), `#!/bin/sh\nset -e\necho ${s} "$@"\n`);
    chmodSync(p(`DEBIAN/${s}`), 0o755);
  }
  writeFileSync(
    p("DEBIAN/triggers"),
    "# comment\ninterest-noawait /usr/share/tso-demo\nactivate-noawait ldconfig\n",
  );
  writeFileSync(p("usr/bin/demo"), "#!/bin/sh\necho demo\n");
  chmodSync(p("usr/bin/demo"), 0o755);
  writeFileSync(p("usr/bin/demo-suid"), "suid binary stand-in\n");
  chmodSync(p("usr/bin/demo-suid"), 0o4755);
  linkSync(p("usr/bin/demo"), p("usr/bin/demo-hardlink"));
  symlinkSync("demo", p("usr/bin/demo-link"));
  symlinkSync("../../bin/demo", p("usr/share/doc/tso-demo/rel-link"));
  writeFileSync(p("usr/share/doc/tso-demo/naïve-ünïcödé.txt"), "non-ASCII name\n");
  writeFileSync(p("usr/share/doc/tso-demo/big.txt"), "x".repeat(200_000));
  writeFileSync(p("etc/tso-demo/demo.conf"), "key=value\n");
  // md5sums the way dh_md5sums writes them (relative paths, regular files outside DEBIAN).
  const sums = sh("sh", [
    "-c",
    "cd \"$1\" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\\./||' | sort | xargs -d '\\n' md5sum",
    "sh",
    root,
  ]);
  writeFileSync(p("DEBIAN/md5sums"), sums);
  return root;
}

/** dpkg-deb --build with the given compressor ("gzip" | "xz" | "zstd" | "none"). */
export function buildDeb(dir: string, compression: string, name = `demo-${compression}.deb`): string {
  const root = join(dir, "pkg");
  const out = join(dir, name);
  sh("dpkg-deb", ["--root-owner-group", `-Z${compression}`, "--build", root, out]);
  return out;
}

export function arArchive(members: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from("!<arch>\n", "latin1")];
  for (const m of members) {
    const h =
      m.name.padEnd(16) +
      "0".padEnd(12) +
      "0".padEnd(6) +
      "0".padEnd(6) +
      "100644".padEnd(8) +
      String(m.data.length).padEnd(10) +
      "`\n";
    parts.push(Buffer.from(h, "latin1"), m.data);
    if (m.data.length % 2) parts.push(Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

/** Splits a real .deb into its ar members (for re-packing with another compressor). */
export function arMembers(deb: Buffer): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  let pos = 8;
  while (pos + 60 <= deb.length) {
    const name = deb
      .toString("latin1", pos, pos + 16)
      .trim()
      .replace(/\/$/, "");
    const size = Number.parseInt(deb.toString("latin1", pos + 48, pos + 58).trim(), 10);
    out.push({ name, data: deb.subarray(pos + 60, pos + 60 + size) });
    pos += 60 + size + (size % 2);
  }
  return out;
}

/**
 * Re-packs a -Znone .deb with data.tar compressed by the `bzip2` or `lzma` CLI (dpkg reads both but
 * its dpkg-deb no longer writes them).
 */
export function recompressDeb(dir: string, noneDeb: string, tool: "bzip2" | "lzma", ext: string): string {
  const members = arMembers(readFileSync(noneDeb));
  const data = members.find((m) => m.name === "data.tar");
  if (!data) throw new Error("no data.tar");
  const tarPath = join(dir, `data-${tool}.tar`);
  writeFileSync(tarPath, data.data);
  const compressed = Buffer.from(sh("sh", ["-c", `${tool} -c "$1" | base64 -w0`, "sh", tarPath]), "base64");
  const out = join(dir, `demo-${tool}.deb`);
  writeFileSync(
    out,
    arArchive(
      members.map((m) => (m.name === "data.tar" ? { name: `data.tar.${ext}`, data: compressed } : m)),
    ),
  );
  return out;
}

export interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** Rewrites the size field of the tar header at `offset` (and its checksum) so the header lies. */
export function patchTarSize(tar: Buffer, offset: number, size: number): Buffer {
  const out = Buffer.from(tar);
  out.write(`${size.toString(8).padStart(11, "0")}\0`, offset + 124, "latin1");
  out.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = offset; i < offset + 512; i++) sum += out[i];
  out.write(`${sum.toString(8).padStart(6, "0")}\0 `, offset + 148, "latin1");
  return out;
}

export async function tarball(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name,
        type,
        mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
        linkname: e.linkname,
        size: type === "file" ? content.length : 0,
        uname: "root",
        gname: "root",
      };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") p.entry(header, content, cb);
      else p.entry(header, cb).end(Buffer.alloc(0));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A .deb built by hand around a data.tar with the given entries (gzip-compressed). */
export async function craftDeb(
  entries: TarEntry[],
  opts: { installedSize?: number; dataGz?: Buffer; md5sums?: string } = {},
): Promise<Buffer> {
  const control = `Package: crafted\nVersion: 1.0\nArchitecture: all\nMaintainer: x <x@y>\nInstalled-Size: ${opts.installedSize ?? 1}\nDescription: crafted\n`;
  const controlTar = await tarball([
    { name: "./", type: "directory" },
    { name: "./control", content: control },
    ...(opts.md5sums === undefined ? [] : [{ name: "./md5sums", content: opts.md5sums }]),
  ]);
  const dataGz = opts.dataGz ?? gzipSync(await tarball(entries));
  return arArchive([
    { name: "debian-binary", data: Buffer.from("2.0\n") },
    { name: "control.tar.gz", data: gzipSync(controlTar) },
    { name: "data.tar.gz", data: dataGz },
  ]);
}
