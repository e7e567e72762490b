// A content object far bigger than what a pull reads whole (src/pull/fetcher.ts WHOLE_BODY_MAX):
// streamed from nginx through inflate and into the store, never buffered, so that the pull's peak
// memory does not grow with it. (A streamed body cut or corrupted half-way: faults.test.ts.)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, run, scratch, skipOrFail, tsostreeBin } from "../helpers.js";
import { fsckClean, lsR, makeTree, ok, ts } from "./fixture.js";
import { startNginx } from "./server.js";

const BIG = 64 << 20;

/** An archive repo holding `tree` as main (ostree writes it); returns the commit. */
function archiveOf(tree: string, repo: string): string {
  ok(["init", `--repo=${repo}`, "--mode=archive"]);
  const c = ok([`--repo=${repo}`, "commit", "--branch=main", `--tree=dir=${tree}`, "-s", "s"]).trim();
  ok([`--repo=${repo}`, "summary", "-u"]);
  return c;
}

/** Our pull of origin:main into a fresh bare-user repo, under /usr/bin/time: peak RSS in MiB. */
function pullRss(dir: string, name: string, url: string): { repo: string; rssMiB: number; json: string } {
  const repo = join(dir, name);
  ts(["init", `--repo=${repo}`, "--mode=bare-user"]);
  ts([`--repo=${repo}`, "remote", "add", "--no-gpg-verify", "origin", url]);
  const out = join(dir, `${name}.rss`);
  const r = run("/usr/bin/time", [
    "-f",
    "%M",
    "-o",
    out,
    process.execPath,
    tsostreeBin,
    `--repo=${repo}`,
    "pull",
    "--json",
    "origin:main",
  ]);
  assert.equal(r.status, 0, `pull into ${name}: ${r.stderr}`);
  const kib = Number(readFileSync(out, "utf8").trim().split("\n").pop());
  return { repo, rssMiB: kib / 1024, json: r.stdout };
}

test("a 64 MiB object is streamed: the pull's peak memory stays far below its size", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  if (!existsSync("/usr/bin/time")) return skipOrFail(t, "/usr/bin/time is missing: apt-get install time");
  const dir = scratch(t);
  const small = join(dir, "small");
  makeTree(small);
  const bigTree = join(dir, "big");
  mkdirSync(bigTree);
  writeFileSync(join(bigTree, "blob"), randomBytes(BIG)); // incompressible: the .filez is as big
  writeFileSync(join(bigTree, "note"), "small\n");
  archiveOf(small, join(dir, "srv-small"));
  archiveOf(bigTree, join(dir, "srv-big"));
  const ngSmall = await startNginx(join(dir, "srv-small"), join(dir, "ng-small"));
  t.after(() => ngSmall.stop());
  const ngBig = await startNginx(join(dir, "srv-big"), join(dir, "ng-big"));
  t.after(() => ngBig.stop());

  const base = pullRss(dir, "client-small", ngSmall.url);
  const big = pullRss(dir, "client-big", ngBig.url);
  fsckClean(big.repo);
  assert.equal(lsR(big.repo, "origin:main"), lsR(join(dir, "srv-big"), "main"));
  // Buffered whole, the object would add its compressed and its inflated size (128 MiB).
  assert.ok(
    big.rssMiB - base.rssMiB < 40,
    `peak RSS ${big.rssMiB.toFixed(0)} MiB pulling a ${BIG >> 20} MiB object vs ${base.rssMiB.toFixed(0)} MiB for a small tree`,
  );
});
