// A real distribution tree (Debian minbase's /usr, when fixtures/minbase.sh has built it): ls,
// checkout and fsck agree with ostree on thousands of entries, not only on the small fixture.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { checkout } from "../../src/repo/checkout.js";
import { Repo } from "../../src/repo/repo.js";
import { fixture, haveTools, ostree, scratch, tsostree } from "../helpers.js";
import { ostreeCommit, ostreeInit } from "../repo/fixture.js";
import { describeTree } from "../repo/treewalk.js";

test("minbase /usr: ls -R -C -X, user-mode checkout and fsck match ostree", async (t) => {
  const usr = join(fixture("minbase"), "usr");
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const repo = join(dir, "repo");
  ostreeInit(repo, "bare-user");
  ostreeCommit(repo, "usr", usr);
  const args = [`--repo=${repo}`, "ls", "-R", "-C", "-X", "usr"];
  const ours = tsostree(args);
  assert.equal(ours.status, 0, ours.stderr);
  assert.ok(ours.stdout === ostree(args).stdout, "ls -R -C -X differs from ostree's");
  const theirs = join(dir, "theirs");
  assert.equal(ostree(["checkout", `--repo=${repo}`, "-U", "usr", theirs]).status, 0);
  await checkout(Repo.open(repo), "usr", join(dir, "ours"), { userMode: true });
  assert.deepEqual(describeTree(join(dir, "ours")), describeTree(theirs));
  assert.equal(tsostree([`--repo=${repo}`, "fsck", "-q"]).status, 0);
});
