// .rpm reading against rpm itself: tags, dependencies, scriptlets and file lists must agree with
// `rpm -qp`, and payload() must deliver what `rpm2cpio | cpio -idmu` extracts.
import assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { rpmBackend } from "../../../backends/rpm/index.js";
import { haveTools, scratch, sh, sha256Chunks, sha256OfFile, tsostreePkg, walk } from "../../helpers.js";
import { buildRpm, PAYLOADS } from "./build.js";

function q(rpm: string, ...args: string[]): string {
  return sh("rpm", ["-qp", ...args, rpm]);
}

function lines(s: string): string[] {
  return s.split("\n").filter((l) => l !== "");
}

const REL_FLAGS: [string, string[]][] = [
  ["--provides", ["provides"]],
  ["--requires", ["depends", "pre-depends"]],
  ["--conflicts", ["conflicts"]],
  ["--obsoletes", ["obsoletes"]],
  ["--recommends", ["recommends"]],
  ["--suggests", ["suggests"]],
  ["--supplements", ["supplements"]],
  ["--enhances", ["enhances"]],
];

const SCRIPT_TAGS: [string, string][] = [
  ["pretrans", "PRETRANS"],
  ["pre", "PREIN"],
  ["post", "POSTIN"],
  ["preun", "PREUN"],
  ["postun", "POSTUN"],
  ["posttrans", "POSTTRANS"],
];

interface JsonFile {
  path: string;
  type: string;
  mode: string;
  user: string;
  group: string;
  size: number;
  linkTarget?: string;
  caps?: string;
  flags: string[];
}

test("inspect --json agrees with rpm -qp for every payload compression", (t) => {
  if (!haveTools(t, "rpmbuild", "rpm")) return;
  const dir = scratch(t);
  for (const c of Object.keys(PAYLOADS)) {
    const rpm = buildRpm(dir, c);
    const r = tsostreePkg(["inspect", "--json", "--files", "--scripts", rpm]);
    assert.equal(r.status, 0, `${c}: ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    const [name, epoch, version, release, arch, summary, evr, compressor] = q(
      rpm,
      "--qf",
      "%{NAME}\\n%{EPOCH}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n%{SUMMARY}\\n%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n%{PAYLOADCOMPRESSOR}\\n",
    ).split("\n");
    assert.equal(j.kind, "rpm");
    assert.equal(j.name, name);
    assert.equal(String(j.epoch), epoch);
    assert.equal(j.upstreamVersion, version);
    assert.equal(j.release, release);
    assert.equal(j.arch, arch);
    assert.equal(j.summary, summary);
    assert.equal(j.version, evr);
    assert.equal(j.fields.Payloadcompressor, compressor, c);
    assert.equal(j.description, q(rpm, "--qf", "%{DESCRIPTION}"));
    for (const [flag, kinds] of REL_FLAGS) {
      const ours = kinds.flatMap((k) => (j.relations[k] ?? []).map((d: { text: string }) => d.text));
      assert.deepEqual(ours.sort(), lines(q(rpm, flag)).sort(), `${c}: ${flag}`);
    }
    for (const [phase, tag] of SCRIPT_TAGS) {
      const [body, prog] = q(rpm, "--qf", `%{${tag}}@@SEP@@%{${tag}PROG}`).split("@@SEP@@");
      const s = j.scripts.find((x: { phase: string }) => x.phase === phase);
      assert.ok(s, `${phase} scriptlet present`);
      assert.equal(s.body, body === "(none)" ? "" : body, `${phase} body`);
      assert.equal(s.interpreter, prog, `${phase} interpreter`);
    }
    // rpm prints one block per trigger script: "KIND scriptlet (using INTERP) -- COND, COND\nBODY".
    const blocks = `${q(rpm, "--triggers")}${q(rpm, "--filetriggers")}`
      .split(/^(?=\S+ scriptlet \(using )/m)
      .filter((b) => b.trim());
    const want = blocks.flatMap((b) => {
      const m = /^(\S+) scriptlet \(using (.*?)\) -- (.*)\n([\s\S]*?)\n?$/.exec(b);
      assert.ok(m, b);
      return m[3].split(", ").map((condition) => ({ kind: m[1], condition, interpreter: m[2], body: m[4] }));
    });
    assert.equal(want.length, 4);
    assert.deepEqual(j.triggers, want, `${c}: triggers`);
    assert.deepEqual(j.conffiles, ["/etc/tso-demo/demo.conf"]);
    const listed = j.files.filter((f: JsonFile) => !f.flags.includes("implied"));
    assert.deepEqual(
      listed.map((f: JsonFile) => f.path),
      lines(q(rpm, "-l")),
      `${c}: rpm -qpl`,
    );
    const meta = lines(
      q(
        rpm,
        "--qf",
        "[%{FILEMODES:octal} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILESIZES} %{FILEFLAGS:fflags}|%{FILELINKTOS}|%{FILECAPS}\\n]",
      ),
    );
    listed.forEach((f: JsonFile, i: number) => {
      const [info, link, caps] = meta[i].split("|");
      assert.equal(f.caps ?? "", caps, `caps of ${f.path}`);
      const [mode, user, group, size, fflags] = info.split(" ");
      assert.equal(Number.parseInt(f.mode, 8), Number.parseInt(mode, 8) & 0o7777, `mode of ${f.path}`);
      assert.equal(f.user, user);
      assert.equal(f.group, group);
      assert.equal(f.size, Number(size), `size of ${f.path}`);
      assert.equal(f.flags.includes("config"), (fflags ?? "").includes("c"), `config flag of ${f.path}`);
      assert.equal(f.flags.includes("ghost"), (fflags ?? "").includes("g"), `ghost flag of ${f.path}`);
      assert.equal(f.flags.includes("doc"), (fflags ?? "").includes("d"), `doc flag of ${f.path}`);
      if (f.type === "symlink") assert.equal(f.linkTarget, link);
    });
    const implied = j.files.filter((f: JsonFile) => f.flags.includes("implied")).map((f: JsonFile) => f.path);
    assert.ok(
      implied.includes("/usr/bin") && implied.includes("/var/lib/tso-demo"),
      "implied parents listed",
    );
    for (const f of j.files.filter((x: JsonFile) => x.flags.includes("implied")))
      assert.equal(f.mode, "0755");
  }
});

test("payload() yields what rpm2cpio | cpio -idmu extracts, verified against header digests", async (t) => {
  if (!haveTools(t, "rpmbuild", "rpm2cpio", "cpio")) return;
  const dir = scratch(t);
  for (const c of ["zstd", "lzma"]) {
    const rpm = buildRpm(dir, c);
    const x = join(dir, `x-${c}`);
    sh("sh", ["-c", 'mkdir -p "$2" && cd "$2" && rpm2cpio "$1" | cpio -idmu --quiet', "sh", rpm, x]);
    const disk = walk(x);
    const seen = new Set<string>();
    for await (const e of rpmBackend.payload(rpm)) {
      const f = e.file;
      const st = disk.get(f.path);
      assert.ok(st, `${f.path} extracted by cpio`);
      if (f.implied) {
        assert.ok(st.isDirectory());
        continue;
      }
      seen.add(f.path);
      assert.ok(!f.ghost, "ghost files are not in the payload");
      assert.equal(f.mode, st.mode & 0o7777, `mode of ${f.path}`);
      if (f.type === "symlink") assert.equal(f.linkTarget, readlinkSync(join(x, f.path)));
      if (f.type === "hardlink") assert.equal(st.ino, disk.get(f.linkTarget as string)?.ino, f.path);
      if (f.type === "file") {
        assert.equal(await sha256Chunks(e.data as AsyncIterable<Buffer>), sha256OfFile(join(x, f.path)));
        assert.equal(f.digest?.algo, "sha256");
      }
    }
    const extracted = [...disk].filter(([, st]) => !st.isDirectory()).map(([p]) => p);
    for (const p of extracted) assert.ok(seen.has(p), `${p} extracted by cpio but not yielded`);
    assert.ok(seen.has("/var/lib/tso-demo/empty") && seen.has("/usr/bin/demo-hardlink"));
  }
});

test("read() verifies the header and payload digests rpm recorded", async (t) => {
  if (!haveTools(t, "rpmbuild")) return;
  const dir = scratch(t);
  const info = await rpmBackend.read(buildRpm(dir, "gzip"));
  assert.equal(rpmBackend.formatVersion(info), "1:2.0~rc1-3.fc40");
  const ghost = info.files.find((f) => f.path === "/var/lib/tso-demo/state.db");
  assert.equal(ghost?.ghost, true);
  const hl = info.files.filter((f) => f.type === "hardlink");
  assert.equal(hl.length, 1);
  assert.equal(hl[0].path, "/usr/bin/demo");
  assert.equal(hl[0].linkTarget, "/usr/bin/demo-hardlink");
  assert.equal(info.files.find((f) => f.path === "/usr/bin/demo-suid")?.mode, 0o4755);
  assert.equal(info.scripts.find((s) => s.phase === "postun")?.interpreter, "/sbin/ldconfig");
});
