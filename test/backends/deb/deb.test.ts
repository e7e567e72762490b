// .deb reading against dpkg-deb itself: fields, file lists and extracted trees must agree, for every
// compression dpkg reads.
import assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseDeb822 } from "../../../backends/deb/deb822.js";
import { debBackend } from "../../../backends/deb/index.js";
import { haveTools, scratch, sh, sha256Chunks, sha256OfFile, tsostreePkg } from "../../helpers.js";
import { buildDeb, demoTree, recompressDeb } from "./build.js";
import { dpkgList, permBits, walk } from "./oracle.js";

interface JsonFile {
  path: string;
  type: string;
  mode: string;
  user: string;
  group: string;
  size: number;
  linkTarget?: string;
  flags: string[];
}

const COMPRESSIONS = ["gzip", "xz", "zstd", "none", "bzip2", "lzma"];

test("inspect --json agrees with dpkg-deb -f / -c for every compression", (t) => {
  if (!haveTools(t, "dpkg-deb", "bzip2", "xz")) return;
  const dir = scratch(t);
  demoTree(dir);
  const debs: Record<string, string> = {};
  for (const c of ["gzip", "xz", "zstd", "none"]) debs[c] = buildDeb(dir, c);
  debs.bzip2 = recompressDeb(dir, debs.none, "bzip2", "bz2");
  debs.lzma = recompressDeb(dir, debs.none, "lzma", "lzma");
  for (const c of COMPRESSIONS) {
    const deb = debs[c];
    const r = tsostreePkg(["inspect", "--json", "--files", "--scripts", deb]);
    assert.equal(r.status, 0, `${c}: ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    const fields = parseDeb822(sh("dpkg-deb", ["-f", deb]))[0];
    assert.equal(j.kind, "deb");
    assert.equal(j.name, sh("dpkg-deb", ["-f", deb, "Package"]).trim());
    assert.equal(j.version, sh("dpkg-deb", ["-f", deb, "Version"]).trim());
    assert.equal(j.arch, sh("dpkg-deb", ["-f", deb, "Architecture"]).trim());
    assert.equal(j.epoch, 1);
    assert.equal(j.summary, fields.Description.split("\n")[0]);
    assert.deepEqual(j.fields, fields, `${c}: every control field, folded ones included`);
    // Each relation field rendered back must equal dpkg's field, modulo folding whitespace.
    const rel: [string, string][] = [
      ["depends", "Depends"],
      ["pre-depends", "Pre-Depends"],
      ["recommends", "Recommends"],
      ["suggests", "Suggests"],
      ["conflicts", "Conflicts"],
      ["breaks", "Breaks"],
      ["replaces", "Replaces"],
      ["provides", "Provides"],
      ["enhances", "Enhances"],
    ];
    for (const [k, f] of rel)
      assert.equal(
        j.relations[k].map((d: { text: string }) => d.text).join(", "),
        fields[f].replace(/\s+/g, " ").replace(/,\s*$/, ""),
        `${c}: ${f}`,
      );
    assert.deepEqual(j.conffiles, ["/etc/tso-demo/demo.conf"]);
    assert.deepEqual(
      j.scripts.map((s: { phase: string }) => s.phase),
      ["preinst", "postinst", "prerm", "postrm", "config"],
    );
    assert.equal(j.scripts[1].interpreter, "/bin/sh");
    for (const sc of j.scripts)
      assert.equal(sc.body, sh("dpkg-deb", ["--info", deb, sc.phase]), `${c}: ${sc.phase}`);
    assert.deepEqual(j.triggers, [
      { kind: "interest-noawait", condition: "/usr/share/tso-demo" },
      { kind: "activate-noawait", condition: "ldconfig" },
    ]);
    const list = dpkgList(deb);
    list.delete("/");
    const files = new Map<string, JsonFile>(j.files.map((f: JsonFile) => [f.path, f]));
    assert.deepEqual([...files.keys()].sort(), [...list.keys()].sort(), `${c}: same paths as dpkg-deb -c`);
    for (const [path, d] of list) {
      const f = files.get(path) as JsonFile;
      assert.equal(Number.parseInt(f.mode, 8), permBits(d.perms), `${c}: mode of ${path}`);
      assert.equal(`${f.user}/${f.group}`, d.owner, path);
      assert.equal(f.size, d.size, path);
      const type = { "-": "file", d: "dir", l: "symlink", h: "hardlink" }[d.perms[0]];
      assert.equal(f.type, type, path);
      if (d.link) assert.equal(f.linkTarget, f.type === "hardlink" ? d.link : d.link, path);
    }
  }
});

test("payload() yields what dpkg-deb -x extracts: paths, modes, link targets, content", async (t) => {
  if (!haveTools(t, "dpkg-deb")) return;
  const dir = scratch(t);
  demoTree(dir);
  const deb = buildDeb(dir, "xz");
  const x = join(dir, "x");
  sh("dpkg-deb", ["-x", deb, x]);
  const disk = walk(x);
  const seen = new Set<string>();
  for await (const e of debBackend.payload(deb)) {
    const f = e.file;
    seen.add(f.path);
    const st = disk.get(f.path);
    assert.ok(st, `${f.path} extracted by dpkg-deb`);
    assert.equal(f.mode, st.mode & 0o7777, `mode of ${f.path}`);
    if (f.type === "dir") assert.ok(st.isDirectory());
    if (f.type === "symlink") assert.equal(f.linkTarget, readlinkSync(join(x, f.path)));
    if (f.type === "hardlink") assert.equal(st.ino, disk.get(f.linkTarget as string)?.ino);
    if (f.type === "file") {
      assert.ok(e.data, f.path);
      assert.equal(
        await sha256Chunks(e.data as AsyncIterable<Buffer>),
        sha256OfFile(join(x, f.path)),
        f.path,
      );
      assert.equal(f.digest?.algo, "md5", `${f.path} verified against md5sums`);
    }
  }
  assert.deepEqual([...seen].sort(), [...disk.keys()].sort());
});

test("read() returns scripts with bodies, conffiles and an implied-free file list", async (t) => {
  if (!haveTools(t, "dpkg-deb")) return;
  const dir = scratch(t);
  demoTree(dir);
  const info = await debBackend.read(buildDeb(dir, "gzip"));
  assert.equal(info.name, "tso-demo");
  assert.equal(debBackend.formatVersion(info), "1:2.0~rc1-3");
  assert.equal(info.multiArch, "foreign");
  assert.equal(info.installedSize, 40);
  assert.match(info.scripts.find((s) => s.phase === "postinst")?.body ?? "", /echo postinst/);
  assert.ok(info.files.every((f) => !f.implied));
  const suid = info.files.find((f) => f.path === "/usr/bin/demo-suid");
  assert.equal(suid?.mode, 0o4755);
  assert.ok(info.files.some((f) => f.path === "/var/lib/tso-demo/empty" && f.type === "dir"));
  assert.ok(info.files.some((f) => f.path === "/usr/share/doc/tso-demo/naïve-ünïcödé.txt"));
});
