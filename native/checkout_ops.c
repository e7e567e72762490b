/* Batched checkout syscalls. A hardlink checkout of an OS tree is thousands of mkdir/lstat/link
 * calls, and through Node each one costs more than the syscall itself. TypeScript decides what to
 * do (dirtree parsing, ostree's rules, errors, fallbacks) and encodes a plan; this file only runs
 * it and reports what it could not do. It never throws for a failed syscall: the caller turns
 * codes into the same errors and fallbacks as before.
 *
 * checkoutStart(objectsDir, flags) -> run; checkoutPush(run, plan chunk)...; checkoutFinish(run,
 * cancel) -> { codes: Int32Array of (chunk number, code) pairs, info: Buffer with, per pair,
 * the object checksum (zeros for a directory) [32], u16 len, path }, in plan order. A thread of
 * the run executes the chunks while the caller keeps walking (see run_t); finish waits for it.
 * Files carry only their name, so the walk never builds their paths.
 *   plan: records, in order:  'D' u16 len path            mkdir(path, 0700); the current dir
 *                             'C' u16 len path            the current dir (it exists)
 *                             'L' csum[32] u16 len name   link objectsDir/xx/rest.file -> dir/name
 *   flags: CO_BARE_USER  the object's real mode is in user.ostreemeta
 *          CO_BARE       symlink objects may be linked
 *          CO_USER_MODE  unreadable files are copied, as ostree -U does
 *          CO_COPY_OK    EXDEV/EMLINK are reported and the run goes on (else they stop it)
 *   codes: > 0 errno; CODE_COPY (ostree's rules say create, don't link: empty file, symlink of a
 *   bare-user repo, unreadable file in user mode), CODE_NOMETA (bare-user object without
 *   user.ostreemeta), CODE_MISSING (no such object). Anything but CODE_COPY and, with
 *   CO_COPY_OK, EXDEV/EMLINK ends the run: no chunk starts after it, and the caller stops at it.
 *
 * checkoutDirMeta(plan) -> Int32Array, empty or [index, errno, step]
 *   plan: records 'M' u32 mode, i32 uid, i32 gid, u16 len, path: lchown (unless uid is -1),
 *   chmod, then mtime/atime 0 (ostree's checked-out directories, like its objects, have mtime 0).
 *   step: 0 lchown, 1 chmod, 2 utimensat. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include "checkout_ops.h"

int co_push(pairs_t *p, int32_t a, int32_t b) {
  if (p->n + 2 > p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    int32_t *nv = realloc(p->v, cap * sizeof *nv);
    if (!nv) return -1;
    p->v = nv;
    p->cap = cap;
  }
  p->v[p->n++] = a;
  p->v[p->n++] = b;
  return 0;
}

napi_value co_int32_array(napi_env env, pairs_t *p) {
  napi_value ab, arr;
  void *data;
  if (napi_create_arraybuffer(env, p->n * sizeof(int32_t), &data, &ab) != napi_ok) {
    free(p->v);
    napi_throw_error(env, NULL, "checkout ops: out of memory");
    return NULL;
  }
  if (p->n) memcpy(data, p->v, p->n * sizeof(int32_t));
  free(p->v);
  napi_create_typedarray(env, napi_int32_array, p->n, ab, 0, &arr);
  return arr;
}

/* A NUL-terminated copy of the path at plan[*pos] (u16 length + bytes) into out[cap]: 0, or -1
 * for a malformed plan, or ENAMETOOLONG when it does not fit (the record is skipped). */
int co_read_path(const uint8_t *plan, size_t len, size_t *pos, char *out, size_t cap) {
  if (*pos + 2 > len) return -1;
  size_t n = plan[*pos] | (size_t)plan[*pos + 1] << 8;
  *pos += 2;
  if (n == 0 || *pos + n > len || memchr(plan + *pos, 0, n)) return -1;
  *pos += n;
  if (n >= cap) return ENAMETOOLONG;
  memcpy(out, plan + *pos - n, n);
  out[n] = 0;
  return 0;
}

static uint32_t be32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* What ostree does with this object: 0 link, or a code (see the header). The object is `rel`
 * under the directory `dfd` (or AT_FDCWD), `src` its full path (for the xattr). */
int co_verdict(int dfd, const char *rel, const char *src, int flags) {
  struct stat st;
  if (fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? CODE_MISSING : errno;
  uint32_t mode = st.st_mode;
  if (flags & CO_BARE_USER) {
    uint8_t meta[64];
    ssize_t n = lgetxattr(src, "user.ostreemeta", meta, sizeof meta);
    if (n < 0 && errno == ERANGE) {
      /* Long xattr lists: only the fixed-size head is needed. */
      uint8_t *big = malloc(65536);
      if (!big) return ENOMEM;
      n = lgetxattr(src, "user.ostreemeta", big, 65536);
      if (n >= 12) memcpy(meta, big, 12);
      free(big);
    }
    if (n < 12) return n < 0 && errno != ENODATA ? errno : CODE_NOMETA;
    mode = be32(meta + 8);
  }
  if ((mode & S_IFMT) == S_IFLNK) return flags & CO_BARE ? 0 : CODE_COPY;
  if (st.st_size == 0) return CODE_COPY;
  if ((flags & CO_USER_MODE) && (mode & 0400) == 0) return CODE_COPY;
  return 0;
}

static int32_t le32(const uint8_t *b) {
  return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
}

/* Runs a plan of directory-metadata records into `out` ([index, errno, step] of the first failure):
 * 0, -1 for a malformed plan, -2 out of memory. */
static int run_dir_metas(const uint8_t *plan, size_t len, pairs_t *out) {
  static const struct timespec zero[2] = {{0, 0}, {0, 0}};
  char path[PATH_CAP];
  int32_t index = 0;
  for (size_t pos = 0; pos < len; index++) {
    if (plan[pos++] != 'M' || pos + 12 > len) return -1;
    uint32_t mode = (uint32_t)le32(plan + pos);
    int32_t uid = le32(plan + pos + 4), gid = le32(plan + pos + 8);
    pos += 12;
    if (co_read_path(plan, len, &pos, path, PATH_CAP)) return -1;
    int step = -1;
    if (uid != -1 && lchown(path, (uid_t)uid, (gid_t)gid) < 0) step = 0;
    else if (chmod(path, mode & 07777) < 0) step = 1;
    else if (utimensat(AT_FDCWD, path, zero, 0) < 0) step = 2;
    if (step < 0) continue;
    int err = errno;
    if (co_push(out, index, err) || co_push(out, step, 0)) return -2;
    out->n--; /* [index, errno, step] */
    break;
  }
  return 0;
}

static napi_value checkout_dir_meta(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint8_t *plan;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_buffer_info(env, argv[0], (void **)&plan, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "checkoutDirMeta(plan)");
    return NULL;
  }
  pairs_t out = {0};
  int rc = run_dir_metas(plan, len, &out);
  if (!rc) return co_int32_array(env, &out);
  free(out.v);
  napi_throw_error(env, NULL, rc == -1 ? "checkoutDirMeta: malformed plan" : "checkoutDirMeta: out of memory");
  return NULL;
}

typedef struct {
  uint8_t *plan;
  size_t len;
  pairs_t out;
  int rc;
  napi_async_work work;
  napi_deferred deferred;
} meta_job_t;

static void meta_execute(napi_env env, void *data) {
  co_pool_thread();
  (void)env;
  meta_job_t *j = data;
  j->rc = run_dir_metas(j->plan, j->len, &j->out);
}

static void meta_complete(napi_env env, napi_status status, void *data) {
  meta_job_t *j = data;
  napi_value result = NULL, msg, err;
  if (status == napi_ok && !j->rc) result = co_int32_array(env, &j->out);
  else free(j->out.v);
  if (result) napi_resolve_deferred(env, j->deferred, result);
  else {
    napi_create_string_utf8(env, j->rc == -1 ? "checkoutDirMeta: malformed plan" : "checkoutDirMeta failed",
                            NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, j->deferred, err);
  }
  napi_delete_async_work(env, j->work);
  free(j->plan);
  free(j);
}

/* checkoutDirMetaAsync(plan) -> Promise<Int32Array>: checkoutDirMeta on a pool thread (the plan is copied). */
static napi_value checkout_dir_meta_async(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *plan;
  size_t len;
  meta_job_t *j = calloc(1, sizeof *j);
  if (!j || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_buffer_info(env, argv[0], &plan, &len) != napi_ok || !(j->plan = malloc(len ? len : 1))) {
    free(j);
    napi_throw_type_error(env, NULL, "checkoutDirMetaAsync(plan)");
    return NULL;
  }
  memcpy(j->plan, plan, len);
  j->len = len;
  napi_value promise = co_queue_promise(env, "checkoutDirMetaAsync", meta_execute, meta_complete, j, &j->work, &j->deferred);
  if (!promise) {
    free(j->plan);
    free(j);
  }
  return promise;
}

/* Puts the calling thread in SCHED_BATCH, once per thread. A thread that queues work wakes a pool
 * thread, and on a busy machine the woken thread preempted the JavaScript thread right there (CFS
 * wakeup preemption): in a one-package update pull, queueing an inflate-and-hash job took the
 * JavaScript thread 64-153 µs on average and up to 4 ms, against 2-13 µs alone. A SCHED_BATCH thread
 * keeps its fair share of the CPU and only forgoes preempting on wakeup; it needs no privilege
 * (best effort: a refusal changes nothing). Node's own work on these threads (fs calls) runs so
 * too once one of our jobs has run there. */
void co_pool_thread(void) {
  static __thread int done;
  if (done) return;
  done = 1;
  struct sched_param sp = {0};
  (void)sched_setscheduler(0, SCHED_BATCH, &sp);
}

napi_value co_queue_promise(napi_env env, const char *name, napi_async_execute_callback execute,
                            napi_async_complete_callback complete, void *data, napi_async_work *work,
                            napi_deferred *deferred) {
  napi_value promise, resource;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  if (napi_create_promise(env, deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, resource, execute, complete, data, work) != napi_ok ||
      napi_queue_async_work(env, *work) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: cannot start", name);
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  return promise;
}

void co_resolve_int32(napi_env env, napi_deferred deferred, napi_async_work work, int32_t value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_resolve_deferred(env, deferred, v);
  napi_delete_async_work(env, work);
}

void co_reject_errno(napi_env env, napi_deferred deferred, int err, const char *syscall, const char *path) {
  char text[PATH_CAP + 128];
  napi_value e, msg, code, sys, p;
  snprintf(text, sizeof text, "%s: %s '%s'", strerror(err), syscall, path);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &e);
  napi_create_int32(env, err, &code);
  napi_set_named_property(env, e, "errno", code);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, e, "syscall", sys);
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
  napi_set_named_property(env, e, "path", p);
  napi_reject_deferred(env, deferred, e);
}

void co_register(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_property_descriptor p = {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL};
  napi_define_properties(env, exports, 1, &p);
}

void register_checkout_ops(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"checkoutStart", NULL, co_checkout_start, NULL, NULL, NULL, napi_default, NULL},
      {"checkoutPush", NULL, co_checkout_push, NULL, NULL, NULL, napi_default, NULL},
      {"checkoutFinish", NULL, co_checkout_finish, NULL, NULL, NULL, napi_default, NULL},
      {"checkoutDirMeta", NULL, checkout_dir_meta, NULL, NULL, NULL, napi_default, NULL},
      {"checkoutDirMetaAsync", NULL, checkout_dir_meta_async, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
