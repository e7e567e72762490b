/* The threaded run of a checkout plan: checkoutStart, checkoutPush, checkoutFinish (the encoding
 * and codes are described in checkout_ops.c). */
#define _GNU_SOURCE
#include "checkout_ops.h"

/* One checkout run: the plan arrives in chunks while TypeScript is still walking dirtrees, and a
 * thread of its own executes them in order, so parsing and syscalls overlap on two cores; once
 * the walk is done, the caller's thread (in checkoutFinish) takes queued chunks too. Every chunk
 * after the first starts with its current directory ('C'), so the only dependency between chunks
 * is that a directory exists: an op failing with ENOENT waits until every earlier chunk is done
 * and is tried once more. Each chunk keeps its own report; finish concatenates them in order. */
typedef struct {
  pairs_t codes;
  uint8_t *info; /* see the header */
  size_t info_len, info_cap;
} report_t;

typedef struct {
  const uint8_t *data;
  size_t len;
  report_t rep;
} chunk_t;

typedef struct {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* By sequence number; data freed once run. Each chunk is allocated on its own: checkoutPush grows
   * this array while a thread runs a chunk and writes its report, which must not move. */
  chunk_t **chunks;
  uint8_t *done;
  size_t n, cap, next; /* pushed, capacity, first not yet taken */
  size_t done_through; /* chunks [0, done_through) are all done */
  int threaded, closing, cancel, finished;
  volatile int stop; /* 1 fatal code reported, -1 malformed plan, -2 out of memory */
  int flags;
  size_t objlen;
  int objfd; /* objects/, or -1: then every op goes by full path */
  char objects[PATH_CAP];
} run_t;

/* Per-thread scratch paths, and the current directory opened (O_PATH) or -1: ops go through
 * objfd and dirfd when both are open (as ostree's *at calls do: no path walk per file), by full
 * path otherwise. */
typedef struct {
  char src[PATH_CAP], dst[PATH_CAP], dir[PATH_CAP];
  size_t dirlen;
  int dirfd;
} paths_t;

static void open_dir(paths_t *ps) {
  if (ps->dirfd >= 0) close(ps->dirfd);
  ps->dirfd = open(ps->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* link(src, dst), through the directory fds when open. */
static int link_op(run_t *r, paths_t *ps) {
  if (r->objfd >= 0 && ps->dirfd >= 0)
    return linkat(r->objfd, ps->src + r->objlen + 1, ps->dirfd, ps->dst + ps->dirlen + 1, 0);
  return link(ps->src, ps->dst);
}

static int report(report_t *rep, int32_t index, int code, const uint8_t *csum, const char *path) {
  size_t n = strlen(path);
  if (rep->info_len + 34 + n > rep->info_cap) {
    size_t cap = rep->info_cap ? rep->info_cap * 2 : 4096;
    while (cap < rep->info_len + 34 + n) cap *= 2;
    uint8_t *ni = realloc(rep->info, cap);
    if (!ni) return -1;
    rep->info = ni;
    rep->info_cap = cap;
  }
  if (co_push(&rep->codes, index, code)) return -1;
  uint8_t *p = rep->info + rep->info_len;
  if (csum) memcpy(p, csum, 32);
  else memset(p, 0, 32);
  p[32] = n & 0xff;
  p[33] = n >> 8;
  memcpy(p + 34, path, n);
  rep->info_len += 34 + n;
  return 0;
}

/* Blocks until every chunk before `seq` is done (a directory this one needs may be in one). */
static void wait_earlier(run_t *r, size_t seq) {
  if (!r->threaded) return;
  pthread_mutex_lock(&r->mu);
  while (r->done_through < seq && !r->stop) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
}

static void run_chunk(run_t *r, chunk_t *c, size_t seq, paths_t *ps) {
  static const char hex[] = "0123456789abcdef";
  const uint8_t *plan = c->data;
  size_t len = c->len;
  char *src = ps->src, *dst = ps->dst;
  memcpy(src, r->objects, r->objlen);
  /* src is "OBJECTS/xx/" + 62 hex digits + ".file"; only the checksum part changes. */
  src[r->objlen] = '/';
  src[r->objlen + 3] = '/';
  memcpy(src + r->objlen + 66, ".file", 6);
  int waited = seq == 0;
  for (size_t pos = 0, index = 0; pos < len && !r->stop; index++) {
    uint8_t op = plan[pos++];
    const uint8_t *csum = NULL;
    int code = 0;
    if (op == 'D' || op == 'C') {
      if (co_read_path(plan, len, &pos, ps->dir, PATH_CAP)) goto bad_plan;
      ps->dirlen = strlen(ps->dir);
      memcpy(dst, ps->dir, ps->dirlen + 1);
      if (op == 'D' && mkdir(dst, 0700) < 0) code = errno;
      if (code == ENOENT && !waited) {
        wait_earlier(r, seq);
        waited = 1;
        if (mkdir(dst, 0700) == 0) code = 0;
        else code = errno;
      }
      /* (A 'C' directory may still be in the making by an earlier chunk: then -1 until a link
       * fails with ENOENT and waits.) */
      if (r->objfd >= 0) open_dir(ps);
    } else if (op == 'L') {
      if (pos + 32 > len || ps->dirlen == 0) goto bad_plan;
      csum = plan + pos;
      for (size_t i = 0, o = r->objlen + 1; i < 32; i++) {
        if (i == 1) o++; /* the '/' after the first byte's two digits */
        src[o++] = hex[csum[i] >> 4];
        src[o++] = hex[csum[i] & 15];
      }
      pos += 32;
      /* dst = dir "/" name */
      memcpy(dst, ps->dir, ps->dirlen);
      dst[ps->dirlen] = '/';
      int rp = co_read_path(plan, len, &pos, dst + ps->dirlen + 1, PATH_CAP - ps->dirlen - 1);
      if (rp < 0) goto bad_plan;
      if (rp) {
        dst[ps->dirlen] = 0;
        code = rp;
      } else {
        code = r->objfd >= 0 ? co_verdict(r->objfd, src + r->objlen + 1, src, r->flags)
                             : co_verdict(AT_FDCWD, src, src, r->flags);
        if (code == 0 && link_op(r, ps) < 0) code = errno;
        if (code == ENOENT && !waited) {
          wait_earlier(r, seq);
          waited = 1;
          if (r->objfd >= 0 && ps->dirfd < 0) open_dir(ps);
          code = link_op(r, ps) < 0 ? errno : 0;
        }
      }
    } else {
      goto bad_plan;
    }
    if (code == 0) continue;
    if (report(&c->rep, (int32_t)index, code, csum, dst)) {
      r->stop = -2;
      return;
    }
    if (code != CODE_COPY && !((r->flags & CO_COPY_OK) && (code == EXDEV || code == EMLINK))) r->stop = 1;
  }
  return;
bad_plan:
  r->stop = -1;
}

/* Takes and runs queued chunks until there are none (and, for the worker, until closing). */
static void drain(run_t *r, int wait_for_more) {
  paths_t *ps = malloc(sizeof *ps);
  if (ps) ps->dirfd = -1;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (wait_for_more && r->next == r->n && !r->closing) pthread_cond_wait(&r->cv, &r->mu);
    if (r->next == r->n) break;
    size_t seq = r->next++;
    chunk_t *c = r->chunks[seq];
    int skip = r->cancel || r->stop || !ps;
    pthread_mutex_unlock(&r->mu);
    if (!skip) run_chunk(r, c, seq, ps);
    else if (!ps && !r->stop) r->stop = -2;
    pthread_mutex_lock(&r->mu);
    free((void *)c->data);
    c->data = NULL;
    r->done[seq] = 1;
    while (r->done_through < r->n && r->done[r->done_through]) r->done_through++;
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  if (ps && ps->dirfd >= 0) close(ps->dirfd);
  free(ps);
}

static void *worker(void *arg) {
  co_pool_thread();
  drain(arg, 1);
  return NULL;
}

/* Runs what is left (helping the thread), waits for it, and releases the queue's plan data. */
static void end_run(run_t *r, int cancel) {
  if (r->finished) return;
  r->finished = 1;
  pthread_mutex_lock(&r->mu);
  r->cancel |= cancel;
  r->closing = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  drain(r, 0);
  if (r->threaded) pthread_join(r->thread, NULL);
}

static void finalize_run(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  run_t *r = data;
  end_run(r, 1);
  for (size_t i = 0; i < r->n; i++) {
    free((void *)r->chunks[i]->data);
    free(r->chunks[i]->rep.codes.v);
    free(r->chunks[i]->rep.info);
    free(r->chunks[i]);
  }
  free(r->chunks);
  free(r->done);
  if (r->objfd >= 0) close(r->objfd);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}

static run_t *get_run(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return data;
}

/* checkoutStart(objectsDir, flags) -> run */
napi_value co_checkout_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ext;
  int32_t flags;
  run_t *r = calloc(1, sizeof *r);
  if (!r || pthread_mutex_init(&r->mu, NULL) || pthread_cond_init(&r->cv, NULL)) {
    free(r); /* (mutex and cond hold no resources on Linux) */
    napi_throw_error(env, NULL, "checkoutStart: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], r->objects, sizeof r->objects, &r->objlen) != napi_ok ||
      r->objlen + 72 >= sizeof r->objects || napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
    free(r);
    napi_throw_type_error(env, NULL, "checkoutStart(objectsDir, flags)");
    return NULL;
  }
  r->flags = flags;
  r->objfd = open(r->objects, O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* Without a thread, chunks wait in the queue and finish runs them. */
  r->threaded = pthread_create(&r->thread, NULL, worker, r) == 0;
  if (napi_create_external(env, r, finalize_run, NULL, &ext) != napi_ok) {
    finalize_run(env, r, NULL);
    napi_throw_error(env, NULL, "checkoutStart: cannot create the run");
    return NULL;
  }
  return ext;
}

/* checkoutPush(run, plan): queues a copy of the plan chunk. */
napi_value co_checkout_push(napi_env env, napi_callback_info info) {
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
  uint8_t *copy = malloc(len ? len : 1);
  chunk_t *chunk = calloc(1, sizeof *chunk);
  if (!copy || !chunk) {
    free(copy);
    free(chunk);
    goto oom;
  }
  memcpy(copy, plan, len);
  chunk->data = copy;
  chunk->len = len;
  pthread_mutex_lock(&r->mu);
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    chunk_t **nc = realloc(r->chunks, cap * sizeof *nc);
    if (nc) r->chunks = nc;
    uint8_t *nd = nc ? realloc(r->done, cap) : NULL;
    if (nd) r->done = nd;
    if (!nc || !nd) {
      pthread_mutex_unlock(&r->mu);
      free(copy);
      free(chunk);
      goto oom;
    }
    r->cap = cap;
  }
  r->chunks[r->n] = chunk;
  r->done[r->n++] = 0;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return NULL;
oom:
  napi_throw_error(env, NULL, "checkoutPush: out of memory");
  return NULL;
}

/* checkoutFinish(run, cancel) -> { codes, info }, once every chunk has run (see the header). */
napi_value co_checkout_finish(napi_env env, napi_callback_info info) {
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
  /* Op indexes become global: chunk by chunk, in order. */
  size_t ncodes = 0, ninfo = 0;
  for (size_t i = 0; i < r->n; i++) {
    ncodes += r->chunks[i]->rep.codes.n;
    ninfo += r->chunks[i]->rep.info_len;
  }
  napi_value result, codes, ab, info_buf;
  int32_t *cv;
  uint8_t *iv;
  if (napi_create_arraybuffer(env, ncodes * sizeof(int32_t), (void **)&cv, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, ncodes, ab, 0, &codes) != napi_ok ||
      napi_create_buffer(env, ninfo, (void **)&iv, &info_buf) != napi_ok) {
    napi_throw_error(env, NULL, "checkout: out of memory");
    return NULL;
  }
  for (size_t i = 0; i < r->n; i++) {
    report_t *rep = &r->chunks[i]->rep;
    if (rep->codes.n) memcpy(cv, rep->codes.v, rep->codes.n * sizeof(int32_t));
    for (size_t k = 0; k < rep->codes.n; k += 2) cv[k] = (int32_t)i; /* (chunk, code) */
    cv += rep->codes.n;
    if (rep->info_len) memcpy(iv, rep->info, rep->info_len);
    iv += rep->info_len;
  }
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "codes", codes);
  napi_set_named_property(env, result, "info", info_buf);
  return result;
}
