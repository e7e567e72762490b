/* bspatch(old, patch, out) -> code: applies a bsdiff patch as ostree's bundled bsdiff writes them
 * inside a delta part (src/delta/bspatch.ts has the format), producing exactly out.length bytes.
 * Returns 0, or BS_SHORT (the patch ends early), BS_CONTROL (a control entry out of range: a
 * negative or huge length, or a diff block beyond the new file), BS_EXTRA (an extra block beyond
 * the new file). The diff blocks' bytewise add is a loop the compiler vectorizes; old bytes count
 * as zeros where a seek took the old position outside the old file. Synchronous: a patch rebuilds
 * one file, in a few milliseconds. */
#include "bspatch.h"
#include "checkout_ops.h"

/* An 8-byte sign-magnitude little-endian integer; false when its magnitude exceeds 2^53. */
static bool offtin(const uint8_t *b, int64_t *v) {
  uint64_t m = b[7] & 0x7f;
  for (int i = 6; i >= 0; i--) m = m << 8 | b[i];
  if (m >= ((uint64_t)1 << 53)) return false;
  *v = b[7] & 0x80 ? -(int64_t)m : (int64_t)m;
  return true;
}

int bs_apply(const uint8_t *old, int64_t old_len, const uint8_t *patch, size_t patch_len, uint8_t *out,
                 int64_t size) {
  size_t p = 0;
  int64_t oldpos = 0, newpos = 0;
  while (newpos < size) {
    int64_t diff, extra, seek;
    if (patch_len - p < 24) return BS_SHORT;
    if (!offtin(patch + p, &diff) || !offtin(patch + p + 8, &extra) || !offtin(patch + p + 16, &seek))
      return BS_CONTROL;
    p += 24;
    if (diff < 0 || diff > 0x7fffffff || extra < 0 || extra > 0x7fffffff || newpos + diff > size)
      return BS_CONTROL;
    if (patch_len - p < (size_t)diff) return BS_SHORT;
    memcpy(out + newpos, patch + p, (size_t)diff);
    p += (size_t)diff;
    /* out[newpos + i] += old[oldpos + i] where the old file has that byte. */
    int64_t start = oldpos < 0 ? -oldpos : 0, end = old_len - oldpos < diff ? old_len - oldpos : diff;
    if (end > start) {
      uint8_t *restrict o = out + newpos + start;
      const uint8_t *restrict s = old + oldpos + start;
      for (int64_t i = 0; i < end - start; i++) o[i] = (uint8_t)(o[i] + s[i]);
    }
    newpos += diff;
    oldpos += diff;
    if (newpos + extra > size) return BS_EXTRA;
    if (patch_len - p < (size_t)extra) return BS_SHORT;
    memcpy(out + newpos, patch + p, (size_t)extra);
    p += (size_t)extra;
    newpos += extra;
    oldpos += seek;
    if (oldpos > ((int64_t)1 << 60) || oldpos < -((int64_t)1 << 60)) return BS_CONTROL;
  }
  return 0;
}

static napi_value bspatch(napi_env env, napi_callback_info info) {
  size_t argc = 3, old_len, patch_len, out_len;
  napi_value argv[3], result;
  uint8_t *old, *patch, *out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_buffer_info(env, argv[0], (void **)&old, &old_len) != napi_ok ||
      napi_get_buffer_info(env, argv[1], (void **)&patch, &patch_len) != napi_ok ||
      napi_get_buffer_info(env, argv[2], (void **)&out, &out_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "bspatch(old, patch, out)");
    return NULL;
  }
  napi_create_int32(env, bs_apply(old, (int64_t)old_len, patch, patch_len, out, (int64_t)out_len), &result);
  return result;
}

void register_bspatch(napi_env env, napi_value exports) {
  co_register(env, exports, "bspatch", bspatch);
}
