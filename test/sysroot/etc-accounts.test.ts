import assert from "node:assert/strict";
import { chmodSync, lstatSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { mergeAccountEntries } from "../../src/sysroot/etc-accounts.js";
import { haveTools } from "../helpers.js";
import { commit, deploymentDirs, makeSysroot, makeTree, sysScratch, ts } from "./fixture.js";

test("accounts: the admin's additions, changes and removals replay onto the new defaults, entry by entry", () => {
  const orig =
    "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nold:x:5:5::/:/bin/false\n";
  const local =
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n";
  const next =
    "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nold:x:5:5::/:/bin/false\npkg:x:999:999::/nonexistent:/usr/sbin/nologin\n";
  assert.equal(
    mergeAccountEntries("passwd", orig, local, next),
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\npkg:x:999:999::/nonexistent:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n",
  );
  // Group members: both sides added a member to "users"; both stay.
  assert.equal(
    mergeAccountEntries("group", "users:x:100:\n", "users:x:100:alice\n", "users:x:100:pkg\npkg:x:999:\n"),
    "users:x:100:alice,pkg\npkg:x:999:\n",
  );
});

const PASSWD = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
const GROUP = "root:x:0:\ndaemon:x:1:\nusers:x:100:\n";
const SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
const GSHADOW = "root:*::\ndaemon:*::\nusers:*::\n";

test("deploy: a package's new system user reaches the new /etc/passwd although the admin edited it", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"));
  const files = {
    "usr/etc/passwd": PASSWD,
    "usr/etc/group": GROUP,
    "usr/etc/shadow": SHADOW,
    "usr/etc/gshadow": GSHADOW,
  };
  const t1 = makeTree(join(dir, "t1"), { files });
  chmodSync(join(t1, "usr/etc/shadow"), 0o640);
  const c1 = commit(S, t1, "1");
  ts(S, "deploy", "--os=testos", "testos/stable");
  const etc1 = join(
    S,
    "ostree/deploy/testos/deploy",
    deploymentDirs(S).find((d) => d.startsWith(c1))!,
    "etc",
  );
  // The admin adds a user and changes root's shell on the running system.
  writeFileSync(
    join(etc1, "passwd"),
    `${PASSWD.replace("/bin/sh", "/bin/bash")}alice:x:1000:1000::/home/alice:/bin/bash\n`,
  );
  writeFileSync(join(etc1, "group"), `${GROUP.replace("users:x:100:", "users:x:100:alice")}alice:x:1000:\n`);
  writeFileSync(join(etc1, "shadow"), `${SHADOW}alice:$6$salt$hash:19500:0:99999:7:::\n`);
  // The layered tree: a package script added a system user and group, and put it into "users".
  const t2 = makeTree(join(dir, "t2"), {
    files: {
      "usr/etc/passwd": `${PASSWD}tsotest:x:999:999::/nonexistent:/usr/sbin/nologin\n`,
      "usr/etc/group": `${GROUP.replace("users:x:100:", "users:x:100:tsotest")}tsotest:x:999:\n`,
      "usr/etc/shadow": `${SHADOW}tsotest:!:19600::::::\n`,
      "usr/etc/gshadow": `${GSHADOW}tsotest:!::\n`,
    },
  });
  chmodSync(join(t2, "usr/etc/shadow"), 0o640);
  const c2 = commit(S, t2, "2");
  ts(S, "deploy", "--os=testos", "testos/stable");
  const etc2 = join(
    S,
    "ostree/deploy/testos/deploy",
    deploymentDirs(S).find((d) => d.startsWith(c2))!,
    "etc",
  );
  const read = (f: string) => readFileSync(join(etc2, f), "utf8");
  assert.equal(
    read("passwd"),
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\ntsotest:x:999:999::/nonexistent:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n",
  );
  assert.match(read("group"), /^users:x:100:alice,tsotest$/m);
  assert.match(read("group"), /^tsotest:x:999:$/m);
  assert.match(read("group"), /^alice:x:1000:$/m);
  assert.match(read("shadow"), /^tsotest:!:/m);
  assert.match(read("shadow"), /^alice:\$6\$/m);
  assert.equal(lstatSync(join(etc2, "shadow")).mode & 0o7777, 0o640);
  // gshadow was not edited locally: the new default as it is.
  assert.equal(read("gshadow"), `${GSHADOW}tsotest:!::\n`);
  // Other files still merge by file: the admin's app.conf edit... untouched here, the default stays.
  assert.equal(read("app.conf"), "a=1\n");
});
