// Crash safety: a tsostree commit killed with SIGKILL at each step of its transaction leaves a repo
// that both ostree fsck and our fsck accept, with the branch at the old commit or the new one —
// never dangling — and both tools can commit into it afterwards (ostree may adopt our staging dir).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, scratch, tsostree } from "../helpers.js";
import { commitWith, initWith, ostreeFsck } from "./commit-fixture.js";

const STEPS = ["staged-write", "before-rename", "mid-rename", "before-ref"];

for (const mode of ["bare", "archive"]) {
  test(`SIGKILL at every commit step leaves a valid repo (${mode})`, (t) => {
    if (!haveTools(t, "ostree")) return;
    const dir = scratch(t);
    const repo = join(dir, "repo");
    initWith("tsostree", repo, mode);
    const tree = join(dir, "tree");
    mkdirSync(tree);
    writeFileSync(join(tree, "base"), "base\n");
    let head = commitWith("tsostree", repo, ["-b", "main", "--timestamp=@1", tree]);
    for (const [i, step] of STEPS.entries()) {
      // Enough new objects to spread over many objects/XX directories.
      for (let f = 0; f < 80; f++) writeFileSync(join(tree, `s${i}-${f}`), `${step} ${f}\n`);
      const r = tsostree(["commit", `--repo=${repo}`, "-b", "main", `--timestamp=@${10 + i}`, tree], {
        env: { ...process.env, TSOSTREE_FAULT: step },
      });
      assert.equal(r.status, -1, `${step}: the process was killed (${r.stderr})`);
      const ref = readFileSync(join(repo, "refs/heads/main"), "utf8").trim();
      assert.equal(ref, head, `${step}: the ref still names the previous commit`);
      const fsck = ostreeFsck(repo);
      assert.equal(fsck.status, 0, `${step}: ostree fsck: ${fsck.stderr}`);
      const ours = tsostree(["fsck", `--repo=${repo}`]);
      assert.equal(ours.status, 0, `${step}: tsostree fsck: ${ours.stderr}${ours.stdout}`);
      // Both tools carry on: ostree (which may reuse our staging dir), then us.
      commitWith("ostree", repo, ["-b", `after-${step}`, "--timestamp=@2", tree]);
      head = commitWith("tsostree", repo, ["-b", "main", `--timestamp=@${10 + i}`, tree]);
      assert.equal(ostreeFsck(repo).status, 0);
    }
  });
}
