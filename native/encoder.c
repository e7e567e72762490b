/* xz encoding in one call, for static delta parts (ostree compresses them with xz preset 8 and a
 * CRC64 check). Synchronous: parts are at most tens of megabytes and generation is a batch job. */
#include <lzma.h>
#include <node_api.h>
#include <stdlib.h>

/* xzEncode(input: Buffer, preset: number) -> Buffer */
static napi_value xz_encode(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  void *in;
  size_t in_size;
  int32_t preset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_buffer_info(env, argv[0], &in, &in_size) != napi_ok ||
      napi_get_value_int32(env, argv[1], &preset) != napi_ok || preset < 0 || preset > 9) {
    napi_throw_type_error(env, NULL, "xzEncode(input, preset 0-9)");
    return NULL;
  }
  size_t bound = lzma_stream_buffer_bound(in_size);
  uint8_t *buf = malloc(bound ? bound : 1);
  if (!buf) {
    napi_throw_error(env, NULL, "xzEncode: out of memory");
    return NULL;
  }
  size_t pos = 0;
  lzma_ret r = lzma_easy_buffer_encode((uint32_t)preset, LZMA_CHECK_CRC64, NULL, in, in_size, buf, &pos, bound);
  if (r != LZMA_OK) {
    free(buf);
    napi_throw_error(env, NULL, r == LZMA_MEM_ERROR ? "xzEncode: out of memory" : "xzEncode: liblzma failed");
    return NULL;
  }
  void *data;
  if (napi_create_buffer_copy(env, pos, buf, &data, &out) != napi_ok) out = NULL;
  free(buf);
  return out;
}

void register_encoder(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {{"xzEncode", NULL, xz_encode, NULL, NULL, NULL, napi_default, NULL}};
  napi_define_properties(env, exports, 1, props);
}
