// Real Debian packages (downloaded by fixtures/fetch-debian-packages.sh into fixtures/out/debs):
// everything inspect and payload() report must match dpkg-deb.
import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseDeb822 } from "../../../backends/deb/deb822.js";
import { debBackend } from "../../../backends/deb/index.js";
import { fixture, haveTools, scratch, sh, sha256Chunks, sha256OfFile, tsostreePkg } from "../../helpers.js";
import { dpkgList, permBits, walk } from "./oracle.js";

/** The fetched .deb files (the test fails with the command that fetches them when they are missing). */
function realDebs(): { DIR: string; debs: string[] } {
  const DIR = fixture("debs");
  return {
    DIR,
    debs: readdirSync(DIR)
      .filter((f) => f.endsWith(".deb"))
      .sort(),
  };
}

test("real Debian packages: fields, relations and file lists agree with dpkg-deb", (t) => {
  const { DIR, debs } = realDebs();
  if (!haveTools(t, "dpkg-deb")) return;
  for (const name of debs) {
    const deb = join(DIR, name);
    const r = tsostreePkg(["inspect", "--json", "--files", deb]);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    const fields = parseDeb822(sh("dpkg-deb", ["-f", deb]))[0];
    assert.deepEqual(j.fields, fields, name);
    assert.equal(j.version, fields.Version, name);
    for (const [k, f] of [
      ["depends", "Depends"],
      ["pre-depends", "Pre-Depends"],
      ["recommends", "Recommends"],
      ["suggests", "Suggests"],
      ["breaks", "Breaks"],
      ["conflicts", "Conflicts"],
      ["replaces", "Replaces"],
      ["provides", "Provides"],
    ]) {
      if (fields[f] === undefined) continue;
      assert.equal(
        j.relations[k].map((d: { text: string }) => d.text).join(", "),
        fields[f].replace(/\s+/g, " "),
        `${name} ${f}`,
      );
    }
    const list = dpkgList(deb);
    list.delete("/");
    const files = new Map<string, { mode: string; type: string; size: number; linkTarget?: string }>(
      j.files.map((f: { path: string }) => [f.path, f]),
    );
    assert.deepEqual([...files.keys()].sort(), [...list.keys()].sort(), name);
    for (const [path, d] of list) {
      const f = files.get(path);
      assert.ok(f);
      assert.equal(Number.parseInt(f.mode, 8), permBits(d.perms), `${name} ${path}`);
      assert.equal(f.size, d.size, `${name} ${path}`);
      if (d.link) assert.equal(f.linkTarget, d.link, `${name} ${path}`);
    }
  }
});

test("real Debian packages: payload content equals dpkg-deb -x and the md5sums", async (t) => {
  const { DIR, debs } = realDebs();
  if (!haveTools(t, "dpkg-deb")) return;
  const dir = scratch(t);
  for (const name of debs) {
    const deb = join(DIR, name);
    const x = join(dir, name);
    sh("dpkg-deb", ["-x", deb, x]);
    const disk = walk(x);
    let files = 0;
    for await (const e of debBackend.payload(deb)) {
      const f = e.file;
      const st = disk.get(f.path);
      assert.ok(st, `${name}: ${f.path}`);
      assert.equal(f.mode, st.mode & 0o7777, `${name}: ${f.path}`);
      if (f.type === "symlink") assert.equal(f.linkTarget, readlinkSync(join(x, f.path)));
      if (f.type === "file") {
        files++;
        assert.equal(
          await sha256Chunks(e.data as AsyncIterable<Buffer>),
          sha256OfFile(join(x, f.path)),
          `${name}: ${f.path}`,
        );
      }
    }
    assert.ok(files > 0, name);
  }
  const cron = debs.find((d) => d.startsWith("cron_"));
  if (cron) {
    const info = await debBackend.read(join(DIR, cron));
    assert.deepEqual(
      info.conffiles,
      sh("dpkg-deb", ["--info", join(DIR, cron), "conffiles"])
        .split("\n")
        .filter((l) => l.startsWith("/")),
    );
    assert.ok(info.conffiles.includes("/etc/default/cron"));
    assert.ok(info.scripts.some((s) => s.phase === "postinst"));
  }
});
