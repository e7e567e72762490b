/* assembleHash(blob, pieces, sources, out, prefix, digest[, expected, path, source, mode, uid, gid,
 * flags, xattrs]) -> Promise<number>: a static delta's content object assembled into `out` (its
 * whole size) on a thread of the pool, then hashed and, with the write arguments, stored
 * (object_job.h): the JavaScript thread goes on reading the part's operations meanwhile.
 *
 * `pieces`: records of four native-endian doubles (kind, source, offset, length), in order: kind 0
 * copies blob[offset, offset + length); kind 1 copies bytes [offset, offset + length) of read source
 * `source`; kind 2 applies the bsdiff patch blob[offset, offset + length) to read source `source`,
 * filling the rest of `out`. `sources` (at most OJ_MAX_SOURCES): each a Buffer, or the path of a
 * regular file read whole on the pool (opened without following a symlink).
 *
 * Resolves to object_job.h's codes or: AS_SOURCE_EOF (a copy beyond its source's end), AS_PATCH_*
 * (the patch ends early, has a control entry out of range, an extra block out of range), AS_PIECES
 * (pieces that do not fill `out` exactly or lie outside their buffers), AS_NOT_REGULAR (a source
 * path that is not a regular file); step 7 (open) or 8 (read) << 16 | errno for a source path. */
#include "bspatch.h"
#include "object_job.h"

#define AS_SOURCE_EOF -5
#define AS_PATCH_SHORT -6
#define AS_PATCH_CONTROL -7
#define AS_PATCH_EXTRA -8
#define AS_PIECES -9
#define AS_NOT_REGULAR -10
#define AS_STEP_OPEN 7
#define AS_STEP_READ 8

/* Reads source `s` whole when it is a path: 0, AS_NOT_REGULAR, OJ_NOMEM or step << 16 | errno. */
static int32_t load(oj_source_t *s) {
  if (s->loaded) return 0;
  int fd = open(s->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ELOOP ? AS_NOT_REGULAR : AS_STEP_OPEN << 16 | errno;
  struct stat st;
  int32_t code = 0;
  if (fstat(fd, &st) < 0)
    code = AS_STEP_READ << 16 | errno;
  else if (!S_ISREG(st.st_mode))
    code = AS_NOT_REGULAR;
  else if (!(s->owned = malloc(st.st_size ? (size_t)st.st_size : 1)))
    code = OJ_NOMEM;
  size_t len = 0;
  while (!code && len < (size_t)st.st_size) {
    ssize_t n = read(fd, s->owned + len, (size_t)st.st_size - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) code = AS_STEP_READ << 16 | errno;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (code) return code;
  s->data = s->owned;
  s->len = len;
  s->loaded = true;
  return 0;
}

/* A record's field as a size: false unless it is a whole number within 2^53. */
static bool field(const uint8_t *p, int64_t *v) {
  double d;
  memcpy(&d, p, sizeof d);
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d) return false;
  *v = (int64_t)d;
  return true;
}

static int32_t assemble(oj_job_t *j) {
  if (j->pieces_len % 32) return AS_PIECES;
  size_t at = 0;
  for (size_t p = 0; p < j->pieces_len; p += 32) {
    int64_t kind, src, off, len;
    if (!field(j->pieces + p, &kind) || !field(j->pieces + p + 8, &src) || !field(j->pieces + p + 16, &off) ||
        !field(j->pieces + p + 24, &len) || kind > 2)
      return AS_PIECES;
    if (kind == 0) {
      if ((uint64_t)(off + len) > j->in_len || (uint64_t)len > j->out_len - at) return AS_PIECES;
      memcpy(j->out + at, j->in + off, (size_t)len);
      at += (size_t)len;
      continue;
    }
    if ((uint64_t)src >= j->nsources) return AS_PIECES;
    oj_source_t *s = &j->sources[src];
    int32_t code = load(s);
    if (code) return code;
    if (kind == 1) {
      if ((uint64_t)(off + len) > s->len) return AS_SOURCE_EOF;
      if ((uint64_t)len > j->out_len - at) return AS_PIECES;
      memcpy(j->out + at, s->data + off, (size_t)len);
      at += (size_t)len;
      continue;
    }
    if ((uint64_t)(off + len) > j->in_len) return AS_PIECES;
    int r = bs_apply(s->data, (int64_t)s->len, j->in + off, (size_t)len, j->out + at, (int64_t)(j->out_len - at));
    if (r) return r == BS_SHORT ? AS_PATCH_SHORT : r == BS_CONTROL ? AS_PATCH_CONTROL : AS_PATCH_EXTRA;
    at = j->out_len;
  }
  return at == j->out_len ? 0 : AS_PIECES;
}

/* The read sources: Buffers held, paths copied. */
static bool sources_arg(napi_env env, oj_job_t *j, napi_value v) {
  bool is_array;
  uint32_t n;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &n) != napi_ok ||
      n > OJ_MAX_SOURCES)
    return false;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_valuetype t;
    oj_source_t *s = &j->sources[i];
    j->nsources = i + 1;
    if (napi_get_element(env, v, i, &e) != napi_ok || napi_typeof(env, e, &t) != napi_ok) return false;
    if (t != napi_string) {
      if (!oj_buffer_arg(env, j, e, false, &s->data, &s->len)) return false;
      s->loaded = true;
      continue;
    }
    size_t len, got;
    if (napi_get_value_string_utf8(env, e, NULL, 0, &len) != napi_ok || len == 0 || len >= PATH_CAP ||
        !(s->path = malloc(len + 1)) || napi_get_value_string_utf8(env, e, s->path, len + 1, &got) != napi_ok)
      return false;
  }
  return true;
}

static napi_value assemble_hash(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  oj_job_t *j = oj_new(env, "assembleHash");
  if (!j) return NULL;
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && (argc == 6 || argc == 14) &&
            oj_buffer_arg(env, j, argv[0], false, &j->in, &j->in_len) &&
            oj_buffer_arg(env, j, argv[1], false, &j->pieces, &j->pieces_len) && sources_arg(env, j, argv[2]) &&
            oj_payload_args(env, j, argv + 3, argc == 14);
  return oj_start(env, j, ok, "assembleHash(blob, pieces, sources, out, prefix, digest[32][, expected[32], path, "
                  "source, mode, uid, gid, flags, xattrs])", assemble);
}

void register_assemble(napi_env env, napi_value exports) {
  co_register(env, exports, "assembleHash", assemble_hash);
}
