/* The few Linux system calls that Node.js does not expose and that OSTree's formats need:
 * open-file-description locks (the lock the real ostree takes on REPO/.lock and ostree/lock),
 * syncfs(), and extended attributes (bare-user's user.ostreemeta, SELinux labels).
 * Everything else stays in TypeScript; this file only marshals arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "checkout_ops.h"

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "native argument error: " #call);                              \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, const char *path) {
  int err = errno;
  char msg[4096];
  snprintf(msg, sizeof msg, "%s: %s%s%s", syscall, strerror(err), path ? " " : "", path ? path : "");
  napi_value code, message, error, errnum, sc;
  const char *name = "EIO";
  switch (err) {
  case ENOENT: name = "ENOENT"; break;
  case EACCES: name = "EACCES"; break;
  case EPERM: name = "EPERM"; break;
  case ENOTSUP: name = "ENOTSUP"; break;
  case ENODATA: name = "ENODATA"; break;
  case ENOSPC: name = "ENOSPC"; break;
  case EBADF: name = "EBADF"; break;
  case EINVAL: name = "EINVAL"; break;
  case E2BIG: name = "E2BIG"; break;
  case ERANGE: name = "ERANGE"; break;
  case EAGAIN: name = "EAGAIN"; break;
  case EDQUOT: name = "EDQUOT"; break;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) return -1;
  return n + 1 >= len ? -1 : 0;
}

/* tryLock(fd, kind): kind 0 = unlock, 1 = shared, 2 = exclusive. Returns false if held elsewhere. */
static napi_value try_lock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, kind;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &kind));
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = kind == 0 ? F_UNLCK : kind == 1 ? F_RDLCK : F_WRLCK;
  fl.l_whence = SEEK_SET;
  napi_value result;
  if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
    if (errno == EAGAIN || errno == EACCES) {
      napi_get_boolean(env, 0, &result);
      return result;
    }
    return throw_errno(env, "fcntl(F_OFD_SETLK)", NULL);
  }
  napi_get_boolean(env, 1, &result);
  return result;
}

/* The first argument as a file descriptor; -1 (with an exception pending) when it is not one. */
static int32_t fd_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a file descriptor");
    return -1;
  }
  return fd;
}

static napi_value do_syncfs(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  if (fd < 0) return NULL;
  if (syncfs(fd) < 0) return throw_errno(env, "syncfs", NULL);
  return NULL;
}

/* syncfsStart(fd, callback): syncfs on the thread pool, then callback(). For writing back early
 * while the caller still has other work: errors are not reported, since the caller's final syncfs
 * is what makes data durable, and it reports them. */
typedef struct {
  napi_async_work work;
  napi_ref cb;
  int fd;
} early_sync_t;

static void early_sync_execute(napi_env env, void *data) {
  co_pool_thread();
  (void)env;
  (void)syncfs(((early_sync_t *)data)->fd);
}

static void early_sync_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  early_sync_t *j = data;
  napi_value cb, global;
  napi_get_reference_value(env, j->cb, &cb);
  napi_get_global(env, &global);
  napi_delete_reference(env, j->cb);
  napi_delete_async_work(env, j->work);
  free(j);
  napi_call_function(env, global, cb, 0, NULL, NULL);
}

static napi_value syncfs_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "syncfsStart(fd, callback)");
    return NULL;
  }
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  early_sync_t *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "syncfsStart: out of memory");
    return NULL;
  }
  j->fd = fd;
  napi_create_string_utf8(env, "tsostree:syncfs", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, early_sync_execute, early_sync_complete, j, &j->work) !=
      napi_ok) {
    free(j);
    napi_throw_error(env, NULL, "syncfsStart: cannot create the work");
    return NULL;
  }
  napi_create_reference(env, argv[1], 1, &j->cb);
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    napi_delete_reference(env, j->cb);
    napi_delete_async_work(env, j->work);
    free(j);
    napi_throw_error(env, NULL, "syncfsStart: cannot queue the work");
  }
  return NULL;
}

/* startWriteback(fd): starts writing the file's dirty pages to disk and returns without waiting
 * (sync_file_range WRITE), so that a later syncfs finds less to do. Errors are not reported: the
 * syncfs that follows is what makes the data durable, and it reports them. */
static napi_value start_writeback(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  if (fd >= 0) (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  return NULL;
}

/* First argument is a path (string, symlinks not followed) or a file descriptor (number). */
typedef struct {
  int fd;
  char path[4096];
} target_t;

static int get_target(napi_env env, napi_value v, target_t *t) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return -1;
  t->fd = -1;
  t->path[0] = 0;
  if (type == napi_number) return napi_get_value_int32(env, v, &t->fd) == napi_ok ? 0 : -1;
  return get_string(env, v, t->path, sizeof t->path);
}

static napi_value get_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  target_t t;
  char name[256];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_target(env, argv[0], &t) || get_string(env, argv[1], name, sizeof name)) {
    napi_throw_type_error(env, NULL, "getXattr(target, name)");
    return NULL;
  }
  char stackbuf[1024];
  char *buf = stackbuf;
  size_t cap = sizeof stackbuf;
  for (;;) {
    ssize_t n = t.fd >= 0 ? fgetxattr(t.fd, name, buf, cap) : lgetxattr(t.path, name, buf, cap);
    if (n >= 0) {
      napi_value out;
      void *data;
      napi_create_buffer_copy(env, (size_t)n, buf, &data, &out);
      if (buf != stackbuf) free(buf);
      return out;
    }
    if (errno == ERANGE) {
      ssize_t need = t.fd >= 0 ? fgetxattr(t.fd, name, NULL, 0) : lgetxattr(t.path, name, NULL, 0);
      if (need < 0) break;
      if (buf != stackbuf) free(buf);
      cap = (size_t)need + 1;
      buf = malloc(cap);
      if (!buf) return throw_errno(env, "malloc", NULL);
      continue;
    }
    break;
  }
  if (buf != stackbuf) free(buf);
  if (errno == ENODATA) {
    napi_value undef;
    napi_get_null(env, &undef);
    return undef;
  }
  return throw_errno(env, "getxattr", t.fd >= 0 ? NULL : t.path);
}

static napi_value set_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  target_t t;
  char name[256];
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_target(env, argv[0], &t) || get_string(env, argv[1], name, sizeof name) ||
      napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "setXattr(target, name, buffer)");
    return NULL;
  }
  int r = t.fd >= 0 ? fsetxattr(t.fd, name, data, len, 0) : lsetxattr(t.path, name, data, len, 0);
  if (r < 0) return throw_errno(env, "setxattr", t.fd >= 0 ? NULL : t.path);
  return NULL;
}

static napi_value list_xattrs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  target_t t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_target(env, argv[0], &t)) {
    napi_throw_type_error(env, NULL, "listXattrs(target)");
    return NULL;
  }
  ssize_t need = t.fd >= 0 ? flistxattr(t.fd, NULL, 0) : llistxattr(t.path, NULL, 0);
  if (need < 0) {
    if (errno == ENOTSUP) need = 0;
    else return throw_errno(env, "listxattr", t.fd >= 0 ? NULL : t.path);
  }
  napi_value arr;
  napi_create_array(env, &arr);
  if (need == 0) return arr;
  char *buf = malloc((size_t)need);
  if (!buf) return throw_errno(env, "malloc", NULL);
  ssize_t n = t.fd >= 0 ? flistxattr(t.fd, buf, (size_t)need) : llistxattr(t.path, buf, (size_t)need);
  if (n < 0) {
    free(buf);
    return throw_errno(env, "listxattr", t.fd >= 0 ? NULL : t.path);
  }
  uint32_t i = 0;
  for (ssize_t off = 0; off < n;) {
    size_t l = strlen(buf + off);
    napi_value s;
    napi_create_string_utf8(env, buf + off, l, &s);
    napi_set_element(env, arr, i++, s);
    off += (ssize_t)l + 1;
  }
  free(buf);
  return arr;
}

/* scanDir(path[, suffix]): every entry of a directory with its lstat, in one call, for tree walks
 * that would otherwise pay for a JS Stats object per file. Returns { names: string[], stats:
 * Float64Array } with SCAN_FIELDS numbers per entry: mode, uid, gid, size, ino, nlink, dev. With
 * `suffix`, only names ending in it are listed (and stat'ed). Entries that vanish between readdir
 * and fstatat are skipped. */
#define SCAN_FIELDS 7
static napi_value scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096], suffix[64] = "";
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t2 = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t2);
  if (argc < 1 || get_string(env, argv[0], path, sizeof path) ||
      (t2 == napi_string && get_string(env, argv[1], suffix, sizeof suffix))) {
    napi_throw_type_error(env, NULL, "scanDir(path[, suffix])");
    return NULL;
  }
  size_t suffix_len = strlen(suffix);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return throw_errno(env, "open", path);
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return throw_errno(env, "fdopendir", path);
  }
  size_t cap = 64, n = 0;
  double *vals = malloc(cap * SCAN_FIELDS * sizeof(double));
  napi_value names;
  napi_create_array(env, &names);
  struct dirent *de;
  errno = 0;
  while (vals && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' && (de->d_name[1] == 0 || (de->d_name[1] == '.' && de->d_name[2] == 0))) continue;
    if (suffix_len) {
      size_t l = strlen(de->d_name);
      if (l < suffix_len || memcmp(de->d_name + l - suffix_len, suffix, suffix_len) != 0) continue;
    }
    struct stat st;
    if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) { errno = 0; continue; }
      int err = errno;
      free(vals);
      closedir(d);
      errno = err;
      return throw_errno(env, "fstatat", de->d_name);
    }
    if (n == cap) {
      cap *= 2;
      double *nv = realloc(vals, cap * SCAN_FIELDS * sizeof(double));
      if (!nv) { free(vals); vals = NULL; break; }
      vals = nv;
    }
    double *v = vals + n * SCAN_FIELDS;
    v[0] = st.st_mode; v[1] = st.st_uid; v[2] = st.st_gid; v[3] = (double)st.st_size;
    v[4] = (double)st.st_ino; v[5] = (double)st.st_nlink; v[6] = (double)st.st_dev;
    napi_value s;
    napi_create_string_utf8(env, de->d_name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, names, (uint32_t)n, s);
    n++;
    errno = 0;
  }
  int rerr = errno;
  closedir(d);
  if (!vals) return throw_errno(env, "malloc", NULL);
  if (rerr) {
    free(vals);
    errno = rerr;
    return throw_errno(env, "readdir", path);
  }
  napi_value ab, arr, out;
  void *abdata;
  napi_create_arraybuffer(env, n * SCAN_FIELDS * sizeof(double), &abdata, &ab);
  if (n) memcpy(abdata, vals, n * SCAN_FIELDS * sizeof(double));
  free(vals);
  napi_create_typedarray(env, napi_float64_array, n * SCAN_FIELDS, ab, 0, &arr);
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "names", names);
  napi_set_named_property(env, out, "stats", arr);
  return out;
}

void register_checkout_ops(napi_env env, napi_value exports); /* checkout_ops.c */
void register_checkout_tree(napi_env env, napi_value exports); /* checkout_tree.c */
void register_copy_tree(napi_env env, napi_value exports);     /* copy_tree.c */
void register_diff_tree(napi_env env, napi_value exports);     /* diff_tree.c */
void register_inflate_hash(napi_env env, napi_value exports);  /* inflate_hash.c */
void register_bspatch(napi_env env, napi_value exports);       /* bspatch.c */
void register_assemble(napi_env env, napi_value exports);      /* assemble.c */
void register_remove_tree(napi_env env, napi_value exports);   /* remove_tree.c */
void register_decoder(napi_env env, napi_value exports);      /* decoder.c */
void register_encoder(napi_env env, napi_value exports);      /* encoder.c */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tryLock", NULL, try_lock, NULL, NULL, NULL, napi_default, NULL},
      {"syncfs", NULL, do_syncfs, NULL, NULL, NULL, napi_default, NULL},
      {"startWriteback", NULL, start_writeback, NULL, NULL, NULL, napi_default, NULL},
      {"syncfsStart", NULL, syncfs_start, NULL, NULL, NULL, napi_default, NULL},
      {"getXattr", NULL, get_xattr, NULL, NULL, NULL, napi_default, NULL},
      {"setXattr", NULL, set_xattr, NULL, NULL, NULL, napi_default, NULL},
      {"listXattrs", NULL, list_xattrs, NULL, NULL, NULL, napi_default, NULL},
      {"scanDir", NULL, scan_dir, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  register_checkout_ops(env, exports);
  register_checkout_tree(env, exports);
  register_copy_tree(env, exports);
  register_diff_tree(env, exports);
  register_inflate_hash(env, exports);
  register_bspatch(env, exports);
  register_assemble(env, exports);
  register_remove_tree(env, exports);
  register_decoder(env, exports);
  register_encoder(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
