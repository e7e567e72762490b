// xz compression of delta parts. ostree compresses every part with xz (preset 8, CRC64); an encoder
// needs liblzma, which only the native addon can reach.
import { xzEncoder } from "../util/native.js";

/** An xz compressor, or undefined when the native addon has none (parts then go uncompressed). */
export function xzCompressor(): ((b: Buffer) => Buffer) | undefined {
  const encode = xzEncoder();
  return encode ? (b) => encode(b, 8) : undefined;
}
