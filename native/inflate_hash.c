/* inflateHash(compressed, out, prefix, digest[, expected, path, source, mode, uid, gid, flags,
 * xattrs]) -> Promise<number>: the payload of a pulled archive-mode object (raw deflate) inflated
 * into `out`, whose length is the size the object's header announces, then hashed and, with the
 * write arguments, stored (object_job.h), on a thread of the pool: the JavaScript thread goes on
 * receiving while the pool's threads verify. Inflating never writes beyond `out`, so a bomb stops
 * at its announced size.
 *
 * Resolves to object_job.h's codes or a negative IH_ code: IH_BAD (not a complete raw-deflate
 * stream), IH_LONG/IH_SHORT (more/fewer bytes than `out` holds). Zlib is Node's own (its symbols
 * are exported to addons). */
#include <zlib.h>
#include "object_job.h"

#define IH_BAD -1
#define IH_LONG -2
#define IH_SHORT -3

/* Inflates j->in into j->out: 0 or an IH_ code. Bytes after the end of the stream are ignored,
 * as Node's inflateRawSync ignores them. */
static int32_t inflate_into(oj_job_t *j) {
  if (j->in_len == 0) return j->out_len == 0 ? 0 : IH_SHORT;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, -15) != Z_OK) return OJ_NOMEM;
  const size_t STEP = (size_t)1 << 30; /* avail_in/avail_out are 32-bit */
  size_t in_pos = 0, out_pos = 0;
  uint8_t spare;
  int32_t code = 0;
  for (;;) {
    size_t in_left = j->in_len - in_pos, out_left = j->out_len - out_pos;
    z.next_in = (Bytef *)j->in + in_pos;
    z.avail_in = (uInt)(in_left < STEP ? in_left : STEP);
    /* A full `out` gets one spare byte: producing it would tell a lie. */
    z.next_out = out_left ? j->out + out_pos : &spare;
    z.avail_out = out_left ? (uInt)(out_left < STEP ? out_left : STEP) : 1;
    uInt had_in = z.avail_in, had_out = z.avail_out;
    int r = inflate(&z, Z_NO_FLUSH);
    size_t produced = had_out - z.avail_out;
    in_pos += had_in - z.avail_in;
    if (!out_left && produced) {
      code = IH_LONG;
      break;
    }
    out_pos += produced;
    if (r == Z_STREAM_END) {
      if (out_pos < j->out_len) code = IH_SHORT;
      break;
    }
    if (r == Z_OK) continue; /* progress was made */
    /* Z_BUF_ERROR: no progress possible, i.e. the input ended before the stream did. */
    code = r == Z_MEM_ERROR ? OJ_NOMEM : IH_BAD;
    break;
  }
  inflateEnd(&z);
  return code;
}

static napi_value inflate_hash(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  oj_job_t *j = oj_new(env, "inflateHash");
  if (!j) return NULL;
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && (argc == 4 || argc == 12) &&
            oj_buffer_arg(env, j, argv[0], false, &j->in, &j->in_len) &&
            oj_payload_args(env, j, argv + 1, argc == 12);
  return oj_start(env, j, ok, "inflateHash(compressed, out, prefix, digest[32][, expected[32], path, source, "
                  "mode, uid, gid, flags, xattrs])", inflate_into);
}

void register_inflate_hash(napi_env env, napi_value exports) {
  co_register(env, exports, "inflateHash", inflate_hash);
}
