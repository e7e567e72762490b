/* Batched checkout syscalls. A hardlink checkout of an OS tree is thousands of mkdir/lstat/link
 * calls, and through Node each one costs more than the syscall itself. TypeScript decides what to
 * do (dirtree parsing, ostree's rules, errors, fallbacks) and encodes a plan; this file only runs
 * it and reports, per operation, what it could not do as (op index, code) pairs. It never throws
 * for a failed syscall: the caller turns codes into the same errors and fallbacks as before.
 *
 * checkoutStart(objectsDir, flags) -> run; checkoutPush(run, plan chunk)...; checkoutFinish(run,
 * cancel) -> Int32Array of (index, code) pairs. A thread of the run executes the chunks in order
 * while the caller keeps walking (two cores: parsing and syscalls overlap); finish waits for it.
 *   plan: records, in order:  'D' u16 len path            mkdir(path, 0700)
 *                             'L' csum[32] u16 len path   link objectsDir/xx/rest.file -> path
 *   flags: CO_BARE_USER  the object's real mode is in user.ostreemeta
 *          CO_BARE       symlink objects may be linked
 *          CO_USER_MODE  unreadable files are copied, as ostree -U does
 *          CO_COPY_OK    EXDEV/EMLINK are reported and the run goes on (else they stop it)
 *   codes: > 0 errno; CODE_COPY (ostree's rules say create, don't link: empty file, symlink of a
 *   bare-user repo, unreadable file in user mode), CODE_NOMETA (bare-user object without
 *   user.ostreemeta), CODE_MISSING (no such object). Anything but CODE_COPY and, with
 *   CO_COPY_OK, EXDEV/EMLINK ends the run: it is the last pair.
 *
 * checkoutDirMeta(plan) -> Int32Array, empty or [index, errno, step]
 *   plan: records 'M' u32 mode, i32 uid, i32 gid, u16 len, path: lchown (unless uid is -1),
 *   chmod, then mtime/atime 0 (ostree's checked-out directories, like its objects, have mtime 0).
 *   step: 0 lchown, 1 chmod, 2 utimensat. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CO_BARE_USER 1
#define CO_BARE 2
#define CO_USER_MODE 4
#define CO_COPY_OK 8
#define CODE_COPY -1
#define CODE_NOMETA -2
#define CODE_MISSING -3
#define PATH_CAP 4096

typedef struct {
  int32_t *v;
  size_t n, cap;
} pairs_t;

static int push(pairs_t *p, int32_t a, int32_t b) {
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

static napi_value to_int32_array(napi_env env, pairs_t *p) {
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

/* A NUL-terminated copy of the path at plan[*pos] (u16 length + bytes); -1 when out of bounds. */
static int read_path(const uint8_t *plan, size_t len, size_t *pos, char *out) {
  if (*pos + 2 > len) return -1;
  size_t n = plan[*pos] | (size_t)plan[*pos + 1] << 8;
  *pos += 2;
  if (n == 0 || n >= PATH_CAP || *pos + n > len || memchr(plan + *pos, 0, n)) return -1;
  memcpy(out, plan + *pos, n);
  out[n] = 0;
  *pos += n;
  return 0;
}

static uint32_t be32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* What ostree does with this object: 0 link, or a code (see the header). */
static int verdict(const char *src, int flags) {
  struct stat st;
  if (lstat(src, &st) < 0) return errno == ENOENT ? CODE_MISSING : errno;
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

/* One checkout run: the plan arrives in chunks while TypeScript is still walking dirtrees, and a
 * thread of its own executes them in order, so parsing and syscalls overlap on two cores. */
typedef struct chunk {
  struct chunk *next;
  size_t len;
  uint8_t data[];
} chunk_t;

typedef struct {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  chunk_t *head, *tail;
  int threaded, closing, cancel, finished;
  int stop; /* 1 fatal code reported, -1 malformed plan, -2 out of memory */
  int flags;
  int32_t index;
  size_t objlen;
  char src[PATH_CAP], dst[PATH_CAP];
  pairs_t out;
} run_t;

static void run_ops(run_t *r, const uint8_t *plan, size_t len) {
  static const char hex[] = "0123456789abcdef";
  char *src = r->src;
  for (size_t pos = 0; pos < len && !r->stop; r->index++) {
    uint8_t op = plan[pos++];
    int code = 0;
    if (op == 'D') {
      if (read_path(plan, len, &pos, r->dst)) goto bad_plan;
      if (mkdir(r->dst, 0700) < 0) code = errno;
    } else if (op == 'L') {
      if (pos + 32 > len) goto bad_plan;
      for (size_t i = 0, o = r->objlen + 1; i < 32; i++) {
        if (i == 1) o++; /* the '/' after the first byte's two digits */
        src[o++] = hex[plan[pos + i] >> 4];
        src[o++] = hex[plan[pos + i] & 15];
      }
      pos += 32;
      if (read_path(plan, len, &pos, r->dst)) goto bad_plan;
      code = verdict(src, r->flags);
      if (code == 0 && link(src, r->dst) < 0) code = errno;
    } else {
      goto bad_plan;
    }
    if (code == 0) continue;
    if (push(&r->out, r->index, code)) {
      r->stop = -2;
      return;
    }
    if (code != CODE_COPY && !((r->flags & CO_COPY_OK) && (code == EXDEV || code == EMLINK))) r->stop = 1;
  }
  return;
bad_plan:
  r->stop = -1;
}

static void *worker(void *arg) {
  run_t *r = arg;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (!r->head && !r->closing) pthread_cond_wait(&r->cv, &r->mu);
    chunk_t *c = r->head;
    if (!c) break;
    r->head = c->next;
    if (!r->head) r->tail = NULL;
    int skip = r->cancel;
    pthread_mutex_unlock(&r->mu);
    if (!skip) run_ops(r, c->data, c->len);
    free(c);
    pthread_mutex_lock(&r->mu);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

/* Waits for the thread (or cancels what it has not started) and frees the queue. */
static void end_run(run_t *r, int cancel) {
  if (r->finished) return;
  r->finished = 1;
  if (r->threaded) {
    pthread_mutex_lock(&r->mu);
    r->closing = 1;
    r->cancel |= cancel;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
  }
  while (r->head) {
    chunk_t *c = r->head;
    r->head = c->next;
    free(c);
  }
}

static void finalize_run(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  run_t *r = data;
  end_run(r, 1);
  free(r->out.v);
  free(r);
}

static run_t *get_run(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

/* checkoutStart(objectsDir, flags) -> run */
static napi_value checkout_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ext;
  int32_t flags;
  run_t *r = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, NULL, "checkoutStart: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], r->src, sizeof r->src, &r->objlen) != napi_ok ||
      r->objlen + 72 >= sizeof r->src || napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
    free(r);
    napi_throw_type_error(env, NULL, "checkoutStart(objectsDir, flags)");
    return NULL;
  }
  r->flags = flags;
  /* src is "OBJECTS/xx/" + 62 hex digits + ".file"; only the checksum part changes. */
  r->src[r->objlen] = '/';
  r->src[r->objlen + 3] = '/';
  memcpy(r->src + r->objlen + 66, ".file", 6);
  if (pthread_mutex_init(&r->mu, NULL) == 0) {
    if (pthread_cond_init(&r->cv, NULL) == 0) {
      r->threaded = pthread_create(&r->thread, NULL, worker, r) == 0;
      if (!r->threaded) pthread_cond_destroy(&r->cv);
    }
    if (!r->threaded) pthread_mutex_destroy(&r->mu);
  }
  if (napi_create_external(env, r, finalize_run, NULL, &ext) != napi_ok) {
    finalize_run(env, r, NULL);
    napi_throw_error(env, NULL, "checkoutStart: cannot create the run");
    return NULL;
  }
  return ext;
}

/* checkoutPush(run, plan): queues a copy of the plan chunk (runs it inline without a thread). */
static napi_value checkout_push(napi_env env, napi_callback_info info) {
  size_t argc = 2, len;
  napi_value argv[2];
  uint8_t *plan;
  run_t *r;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      !(r = get_run(env, argv[0])) || r->finished ||
      napi_get_buffer_info(env, argv[1], (void **)&plan, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "checkoutPush(run, plan)");
    return NULL;
  }
  if (!r->threaded) {
    run_ops(r, plan, len);
    return NULL;
  }
  chunk_t *c = malloc(sizeof *c + len);
  if (!c) {
    napi_throw_error(env, NULL, "checkoutPush: out of memory");
    return NULL;
  }
  c->next = NULL;
  c->len = len;
  memcpy(c->data, plan, len);
  pthread_mutex_lock(&r->mu);
  if (r->tail) r->tail->next = c;
  else r->head = c;
  r->tail = c;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

/* checkoutFinish(run, cancel) -> Int32Array of (index, code) pairs, once every chunk has run. */
static napi_value checkout_finish(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool cancel = false;
  run_t *r;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      !(r = get_run(env, argv[0])) || napi_get_value_bool(env, argv[1], &cancel) != napi_ok) {
    napi_throw_type_error(env, NULL, "checkoutFinish(run, cancel)");
    return NULL;
  }
  end_run(r, cancel);
  if (r->stop < 0) {
    napi_throw_error(env, NULL, r->stop == -1 ? "checkout: malformed plan" : "checkout: out of memory");
    return NULL;
  }
  pairs_t out = r->out;
  r->out = (pairs_t){0};
  return to_int32_array(env, &out);
}

static int32_t le32(const uint8_t *b) {
  return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
}

static napi_value checkout_dir_meta(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint8_t *plan;
  size_t len;
  char path[PATH_CAP];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_buffer_info(env, argv[0], (void **)&plan, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "checkoutDirMeta(plan)");
    return NULL;
  }
  static const struct timespec zero[2] = {{0, 0}, {0, 0}};
  pairs_t out = {0};
  int32_t index = 0;
  for (size_t pos = 0; pos < len; index++) {
    if (plan[pos++] != 'M' || pos + 12 > len) goto bad_plan;
    uint32_t mode = (uint32_t)le32(plan + pos);
    int32_t uid = le32(plan + pos + 4), gid = le32(plan + pos + 8);
    pos += 12;
    if (read_path(plan, len, &pos, path)) goto bad_plan;
    int step = -1;
    if (uid != -1 && lchown(path, (uid_t)uid, (gid_t)gid) < 0) step = 0;
    else if (chmod(path, mode & 07777) < 0) step = 1;
    else if (utimensat(AT_FDCWD, path, zero, 0) < 0) step = 2;
    if (step < 0) continue;
    int err = errno;
    if (push(&out, index, err) || push(&out, step, 0)) {
      free(out.v);
      napi_throw_error(env, NULL, "checkoutDirMeta: out of memory");
      return NULL;
    }
    out.n--; /* [index, errno, step] */
    break;
  }
  return to_int32_array(env, &out);
bad_plan:
  free(out.v);
  napi_throw_error(env, NULL, "checkoutDirMeta: malformed plan");
  return NULL;
}

void register_checkout_ops(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"checkoutStart", NULL, checkout_start, NULL, NULL, NULL, napi_default, NULL},
      {"checkoutPush", NULL, checkout_push, NULL, NULL, NULL, napi_default, NULL},
      {"checkoutFinish", NULL, checkout_finish, NULL, NULL, NULL, napi_default, NULL},
      {"checkoutDirMeta", NULL, checkout_dir_meta, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
