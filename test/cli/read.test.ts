// Our read commands print exactly what ostree prints, on repos the real ostree wrote.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { haveTools, ostree, scratch, tsostree } from "../helpers.js";
import { buildRepo } from "../repo/fixture.js";

function same(repo: string, args: string[]): void {
  const o = ostree([`--repo=${repo}`, ...args]);
  const t = tsostree([`--repo=${repo}`, ...args]);
  assert.equal(t.stdout, o.stdout, `stdout of ${args.join(" ")}: ${t.stderr}`);
  assert.equal(t.status === 0, o.status === 0, `status of ${args.join(" ")}: ${t.stderr}`);
}

for (const mode of ["bare", "bare-user", "archive"]) {
  describe(`read commands match ostree (${mode})`, () => {
    test("ls, log, show, refs, rev-parse, diff", (t) => {
      if (!haveTools(t, "ostree", "setfattr")) return;
      const { repo } = buildRepo(scratch(t), mode);
      for (const args of [
        ["ls", "-R", "test"],
        ["ls", "-R", "-C", "test"],
        ["ls", "-R", "-X", "test^"],
        ["ls", "test", "/usr/bin", "a"],
        ["ls", "-d", "test", "usr"],
        ["log", "test"],
        ["show", "test"],
        ["show", "test^"],
        ["show", "--raw", "test^"],
        ["show", "--print-metadata-key=version", "test^"],
        ["show", "--print-metadata-key=ostree.ref-binding", "test"],
        ["refs"],
        ["rev-parse", "test^"],
        ["diff", "test^", "test"],
        ["diff", "test"],
        ["diff", "--stats", "test^", "test"],
      ])
        same(repo, args);
      // `show CHECKSUM` finds whichever object carries it.
      const fileCsum = ostree([`--repo=${repo}`, "ls", "-C", "test^", "/xa"]).stdout.split(/\s+/)[4]!;
      const [, , , , , tree, meta] = ostree([
        `--repo=${repo}`,
        "ls",
        "-d",
        "-C",
        "test",
        "/usr",
      ]).stdout.split(/\s+/);
      for (const c of [fileCsum, tree!, meta!]) same(repo, ["show", c]);
      for (const c of [tree!, meta!]) same(repo, ["show", "--raw", c]);
      // ostree fails on a missing key and on a missing path; so do we, with the same message.
      const o = ostree([`--repo=${repo}`, "ls", "test", "/nope"]);
      const r = tsostree([`--repo=${repo}`, "ls", "test", "/nope"]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, o.stderr);
    });
  });
}

test("cat prints file content; --json gives structured output", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const { repo } = buildRepo(scratch(t), "bare-user");
  assert.equal(tsostree([`--repo=${repo}`, "cat", "test", "/usr/bin/hello"]).stdout, "modified\n");
  const ls = JSON.parse(tsostree([`--repo=${repo}`, "ls", "--json", "-R", "test"]).stdout) as {
    path: string;
  }[];
  assert.ok(ls.some((e) => e.path === "/usr/bin/hi"));
  const log = JSON.parse(tsostree([`--repo=${repo}`, "log", "--json", "test"]).stdout) as unknown[];
  assert.equal(log.length, 2);
});

test("log stops where history was not fetched, as ostree's", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const { repo, first } = buildRepo(scratch(t), "archive");
  rmSync(join(repo, "objects", first.slice(0, 2), `${first.slice(2)}.commit`));
  same(repo, ["log", "test"]);
  assert.match(
    tsostree([`--repo=${repo}`, "log", "test"]).stdout,
    /<< History beyond this commit not fetched >>/,
  );
});
