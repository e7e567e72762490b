// openpgp.js, loaded on first use: requiring it costs ~30 ms, and most commands (a pull from a
// remote that verifies nothing, a checkout, a layering from a cached index) never need it.
import type * as OpenPgp from "openpgp";

let loading: Promise<typeof OpenPgp> | null = null;

export function loadOpenpgp(): Promise<typeof OpenPgp> {
  loading ??= import("openpgp");
  return loading;
}
