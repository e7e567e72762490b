// Pulls over HTTPS through the launcher (bin/tsostree), as users run them: whom the client trusts
// (Node's roots and NODE_EXTRA_CA_CERTS, which the launcher hands on; a remote's tls-ca-path) and
// what it shows a server that asks for a client certificate (tls-client-cert-path/-key-path), with
// one line that says what to do when either side is not satisfied.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFile, readFileSync } from "node:fs";
import { createServer, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, projectRoot, scratch, tsostree } from "../helpers.js";
import { testCa } from "../tls-fixture.js";
import { serverRepo } from "./fixture.js";

/** A static HTTPS file server for `root` in this process (the pulls run as children). */
async function serve(t: import("node:test").TestContext, root: string, opts: ServerOptions): Promise<string> {
  const server = createServer(opts, (req, res) =>
    readFile(join(root, decodeURIComponent(new URL(req.url ?? "/", "https://x").pathname)), (e, b) =>
      e ? res.writeHead(404).end() : res.end(b),
    ),
  );
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => server.close());
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** `tsostree pull` through the launcher into a new repo whose remote has `options`. */
async function pullWith(
  dir: string,
  name: string,
  url: string,
  env: NodeJS.ProcessEnv,
  options: string[] = [],
) {
  const repo = join(dir, name);
  assert.equal(tsostree(["init", `--repo=${repo}`, "--mode=bare-user"]).status, 0);
  const add = ["remote", "add", "--no-gpg-verify", ...options, "origin", url];
  assert.equal(tsostree([`--repo=${repo}`, ...add]).status, 0);
  const { NODE_EXTRA_CA_CERTS: _n, TSOSTREE_EXTRA_CA_CERTS: _t, ...base } = process.env;
  const child = spawn(join(projectRoot, "bin", "tsostree"), [`--repo=${repo}`, "pull", "origin", "main"], {
    env: { ...base, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const status = await new Promise<number | null>((ok) => child.on("close", ok));
  const ref = join(repo, "refs/remotes/origin/main");
  return { status, stderr, ref: existsSync(ref) ? readFileSync(ref, "utf8").trim() : null };
}

test("whom a pull trusts: NODE_EXTRA_CA_CERTS through the launcher, a remote's tls-ca-path; an untrusted server is named", async (t) => {
  if (!haveTools(t, "openssl", "ostree")) return;
  const dir = scratch(t);
  const tls = testCa(dir);
  const commit = serverRepo(dir, join(dir, "srv"));
  const url = await serve(t, join(dir, "srv"), { key: tls.key, cert: tls.cert });
  const trusted = await pullWith(dir, "trusted", url, { NODE_EXTRA_CA_CERTS: tls.ca });
  assert.equal(trusted.status, 0, trusted.stderr);
  assert.equal(trusted.ref, commit);
  // ostree's tls-ca-path: the remote's own CA file, instead of the system's.
  const ownCa = await pullWith(dir, "own-ca", url, {}, [`--set=tls-ca-path=${tls.ca}`]);
  assert.equal(ownCa.status, 0, ownCa.stderr);
  assert.equal(ownCa.ref, commit);
  const untrusted = await pullWith(dir, "untrusted", url, {});
  assert.equal(untrusted.status, 1, untrusted.stderr);
  assert.match(
    untrusted.stderr,
    /TLS certificate is not trusted .*tls-ca-path=FILE.*NODE_EXTRA_CA_CERTS=FILE/,
  );
  assert.equal(untrusted.ref, null);
  // A tls-ca-path that does not exist: said so, nothing fetched.
  const missing = await pullWith(dir, "missing-ca", url, {}, [`--set=tls-ca-path=${join(dir, "nope.pem")}`]);
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /tls-ca-path .*nope\.pem: ENOENT.*PEM file/);
});

test("what a pull shows a server that wants a client certificate: tls-client-cert-path and -key-path", async (t) => {
  if (!haveTools(t, "openssl", "ostree")) return;
  const dir = scratch(t);
  const tls = testCa(dir);
  const commit = serverRepo(dir, join(dir, "srv"));
  const url = await serve(t, join(dir, "srv"), {
    key: tls.key,
    cert: tls.cert,
    ca: readFileSync(tls.ca),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const trust = `--set=tls-ca-path=${tls.ca}`;
  const client = [
    `--set=tls-client-cert-path=${tls.clientCert}`,
    `--set=tls-client-key-path=${tls.clientKey}`,
  ];
  const shown = await pullWith(dir, "shown", url, {}, [trust, ...client]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.equal(shown.ref, commit);
  // Without one the server closes the connection after the handshake; the TLS alert does not reach
  // us through undici ("other side closed"), so this reads as a network failure after the retries.
  const none = await pullWith(dir, "none", url, {}, [trust]);
  assert.equal(none.status, 1, none.stderr);
  assert.match(none.stderr, /failed after \d+ attempts: other side closed/);
  assert.equal(none.ref, null);
  const half = await pullWith(dir, "half", url, {}, [trust, client[0]!]);
  assert.equal(half.status, 1, half.stderr);
  assert.match(half.stderr, /tls-client-cert-path and tls-client-key-path go together/);
});
