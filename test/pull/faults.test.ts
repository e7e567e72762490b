// A pull through a misbehaving server: a proxy in front of nginx cuts connections mid-object,
// answers 500, corrupts bytes, announces short lengths, 404s an object, or is slow while the pull
// is killed. The pull either completes after retries or fails cleanly — no ref moved, nothing
// unverified in the repo, `ostree fsck` clean — and a re-run fetches only what is missing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { haveTools, scratch, tsostree, tsostreeBin } from "../helpers.js";
import { fsckClean, lsR, ok, serverRepo } from "./fixture.js";
import { type FaultProxy, startNginx, startProxy } from "./server.js";

/** nginx serving `srv`, the fault proxy in front of it, and an empty client repo pulling through it. */
async function serve(t: import("node:test").TestContext, dir: string, srv: string) {
  const nginx = await startNginx(srv, join(dir, "nginx"));
  const proxy = await startProxy(nginx);
  t.after(async () => {
    await proxy.stop();
    await nginx.stop();
  });
  const repo = join(dir, "client");
  assert.equal(tsostree(["init", `--repo=${repo}`, "--mode=bare-user"]).status, 0);
  assert.equal(
    tsostree([`--repo=${repo}`, "remote", "add", "--no-gpg-verify", "origin", proxy.url]).status,
    0,
  );
  return { proxy, repo };
}

async function setup(t: import("node:test").TestContext) {
  const dir = scratch(t);
  const srv = join(dir, "srv");
  const commit = serverRepo(dir, srv);
  return { dir, srv, commit, ...(await serve(t, dir, srv)) };
}

/** The client pull, asynchronously (the proxy runs in this process, so spawnSync would deadlock). */
function pullAsync(
  repo: string,
  args: string[] = [],
): Promise<{ status: number | null; stdout: string; stderr: string; kill(): void }> & {
  child: ReturnType<typeof spawn>;
} {
  const child = spawn(process.execPath, [
    tsostreeBin,
    `--repo=${repo}`,
    "pull",
    "--json",
    "origin",
    "main",
    ...args,
  ]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const p = new Promise((resolve) =>
    child.on("exit", (status) => resolve({ status, stdout, stderr, kill: () => child.kill("SIGKILL") })),
  ) as Promise<{ status: number | null; stdout: string; stderr: string; kill(): void }> & {
    child: typeof child;
  };
  p.child = child;
  return p;
}

const isObject = (p: string) => p.startsWith("/objects/");

/** Every loose object file in a repo, as /objects/XX/REST.EXT paths (archive naming for content). */
function objectPaths(repo: string): Set<string> {
  const out = new Set<string>();
  const root = join(repo, "objects");
  for (const d of readdirSync(root))
    for (const f of readdirSync(join(root, d))) out.add(`/objects/${d}/${f.replace(/\.file$/, ".filez")}`);
  return out;
}

test("cut connections, 500s, corrupt and short bodies: retried until the pull completes", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const { srv, commit, proxy, repo } = await setup(t);
  const faults: Record<string, (n: number) => ReturnType<FaultProxy["fault"]>> = {
    ".dirtree": (n) => (n < 2 ? "500" : "pass"),
    ".commit": (n) => (n === 0 ? "corrupt" : "pass"),
  };
  let i = 0;
  proxy.fault = (path, n) => {
    for (const [suffix, f] of Object.entries(faults)) if (path.endsWith(suffix)) return f(n);
    if (!path.endsWith(".filez") || n > 0) return "pass";
    // Each content object's first request fails one way or another, in turn.
    return (["cut", "corrupt", "short", "500", "pass"] as const)[i++ % 5]!;
  };
  const r = await pullAsync(repo);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.refs[0].commit, commit);
  assert.ok(result.retries > 100, `${result.retries} retries`);
  fsckClean(repo);
  assert.equal(lsR(repo, "origin:main"), lsR(srv, "main"));
});

test("a 404 or an always-corrupt object fails the pull cleanly; the re-run fetches only what is missing", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const { srv, commit, proxy, repo } = await setup(t);
  // The first content object requested is always corrupt, the 20th distinct one is missing.
  let victimCorrupt = "";
  let victim404 = "";
  const distinct = new Set<string>();
  proxy.fault = (path) => {
    if (!path.endsWith(".filez")) return "pass";
    distinct.add(path);
    victimCorrupt ||= path;
    if (distinct.size === 20 && !victim404) victim404 = path;
    if (path === victim404) return "404";
    if (path === victimCorrupt) return "corrupt";
    return "pass";
  };
  const r = await pullAsync(repo);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: .*(not found on|failed after \d+ attempts)/);
  assert.equal(existsSync(join(repo, "refs/remotes/origin/main")), false, "no ref moved");
  assert.ok(existsSync(join(repo, "state", `${commit}.commitpartial`)));
  fsckClean(repo);
  assert.ok(!objectPaths(repo).has(victimCorrupt) && !objectPaths(repo).has(victim404));

  const before = objectPaths(repo);
  proxy.fault = () => "pass";
  proxy.requests.length = 0;
  const again = await pullAsync(repo);
  assert.equal(again.status, 0, again.stderr);
  const fetched = proxy.requests.filter(isObject);
  for (const p of fetched) assert.ok(!before.has(p), `${p} was fetched again`);
  assert.ok(fetched.includes(victim404), `${victim404} fetched again: ${fetched.join(" ")}`);
  assert.ok(fetched.includes(victimCorrupt), `${victimCorrupt} fetched again: ${fetched.join(" ")}`);
  assert.equal(existsSync(join(repo, "state", `${commit}.commitpartial`)), false);
  fsckClean(repo);
  assert.equal(lsR(repo, "origin:main"), lsR(srv, "main"));
});

test("kill -9 during a pull, then pull again: completes, fetching only what was missing", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const { srv, commit, proxy, repo } = await setup(t);
  // A slow server, so that the pull is still running (and has committed batches) when killed.
  proxy.fault = (path) => (path.endsWith(".filez") ? { delayMs: 120 } : "pass");
  const first = pullAsync(repo);
  while (proxy.requests.filter((p) => p.endsWith(".filez")).length < 150) await sleep(20);
  first.child.kill("SIGKILL");
  await first;
  assert.equal(existsSync(join(repo, "refs/remotes/origin/main")), false);
  const before = objectPaths(repo);
  assert.ok(before.size > 20, `only ${before.size} objects kept before the kill`);
  fsckClean(repo);

  proxy.fault = () => "pass";
  proxy.requests.length = 0;
  const again = await pullAsync(repo);
  assert.equal(again.status, 0, again.stderr);
  const fetched = proxy.requests.filter(isObject);
  assert.ok(fetched.length > 0);
  for (const p of fetched) assert.ok(!before.has(p), `${p} was fetched again`);
  assert.equal(new Set(fetched).size, fetched.length, "each missing object fetched once");
  assert.equal(readFileSync(join(repo, "refs/remotes/origin/main"), "utf8"), `${commit}\n`);
  fsckClean(repo);
  assert.equal(lsR(repo, "origin:main"), lsR(srv, "main"));
});

test("a streamed object (too big to read whole) cut, then corrupted half-way: fetched again, verified", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  const tree = join(dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "blob"), randomBytes(8 << 20)); // incompressible: an 8 MiB .filez
  const srv = join(dir, "srv");
  ok(["init", `--repo=${srv}`, "--mode=archive"]);
  ok([`--repo=${srv}`, "commit", "--branch=main", `--tree=dir=${tree}`, "-s", "s"]);
  const { proxy, repo } = await serve(t, dir, srv);
  // The only .filez: cut on the first request, corrupted on the second, whole on the third.
  proxy.fault = (path, n) =>
    !path.endsWith(".filez") ? "pass" : n === 0 ? "cut" : n === 1 ? "corrupt" : "pass";
  const r = await pullAsync(repo);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).retries, 2);
  fsckClean(repo);
  assert.equal(lsR(repo, "origin:main"), lsR(srv, "main"));
});

test("a slow server: a dirtree that directories of different modes share is fetched once", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = scratch(t);
  // Six directories with the same content (one dirtree), three modes (three dirmetas): walked side
  // by side, each reaches the shared dirtree before it is stored.
  const tree = join(dir, "tree");
  for (let i = 0; i < 6; i++) {
    mkdirSync(join(tree, `a${i}`, "sub"), { recursive: true });
    writeFileSync(join(tree, `a${i}`, "x"), "same\n");
    writeFileSync(join(tree, `a${i}`, "sub", "y"), "same too\n");
    chmodSync(join(tree, `a${i}`), [0o755, 0o700, 0o750][i % 3]!);
  }
  const srv = join(dir, "srv");
  ok(["init", `--repo=${srv}`, "--mode=archive"]);
  const commit = ok([`--repo=${srv}`, "commit", "--branch=main", `--tree=dir=${tree}`]).trim();
  ok([`--repo=${srv}`, "summary", "-u"]);
  const { proxy, repo } = await serve(t, dir, srv);
  proxy.fault = (path) => (path.endsWith(".dirtree") || path.endsWith(".dirmeta") ? { delayMs: 50 } : "pass");
  const r = await pullAsync(repo);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).refs[0].commit, commit);
  const objects = proxy.requests.filter(isObject);
  assert.deepEqual(
    objects.filter((p, i) => objects.indexOf(p) !== i),
    [],
    "an object was asked for twice",
  );
  // 0755 (the root, a0, a3 and every sub), 0700 and 0750.
  assert.equal(objects.filter((p) => p.endsWith(".dirmeta")).length, 3);
  fsckClean(repo);
});
