// libsodium itself (through python3's ctypes) as the oracle for ed25519: the key layout ostree
// takes (secret = seed || public) and crypto_sign_detached / crypto_sign_verify_detached.
import type { TestContext } from "node:test";
import { run, skipOrFail } from "../helpers.js";

const PY = `
import base64, ctypes, ctypes.util, sys
lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert lib.sodium_init() >= 0
op, data = sys.argv[1], open(sys.argv[2], "rb").read()
if op == "sign":
    sk = base64.b64decode(sys.argv[3]); sig = ctypes.create_string_buffer(64)
    assert lib.crypto_sign_detached(sig, None, data, ctypes.c_ulonglong(len(data)), sk) == 0
    print(base64.b64encode(sig.raw).decode())
elif op == "verify":
    sig, pk = base64.b64decode(sys.argv[3]), base64.b64decode(sys.argv[4])
    print("ok" if lib.crypto_sign_verify_detached(sig, data, ctypes.c_ulonglong(len(data)), pk) == 0 else "bad")
elif op == "keypair":
    seed = data[:32]; pk = ctypes.create_string_buffer(32); sk = ctypes.create_string_buffer(64)
    assert lib.crypto_sign_seed_keypair(pk, sk, seed) == 0
    print(base64.b64encode(pk.raw).decode(), base64.b64encode(sk.raw).decode())
`;

/** True when python3 can load libsodium; otherwise skips (fails in CI) with the install command. */
export function haveSodium(t: TestContext): boolean {
  const r = run("python3", [
    "-c",
    'import ctypes, ctypes.util; ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")',
  ]);
  if (r.status === 0) return true;
  skipOrFail(
    t,
    "libsodium is missing: run `apt-get install python3 libsodium23` (or `npm run setup:system`)",
  );
  return false;
}

/** Runs one libsodium operation on the bytes in `file`. */
export function sodium(op: "sign" | "verify" | "keypair", file: string, ...args: string[]): string {
  const r = run("python3", ["-c", PY, op, file, ...args]);
  if (r.status !== 0) throw new Error(`libsodium ${op} failed: ${r.stderr}`);
  return r.stdout.trim();
}
