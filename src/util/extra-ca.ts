// The certificates HTTPS requests trust: Node's roots plus those in TSOSTREE_EXTRA_CA_CERTS. The
// bin/ launcher moves NODE_EXTRA_CA_CERTS there, because Node would otherwise parse that bundle at
// every start (bin/launch); every HTTPS client of ours (package downloads, pulls) passes this list
// so that what Node would have trusted with it stays trusted.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

let cached: string[] | null | undefined;

/** Node's roots and the extra certificates, or null when there are none (use Node's defaults). */
export function extraCaCertificates(): string[] | null {
  if (cached !== undefined) return cached;
  const file = process.env.TSOSTREE_EXTRA_CA_CERTS;
  cached = null;
  if (!file) return cached;
  try {
    cached = [...rootCertificates, readFileSync(file, "utf8")];
  } catch (e) {
    // Node's own behaviour for an unreadable NODE_EXTRA_CA_CERTS: a warning, then its usual roots.
    process.emitWarning(`Ignoring extra certs from ${file}: ${(e as Error).message}`);
  }
  return cached;
}
