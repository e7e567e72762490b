import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { rpmdbRecords } from "../../../backends/rpm/rpmdb-records.js";
import { gpgTestKey, haveTools, scratch, sh } from "../../helpers.js";
import { buildRpm } from "./build.js";
import { DBPATH, rpmAt, rpmdbFile } from "./rpmdb-oracle.js";

/** A second package: no epoch, MD5 file digests, a %config file and a plain Requires. */
const SMALL = `%global _binary_filedigest_algorithm 1
Name: tso-small
Version: 0.1
Release: 1
Summary: small one
License: MIT
BuildArch: noarch
Requires: tso-demo >= 1:2.0

%description
Small.

%install
mkdir -p %{buildroot}/usr/share/tso-small %{buildroot}/etc
echo a > %{buildroot}/usr/share/tso-small/a
echo c > %{buildroot}/etc/tso-small.conf

%files
%dir /usr/share/tso-small
/usr/share/tso-small/a
%config /etc/tso-small.conf
`;

/** `rpm -q --qf FORMAT NAME` in ROOT. */
function qf(root: string, name: string, format: string): string {
  const r = rpmAt(root, ["-q", "--qf", format, name]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "");

test("rpmdb-records: an rpmdb the real rpm installed into matches rpm -qa, -ql, --requires and --provides", (t: TestContext) => {
  if (!haveTools(t, "rpm", "rpmbuild", "gpg")) return;
  const dir = scratch(t);
  const root = join(dir, "root");
  mkdirSync(join(root, DBPATH), { recursive: true });
  const rpms = [buildRpm(join(dir, "demo"), "gzip"), buildRpm(join(dir, "small"), "gzip", SMALL)];
  const inst = rpmAt(root, ["-i", "--nodeps", "--noscripts", "--notriggers", ...rpms]);
  assert.equal(inst.status, 0, inst.stderr);
  // A public key in the rpmdb is a gpg-pubkey pseudo-package, not something installed.
  const env = gpgTestKey(dir, "tso test <t@example.org>");
  writeFileSync(join(dir, "key.asc"), sh("gpg", ["--armor", "--export"], { env }));
  const imp = rpmAt(root, ["--import", join(dir, "key.asc")]);
  assert.equal(imp.status, 0, imp.stderr);

  const recs = rpmdbRecords(readFileSync(rpmdbFile(root)));
  const qa = lines(rpmAt(root, ["-qa", "--qf", "%{NAME} %{EVR} %{ARCH}\\n"]).stdout);
  assert.ok(qa.some((l) => l.startsWith("gpg-pubkey ")));
  assert.deepEqual(
    recs.map((p) => `${p.name} ${p.evr} ${p.arch}`),
    qa.filter((l) => !l.startsWith("gpg-pubkey ")).sort(),
  );

  for (const p of recs) {
    assert.deepEqual([p.kind, p.origin, p.requested], ["rpm", "base", false]);
    assert.equal(p.summary, qf(root, p.name, "%{SUMMARY}"));
    assert.deepEqual(
      p.files.map((f) => f.path),
      lines(rpmAt(root, ["-ql", p.name]).stdout),
      `${p.name}: rpm -ql`,
    );
    // Per file: mode, owner, digest and link target as rpm prints them; %config as a conffile.
    const want = lines(
      qf(
        root,
        p.name,
        "[%{FILEMODES:octal}|%{FILEUSERNAME}|%{FILEGROUPNAME}|%{FILEDIGESTS}|%{FILELINKTOS}|%{FILEFLAGS:fflags}\\n]",
      ),
    );
    // No FILEDIGESTALGO tag means MD5, as in rpm itself.
    const algo = ["1", "(none)"].includes(qf(root, p.name, "%{FILEDIGESTALGO}")) ? "md5" : "sha256";
    assert.deepEqual(
      p.files.map((f) =>
        [f.mode.toString(8), f.user, f.group, f.digest ?? "", f.target ?? "", f.conffile ? "c" : ""].join(
          "|",
        ),
      ),
      want.map((l) => {
        const [mode, user, group, digest, link, flags] = l.split("|");
        const perm = (Number.parseInt(mode, 8) & 0o7777).toString(8);
        return [perm, user, group, digest && `${algo}:${digest}`, link, flags.includes("c") ? "c" : ""].join(
          "|",
        );
      }),
      `${p.name}: file attributes`,
    );
    const req = p.requires.filter((r) => r.kind === "depends" || r.kind === "pre-depends").map((r) => r.text);
    assert.deepEqual(
      req.sort(),
      lines(rpmAt(root, ["-q", "--requires", p.name]).stdout).sort(),
      `${p.name}: requires`,
    );
    assert.deepEqual(
      p.provides.map((x) => (x.version ? `${x.name} = ${x.version}` : x.name)).sort(),
      lines(rpmAt(root, ["-q", "--provides", p.name]).stdout).sort(),
      `${p.name}: provides`,
    );
  }

  const [demo, small] = recs;
  assert.deepEqual(
    [demo.epoch, demo.version, demo.release, demo.evr],
    [1, "2.0~rc1", "3.fc40", "1:2.0~rc1-3.fc40"],
  );
  const file = (p: typeof demo, path: string) => p.files.find((f) => f.path === path);
  assert.match(file(demo, "/usr/bin/demo")?.digest ?? "", /^sha256:[0-9a-f]{64}$/);
  assert.match(file(small, "/usr/share/tso-small/a")?.digest ?? "", /^md5:[0-9a-f]{32}$/);
  assert.equal(file(demo, "/usr/bin/demo-hardlink")?.digest, file(demo, "/usr/bin/demo")?.digest);
  assert.deepEqual(file(demo, "/usr/bin/demo-link"), {
    path: "/usr/bin/demo-link",
    type: "symlink",
    mode: 0o777,
    user: "root",
    group: "root",
    target: "demo",
  });
  assert.equal(file(demo, "/usr/bin/demo-suid")?.mode, 0o4755);
  assert.equal(file(demo, "/etc/tso-demo")?.type, "dir");
  assert.equal(file(small, "/etc/tso-small.conf")?.conffile, true);
  assert.ok(demo.requires.some((r) => r.kind === "conflicts" && r.text === "old-demo < 1.0"));
  assert.ok(demo.requires.some((r) => r.kind === "obsoletes" && r.text === "older-demo <= 0.9"));
  assert.ok(demo.requires.some((r) => r.kind === "supplements" && r.text === "(sup-a and sup-b)"));

  // Scriptlets with the interpreter rpm records (rpm -q --scripts shows the same bodies).
  for (const [phase, tag] of [
    ["pre", "PREIN"],
    ["post", "POSTIN"],
    ["preun", "PREUN"],
    ["posttrans", "POSTTRANS"],
  ]) {
    const s = demo.scripts.find((x) => x.phase === phase);
    assert.equal(s?.body, qf(root, demo.name, `%{${tag}}`), phase);
    assert.equal(s?.interpreter, qf(root, demo.name, `%{${tag}PROG}`), phase);
  }
  assert.deepEqual(
    demo.scripts.map((s) => s.phase),
    ["pretrans", "pre", "post", "preun", "postun", "posttrans"],
  );
  assert.equal(demo.scripts.find((s) => s.phase === "postun")?.interpreter, "/sbin/ldconfig");
  assert.deepEqual(small.scripts, []);

  assert.throws(() => rpmdbRecords(Buffer.from("not a database at all".repeat(20))), /cannot read rpmdb/);
});
