// Test servers for pulls: a real nginx serving a directory on a loopback port, and a tiny proxy in
// front of it that can cut, corrupt, fail or delay chosen responses and counts every request.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number, proc: ChildProcess, log: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}); see ${log}`);
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, "127.0.0.1", () => {
        c.end();
        r(true);
      });
      c.on("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nginx did not listen on ${port}; see ${log}`);
}

export interface Server {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** nginx serving `root` (read-only, plain files) on 127.0.0.1; its files live under `prefix`. */
export async function startNginx(root: string, prefix: string): Promise<Server> {
  mkdirSync(join(prefix, "tmp"), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const p = (n: string) => join(prefix, n);
    const conf = p("nginx.conf");
    writeFileSync(
      conf,
      `${process.getuid?.() === 0 ? "user root;\n" : ""}daemon off;
worker_processes 1;
pid ${p("nginx.pid")};
error_log ${p("error.log")};
events { worker_connections 256; }
http {
  access_log ${p("access.log")};
  client_body_temp_path ${p("tmp")}; proxy_temp_path ${p("tmp")}; fastcgi_temp_path ${p("tmp")};
  uwsgi_temp_path ${p("tmp")}; scgi_temp_path ${p("tmp")};
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root}; location / { } }
}
`,
    );
    const proc = spawn("nginx", ["-c", conf, "-p", prefix], { stdio: "ignore" });
    try {
      await waitListening(port, proc, p("error.log"));
    } catch (e) {
      proc.kill("SIGKILL");
      if (attempt < 3) continue; // the port was taken in between
      throw e;
    }
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      stop: () =>
        new Promise<void>((r) => {
          if (proc.exitCode !== null) return r();
          proc.once("exit", () => r());
          proc.kill("SIGTERM");
        }),
    };
  }
}

/** What the proxy does with one request: pass it on, or one of the faults. */
export type Fault = "pass" | "cut" | "500" | "404" | "corrupt" | "short" | { delayMs: number };

export interface FaultProxy extends Server {
  /** Every request path seen, in order. */
  requests: string[];
  /** Decides per request (path, how many times this path was seen before). */
  fault: (path: string, seenBefore: number) => Fault;
}

/** A proxy to `upstream` that applies `proxy.fault` to each request. */
export async function startProxy(upstream: Server): Promise<FaultProxy> {
  const seen = new Map<string, number>();
  const requests: string[] = [];
  const proxy = {} as FaultProxy;
  proxy.requests = requests;
  proxy.fault = () => "pass";
  const server = http.createServer(async (req, res) => {
    const path = req.url ?? "/";
    requests.push(path);
    const n = seen.get(path) ?? 0;
    seen.set(path, n + 1);
    const f = proxy.fault(path, n);
    if (f === "500") return res.writeHead(500).end("injected failure");
    if (f === "404") return res.writeHead(404).end("injected not found");
    if (typeof f === "object") await sleep(f.delayMs);
    const up = await fetch(upstream.url + path);
    const body = Buffer.from(await up.arrayBuffer());
    if (up.status !== 200) return res.writeHead(up.status).end(body);
    if (f === "corrupt" && body.length > 0) body[body.length - 1]! ^= 0xff;
    if (f === "cut" && body.length > 1) {
      // Promise the whole length, send half, then drop the connection.
      res.writeHead(200, { "content-length": body.length });
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => req.socket.destroy(), 5);
      return;
    }
    if (f === "short" && body.length > 1) {
      // A server that lies: announces (and sends) fewer bytes than the object has.
      const part = body.subarray(0, body.length - 1);
      return res.writeHead(200, { "content-length": part.length }).end(part);
    }
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  const port = await new Promise<number>((r) =>
    server.listen(0, "127.0.0.1", () => r((server.address() as net.AddressInfo).port)),
  );
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.port = port;
  proxy.stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}
