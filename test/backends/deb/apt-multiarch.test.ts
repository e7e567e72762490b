// Multi-Arch against apt: a repository with amd64 and i386 indexes, apt configured for both
// (APT::Architectures) and us given --foreign-arch i386. Covers Multi-Arch: same co-installation,
// Multi-Arch: foreign satisfying a foreign package's dependency, plain dependencies of a foreign
// package bound to its arch, and the implicit conflict between two archs of a non-"same" package.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, scratch, sh } from "../../helpers.js";
import { aptSim, ours, writeRelease } from "./apt-oracle.js";

const PKGS: [string, string, string][] = [
  // [name, arch, extra fields]
  ["libbar", "amd64", "Multi-Arch: same"],
  ["libbar", "i386", "Multi-Arch: same"],
  ["tool", "amd64", "Multi-Arch: foreign"],
  ["tool", "i386", "Multi-Arch: foreign"],
  ["nonma", "amd64", ""],
  ["nonma", "i386", ""],
  ["app", "amd64", "Depends: libbar"],
  ["app32", "i386", "Depends: libbar, tool, nonma"],
];

const STATUS =
  "Package: nonma\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@e>\nDescription: x\n";

test("multi-arch repository: resolve equals apt-get -s install", { timeout: 60_000 }, async (t) => {
  if (!haveTools(t, "dpkg-deb", "apt-ftparchive", "apt-get")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  for (const [name, arch, extra] of PKGS) {
    const root = join(dir, "build", `${name}_${arch}`);
    mkdirSync(join(root, "DEBIAN"), { recursive: true });
    writeFileSync(
      join(root, "DEBIAN/control"),
      `Package: ${name}\nVersion: 1.0\nArchitecture: ${arch}\n${extra ? `${extra}\n` : ""}Maintainer: t <t@example.org>\nDescription: test\n`,
    );
    mkdirSync(join(repo, "pool", arch), { recursive: true });
    sh("dpkg-deb", [
      "--root-owner-group",
      "-Zgzip",
      "--build",
      root,
      join(repo, "pool", arch, `${name}_${arch}.deb`),
    ]);
  }
  for (const arch of ["amd64", "i386"]) {
    const d = join(repo, `dists/test/main/binary-${arch}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "Packages"), sh("apt-ftparchive", ["packages", `pool/${arch}`], { cwd: repo }));
  }
  writeRelease(repo, ["APT::FTPArchive::Release::Architectures=amd64 i386"]);
  const sources = join(dir, "test.list");
  writeFileSync(sources, `deb [trusted=yes] file:${repo} test main\n`);
  const status = join(dir, "status");
  writeFileSync(status, STATUS);
  for (const c of ["app32:i386", "app app32:i386", "libbar:i386"]) {
    const pkgs = c.split(" ");
    const a = aptSim(join(dir, "apt"), sources, status, pkgs, ["amd64", "i386"]);
    assert.equal(a.status, 0, c);
    const o = ours([
      "--sources-list",
      sources,
      "--dpkg-status",
      status,
      "--cache-dir",
      join(dir, "md"),
      "--foreign-arch",
      "i386",
      ...pkgs,
    ]);
    assert.equal(o.status, 0, o.stderr);
    assert.deepEqual(o.set, a.set, c);
    if (process.env.SHOW) console.log(c, JSON.stringify(o.set));
  }
});
