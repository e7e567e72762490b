/* A whole hardlink checkout in C, off the JavaScript thread: checkoutTree walks the dirtree objects
 * itself (reading, verifying and parsing each one) and makes every directory and link, where
 * checkoutStart/Push/Finish run a plan that TypeScript builds while it walks. Used where nothing
 * else has to happen on the walk (a commit's whole tree into an empty directory, in a bare or
 * bare-user repo), e.g. the base of a layered deployment while the layered commit is assembled.
 *
 * checkoutTree(objectsDir, rootTree, rootMeta, dest, flags) -> Promise<{ codes, info, metas }>
 *   rootTree/rootMeta: 32-byte Buffers; dest exists (it becomes the root directory).
 *   flags: those of checkoutStart. Directories are chowned (never in CO_USER_MODE) when their owner
 *   is not the caller, and so is the root, which the caller made: the directories the walk makes
 *   inherit no group, since a parent's mode (setgid too) is set only after its contents.
 *   codes/info: as checkoutFinish (pairs of (report number, code); per pair the checksum and the
 *   path), with CODE_COPY, EXDEV and EMLINK (under CO_COPY_OK) left for the caller to create, plus
 *   CODE_XATTRS (a directory whose dirmeta, the checksum, has xattrs for the caller to set) and the
 *   codes that end the walk: errno, CODE_MISSING, CODE_NOMETA, CODE_TREE_MISSING/CODE_META_MISSING
 *   (no such dirtree/dirmeta: the checksum), CODE_TREE_CORRUPT/CODE_META_CORRUPT (its bytes do not
 *   hash to its name, or it is not a valid dirtree/dirmeta: the dirtree normal-form and name rules
 *   of src/repo/dirtree-reader.ts).
 *   metas: checkoutDirMeta's plan for every directory, children before parents; the caller runs
 *   it after creating the reported files.
 *   skip (optional, "" for none): a directory, relative to dest, that another call checks out at the
 *   same time (on another pool thread): the caller made it and its parents, so the walk neither
 *   makes nor enters it, and takes its parents as it finds them.
 *   cancel (optional): a Buffer of at least 4 bytes; once the caller sets its first int32 to non-zero
 *   the walk stops at the next file or directory, reporting ECANCELED (what it made stays, for the
 *   caller to remove). */
#define _GNU_SOURCE
#include <openssl/evp.h>
#include "checkout_ops.h"

#define CODE_XATTRS -4
#define CODE_TREE_MISSING -5
#define CODE_TREE_CORRUPT -6
#define CODE_META_MISSING -7
#define CODE_META_CORRUPT -8

typedef struct {
  uint8_t *b;
  size_t len, cap;
} buf_t;

typedef struct {
  /* inputs */
  char objects[PATH_CAP];
  size_t objlen;
  char dest[PATH_CAP];
  uint8_t root_tree[32], root_meta[32];
  int flags;
  /* state */
  int objfd;
  uid_t euid;
  gid_t egid;
  int stop; /* a code that ends the walk was reported; -2 out of memory */
  int32_t *cancel;
  napi_ref cancel_ref;
  char skip[PATH_CAP]; /* dest + "/" + the skipped directory, or "" */
  size_t skiplen;
  pairs_t codes;
  buf_t info, metas;
  int32_t nreports;
  /* dirmetas seen: few distinct per tree */
  struct {
    uint8_t csum[32];
    uint32_t uid, gid, mode;
    int xattrs;
  } dm[64];
  int ndm;
  napi_async_work work;
  napi_deferred deferred;
} tree_job_t;

static int buf_put(buf_t *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16384;
    while (cap < b->len + n) cap *= 2;
    uint8_t *nb = realloc(b->b, cap);
    if (!nb) return -1;
    b->b = nb;
    b->cap = cap;
  }
  memcpy(b->b + b->len, p, n);
  b->len += n;
  return 0;
}

static void report(tree_job_t *j, int code, const uint8_t *csum, const char *path, int fatal) {
  size_t n = strlen(path);
  uint8_t head[34];
  if (csum) memcpy(head, csum, 32);
  else memset(head, 0, 32);
  head[32] = n & 0xff;
  head[33] = (n >> 8) & 0xff;
  if (co_push(&j->codes, j->nreports++, code) || buf_put(&j->info, head, 34) || buf_put(&j->info, path, n)) {
    j->stop = -2;
    return;
  }
  if (fatal) j->stop = 1;
}

static void object_rel(char *out, const uint8_t *csum, const char *suffix) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 32; i++) {
    out[o++] = hex[csum[i] >> 4];
    out[o++] = hex[csum[i] & 15];
    if (i == 0) out[o++] = '/';
  }
  strcpy(out + o, suffix);
}

/* Reads objects/xx/rest.SUFFIX whole and checks its SHA-256: 0, or a code. */
static int load_meta(tree_job_t *j, const uint8_t *csum, const char *suffix, buf_t *out) {
  int tree = suffix[4] == 't'; /* .dirtree or .dirmeta */
  int missing = tree ? CODE_TREE_MISSING : CODE_META_MISSING, corrupt = tree ? CODE_TREE_CORRUPT : CODE_META_CORRUPT;
  char rel[80];
  object_rel(rel, csum, suffix);
  int fd = openat(j->objfd, rel, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? missing : errno;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  out->len = 0;
  size_t want = (size_t)st.st_size;
  if (want + 1 > out->cap) {
    uint8_t *nb = realloc(out->b, want + 1);
    if (!nb) {
      close(fd);
      return ENOMEM;
    }
    out->b = nb;
    out->cap = want + 1;
  }
  while (out->len < want) {
    ssize_t n = read(fd, out->b + out->len, want - out->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->len += (size_t)n;
  }
  close(fd);
  if (out->len != want) return corrupt;
  uint8_t md[32];
  unsigned int mdlen = 0;
  if (!EVP_Digest(out->b, out->len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32 || memcmp(md, csum, 32))
    return corrupt;
  return 0;
}

/* GVariant framing (see src/repo/dirtree-reader.ts). */
static size_t width_for(size_t total) {
  return total == 0 ? 0 : total <= 0xff ? 1 : total <= 0xffff ? 2 : 4;
}

static size_t read_off(const uint8_t *b, size_t w) {
  return w == 1 ? b[0] : w == 2 ? (size_t)(b[0] | b[1] << 8) : (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
}

/* The element ends of a variable-element array at b[start, end): *n of them at *table (offsets
 * relative to start, each `w` wide); -1 when the framing is invalid. */
static int array_frame(const uint8_t *b, size_t start, size_t end, size_t *n, const uint8_t **table, size_t *w) {
  size_t size = end - start;
  *n = 0;
  if (size == 0) return 0;
  *w = width_for(size);
  if (size < *w) return -1;
  size_t tstart = read_off(b + end - *w, *w);
  if (tstart > size || (size - tstart) % *w || size == tstart) return -1;
  *n = (size - tstart) / *w;
  *table = b + start + tstart;
  size_t prev = 0;
  for (size_t i = 0; i < *n; i++) {
    size_t e = read_off(*table + i * *w, *w);
    if (e < prev || e > tstart) return -1;
    prev = e;
  }
  return prev == tstart ? 0 : -1;
}

static int valid_utf8(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t k;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0) k = 1, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) k = 2, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) k = 3, cp = c & 0x07;
    else return 0;
    if (n - i <= k) return 0;
    for (size_t m = 1; m <= k; m++) {
      if ((s[i + m] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (s[i + m] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += k + 1;
  }
  return 1;
}

/* A name at b[start, str_end) with its NUL: ostree's rules; 0 or -1. */
static int check_name(const uint8_t *b, size_t start, size_t str_end) {
  if (str_end <= start + 1 || b[str_end - 1] != 0) return -1;
  size_t n = str_end - 1 - start;
  const uint8_t *s = b + start;
  if (memchr(s, 0, n) || memchr(s, '/', n)) return -1;
  if (s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.'))) return -1;
  return valid_utf8(s, n) ? 0 : -1;
}

static int name_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  return c ? c : an < bn ? -1 : an > bn ? 1 : 0;
}

static int dirmeta_of(tree_job_t *j, const uint8_t *csum, int *slot) {
  for (int i = 0; i < j->ndm; i++)
    if (!memcmp(j->dm[i].csum, csum, 32)) {
      *slot = i;
      return 0;
    }
  buf_t m = {0};
  int code = load_meta(j, csum, ".dirmeta", &m);
  if (!code && m.len < 12) code = CODE_META_CORRUPT;
  if (code) {
    free(m.b);
    return code;
  }
  int i = j->ndm < 64 ? j->ndm++ : 63; /* (more than 64 distinct: the last slot is reused) */
  memcpy(j->dm[i].csum, csum, 32);
  j->dm[i].uid = (uint32_t)m.b[0] << 24 | m.b[1] << 16 | m.b[2] << 8 | m.b[3];
  j->dm[i].gid = (uint32_t)m.b[4] << 24 | m.b[5] << 16 | m.b[6] << 8 | m.b[7];
  j->dm[i].mode = (uint32_t)m.b[8] << 24 | m.b[9] << 16 | m.b[10] << 8 | m.b[11];
  j->dm[i].xattrs = m.len > 12;
  free(m.b);
  *slot = i;
  return 0;
}

static void put_le32(uint8_t *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

/* Appends "/name" to path[plen] (the caller cuts it off again); -1 after reporting a path too long. */
static int child_path(tree_job_t *j, char *path, size_t plen, const uint8_t *name, size_t nlen,
                      const uint8_t *csum) {
  if (plen + 1 + nlen >= PATH_CAP) {
    report(j, ENAMETOOLONG, csum, path, 1);
    return -1;
  }
  path[plen] = '/';
  memcpy(path + plen + 1, name, nlen);
  path[plen + 1 + nlen] = 0;
  return 0;
}

/* Whether the caller asked the walk to stop (then reported, ending it). */
static int cancelled(tree_job_t *j, const char *path) {
  if (!j->cancel || !__atomic_load_n(j->cancel, __ATOMIC_RELAXED)) return 0;
  report(j, ECANCELED, NULL, path, 1);
  return 1;
}

/* Checks out dirtree `tree` into `path` (which exists; path has room to PATH_CAP), then queues
 * its dirmeta. */
static void walk(tree_job_t *j, char *path, size_t plen, const uint8_t *tree, const uint8_t *meta) {
  buf_t t = {0};
  int code = load_meta(j, tree, ".dirtree", &t);
  if (code) {
    report(j, code, tree, path, 1);
    free(t.b);
    return;
  }
  const uint8_t *b = t.b;
  size_t total = t.len, w = width_for(total), nf = 0, nd = 0, fw = 0, dw = 0;
  const uint8_t *ft = NULL, *dt = NULL;
  size_t files_end = total >= w && total ? read_off(b + total - w, w) : (size_t)-1;
  if (total == 0 || files_end > total - w || array_frame(b, 0, files_end, &nf, &ft, &fw) ||
      array_frame(b, files_end, total - w, &nd, &dt, &dw))
    goto corrupt;
  int dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    report(j, errno, NULL, path, 1);
    free(t.b);
    return;
  }
  char rel[80];
  char src[PATH_CAP];
  memcpy(src, j->objects, j->objlen);
  src[j->objlen] = '/';
  size_t start = 0, prev = 0, prev_len = 0;
  int have_prev = 0;
  for (size_t i = 0; i < nf && !j->stop && !cancelled(j, path); i++) {
    size_t end = read_off(ft + i * fw, fw);
    size_t ew = width_for(end - start);
    if (end - start < ew) goto corrupt_fd;
    size_t str_end = start + read_off(b + end - ew, ew);
    if (str_end > end - ew || str_end <= start || check_name(b, start, str_end) || end - ew - str_end != 32)
      goto corrupt_fd;
    size_t nlen = str_end - 1 - start;
    if (have_prev && name_cmp(b + start, nlen, b + prev, prev_len) <= 0) goto corrupt_fd;
    have_prev = 1, prev = start, prev_len = nlen;
    const uint8_t *csum = b + str_end;
    object_rel(rel, csum, ".file");
    strcpy(src + j->objlen + 1, rel);
    if (child_path(j, path, plen, b + start, nlen, csum)) break;
    code = co_verdict(j->objfd, rel, src, j->flags);
    if (!code && linkat(j->objfd, rel, dfd, path + plen + 1, 0) < 0) code = errno;
    if (code) {
      int ok = code == CODE_COPY || ((j->flags & CO_COPY_OK) && (code == EXDEV || code == EMLINK));
      report(j, code, csum, path, !ok);
    }
    path[plen] = 0;
    start = end;
  }
  close(dfd);
  /* Directories: names sorted, none also a file (both arrays sorted: one merge pass). */
  start = files_end;
  have_prev = 0;
  size_t fi = 0, fstart = 0;
  for (size_t i = 0; i < nd && !j->stop && !cancelled(j, path); i++) {
    size_t end = files_end + read_off(dt + i * dw, dw);
    size_t ew = width_for(end - start);
    if (end - start < 2 * ew) goto corrupt;
    size_t str_end = start + read_off(b + end - ew, ew);
    size_t tree_end = start + read_off(b + end - 2 * ew, ew);
    if (str_end <= start || str_end > tree_end || tree_end > end - 2 * ew || check_name(b, start, str_end) ||
        tree_end - str_end != 32 || end - 2 * ew - tree_end != 32)
      goto corrupt;
    size_t nlen = str_end - 1 - start;
    if (have_prev && name_cmp(b + start, nlen, b + prev, prev_len) <= 0) goto corrupt;
    have_prev = 1, prev = start, prev_len = nlen;
    for (; fi < nf; fi++) {
      size_t fend = read_off(ft + fi * fw, fw), few = width_for(fend - fstart);
      size_t fstr = fstart + read_off(b + fend - few, few);
      int c = name_cmp(b + start, nlen, b + fstart, fstr - 1 - fstart);
      if (c == 0) goto corrupt;
      if (c < 0) break;
      fstart = fend;
    }
    if (child_path(j, path, plen, b + start, nlen, NULL)) break;
    size_t clen = plen + 1 + nlen;
    int skipped = j->skiplen == clen && !memcmp(path, j->skip, clen);
    int above = j->skiplen > clen && j->skip[clen] == '/' && !memcmp(path, j->skip, clen);
    if (!skipped) { /* (else another call's) */
      if (mkdir(path, 0700) < 0 && !(above && errno == EEXIST)) report(j, errno, NULL, path, 1);
      else walk(j, path, clen, b + str_end, b + tree_end);
    }
    path[plen] = 0;
    start = end;
  }
  free(t.b);
  if (j->stop) return;
  int slot;
  code = dirmeta_of(j, meta, &slot);
  if (code) {
    report(j, code, meta, path, 1);
    return;
  }
  uint32_t uid = j->dm[slot].uid, gid = j->dm[slot].gid;
  int is_root = !strcmp(path, j->dest);
  int chown_it = !(j->flags & CO_USER_MODE) && (is_root || uid != j->euid || gid != j->egid);
  uint8_t rec[15];
  rec[0] = 'M';
  put_le32(rec + 1, j->dm[slot].mode);
  put_le32(rec + 5, chown_it ? uid : 0xffffffffu);
  put_le32(rec + 9, chown_it ? gid : 0xffffffffu);
  rec[13] = plen & 0xff;
  rec[14] = (plen >> 8) & 0xff;
  if (buf_put(&j->metas, rec, 15) || buf_put(&j->metas, path, plen)) j->stop = -2;
  if (j->dm[slot].xattrs && !(j->flags & CO_USER_MODE)) report(j, CODE_XATTRS, meta, path, 0);
  return;
corrupt_fd:
  close(dfd);
corrupt:
  free(t.b);
  report(j, CODE_TREE_CORRUPT, tree, path, 1);
}

static void execute(napi_env env, void *data) {
  co_pool_thread();
  (void)env;
  tree_job_t *j = data;
  j->objfd = open(j->objects, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (j->objfd < 0) {
    report(j, errno, NULL, j->objects, 1);
    return;
  }
  char path[PATH_CAP];
  strcpy(path, j->dest);
  walk(j, path, strlen(path), j->root_tree, j->root_meta);
  close(j->objfd);
}

static napi_value to_buffer(napi_env env, buf_t *b) {
  napi_value v;
  void *data;
  if (napi_create_buffer_copy(env, b->len, b->len ? (void *)b->b : "", &data, &v) != napi_ok) return NULL;
  return v;
}

static void complete(napi_env env, napi_status status, void *data) {
  tree_job_t *j = data;
  napi_value result = NULL, err;
  if (status == napi_ok && j->stop != -2) {
    napi_create_object(env, &result);
    napi_value codes = co_int32_array(env, &j->codes);
    j->codes.v = NULL;
    napi_value info = to_buffer(env, &j->info), metas = to_buffer(env, &j->metas);
    if (codes && info && metas) {
      napi_set_named_property(env, result, "codes", codes);
      napi_set_named_property(env, result, "info", info);
      napi_set_named_property(env, result, "metas", metas);
    } else result = NULL;
  }
  if (result) napi_resolve_deferred(env, j->deferred, result);
  else {
    napi_value msg;
    napi_create_string_utf8(env, "checkoutTree: out of memory", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, j->deferred, err);
  }
  napi_delete_async_work(env, j->work);
  if (j->cancel_ref) napi_delete_reference(env, j->cancel_ref);
  free(j->codes.v);
  free(j->info.b);
  free(j->metas.b);
  free(j);
}

static int get_csum(napi_env env, napi_value v, uint8_t *out) {
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, v, &data, &len) != napi_ok || len != 32) return -1;
  memcpy(out, data, 32);
  return 0;
}

static napi_value checkout_tree(napi_env env, napi_callback_info info) {
  size_t argc = 7, dlen;
  napi_value argv[7];
  int32_t flags;
  tree_job_t *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "checkoutTree: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 ||
      napi_get_value_string_utf8(env, argv[0], j->objects, sizeof j->objects, &j->objlen) != napi_ok ||
      j->objlen + 80 >= sizeof j->objects || get_csum(env, argv[1], j->root_tree) ||
      get_csum(env, argv[2], j->root_meta) ||
      napi_get_value_string_utf8(env, argv[3], j->dest, sizeof j->dest, &dlen) != napi_ok ||
      dlen + 2 >= sizeof j->dest || napi_get_value_int32(env, argv[4], &flags) != napi_ok) {
    free(j);
    napi_throw_type_error(env, NULL, "checkoutTree(objectsDir, rootTree, rootMeta, dest, flags[, cancel[, skip]])");
    return NULL;
  }
  if (argc >= 6) {
    void *flag;
    size_t len;
    napi_valuetype type;
    napi_typeof(env, argv[5], &type);
    if (type != napi_undefined) {
      if (napi_get_buffer_info(env, argv[5], &flag, &len) != napi_ok || len < 4 ||
          napi_create_reference(env, argv[5], 1, &j->cancel_ref) != napi_ok) {
        free(j);
        napi_throw_type_error(env, NULL, "checkoutTree: cancel must be a Buffer of 4 bytes or more");
        return NULL;
      }
      j->cancel = flag;
    }
  }
  if (argc >= 7) {
    size_t n = 0;
    char rel[PATH_CAP];
    if (napi_get_value_string_utf8(env, argv[6], rel, sizeof rel, &n) != napi_ok || dlen + 1 + n >= PATH_CAP) {
      if (j->cancel_ref) napi_delete_reference(env, j->cancel_ref);
      free(j);
      napi_throw_type_error(env, NULL, "checkoutTree: skip must be a relative path");
      return NULL;
    }
    if (n) j->skiplen = (size_t)snprintf(j->skip, sizeof j->skip, "%s/%s", j->dest, rel);
  }
  j->flags = flags;
  j->euid = geteuid();
  j->egid = getegid();
  napi_value promise = co_queue_promise(env, "checkoutTree", execute, complete, j, &j->work, &j->deferred);
  if (!promise) {
    if (j->cancel_ref) napi_delete_reference(env, j->cancel_ref);
    free(j);
  }
  return promise;
}

void register_checkout_tree(napi_env env, napi_value exports) {
  co_register(env, exports, "checkoutTree", checkout_tree);
}
