// `summary -u` writes the bytes ostree writes. ostree stamps the current time into
// ostree.summary.last-modified, so we take its timestamp and build ours with the same one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Repo } from "../../src/repo/repo.js";
import { buildSummary, parseSummary } from "../../src/repo/summary.js";
import { haveTools, ostree, scratch, tsostree } from "../helpers.js";
import { buildRepo, ostreeCommit } from "./fixture.js";

test("summary bytes equal ostree's for the same last-modified time; --view matches", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo, tree } = buildRepo(dir, "archive");
  ostreeCommit(repo, "os/x86_64/stable", join(tree, "a"), "s", ["--add-metadata-string=version=42"]);
  ostreeCommit(repo, "aaa", join(tree, "usr"), "s");
  // A static delta adds ostree.static-deltas (name -> superblock digest) to the summary.
  const head = ostree([`--repo=${repo}`, "rev-parse", "aaa"]).stdout.trim();
  assert.equal(ostree(["static-delta", "generate", `--repo=${repo}`, "--empty", `--to=${head}`]).status, 0);
  assert.equal(ostree([`--repo=${repo}`, "summary", "-u"]).status, 0);
  const theirs = readFileSync(join(repo, "summary"));
  const lm = parseSummary(theirs).metadata.find(([k]) => k === "ostree.summary.last-modified")![1];
  const secs = Number(
    Buffer.from((lm.value as bigint).toString(16).padStart(16, "0"), "hex").readBigUInt64LE(),
  );
  const ours = buildSummary(Repo.open(repo), { lastModified: secs });
  assert.equal(ours.toString("hex"), theirs.toString("hex"));
  for (const args of [
    ["summary", "--view"],
    ["summary", "--raw"],
  ])
    assert.equal(tsostree([`--repo=${repo}`, ...args]).stdout, ostree([`--repo=${repo}`, ...args]).stdout);
  // And ostree reads ours.
  assert.equal(tsostree([`--repo=${repo}`, "summary", "-u"]).status, 0);
  assert.match(ostree([`--repo=${repo}`, "summary", "--view"]).stdout, /\* os\/x86_64\/stable/);
});
