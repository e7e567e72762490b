/* diffTree(orig, modified) -> Promise<Buffer>: ostree_diff_dirs with xattrs ignored, as the /etc
 * merge and `admin config-diff` need it (the merge deployment's usr/etc against its etc), walked
 * on a pool thread. A deployment's etc is a copy of usr/etc, so every unchanged file is read twice
 * to be told unchanged: in JavaScript that walk grew with the size of /etc on the thread that also
 * runs the rest of a deploy.
 *
 * The result is a list of records, each a kind byte ('M' modified, 'R' removed, 'A' added), the
 * path relative to the roots and a NUL, in this order: the entries of `orig` by name (a directory
 * present on both sides is followed by its own records), then the entries only `modified` has, by
 * name, an added directory followed by everything under it. Two entries are the same when they are
 * one inode, or have the same type, mode, owner and content (symlinks: target; directories: always;
 * other file types: device number, never read). Names are compared bytewise. Directories are
 * opened without following symlinks, so nothing outside the two roots is read. Errors reject with
 * an Error carrying `errno`, `syscall` and `path`, as Node's fs errors do. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include "checkout_ops.h"

typedef struct {
  char *buf;
  size_t n, cap;
} out_t;

typedef struct {
  char a[PATH_CAP], b[PATH_CAP];
  out_t out;
  int err;
  const char *syscall;
  char path[PATH_CAP];
  napi_async_work work;
  napi_deferred deferred;
} diff_job_t;

typedef struct {
  char **v;
  size_t n, cap;
} names_t;

static int fail(diff_job_t *j, int err, const char *syscall, const char *rel) {
  if (!j->err) {
    j->err = err;
    j->syscall = syscall;
    snprintf(j->path, sizeof j->path, "%s", rel);
  }
  return -1;
}

static int emit(diff_job_t *j, char kind, const char *rel) {
  size_t len = strlen(rel) + 2;
  if (j->out.n + len > j->out.cap) {
    size_t cap = j->out.cap ? j->out.cap * 2 : 4096;
    while (cap < j->out.n + len) cap *= 2;
    char *p = realloc(j->out.buf, cap);
    if (!p) return fail(j, ENOMEM, "diff", rel);
    j->out.buf = p;
    j->out.cap = cap;
  }
  j->out.buf[j->out.n] = kind;
  memcpy(j->out.buf + j->out.n + 1, rel, len - 1);
  j->out.n += len;
  return 0;
}

static int by_name(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

static void names_free(names_t *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
}

/* The names in directory `dfd` (left open), sorted. */
static int list_sorted(diff_job_t *j, int dfd, const char *rel, names_t *l) {
  int fd = dup(dfd);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    if (fd >= 0) close(fd);
    return fail(j, errno, "opendir", rel);
  }
  rewinddir(d);
  struct dirent *e;
  int rc = 0;
  while (!rc && (errno = 0, e = readdir(d))) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
    if (l->n == l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 32;
      char **v = realloc(l->v, cap * sizeof *v);
      if (!v) {
        rc = fail(j, ENOMEM, "readdir", rel);
        break;
      }
      l->v = v;
      l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(e->d_name))) rc = fail(j, ENOMEM, "readdir", rel);
    else l->n++;
  }
  if (!rc && !e && errno) rc = fail(j, errno, "readdir", rel);
  closedir(d);
  if (!rc) qsort(l->v, l->n, sizeof *l->v, by_name);
  return rc;
}

/* `rel` + "/" + name into `buf` (just name at the root); -1 when too long. */
static int join_rel(char *buf, const char *rel, const char *name) {
  int n = *rel ? snprintf(buf, PATH_CAP, "%s/%s", rel, name) : snprintf(buf, PATH_CAP, "%s", name);
  return n < 0 || n >= PATH_CAP ? -1 : 0;
}

static char kind_of(mode_t m) {
  return S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISREG(m) ? 'f' : 'o';
}

static int open_dir_at(diff_job_t *j, int dfd, const char *name, const char *rel) {
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(j, errno, "opendir", rel);
  return fd;
}

/* 1 when the regular files `name` in fa and fb have the same bytes, 0 when not, -1 on error. */
static int same_content(diff_job_t *j, int fa, int fb, const char *name, const char *rel) {
  static __thread char x[65536], y[65536];
  int a = openat(fa, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (a < 0) return fail(j, errno, "open", rel);
  int b = openat(fb, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (b < 0) {
    close(a);
    return fail(j, errno, "open", rel);
  }
  int same = 1;
  for (;;) {
    ssize_t n = read(a, x, sizeof x);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      same = fail(j, errno, "read", rel);
      break;
    }
    ssize_t got = 0;
    while (got < n || (n == 0 && got == 0)) {
      ssize_t m = read(b, y + got, (size_t)(n ? n - got : 1));
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) {
        got = -1;
        break;
      }
      if (m == 0) break;
      got += m;
    }
    if (got < 0) {
      same = fail(j, errno, "read", rel);
      break;
    }
    if (got != n || memcmp(x, y, (size_t)n)) {
      same = 0;
      break;
    }
    if (n == 0) break;
  }
  close(a);
  close(b);
  return same;
}

static int same_file(diff_job_t *j, int fa, int fb, const char *name, const char *rel, const struct stat *sa,
                     const struct stat *sb) {
  if (sa->st_dev == sb->st_dev && sa->st_ino == sb->st_ino) return 1;
  if (sa->st_mode != sb->st_mode || sa->st_uid != sb->st_uid || sa->st_gid != sb->st_gid) return 0;
  if (S_ISDIR(sa->st_mode)) return 1;
  if (S_ISLNK(sa->st_mode)) {
    char x[PATH_CAP], y[PATH_CAP];
    ssize_t n = readlinkat(fa, name, x, sizeof x);
    ssize_t m = readlinkat(fb, name, y, sizeof y);
    if (n < 0 || m < 0) return fail(j, errno, "readlink", rel);
    return n == m && !memcmp(x, y, (size_t)n);
  }
  if (!S_ISREG(sa->st_mode)) return sa->st_rdev == sb->st_rdev;
  if (sa->st_size != sb->st_size) return 0;
  return same_content(j, fa, fb, name, rel);
}

/* Every entry under directory `dfd` (path `rel`) as added, by name, depth first. */
static int add_all(diff_job_t *j, int dfd, const char *rel) {
  names_t l = {0};
  int rc = list_sorted(j, dfd, rel, &l);
  char r[PATH_CAP];
  for (size_t i = 0; !rc && i < l.n; i++) {
    if (join_rel(r, rel, l.v[i]) < 0) {
      rc = fail(j, ENAMETOOLONG, "diff", rel);
      break;
    }
    struct stat st;
    if (fstatat(dfd, l.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
      rc = fail(j, errno, "lstat", r);
      break;
    }
    rc = emit(j, 'A', r);
    if (!rc && S_ISDIR(st.st_mode)) {
      int fd = open_dir_at(j, dfd, l.v[i], r);
      rc = fd < 0 ? -1 : add_all(j, fd, r);
      if (fd >= 0) close(fd);
    }
  }
  names_free(&l);
  return rc;
}

static int diff_dir(diff_job_t *j, int fa, int fb, const char *rel) {
  names_t la = {0}, lb = {0};
  char r[PATH_CAP];
  int rc = list_sorted(j, fa, rel, &la);
  for (size_t i = 0; !rc && i < la.n; i++) {
    const char *name = la.v[i];
    if (join_rel(r, rel, name) < 0) {
      rc = fail(j, ENAMETOOLONG, "diff", rel);
      break;
    }
    struct stat sa, sb;
    if (fstatat(fb, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
      rc = errno == ENOENT ? emit(j, 'R', r) : fail(j, errno, "lstat", r);
      continue;
    }
    if (fstatat(fa, name, &sa, AT_SYMLINK_NOFOLLOW) < 0) {
      rc = fail(j, errno, "lstat", r);
      break;
    }
    if (kind_of(sa.st_mode) != kind_of(sb.st_mode)) {
      rc = emit(j, 'M', r);
      continue;
    }
    int same = same_file(j, fa, fb, name, r, &sa, &sb);
    if (same < 0 || (!same && emit(j, 'M', r) < 0)) rc = -1;
    else if (S_ISDIR(sa.st_mode)) {
      int da = open_dir_at(j, fa, name, r);
      int db = da < 0 ? -1 : open_dir_at(j, fb, name, r);
      rc = db < 0 ? -1 : diff_dir(j, da, db, r);
      if (da >= 0) close(da);
      if (db >= 0) close(db);
    }
  }
  if (!rc) rc = list_sorted(j, fb, rel, &lb);
  for (size_t i = 0; !rc && i < lb.n; i++) {
    const char *name = lb.v[i];
    struct stat st;
    if (fstatat(fa, name, &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
    int e = errno;
    if (join_rel(r, rel, name) < 0) {
      rc = fail(j, ENAMETOOLONG, "diff", rel);
      break;
    }
    if (e != ENOENT) {
      rc = fail(j, e, "lstat", r);
      break;
    }
    if (fstatat(fb, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      rc = fail(j, errno, "lstat", r);
      break;
    }
    rc = emit(j, 'A', r);
    if (!rc && S_ISDIR(st.st_mode)) {
      int fd = open_dir_at(j, fb, name, r);
      rc = fd < 0 ? -1 : add_all(j, fd, r);
      if (fd >= 0) close(fd);
    }
  }
  names_free(&la);
  names_free(&lb);
  return rc;
}

static void execute(napi_env env, void *data) {
  co_pool_thread();
  (void)env;
  diff_job_t *j = data;
  int fa = open(j->a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fa < 0) {
    fail(j, errno, "opendir", j->a);
    return;
  }
  int fb = open(j->b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fb < 0) fail(j, errno, "opendir", j->b);
  else {
    diff_dir(j, fa, fb, "");
    close(fb);
  }
  close(fa);
}

static void complete(napi_env env, napi_status status, void *data) {
  diff_job_t *j = data;
  if (status == napi_ok && !j->err) {
    napi_value buf;
    void *p;
    if (napi_create_buffer_copy(env, j->out.n, j->out.n ? j->out.buf : "", &p, &buf) == napi_ok)
      napi_resolve_deferred(env, j->deferred, buf);
    else
      co_reject_errno(env, j->deferred, ENOMEM, "diff", j->a);
  } else {
    co_reject_errno(env, j->deferred, j->err ? j->err : ECANCELED, j->syscall ? j->syscall : "diff",
                    j->path);
  }
  napi_delete_async_work(env, j->work);
  free(j->out.buf);
  free(j);
}

static napi_value diff_tree(napi_env env, napi_callback_info info) {
  size_t argc = 2, n;
  napi_value argv[2];
  diff_job_t *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "diffTree: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], j->a, sizeof j->a, &n) != napi_ok || n + 2 >= PATH_CAP ||
      napi_get_value_string_utf8(env, argv[1], j->b, sizeof j->b, &n) != napi_ok || n + 2 >= PATH_CAP) {
    free(j);
    napi_throw_type_error(env, NULL, "diffTree(orig, modified)");
    return NULL;
  }
  napi_value promise = co_queue_promise(env, "diffTree", execute, complete, j, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

void register_diff_tree(napi_env env, napi_value exports) {
  co_register(env, exports, "diffTree", diff_tree);
}
