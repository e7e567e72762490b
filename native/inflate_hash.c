/* inflateHash(compressed, out, prefix, digest[, expected, path, source, mode, uid, gid, flags,
 * xattrs]) -> Promise<number>: the payload of a pulled archive-mode object (raw deflate) inflated
 * into `out`, whose length is the size the object's header announces, and SHA-256(prefix || out)
 * written into `digest` (32 bytes), on a thread of the pool: the JavaScript thread goes on
 * receiving while the pool's threads verify. Inflating never writes beyond `out`, so a bomb stops
 * at its announced size.
 *
 * With the write arguments, an object whose digest is `expected` is then stored as content-store.ts
 * would store it: `path` created exclusively with `mode`, `source` (or `out` when null) written,
 * then fchown(uid, gid) (IH_CHOWN), fchmod(mode) (IH_CHMOD), the xattrs (records: u16 name length,
 * name, u32 value length, value), mtime 0 (IH_UTIME0), writeback started (IH_WRITEBACK); a failed
 * step removes the file.
 *
 * Resolves to: 0 (verified; written, when asked), IH_EXISTS (path existed: nothing written),
 * IH_MISMATCH (digest is not `expected`: nothing written), a negative IH_ code (IH_BAD: not a
 * complete raw-deflate stream; IH_LONG/IH_SHORT: more/fewer bytes than `out` holds; IH_NOMEM), or
 * step << 16 | errno for a failed syscall (steps: 1 open, 2 write, 3 fchown, 4 fchmod, 5 fsetxattr,
 * 6 futimens). Every buffer is held until the promise settles. Zlib and OpenSSL are Node's own
 * (their symbols are exported to addons). */
#define _GNU_SOURCE
#include <openssl/evp.h>
#include <zlib.h>
#include "checkout_ops.h"

#define IH_BAD -1
#define IH_LONG -2
#define IH_SHORT -3
#define IH_NOMEM -4
#define IH_EXISTS 1
#define IH_MISMATCH 2
#define IH_CHOWN 1
#define IH_CHMOD 2
#define IH_UTIME0 4
#define IH_WRITEBACK 8
#define NREFS 8

typedef struct {
  const uint8_t *in, *prefix, *expected, *source, *xattrs;
  uint8_t *out, *digest;
  size_t in_len, out_len, prefix_len, source_len, xattrs_len;
  char *path; /* NULL: verify only */
  uint32_t mode, flags;
  int32_t uid, gid;
  napi_ref refs[NREFS];
  int nrefs;
  int32_t code;
  napi_async_work work;
  napi_deferred deferred;
} ih_job_t;

/* Inflates j->in into j->out: 0 or an IH_ code. Bytes after the end of the stream are ignored,
 * as Node's inflateRawSync ignores them. */
static int32_t inflate_into(ih_job_t *j) {
  if (j->in_len == 0) return j->out_len == 0 ? 0 : IH_SHORT;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, -15) != Z_OK) return IH_NOMEM;
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
    code = r == Z_MEM_ERROR ? IH_NOMEM : IH_BAD;
    break;
  }
  inflateEnd(&z);
  return code;
}

/* The verified object into j->path: 0, IH_EXISTS, or step << 16 | errno. */
static int32_t store(ih_job_t *j) {
  int fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, j->mode);
  if (fd < 0) return errno == EEXIST ? IH_EXISTS : 1 << 16 | errno;
  const uint8_t *src = j->source ? j->source : j->out;
  size_t len = j->source ? j->source_len : j->out_len, done = 0;
  int step = 0;
  while (done < len) {
    ssize_t n = write(fd, src + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      step = 2;
      break;
    }
    done += (size_t)n;
  }
  /* chown first: it clears setuid/setgid bits that chmod then restores. */
  if (!step && (j->flags & IH_CHOWN) && fchown(fd, (uid_t)j->uid, (gid_t)j->gid) < 0) step = 3;
  if (!step && (j->flags & IH_CHMOD) && fchmod(fd, j->mode & 07777) < 0) step = 4;
  for (size_t pos = 0; !step && pos < j->xattrs_len;) {
    char name[256];
    size_t nlen = pos + 2 <= j->xattrs_len ? (j->xattrs[pos] | (size_t)j->xattrs[pos + 1] << 8) : 0;
    pos += 2;
    if (nlen == 0 || nlen >= sizeof name || pos + nlen + 4 > j->xattrs_len) {
      errno = EINVAL;
      step = 5;
      break;
    }
    memcpy(name, j->xattrs + pos, nlen);
    name[nlen] = 0;
    pos += nlen;
    size_t vlen = (size_t)j->xattrs[pos] | (size_t)j->xattrs[pos + 1] << 8 | (size_t)j->xattrs[pos + 2] << 16 |
                  (size_t)j->xattrs[pos + 3] << 24;
    pos += 4;
    if (pos + vlen > j->xattrs_len) {
      errno = EINVAL;
      step = 5;
      break;
    }
    if (fsetxattr(fd, name, j->xattrs + pos, vlen, 0) < 0) step = 5;
    pos += vlen;
  }
  static const struct timespec zero[2] = {{0, 0}, {0, 0}};
  if (!step && (j->flags & IH_UTIME0) && futimens(fd, zero) < 0) step = 6;
  if (!step && (j->flags & IH_WRITEBACK)) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  if (step) {
    int err = errno;
    close(fd);
    unlink(j->path);
    return step << 16 | err;
  }
  close(fd);
  return 0;
}

static void execute(napi_env env, void *data) {
  (void)env;
  ih_job_t *j = data;
  j->code = inflate_into(j);
  if (j->code) return;
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, j->prefix, j->prefix_len) ||
      !EVP_DigestUpdate(ctx, j->out, j->out_len) || !EVP_DigestFinal_ex(ctx, j->digest, &mdlen) || mdlen != 32)
    j->code = IH_NOMEM;
  EVP_MD_CTX_free(ctx);
  if (j->code || !j->path) return;
  j->code = memcmp(j->digest, j->expected, 32) ? IH_MISMATCH : store(j);
}

static void release(napi_env env, ih_job_t *j) {
  for (int i = 0; i < j->nrefs; i++) napi_delete_reference(env, j->refs[i]);
  free(j->path);
  free(j);
}

static void complete(napi_env env, napi_status status, void *data) {
  ih_job_t *j = data;
  napi_value code;
  napi_create_int32(env, status == napi_ok ? j->code : IH_NOMEM, &code);
  napi_resolve_deferred(env, j->deferred, code);
  napi_delete_async_work(env, j->work);
  release(env, j);
}

/* A buffer argument, held until the job settles (NULL and 0 for null/undefined when optional). */
static bool buffer_arg(napi_env env, ih_job_t *j, napi_value v, bool optional, const uint8_t **data, size_t *len) {
  napi_valuetype t;
  if (optional && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
    *data = NULL;
    *len = 0;
    return true;
  }
  if (napi_get_buffer_info(env, v, (void **)data, len) != napi_ok) return false;
  napi_create_reference(env, v, 1, &j->refs[j->nrefs++]);
  return true;
}

static napi_value inflate_hash(napi_env env, napi_callback_info info) {
  size_t argc = 12, len, digest_len, expected_len = 0, path_len;
  napi_value argv[12];
  ih_job_t *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "inflateHash: out of memory");
    return NULL;
  }
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && (argc == 4 || argc == 12) &&
            buffer_arg(env, j, argv[0], false, &j->in, &j->in_len) &&
            buffer_arg(env, j, argv[1], false, (const uint8_t **)&j->out, &j->out_len) &&
            buffer_arg(env, j, argv[2], false, &j->prefix, &j->prefix_len) &&
            buffer_arg(env, j, argv[3], false, (const uint8_t **)&j->digest, &digest_len) && digest_len == 32;
  if (ok && argc == 12) {
    ok = buffer_arg(env, j, argv[4], false, &j->expected, &expected_len) && expected_len == 32 &&
         napi_get_value_string_utf8(env, argv[5], NULL, 0, &path_len) == napi_ok && path_len > 0 &&
         path_len < PATH_CAP && (j->path = malloc(path_len + 1)) != NULL &&
         napi_get_value_string_utf8(env, argv[5], j->path, path_len + 1, &len) == napi_ok &&
         buffer_arg(env, j, argv[6], true, &j->source, &j->source_len) &&
         napi_get_value_uint32(env, argv[7], &j->mode) == napi_ok &&
         napi_get_value_int32(env, argv[8], &j->uid) == napi_ok &&
         napi_get_value_int32(env, argv[9], &j->gid) == napi_ok &&
         napi_get_value_uint32(env, argv[10], &j->flags) == napi_ok &&
         buffer_arg(env, j, argv[11], true, &j->xattrs, &j->xattrs_len);
  }
  if (!ok) {
    release(env, j);
    napi_throw_type_error(env, NULL,
                          "inflateHash(compressed, out, prefix, digest[32][, expected[32], path, source, mode, "
                          "uid, gid, flags, xattrs])");
    return NULL;
  }
  napi_value promise = co_queue_promise(env, "inflateHash", execute, complete, j, &j->work, &j->deferred);
  if (!promise) release(env, j);
  return promise;
}

void register_inflate_hash(napi_env env, napi_value exports) {
  co_register(env, exports, "inflateHash", inflate_hash);
}
