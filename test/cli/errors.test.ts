// Bad repositories fail with one clear line and exit 1 without writing; usage errors exit 2. The
// errors a new user met first say what went wrong and what to do, on one line.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildDeb, demoTree } from "../backends/deb/build.js";
import {
  haveTools,
  ostree,
  type RunResult,
  run,
  scratch,
  sh,
  tsostree,
  tsostreeBin,
  tsostreePkg,
} from "../helpers.js";

/** A failure reported as one line that starts with `prefix`, with no raw errno code in it. */
function oneLine(r: RunResult, status: number, prefix = /^(error|tsostree-pkg): /): string {
  assert.equal(r.status, status, r.stderr);
  assert.equal(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
  assert.match(r.stderr, prefix);
  assert.doesNotMatch(r.stderr, /\bE[A-Z]{3,}\b/, "no raw errno code");
  return r.stderr;
}

function snapshot(dir: string): string {
  return sh("find", [dir, "-printf", "%P %s\\n"]).split("\n").sort().join("\n");
}

test("not a repo, unknown mode, unsupported repo_version: one line, exit 1, nothing written", (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, "notrepo"));
  tsostree(["init", `--repo=${join(dir, "weird")}`, "--mode=archive"]);
  tsostree(["init", `--repo=${join(dir, "v2")}`, "--mode=archive"]);
  const cfg = (name: string, from: string, to: string) =>
    writeFileSync(
      join(dir, name, "config"),
      readFileSync(join(dir, name, "config"), "utf8").replace(from, to),
    );
  cfg("weird", "mode=archive-z2", "mode=weird");
  cfg("v2", "repo_version=1", "repo_version=2");
  const before = snapshot(dir);
  for (const [repo, pattern] of [
    ["notrepo", /is not an OSTree repository/],
    ["missing", /is not an OSTree repository/],
    ["weird", /unknown repository mode 'weird'/],
    ["v2", /unsupported repo_version '2'/],
  ] as const) {
    for (const args of [
      ["refs"],
      ["log", "x"],
      ["checkout", "x", join(dir, "dest")],
      ["fsck"],
      ["prune"],
      ["summary", "-u"],
    ]) {
      const r = tsostree([`--repo=${join(dir, repo)}`, ...args]);
      assert.equal(r.status, 1, `${repo} ${args[0]}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^error: /);
    }
  }
  assert.equal(snapshot(dir), before);
});

test("usage errors exit 2", () => {
  assert.equal(tsostree(["frobnicate"]).status, 2);
  assert.equal(tsostree(["ls"]).status, 2);
  assert.equal(tsostree(["--version"]).status, 0);
});

test("init, config, refs --create/--delete, reset behave like ostree", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  for (const mode of ["bare", "bare-user", "bare-user-only", "archive", "archive-z2"]) {
    const ours = join(dir, `ours-${mode}`);
    const theirs = join(dir, `theirs-${mode}`);
    assert.equal(tsostree(["init", `--repo=${ours}`, `--mode=${mode}`]).status, 0);
    assert.equal(ostree(["init", `--repo=${theirs}`, `--mode=${mode}`]).status, 0);
    assert.equal(readFileSync(join(ours, "config"), "utf8"), readFileSync(join(theirs, "config"), "utf8"));
    assert.deepEqual(
      readdirSync(ours).sort(),
      readdirSync(theirs)
        .sort()
        .filter((n) => n !== ".lock"),
    );
  }
  const repo = join(dir, "theirs-archive");
  assert.equal(tsostree([`--repo=${repo}`, "config", "set", "core.foo", "a b"]).status, 0);
  assert.equal(ostree([`--repo=${repo}`, "config", "get", "core.foo"]).stdout, "a b\n");
  assert.equal(tsostree([`--repo=${repo}`, "config", "--group=core", "get", "foo"]).stdout, "a b\n");
  const miss = tsostree([`--repo=${repo}`, "config", "get", "core.nope"]);
  assert.equal(miss.stderr, ostree([`--repo=${repo}`, "config", "get", "core.nope"]).stderr);
  const tree = join(dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "f"), "1");
  const c1 = ostree(["commit", `--repo=${repo}`, "-b", "os/a", tree]).stdout.trim();
  writeFileSync(join(tree, "f"), "2");
  const c2 = ostree(["commit", `--repo=${repo}`, "-b", "os/a", tree]).stdout.trim();
  assert.equal(tsostree([`--repo=${repo}`, "refs", "--create=os/b", "os/a"]).status, 0);
  assert.equal(tsostree([`--repo=${repo}`, "refs", "--create=os/b", "os/a"]).status, 1);
  for (const args of [["refs"], ["refs", "os"], ["refs", "--list", "os"]])
    assert.equal(
      tsostree([`--repo=${repo}`, ...args]).stdout,
      ostree([`--repo=${repo}`, ...args])
        .stdout.split("\n")
        .sort()
        .join("\n")
        .trimStart() + "\n",
      args.join(" "),
    );
  assert.equal(tsostree([`--repo=${repo}`, "reset", "os/b", c1]).status, 0);
  assert.equal(ostree([`--repo=${repo}`, "rev-parse", "os/b"]).stdout.trim(), c1);
  assert.equal(tsostree([`--repo=${repo}`, "rev-parse", "os/a"]).stdout.trim(), c2);
  assert.equal(tsostree([`--repo=${repo}`, "refs", "--delete", "os/b"]).status, 0);
  assert.equal(ostree([`--repo=${repo}`, "refs"]).stdout, "os/a\n");
});

test("resolve with no repository configured says so, and where repositories are read from", (t) => {
  const dir = scratch(t);
  const cache = `--cache-dir=${join(dir, "md")}`;
  const none = oneLine(tsostreePkg(["resolve", cache, "strace"]), 1);
  assert.match(none, /no repositories configured/);
  assert.match(none, /--root=DIR .*\/etc\/apt\/sources\.list\{,\.d\} or \/etc\/yum\.repos\.d/);
  assert.match(none, /--sources-list=FILE, --repo-file=FILE or --repo-url=/);
  assert.doesNotMatch(none, /unable to locate/);
  mkdirSync(join(dir, "tree/etc/apt"), { recursive: true });
  const tree = oneLine(tsostreePkg(["resolve", cache, `--root=${join(dir, "tree")}`, "strace"]), 1);
  assert.match(tree, new RegExp(`none in ${join(dir, "tree")}/etc/apt/sources\\.list\\{,\\.d\\}`));
  assert.match(oneLine(tsostreePkg(["refresh-md", cache]), 1), /no repositories configured/);
  const missing = oneLine(
    tsostreePkg(["resolve", cache, `--sources-list=${join(dir, "nope.list")}`, "x"]),
    1,
  );
  assert.match(missing, /nope\.list: no such file or directory/);
});

test("import and inspect of a package name say that a .deb/.rpm file path is expected", (t) => {
  const dir = scratch(t);
  const repo = join(dir, "repo");
  assert.equal(tsostree(["init", `--repo=${repo}`, "--mode=bare-user"]).status, 0);
  for (const args of [
    ["import", `--repo=${repo}`, "strace"],
    ["inspect", "strace"],
  ]) {
    const msg = oneLine(tsostreePkg(args), 1);
    assert.match(msg, /^tsostree-pkg: strace: no such file: a \.deb or \.rpm file path is expected/);
    assert.match(msg, /`tsostree-pkg install NAME` installs a package by name/);
  }
  // A missing path is only missing: no hint about names.
  const path = oneLine(tsostreePkg(["import", `--repo=${repo}`, join(dir, "gone.deb")]), 1);
  assert.match(path, /gone\.deb: cannot read it: no such file or directory$/m);
});

test("admin boot on a missing sysroot or a plain directory: one line, nothing created", (t) => {
  const dir = scratch(t);
  const missing = oneLine(tsostree(["admin", "boot", `--sysroot=${join(dir, "nosys")}`]), 1);
  assert.match(
    missing,
    /nosys is not an ostree sysroot \(no ostree\/deploy\); create one with `tsostree admin init-fs /,
  );
  assert.equal(existsSync(join(dir, "nosys")), false);
  mkdirSync(join(dir, "plain"));
  oneLine(tsostree(["admin", "boot", `--sysroot=${join(dir, "plain")}`]), 1);
  assert.deepEqual(
    readdirSync(join(dir, "plain")),
    [],
    "no run/ written into a directory that is no sysroot",
  );
  // On this (non-OSTree) host, `/` gets no advice to init-fs it.
  if (!existsSync("/ostree/deploy")) {
    const host = oneLine(tsostreePkg(["status", "--sysroot=/"]), 1);
    assert.match(host, /this system is not an OSTree system .*pass --sysroot=DIR/);
    assert.doesNotMatch(host, /init-fs \/[`\s]/);
  }
});

test("export writes to stdout unless it is a terminal, and says how to get the archive then", (t) => {
  if (!haveTools(t, "script")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  tsostree(["init", `--repo=${repo}`, "--mode=bare-user"]);
  mkdirSync(join(dir, "tree"));
  writeFileSync(join(dir, "tree/f"), "x\n");
  assert.equal(tsostree([`--repo=${repo}`, "commit", "-b", "main", join(dir, "tree")]).status, 0);
  assert.match(
    tsostree(["export", "--help"]).stdout,
    /--output <file> +write the archive to FILE instead of stdout/,
  );
  // Piped: the archive, the same bytes as --output writes.
  const piped = run("sh", [
    "-c",
    `"$0" "$1" --repo="$2" export main > "$3"`,
    process.execPath,
    tsostreeBin,
    repo,
    join(dir, "a.tar"),
  ]);
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(tsostree([`--repo=${repo}`, "export", "main", `--output=${join(dir, "b.tar")}`]).status, 0);
  assert.ok(readFileSync(join(dir, "a.tar")).equals(readFileSync(join(dir, "b.tar"))));
  assert.deepEqual(sh("tar", ["tf", join(dir, "a.tar")]).split("\n"), ["./", "f", ""]);
  // A terminal: refused with exit 2 and what to do (script(1) gives the command a pseudo-terminal).
  const cmd = `${process.execPath} ${tsostreeBin} --repo=${repo} export main; echo "rc=$?"`;
  const tty = run("script", ["-qec", cmd, "/dev/null"]).stdout.replace(/\r/g, "");
  assert.match(
    tty,
    /^error: refusing to write a tar archive to a terminal: pass --output=FILE or redirect stdout/m,
  );
  assert.match(tty, /^rc=2$/m);
  // A failed system call names the path and what is wrong, not an errno code.
  const bad = oneLine(
    tsostree([`--repo=${repo}`, "export", "main", `--output=${join(dir, "no/such/dir/x.tar")}`]),
    1,
  );
  assert.match(bad, /no\/such\/dir\/x\.tar: no such file or directory/);
  const nodir = oneLine(tsostree([`--repo=${repo}`, "commit", "-b", "x", join(dir, "nodir")]), 1);
  assert.match(nodir, /^error: .*nodir: no such file or directory$/m);
});

test("inspect prints the version once", (t) => {
  if (!haveTools(t, "dpkg-deb")) return;
  const dir = scratch(t);
  demoTree(dir);
  const r = tsostreePkg(["inspect", buildDeb(dir, "gzip")]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.match(/^.*Version:.*$/gm), [" Version: 1:2.0~rc1-3"]);
});
