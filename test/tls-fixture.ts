// A throwaway certificate authority for HTTPS tests, made with the real openssl: a CA, a server
// certificate it signed for 127.0.0.1 and localhost, and a client certificate it signed.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCa {
  /** The CA's certificate (PEM file): what a client or server trusts. */
  ca: string;
  /** The server's key and certificate, for https.createServer. */
  key: Buffer;
  cert: Buffer;
  /** The client's key and certificate (PEM files), for a server that asks for one. */
  clientKey: string;
  clientCert: string;
}

export function testCa(dir: string): TestCa {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl(
    ..."req -x509 -newkey rsa:2048 -nodes -days 2 -subj".split(" "),
    "/CN=tsostree test CA",
    ..."-keyout ca.key -out ca.pem".split(" "),
  );
  /** A key and a certificate the CA signed, with the given extensions. */
  const issue = (name: string, subject: string, extensions: string) => {
    ssl(
      ..."req -newkey rsa:2048 -nodes -subj".split(" "),
      subject,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    );
    writeFileSync(join(dir, `${name}.ext`), extensions);
    ssl(
      ..."x509 -req -CA ca.pem -CAkey ca.key -CAcreateserial -days 2".split(" "),
      "-in",
      `${name}.csr`,
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    );
  };
  issue("srv", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  issue("client", "/CN=tsostree test client", "extendedKeyUsage=clientAuth\n");
  return {
    ca: join(dir, "ca.pem"),
    key: readFileSync(join(dir, "srv.key")),
    cert: readFileSync(join(dir, "srv.pem")),
    clientKey: join(dir, "client.key"),
    clientCert: join(dir, "client.pem"),
  };
}
