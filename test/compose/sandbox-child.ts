// Runs one sandboxed script against a commit and commits the result: started by sandbox.test.ts as
// an unprivileged user (setpriv) on a bare-user repository that user owns. Prints JSON.
import { runSandboxed } from "../../src/compose/sandbox.js";
import { commitTree, MutableTree, Repo, Transaction } from "./fixture.js";

const {
  repo: path,
  commit,
  script,
} = JSON.parse(process.argv[2]!) as {
  repo: string;
  commit: string;
  script: string;
};
const repo = Repo.open(path);
const tx = await Transaction.begin(repo);
const tree = MutableTree.fromCommit(tx, commit);
const r = await runSandboxed(tx, tree, [{ label: "test script", argv: ["/bin/sh", "-ec", script], env: {} }]);
const out = r.failed ? null : commitTree(tx, tree, r.memory);
await tx.commit();
console.log(JSON.stringify({ commit: out, failed: r.failed, changes: r.changes }));
