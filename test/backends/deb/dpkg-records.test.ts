import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { dpkgRecords, type TreeStat } from "../../../backends/deb/dpkg-records.js";
import type { DbPackage } from "../../../src/packages/pkgdb.js";
import { fixture, haveTools, scratch, sh } from "../../helpers.js";
import { buildDeb } from "./build.js";

/** A tree backed by a directory, as compose rootfs backs it by a directory or a commit. */
function dirTree(root: string) {
  const read = (rel: string) => {
    try {
      return readFileSync(join(root, rel));
    } catch {
      return null;
    }
  };
  const stat = (rel: string): TreeStat | null => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(join(root, rel));
    } catch {
      return null;
    }
    const type = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "file";
    return {
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      ...(type === "symlink" ? { target: readlinkSync(join(root, rel)) } : {}),
    };
  };
  return { read, stat };
}

const query = (admindir: string, args: string[]) => sh("dpkg-query", [`--admindir=${admindir}`, ...args]);

/** dpkg-query -L for several packages: one list per package, separated by blank lines; "/." dropped. */
function listed(admindir: string, names: string[]): string[][] {
  return query(admindir, ["-L", ...names])
    .split("\n\n")
    .map((block) =>
      block
        .split("\n")
        .filter((l) => l.startsWith("/") && l !== "/.")
        .sort(),
    );
}

function key(p: DbPackage): string {
  return `${p.name}:${p.arch}`;
}

interface Spec {
  name: string;
  control: string;
  files: Record<string, string | { link: string } | { mode: number; body: string }>;
  info?: Record<string, string>;
}

function makeDeb(dir: string, spec: Spec): string {
  const pdir = join(dir, spec.name);
  const root = join(pdir, "pkg");
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  writeFileSync(join(root, "DEBIAN/control"), `Package: ${spec.name}\n${spec.control}`);
  const sums: string[] = [];
  for (const [path, v] of Object.entries(spec.files)) {
    const p = join(root, path);
    mkdirSync(join(p, ".."), { recursive: true });
    if (typeof v === "object" && "link" in v) symlinkSync(v.link, p);
    else {
      const body = typeof v === "string" ? v : v.body;
      writeFileSync(p, body);
      if (typeof v === "object") chmodSync(p, v.mode);
      if (!path.startsWith("etc/")) sums.push(`${createHash("md5").update(body).digest("hex")}  ${path}\n`);
    }
  }
  writeFileSync(join(root, "DEBIAN/md5sums"), sums.join(""));
  for (const [name, body] of Object.entries(spec.info ?? {})) {
    writeFileSync(join(root, "DEBIAN", name), body);
    if (name !== "conffiles") chmodSync(join(root, "DEBIAN", name), 0o755);
  }
  return buildDeb(pdir, "gzip", `${spec.name}.deb`);
}

const SPECS: Spec[] = [
  {
    name: "tso-base",
    control:
      "Version: 1:2.0-1\nArchitecture: all\nMaintainer: t <t@e>\nInstalled-Size: 12\nProvides: tso-virtual (= 1.0), tso-other\nDescription: base for dpkg-records\n longer text\n",
    files: {
      "usr/share/tso-base/data": "data\n",
      "usr/bin/tso-tool": { mode: 0o4755, body: "#!/bin/sh\n" },
      "usr/bin/tso-link": { link: "tso-tool" },
      "etc/tso-base.conf": "conf=1\n",
    },
    info: {
      conffiles: "/etc/tso-base.conf\n",
      postinst: "#!/bin/sh\nset -e\necho configured\n",
      prerm: "#!/bin/bash\nexit 0\n",
    },
  },
  {
    name: "tso-lib",
    control:
      "Version: 0.9~rc1\nArchitecture: amd64\nMulti-Arch: same\nMaintainer: t <t@e>\nPre-Depends: tso-base (>= 1:1.0)\nDepends: tso-base (>= 1:2.0) | tso-virtual, tso-virtual\nRecommends: tso-rec\nSuggests: tso-sug\nBreaks: tso-old (<< 0.5)\nConflicts: tso-conf\nReplaces: tso-old\nDescription: a Multi-Arch: same library\n",
    files: {
      "usr/lib/x86_64-linux-gnu/libtso.so.1": "elf\n",
      "usr/lib/x86_64-linux-gnu/libtso.so": { link: "libtso.so.1" },
    },
  },
  {
    name: "tso-gone",
    control: "Version: 3\nArchitecture: all\nMaintainer: t <t@e>\nDescription: removed, its conffile stays\n",
    files: { "usr/share/tso-gone/x": "x\n", "etc/tso-gone.conf": "g\n" },
    info: { conffiles: "/etc/tso-gone.conf\n" },
  },
];

test("dpkg-records: a tree installed by the real dpkg --root matches dpkg-query", (t: TestContext) => {
  if (!haveTools(t, "dpkg", "dpkg-deb", "dpkg-query")) return;
  const dir = scratch(t);
  const root = join(dir, "root");
  const admin = join(root, "var/lib/dpkg");
  for (const d of ["info", "updates", "triggers"]) mkdirSync(join(admin, d), { recursive: true });
  writeFileSync(join(admin, "status"), "");
  const debs = SPECS.map((s) => makeDeb(dir, s));
  const dpkg = (args: string[]) =>
    sh("dpkg", [
      `--root=${root}`,
      `--admindir=${admin}`,
      "--force-script-chrootless",
      "--force-not-root",
      ...args,
    ]);
  dpkg(["-i", debs[0]]);
  dpkg(["-i", ...debs.slice(1)]);
  dpkg(["-r", "tso-gone"]);
  // An owner that is not root, named by the tree's own passwd and group.
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\ntso:x:1234:1234::/:/bin/false\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\ntsogrp:x:1235:\n");
  chownSync(join(root, "usr/share/tso-base/data"), 1234, 1235);
  chownSync(join(root, "usr/share/tso-base"), 4321, 0);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's --showformat syntax
  assert.match(query(admin, ["-W", "-f=${db:Status-Status}", "tso-gone"]), /^config-files$/);
  assert.ok(existsSync(join(admin, "info/tso-lib:amd64.list")), "Multi-Arch: same keeps NAME:ARCH.list");

  const tree = dirTree(root);
  const recs = dpkgRecords(tree.read, "var/lib/dpkg", tree.stat);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's --showformat syntax
  const installed = query(admin, ["-W", "-f=${Package}:${Architecture} ${Version} ${db:Status-Status}\\n"])
    .trim()
    .split("\n")
    .filter((l) => l.endsWith(" installed"))
    .map((l) => l.replace(/ installed$/, ""));
  assert.deepEqual(
    recs.map((p) => `${key(p)} ${p.evr}`),
    installed,
  );
  const [base, lib] = recs;
  assert.deepEqual(
    [base.epoch, base.version, base.release, lib.epoch, lib.version, lib.release],
    [1, "2.0", "1", 0, "0.9~rc1", ""],
  );
  assert.deepEqual(
    recs.map((p) => p.files.map((f) => f.path).sort()),
    listed(admin, ["tso-base", "tso-lib"]),
  );
  assert.equal(base.summary, "base for dpkg-records");
  assert.equal(base.installedSize, 12);
  assert.deepEqual([base.origin, base.requested, base.kind], ["base", false, "deb"]);
  assert.deepEqual(base.provides, [
    { name: "tso-virtual", version: "1.0" },
    { name: "tso-other", version: "" },
  ]);
  assert.deepEqual(lib.requires, [
    { kind: "pre-depends", text: "tso-base (>= 1:1.0)" },
    { kind: "depends", text: "tso-base (>= 1:2.0) | tso-virtual" },
    { kind: "depends", text: "tso-virtual" },
    { kind: "recommends", text: "tso-rec" },
    { kind: "suggests", text: "tso-sug" },
    { kind: "conflicts", text: "tso-conf" },
    { kind: "breaks", text: "tso-old (<< 0.5)" },
    { kind: "replaces", text: "tso-old" },
  ]);
  // Scripts as dpkg keeps them (dpkg-query --control-show prints the installed copy).
  assert.deepEqual(
    base.scripts.map((s) => [s.phase, s.interpreter, s.body]),
    [
      ["postinst", "/bin/sh", query(admin, ["--control-show", "tso-base", "postinst"])],
      ["prerm", "/bin/bash", query(admin, ["--control-show", "tso-base", "prerm"])],
    ],
  );
  const byPath = new Map(recs.flatMap((p) => p.files.map((f) => [f.path, f])));
  // Digests: md5 of the file on disk, for md5sums entries and conffiles (status Conffiles) alike.
  for (const path of ["/usr/share/tso-base/data", "/usr/bin/tso-tool", "/etc/tso-base.conf"]) {
    const md5 = createHash("md5")
      .update(readFileSync(join(root, path)))
      .digest("hex");
    assert.equal(byPath.get(path)?.digest, `md5:${md5}`, path);
  }
  assert.deepEqual(byPath.get("/etc/tso-base.conf")?.conffile, true);
  assert.equal(byPath.get("/usr/share/tso-base/data")?.conffile, undefined);
  assert.deepEqual(byPath.get("/usr/bin/tso-tool"), {
    path: "/usr/bin/tso-tool",
    type: "file",
    mode: 0o4755,
    user: "root",
    group: "root",
    digest: byPath.get("/usr/bin/tso-tool")?.digest,
  });
  assert.deepEqual(
    [byPath.get("/usr/bin/tso-link")?.type, byPath.get("/usr/bin/tso-link")?.target],
    ["symlink", "tso-tool"],
  );
  assert.equal(byPath.get("/usr/lib/x86_64-linux-gnu")?.type, "dir");
  assert.deepEqual(
    [byPath.get("/usr/share/tso-base/data")?.user, byPath.get("/usr/share/tso-base/data")?.group],
    ["tso", "tsogrp"],
  );
  assert.deepEqual(
    [byPath.get("/usr/share/tso-base")?.user, byPath.get("/usr/share/tso-base")?.group],
    ["4321", "root"],
  );

  // Without stat: types from the list alone, default modes.
  const bare = dpkgRecords(tree.read, "/var/lib/dpkg/");
  const bareBase = new Map(bare[0].files.map((f) => [f.path, f]));
  assert.deepEqual(bareBase.get("/usr/share/tso-base"), {
    path: "/usr/share/tso-base",
    type: "dir",
    mode: 0o755,
    user: "root",
    group: "root",
  });
  assert.equal(bareBase.get("/usr/bin/tso-link")?.type, "file");
  assert.equal(bareBase.get("/usr/bin/tso-tool")?.mode, 0o644);

  assert.throws(() => dpkgRecords(tree.read, "var/lib/nothing"), /no dpkg status file/);
});

test("dpkg-records: the debootstrap minbase agrees with dpkg-query package by package", (t: TestContext) => {
  if (!haveTools(t, "dpkg-query")) return;
  const root = fixture("minbase");
  const admin = join(root, "var/lib/dpkg");
  const tree = dirTree(root);
  const recs = dpkgRecords(tree.read, "var/lib/dpkg", tree.stat);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's --showformat syntax
  const lines = query(admin, ["-W", "-f=${binary:Package} ${Version}\\n"]).trim().split("\n");
  assert.equal(recs.length, lines.length);
  // binary:Package carries :ARCH only for Multi-Arch: same packages.
  const want = new Map(lines.map((l) => l.split(" ") as [string, string]));
  for (const p of recs) {
    const v = want.get(p.name) ?? want.get(key(p));
    assert.equal(p.evr, v, key(p));
  }
  const names = recs.map(key);
  assert.deepEqual(
    recs.map((p) => p.files.map((f) => f.path).sort()),
    listed(admin, names),
  );
  // With stat the tree's truth wins: usrmerge made /bin a symlink although packages list it as a dir.
  const bash = recs.find((p) => p.name === "bash");
  assert.ok(bash);
  const bin = bash.files.find((f) => f.path === "/bin");
  if (lstatSync(join(root, "bin")).isSymbolicLink()) assert.equal(bin?.type, "symlink");
  assert.equal(
    bash.files.find((f) => f.path === "/bin/bash")?.mode,
    lstatSync(join(root, "usr/bin/bash")).mode & 0o7777,
  );
  assert.ok(bash.scripts.some((s) => s.phase === "postinst"));
  assert.ok(
    bash.files.some((f) => f.conffile && f.path === "/etc/skel/.bashrc" && f.digest?.startsWith("md5:")),
  );
});
