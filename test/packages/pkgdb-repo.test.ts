import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type TestContext, test } from "node:test";
import { PackageDb, PackageDbError, PKGDB_PATH } from "../../src/packages/pkgdb.js";
import { readPackageDb } from "../../src/packages/pkgdb-repo.js";
import { Repo } from "../../src/repo/repo.js";
import { haveTools, scratch } from "../helpers.js";
import { ostreeCommit, ostreeInit } from "../repo/fixture.js";
import { pkg } from "./pkgdb-fixture.js";

function tree(root: string, db?: Buffer): string {
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  writeFileSync(join(root, "usr/bin/tool"), "tool\n");
  if (db) {
    mkdirSync(dirname(join(root, PKGDB_PATH)), { recursive: true });
    writeFileSync(join(root, PKGDB_PATH), db);
  }
  return root;
}

for (const mode of ["archive", "bare-user"]) {
  test(`pkgdb-repo: reads the package db of a commit the real ostree wrote (${mode})`, (t: TestContext) => {
    if (!haveTools(t, "ostree")) return;
    const dir = scratch(t);
    const db = PackageDb.create();
    db.add(
      pkg("strace", "6.1-0.1", {
        files: [{ path: "/usr/bin/strace", type: "file", mode: 0o755, user: "root", group: "root" }],
      }),
    );
    db.add(pkg("libc6", "2.36-9"));
    const bytes = db.serialize();
    const repoPath = join(dir, "repo");
    ostreeInit(repoPath, mode);
    const withDb = ostreeCommit(repoPath, "with", tree(join(dir, "a"), bytes));
    const without = ostreeCommit(repoPath, "without", tree(join(dir, "b")));
    const dirThere = join(dir, "c", PKGDB_PATH);
    mkdirSync(dirThere, { recursive: true });
    const bogus = ostreeCommit(repoPath, "bogus", join(dir, "c"));

    const repo = Repo.open(repoPath);
    const back = readPackageDb(repo, withDb);
    assert.ok(back);
    assert.ok(back.serialize().equals(bytes));
    assert.deepEqual(
      back.packages().map((p) => p.name),
      ["libc6", "strace"],
    );
    assert.deepEqual(
      back.owners("/usr/bin/strace").map((p) => p.name),
      ["strace"],
    );
    back.close();
    assert.equal(readPackageDb(repo, without), null);
    assert.throws(() => readPackageDb(repo, bogus), PackageDbError);
    db.close();
  });
}
