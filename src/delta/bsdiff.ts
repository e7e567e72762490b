// bsdiff patches in the form ostree's bspatch reads (see bspatch.ts).
import { offtout } from "./bspatch.js";

/** A patch rebuilding `next` from `old`. */
export function bsdiff(_old: Buffer, next: Buffer): Buffer {
  const ctrl = Buffer.alloc(24);
  offtout(0, ctrl, 0);
  offtout(next.length, ctrl, 8);
  offtout(0, ctrl, 16);
  return Buffer.concat([ctrl, next]);
}
