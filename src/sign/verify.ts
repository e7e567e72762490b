// The verification API the pull code calls before a ref moves or anything is deployed: given the
// exact signed bytes (commit object or summary file), the detached metadata (`.commitmeta` or
// `summary.sig`) and a policy (which kinds are required, with which keys), report every signature
// and throw a SignatureError when a required kind has no valid signature — as ostree's pull does
// for gpg-verify / sign-verify (and their -summary variants).
import { type DetachedMetadata, ED25519_KEY, GPGSIGS_KEY, parseDetached, signaturesOf } from "./detached.js";
import { ED25519_SIGNATURE_BYTES, verifyEd25519 } from "./ed25519.js";
import { SignatureError } from "./errors.js";
import { type GpgSignatureResult, loadGpgKeyrings, verifyGpgBlobs } from "./gpg-verify.js";

export { SignatureError } from "./errors.js";

export interface SignaturePolicy {
  gpg?: { keyrings: Uint8Array[] };
  ed25519?: { publicKeys: Uint8Array[] };
}

export interface SignatureReport {
  gpg: { keyId: string; valid: boolean }[];
  ed25519: { valid: boolean; keyIndex?: number }[];
}

interface Subject {
  /** What is verified, for messages: "commit CSUM from remote 'x'", "summary of remote 'x'". */
  what: string;
  /** The config keys that demanded it, for messages. */
  gpgPolicy: string;
  signPolicy: string;
}

function ed25519Results(data: Uint8Array, sigs: Buffer[], keys: Uint8Array[]): SignatureReport["ed25519"] {
  return sigs.map((sig) => {
    if (sig.length !== ED25519_SIGNATURE_BYTES) return { valid: false };
    const i = keys.findIndex((k) => verifyEd25519(data, sig, k));
    return i >= 0 ? { valid: true, keyIndex: i } : { valid: false };
  });
}

function gpgReason(results: GpgSignatureResult[]): string {
  if (results.length === 0) return "it has no GPG signature";
  const why = [...new Set(results.map((r) => (r.keyId ? `${r.keyId}: ${r.error}` : `${r.error}`)))];
  return `none of its ${results.length} GPG signature(s) is valid (${why.slice(0, 3).join("; ")})`;
}

function ed25519Reason(sigs: Buffer[], nKeys: number): string {
  if (sigs.length === 0) return "it has no ed25519 signature";
  const bad = sigs.filter((s) => s.length !== ED25519_SIGNATURE_BYTES).length;
  const lengths = bad ? `, ${bad} of them not ${ED25519_SIGNATURE_BYTES} bytes long` : "";
  return `none of its ${sigs.length} ed25519 signature(s) verifies with the ${nKeys} trusted key(s)${lengths}`;
}

async function verify(
  data: Uint8Array,
  detachedBytes: Uint8Array | null,
  policy: SignaturePolicy,
  subject: Subject,
): Promise<SignatureReport> {
  const { what } = subject;
  if (policy.gpg && policy.gpg.keyrings.length === 0)
    throw new SignatureError(
      `${what}: ${subject.gpgPolicy} is on but no GPG key is configured; import the key (remote gpg-import, --gpg-import) or turn ${subject.gpgPolicy} off`,
    );
  if (policy.ed25519 && policy.ed25519.publicKeys.length === 0)
    throw new SignatureError(
      `${what}: ${subject.signPolicy} is on but no ed25519 public key is configured; set verification-ed25519-key or verification-ed25519-file`,
    );
  const meta: DetachedMetadata = detachedBytes ? parseDetached(detachedBytes, what) : [];
  const gpgSigs = signaturesOf(meta, GPGSIGS_KEY);
  const edSigs = signaturesOf(meta, ED25519_KEY);

  const keys = policy.gpg ? await loadGpgKeyrings(policy.gpg.keyrings) : [];
  const gpg = await verifyGpgBlobs(data, gpgSigs, keys);
  const ed25519 = ed25519Results(data, edSigs, policy.ed25519?.publicKeys ?? []);
  const report: SignatureReport = {
    gpg: gpg.map(({ keyId, valid }) => ({ keyId, valid })),
    ed25519,
  };

  const unsigned = detachedBytes === null ? " (no detached metadata was found)" : "";
  if (policy.gpg && !gpg.some((r) => r.valid))
    throw new SignatureError(
      `${what}: ${subject.gpgPolicy} requires a valid GPG signature, but ${gpgReason(gpg)}${unsigned}; sign it with a key in the remote's keyring, or import the signer's key`,
    );
  if (policy.ed25519 && !ed25519.some((r) => r.valid))
    throw new SignatureError(
      `${what}: ${subject.signPolicy} requires a valid ed25519 signature, but ${ed25519Reason(edSigs, policy.ed25519.publicKeys.length)}${unsigned}; sign it with the secret key of a trusted public key`,
    );
  return report;
}

/** Verifies a commit's signatures (over the exact commit object bytes) per the policy. */
export async function verifyCommitSignatures(
  commit: Uint8Array,
  detached: Uint8Array | null,
  policy: SignaturePolicy,
  what: string,
): Promise<SignatureReport> {
  return verify(commit, detached, policy, {
    what,
    gpgPolicy: "gpg-verify",
    signPolicy: "sign-verify (ed25519)",
  });
}

/** Verifies `summary.sig` (an a{sv} of the same keys) over the exact summary bytes per the policy. */
export async function verifySummarySignatures(
  summary: Uint8Array,
  summarySig: Uint8Array | null,
  policy: SignaturePolicy,
): Promise<SignatureReport> {
  return verify(summary, summarySig, policy, {
    what: "summary",
    gpgPolicy: "gpg-verify-summary",
    signPolicy: "sign-verify-summary (ed25519)",
  });
}
