/* See object_job.h. Zlib and OpenSSL are Node's own (their symbols are exported to addons). */
#define _GNU_SOURCE
#include "object_job.h"
#include <openssl/evp.h>

static bool write_args(napi_env env, oj_job_t *j, napi_value *argv);

#define OJ_CHOWN 1
#define OJ_CHMOD 2
#define OJ_UTIME0 4
#define OJ_WRITEBACK 8

/* The verified object into j->path: 0, OJ_EXISTS, or step << 16 | errno. */
static int32_t store(oj_job_t *j) {
  int fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, j->mode);
  if (fd < 0) return errno == EEXIST ? OJ_EXISTS : 1 << 16 | errno;
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
  if (!step && (j->flags & OJ_CHOWN) && fchown(fd, (uid_t)j->uid, (gid_t)j->gid) < 0) step = 3;
  if (!step && (j->flags & OJ_CHMOD) && fchmod(fd, j->mode & 07777) < 0) step = 4;
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
  if (!step && (j->flags & OJ_UTIME0) && futimens(fd, zero) < 0) step = 6;
  if (!step && (j->flags & OJ_WRITEBACK)) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
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
  co_pool_thread();
  (void)env;
  oj_job_t *j = data;
  j->code = j->produce(j);
  if (j->code) return;
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, j->prefix, j->prefix_len) ||
      !EVP_DigestUpdate(ctx, j->out, j->out_len) || !EVP_DigestFinal_ex(ctx, j->digest, &mdlen) || mdlen != 32)
    j->code = OJ_NOMEM;
  EVP_MD_CTX_free(ctx);
  if (j->code || !j->path) return;
  j->code = memcmp(j->digest, j->expected, 32) ? OJ_MISMATCH : store(j);
}

void oj_release(napi_env env, oj_job_t *j) {
  for (int i = 0; i < j->nrefs; i++) napi_delete_reference(env, j->refs[i]);
  for (uint32_t i = 0; i < j->nsources; i++) {
    free(j->sources[i].path);
    free(j->sources[i].owned);
  }
  free(j->path);
  free(j);
}

static void complete(napi_env env, napi_status status, void *data) {
  oj_job_t *j = data;
  co_resolve_int32(env, j->deferred, j->work, status == napi_ok ? j->code : OJ_NOMEM);
  oj_release(env, j);
}

oj_job_t *oj_new(napi_env env, const char *name) {
  oj_job_t *j = calloc(1, sizeof *j);
  if (!j) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: out of memory", name);
    napi_throw_error(env, NULL, msg);
  }
  return j;
}

bool oj_buffer_arg(napi_env env, oj_job_t *j, napi_value v, bool optional, const uint8_t **data, size_t *len) {
  napi_valuetype t;
  if (optional && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
    *data = NULL;
    *len = 0;
    return true;
  }
  if (j->nrefs >= OJ_NREFS || napi_get_buffer_info(env, v, (void **)data, len) != napi_ok) return false;
  napi_create_reference(env, v, 1, &j->refs[j->nrefs++]);
  return true;
}

bool oj_payload_args(napi_env env, oj_job_t *j, napi_value *argv, bool write) {
  size_t digest_len;
  return oj_buffer_arg(env, j, argv[0], false, (const uint8_t **)&j->out, &j->out_len) &&
         oj_buffer_arg(env, j, argv[1], false, &j->prefix, &j->prefix_len) &&
         oj_buffer_arg(env, j, argv[2], false, (const uint8_t **)&j->digest, &digest_len) && digest_len == 32 &&
         (!write || write_args(env, j, argv + 3));
}

static bool write_args(napi_env env, oj_job_t *j, napi_value *argv) {
  size_t expected_len = 0, path_len, len;
  return oj_buffer_arg(env, j, argv[0], false, &j->expected, &expected_len) && expected_len == 32 &&
         napi_get_value_string_utf8(env, argv[1], NULL, 0, &path_len) == napi_ok && path_len > 0 &&
         path_len < PATH_CAP && (j->path = malloc(path_len + 1)) != NULL &&
         napi_get_value_string_utf8(env, argv[1], j->path, path_len + 1, &len) == napi_ok &&
         oj_buffer_arg(env, j, argv[2], true, &j->source, &j->source_len) &&
         napi_get_value_uint32(env, argv[3], &j->mode) == napi_ok &&
         napi_get_value_int32(env, argv[4], &j->uid) == napi_ok &&
         napi_get_value_int32(env, argv[5], &j->gid) == napi_ok &&
         napi_get_value_uint32(env, argv[6], &j->flags) == napi_ok &&
         oj_buffer_arg(env, j, argv[7], true, &j->xattrs, &j->xattrs_len);
}

napi_value oj_start(napi_env env, oj_job_t *j, bool ok, const char *usage, int32_t (*produce)(oj_job_t *)) {
  if (!ok) {
    oj_release(env, j);
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  j->produce = produce;
  napi_value promise = co_queue_promise(env, usage, execute, complete, j, &j->work, &j->deferred);
  if (!promise) oj_release(env, j);
  return promise;
}
