// The typed failures of signing and verification. A SignatureError is a policy failure (the caller
// must not move a ref or deploy); a SigningError is a failure to produce or store a signature.
import { RepoError } from "../repo/repo.js";

/** A commit or summary lacks a valid signature that the policy requires, or a signature is unreadable. */
export class SignatureError extends RepoError {
  override name = "SignatureError";
}

/** A signature could not be made (no such key, gpg failed, a malformed secret key). */
export class SigningError extends RepoError {
  override name = "SigningError";
}
