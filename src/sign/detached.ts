// Detached metadata (`.commitmeta`, and `summary.sig`, which has the same shape): an a{sv} holding
// signatures under `ostree.gpgsigs` and `ostree.sign.ed25519`, each an `aay`. Pure functions over
// bytes. ostree edits these dictionaries through a GVariantDict, so its output lists the keys in
// GLib hash-table order; we reproduce that order so that the same edits give the same bytes.
import { deserialize, GVariantError, serialize, Variant } from "../gvariant/index.js";
import { T_METADATA } from "../repo/objects.js";
import { gHashOrder } from "../util/ghash.js";
import { SignatureError } from "./errors.js";

/** `_OSTREE_METADATA_GPGSIGS_NAME`: detached OpenPGP signatures. */
export const GPGSIGS_KEY = "ostree.gpgsigs";
/** `OSTREE_SIGN_METADATA_ED25519_KEY`: raw 64-byte ed25519 signatures. */
export const ED25519_KEY = "ostree.sign.ed25519";

export type DetachedMetadata = [string, Variant][];

/** Parses `.commitmeta` / `summary.sig` bytes; an empty file (ostree writes one for "none") is {}. */
export function parseDetached(bytes: Uint8Array, what: string): DetachedMetadata {
  try {
    return deserialize(
      T_METADATA,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    ) as DetachedMetadata;
  } catch (e) {
    if (!(e instanceof GVariantError)) throw e;
    throw new SignatureError(`${what}: detached metadata is not a valid a{sv} (${e.message})`);
  }
}

export function serializeDetached(meta: DetachedMetadata): Buffer {
  return serialize(T_METADATA, meta);
}

/**
 * The signatures stored under `key` (an `aay`); none when the key is absent. A value of another
 * type is ignored, as g_variant_dict_lookup_value with an expected type does.
 */
export function signaturesOf(meta: DetachedMetadata, key: string): Buffer[] {
  const v = meta.find(([k]) => k === key)?.[1];
  if (v?.typeString !== "aay") return [];
  return v.value as Buffer[];
}

/** `meta` with `key` set to `sigs` (removed when empty), keys in GVariantDict output order. */
export function withSignatures(meta: DetachedMetadata, key: string, sigs: Buffer[]): DetachedMetadata {
  const byKey = new Map(meta);
  if (sigs.length) byKey.set(key, Variant.of("aay", sigs));
  else byKey.delete(key);
  return gHashOrder([...byKey.keys()]).map((k) => [k, byKey.get(k)!]);
}

/** `meta` with `sig` appended to the array under `key` (`_sign_detached_metadata_append`). */
export function appendSignature(meta: DetachedMetadata, key: string, sig: Uint8Array): DetachedMetadata {
  return withSignatures(meta, key, [...signaturesOf(meta, key), Buffer.from(sig)]);
}
