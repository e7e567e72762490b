/* copyTree(src, dest) -> Promise<void>: a deployment's /etc made from its usr/etc, off the
 * JavaScript thread: directories, regular files (copy_file_range) and symlinks copied with their
 * owner, mode and xattrs, never as hardlinks (an edited /etc file must not change the object it
 * came from); other file types are skipped, as ostree's /etc merge skips them. `dest` must not
 * exist. Owners that cannot be given away (an unprivileged sandbox: EPERM) are left as they are.
 * The promise is rejected with an Error carrying `code`, `syscall` and `path` as Node's fs
 * errors do. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include "checkout_ops.h"

typedef struct {
  char src[PATH_CAP], dest[PATH_CAP];
  int err;
  const char *syscall;
  char path[PATH_CAP];
  napi_async_work work;
  napi_deferred deferred;
} copy_job_t;

static int fail(copy_job_t *j, const char *syscall, const char *path) {
  if (!j->err) {
    j->err = errno;
    j->syscall = syscall;
    snprintf(j->path, sizeof j->path, "%s", path);
  }
  return -1;
}

static int copy_xattrs(copy_job_t *j, const char *src, const char *dest) {
  char names[65536];
  ssize_t n = llistxattr(src, names, sizeof names);
  if (n < 0) return errno == ENOTSUP ? 0 : fail(j, "llistxattr", src);
  static __thread uint8_t value[65536];
  for (char *k = names; k < names + n; k += strlen(k) + 1) {
    ssize_t v = lgetxattr(src, k, value, sizeof value);
    if (v < 0) return fail(j, "lgetxattr", src);
    if (lsetxattr(dest, k, value, (size_t)v, 0) < 0) return fail(j, "lsetxattr", dest);
  }
  return 0;
}

static int own(copy_job_t *j, const char *dest, const struct stat *st) {
  if (lchown(dest, st->st_uid, st->st_gid) < 0 && errno != EPERM) return fail(j, "lchown", dest);
  return 0;
}

static int copy_file(copy_job_t *j, const char *src, const char *dest, const struct stat *st) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) return fail(j, "open", src);
  int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    close(in);
    return fail(j, "open", dest);
  }
  int rc = 0;
  for (off_t left = st->st_size; left > 0 && !rc;) {
    ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      /* (EXDEV and friends never happen within one deployment; a failure is an error.) */
      rc = fail(j, "copy_file_range", dest);
      break;
    }
    if (n == 0) break; /* the source shrank */
    left -= n;
  }
  close(in);
  if (!rc && copy_xattrs(j, src, dest) == 0 && own(j, dest, st) == 0 && fchmod(out, st->st_mode & 07777) < 0)
    rc = fail(j, "fchmod", dest);
  if (close(out) < 0 && !rc) rc = fail(j, "close", dest);
  return rc || j->err ? -1 : 0;
}

static int copy(copy_job_t *j, char *src, size_t slen, char *dest, size_t dlen) {
  struct stat st;
  if (lstat(src, &st) < 0) return fail(j, "lstat", src);
  if (S_ISREG(st.st_mode)) return copy_file(j, src, dest, &st);
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_CAP];
    ssize_t n = readlink(src, target, sizeof target - 1);
    if (n < 0) return fail(j, "readlink", src);
    target[n] = 0;
    if (symlink(target, dest) < 0) return fail(j, "symlink", dest);
    return own(j, dest, &st);
  }
  if (!S_ISDIR(st.st_mode)) return 0;
  if (mkdir(dest, 0700) < 0) return fail(j, "mkdir", dest);
  DIR *d = opendir(src);
  if (!d) return fail(j, "opendir", src);
  struct dirent *e;
  int rc = 0;
  while (!rc && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    size_t n = strlen(e->d_name);
    if (slen + 1 + n >= PATH_CAP || dlen + 1 + n >= PATH_CAP) {
      errno = ENAMETOOLONG;
      rc = fail(j, "copy", src);
      break;
    }
    src[slen] = dest[dlen] = '/';
    memcpy(src + slen + 1, e->d_name, n + 1);
    memcpy(dest + dlen + 1, e->d_name, n + 1);
    rc = copy(j, src, slen + 1 + n, dest, dlen + 1 + n);
    src[slen] = dest[dlen] = 0;
  }
  closedir(d);
  if (rc) return rc;
  if (copy_xattrs(j, src, dest) || own(j, dest, &st)) return -1;
  if (chmod(dest, st.st_mode & 07777) < 0) return fail(j, "chmod", dest);
  return 0;
}

static void execute(napi_env env, void *data) {
  co_pool_thread();
  (void)env;
  copy_job_t *j = data;
  char src[PATH_CAP], dest[PATH_CAP];
  strcpy(src, j->src);
  strcpy(dest, j->dest);
  copy(j, src, strlen(src), dest, strlen(dest));
}

static void complete(napi_env env, napi_status status, void *data) {
  copy_job_t *j = data;
  if (status == napi_ok && !j->err) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, j->deferred, undef);
  } else {
    co_reject_errno(env, j->deferred, j->err ? j->err : ECANCELED, j->syscall ? j->syscall : "copy", j->path);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value copy_tree(napi_env env, napi_callback_info info) {
  size_t argc = 2, n;
  napi_value argv[2];
  copy_job_t *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "copyTree: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], j->src, sizeof j->src, &n) != napi_ok || n + 2 >= PATH_CAP ||
      napi_get_value_string_utf8(env, argv[1], j->dest, sizeof j->dest, &n) != napi_ok || n + 2 >= PATH_CAP) {
    free(j);
    napi_throw_type_error(env, NULL, "copyTree(src, dest)");
    return NULL;
  }
  napi_value promise = co_queue_promise(env, "copyTree", execute, complete, j, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

void register_copy_tree(napi_env env, napi_value exports) {
  co_register(env, exports, "copyTree", copy_tree);
}
