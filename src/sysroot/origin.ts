// Origin files (`<deployment>.origin`): what a deployment tracks. GLib key-file text; ostree writes
// `[origin] refspec=…` and keeps transient state (pin) in `[libostree-transient]`.
import { KeyFile } from "../util/keyfile.js";

const TRANSIENT_GROUP = "libostree-transient";

export function originFromRefspec(refspec: string): KeyFile {
  const kf = new KeyFile();
  kf.set("origin", "refspec", refspec);
  return kf;
}

export function originRefspec(origin: KeyFile | null): string | null {
  return origin?.get("origin", "refspec") ?? null;
}

export function isPinned(origin: KeyFile | null): boolean {
  if (!origin) return false;
  try {
    return origin.getBool(TRANSIENT_GROUP, "pinned", false);
  } catch {
    return false;
  }
}

/** A copy with the pin set or cleared, as `ostree admin pin` writes it. */
export function withPinned(origin: KeyFile | null, pinned: boolean): KeyFile {
  const kf = KeyFile.parse(origin?.toString() ?? "");
  if (pinned) kf.set(TRANSIENT_GROUP, "pinned", "true");
  // ostree removes only the key; the emptied group stays in the file.
  else kf.remove(TRANSIENT_GROUP, "pinned");
  return kf;
}

/** What an upgrade carries over: everything but the pin, override-commit and unlocked state. */
export function withoutTransientState(origin: KeyFile): KeyFile {
  const kf = KeyFile.parse(origin.toString());
  kf.remove(TRANSIENT_GROUP);
  kf.remove("origin", "override-commit");
  kf.remove("origin", "unlocked");
  return kf;
}
