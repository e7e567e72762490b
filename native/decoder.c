/* Streaming decoders for xz, lzma-alone (.lzma, rpm "w.lzdio") and zstd, driven one bounded step at
 * a time. Package payloads were decoded on the JS thread (liblzma as WebAssembly, zstd through a
 * synchronous binding) and that thread also hashes and writes the objects; here a step runs on
 * libuv's thread pool, so decoding overlaps that work, and xz files of several blocks are decoded on
 * liblzma's own threads as well.
 *
 * One step consumes input from a buffer and writes into ONE caller-provided output buffer, never
 * more: a few KiB of hostile input can expand to gigabytes, and the caller applies backpressure
 * between steps. Memory inside the codecs is bounded too: a liblzma memlimit, and a zstd window
 * limit. The JS side (src/util/native.ts) keeps at most one step in flight per decoder; so does the
 * `busy` flag here, which the main thread alone reads and writes. */
#include <lzma.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "checkout_ops.h"

enum { KIND_XZ = 0, KIND_LZMA = 1, KIND_ZSTD = 2 };
enum { STATUS_OK = 0, STATUS_END = 1 };

/* zstd(1)'s own default decoding limit: a 128 MiB window, whatever a frame asks for. */
#define ZSTD_WINDOW_LOG_MAX 27

typedef struct {
  int kind;
  lzma_stream lz;
  ZSTD_DStream *zs;
  uint64_t memlimit;
  size_t zhint;  /* last hint of a zstd call that made progress: 0 once a frame is complete */
  bool zstarted; /* some zstd input was seen (an empty file is not a valid stream) */
  bool ended;    /* the compressed stream is complete: more input is trailing garbage */
  bool failed;   /* a step failed: the codec state is undefined from then on */
  bool busy;     /* a step is queued or running on the thread pool */
  bool freed;    /* codec state released (end() or the finalizer) */
  bool end_asked; /* end() came while busy: release once the step completes */
} decoder_t;

/* The arguments and results of one step; filled on the main thread, run on any thread. */
typedef struct {
  const uint8_t *in;
  size_t in_len;
  uint8_t *out;
  size_t out_len;
  bool finish;
  int status;
  size_t consumed, produced;
  char err[256];
} step_io_t;

/* What the thread pool holds while a step runs: the buffers and the handle stay referenced, so the
 * garbage collector frees none of them under the decoder. */
typedef struct {
  step_io_t io;
  decoder_t *d;
  napi_ref handle_ref, in_ref, out_ref, cb_ref;
  napi_async_work work;
} async_step_t;

static const napi_type_tag DECODER_TAG = {0x74736f7374726565ULL, 0x6465636f64657231ULL};

static void free_codec(decoder_t *d) {
  if (d->freed) return;
  d->freed = true;
  if (d->kind == KIND_ZSTD) ZSTD_freeDStream(d->zs);
  else lzma_end(&d->lz);
  d->zs = NULL;
}

static void finalize_decoder(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  /* Never busy here: a running step holds a reference to the handle. */
  free_codec(data);
  free(data);
}

/* ---- the codecs (any thread) ---- */

static const char *lzma_reason(lzma_ret r) {
  switch (r) {
  case LZMA_MEM_ERROR: return "cannot allocate memory";
  case LZMA_FORMAT_ERROR: return "file format not recognized";
  case LZMA_OPTIONS_ERROR: return "unsupported compression options";
  case LZMA_DATA_ERROR: return "compressed data is corrupt";
  case LZMA_BUF_ERROR: return "compressed data is truncated (unexpected end of input)";
  default: return "internal error in liblzma";
  }
}

static void lzma_fail(decoder_t *d, step_io_t *s, lzma_ret r) {
  if (r == LZMA_MEMLIMIT_ERROR)
    snprintf(s->err, sizeof s->err,
             "memory limit reached: the stream needs %llu MiB to decode, the limit is %llu MiB",
             (unsigned long long)(lzma_memusage(&d->lz) >> 20), (unsigned long long)(d->memlimit >> 20));
  else snprintf(s->err, sizeof s->err, "%s", lzma_reason(r));
}

static void lzma_step(decoder_t *d, step_io_t *s) {
  d->lz.next_in = s->in;
  d->lz.avail_in = s->in_len;
  d->lz.next_out = s->out;
  d->lz.avail_out = s->out_len;
  lzma_ret r = lzma_code(&d->lz, s->finish ? LZMA_FINISH : LZMA_RUN);
  s->consumed = s->in_len - d->lz.avail_in;
  s->produced = s->out_len - d->lz.avail_out;
  if (r == LZMA_STREAM_END) {
    d->ended = true;
    s->status = STATUS_END;
    /* lzma-alone ends at its end marker; xz streams end only under LZMA_FINISH (CONCATENATED). */
    if (d->lz.avail_in) snprintf(s->err, sizeof s->err, "trailing data after the compressed stream");
    return;
  }
  if (r != LZMA_OK) return lzma_fail(d, s, r);
  /* Told there is no more input, liblzma made no progress and has room for output: it cannot end. */
  if (s->finish && !s->consumed && !s->produced && !d->lz.avail_in && d->lz.avail_out)
    lzma_fail(d, s, LZMA_BUF_ERROR);
}

static void zstd_step(decoder_t *d, step_io_t *s) {
  ZSTD_inBuffer ib = {s->in, s->in_len, 0};
  ZSTD_outBuffer ob = {s->out, s->out_len, 0};
  size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
  s->consumed = ib.pos;
  s->produced = ob.pos;
  if (ZSTD_isError(r)) {
    snprintf(s->err, sizeof s->err, "%s", ZSTD_getErrorName(r));
    return;
  }
  if (s->in_len) d->zstarted = true;
  /* An idle call reports the next frame's header size; only a call that moved keeps its hint. */
  if (ib.pos || ob.pos) d->zhint = r;
  /* Not done while input is left or the output is full (zstd may hold more). */
  if (!s->finish || ib.pos < s->in_len || ob.pos == s->out_len) return;
  if (!d->zstarted) snprintf(s->err, sizeof s->err, "zstd stream is empty");
  else if (d->zhint) snprintf(s->err, sizeof s->err, "zstd stream is truncated");
  else {
    d->ended = true;
    s->status = STATUS_END;
  }
}

static void run_step(decoder_t *d, step_io_t *s) {
  s->status = STATUS_OK;
  s->consumed = s->produced = 0;
  s->err[0] = 0;
  if (d->failed || d->freed) snprintf(s->err, sizeof s->err, "the decoder has failed or was ended");
  else if (d->ended) {
    if (s->in_len) snprintf(s->err, sizeof s->err, "trailing data after the compressed stream");
    else s->status = STATUS_END;
  } else if (d->kind == KIND_ZSTD) zstd_step(d, s);
  else lzma_step(d, s);
  if (s->err[0]) d->failed = true;
}

/* ---- creation ---- */

static lzma_ret init_xz(decoder_t *d, uint32_t threads) {
#if LZMA_VERSION >= 50040002
  if (threads > 1) {
    lzma_mt mt;
    memset(&mt, 0, sizeof mt);
    mt.flags = LZMA_CONCATENATED; /* xz(1) accepts concatenated streams */
    mt.threads = threads;
    /* Above half the limit, a block is decoded in single-threaded mode rather than buffered. */
    mt.memlimit_threading = d->memlimit / 2;
    mt.memlimit_stop = d->memlimit;
    lzma_ret r = lzma_stream_decoder_mt(&d->lz, &mt);
    if (r == LZMA_OK || r == LZMA_MEM_ERROR) return r;
    /* A liblzma built without threads: decode on this thread. */
  }
#else
  (void)threads;
#endif
  return lzma_stream_decoder(&d->lz, d->memlimit, LZMA_CONCATENATED);
}

static const char *init_codec(decoder_t *d, uint32_t threads) {
  if (d->kind == KIND_ZSTD) {
    d->zs = ZSTD_createDStream();
    if (!d->zs) return "cannot allocate memory";
    int wlog = ZSTD_WINDOW_LOG_MAX;
    while (wlog > 20 && (1ULL << wlog) > d->memlimit) wlog--;
    size_t r = ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, wlog);
    return ZSTD_isError(r) ? ZSTD_getErrorName(r) : NULL;
  }
  lzma_stream init = LZMA_STREAM_INIT;
  d->lz = init;
  lzma_ret r = d->kind == KIND_XZ ? init_xz(d, threads) : lzma_alone_decoder(&d->lz, d->memlimit);
  return r == LZMA_OK ? NULL : lzma_reason(r);
}

/* decoderCreate(kind: 0 xz | 1 lzma | 2 zstd, threads, memlimit) -> handle */
static napi_value decoder_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle;
  int32_t kind, threads;
  double memlimit;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &kind) != napi_ok || kind < 0 || kind > 2 ||
      napi_get_value_int32(env, argv[1], &threads) != napi_ok ||
      napi_get_value_double(env, argv[2], &memlimit) != napi_ok || !(memlimit >= 1 << 20)) {
    napi_throw_type_error(env, NULL, "decoderCreate(kind, threads, memlimit)");
    return NULL;
  }
  decoder_t *d = calloc(1, sizeof *d);
  if (!d) {
    napi_throw_error(env, NULL, "decoderCreate: out of memory");
    return NULL;
  }
  d->kind = kind;
  d->memlimit = (uint64_t)memlimit;
  const char *why = init_codec(d, threads < 1 ? 1 : (uint32_t)threads);
  if (why) {
    free_codec(d);
    free(d);
    napi_throw_error(env, NULL, why);
    return NULL;
  }
  if (napi_create_external(env, d, finalize_decoder, NULL, &handle) != napi_ok ||
      napi_type_tag_object(env, handle, &DECODER_TAG) != napi_ok) {
    finalize_decoder(env, d, NULL);
    napi_throw_error(env, NULL, "decoderCreate: cannot create the handle");
    return NULL;
  }
  return handle;
}

/* ---- steps: decoderStep(handle, input, inOff, inLen, output, finish[, callback]) ---- */

static decoder_t *get_decoder(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, v, &DECODER_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &data) != napi_ok)
    return NULL;
  return data;
}

/* Validates a step's arguments into `io`; throws and returns NULL when they are wrong. */
static decoder_t *parse_step(napi_env env, napi_value *argv, step_io_t *io) {
  decoder_t *d = get_decoder(env, argv[0]);
  void *in, *out;
  size_t in_size;
  double off, len;
  if (!d || napi_get_buffer_info(env, argv[1], &in, &in_size) != napi_ok ||
      napi_get_value_double(env, argv[2], &off) != napi_ok ||
      napi_get_value_double(env, argv[3], &len) != napi_ok ||
      napi_get_buffer_info(env, argv[4], &out, &io->out_len) != napi_ok ||
      napi_get_value_bool(env, argv[5], &io->finish) != napi_ok || !(off >= 0) || !(len >= 0) ||
      off + len > (double)in_size) {
    napi_throw_type_error(env, NULL, "decoderStep(handle, input, inOff, inLen, output, finish)");
    return NULL;
  }
  if (d->busy) {
    napi_throw_error(env, NULL, "decoderStep: a step of this decoder is still running");
    return NULL;
  }
  io->in = (const uint8_t *)in + (size_t)off;
  io->in_len = (size_t)len;
  io->out = out;
  return d;
}

static napi_value make_error(napi_env env, const char *msg) {
  napi_value m, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  return e;
}

/* [status, consumed, produced] */
static napi_value step_result(napi_env env, const step_io_t *io) {
  napi_value arr, v;
  napi_create_array_with_length(env, 3, &arr);
  napi_create_int32(env, io->status, &v);
  napi_set_element(env, arr, 0, v);
  napi_create_double(env, (double)io->consumed, &v);
  napi_set_element(env, arr, 1, v);
  napi_create_double(env, (double)io->produced, &v);
  napi_set_element(env, arr, 2, v);
  return arr;
}

/* decoderStepSync(...) -> [status, consumed, produced]; for whole buffers already in memory. */
static napi_value decoder_step_sync(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  step_io_t io;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    napi_throw_type_error(env, NULL, "decoderStepSync(handle, input, inOff, inLen, output, finish)");
    return NULL;
  }
  decoder_t *d = parse_step(env, argv, &io);
  if (!d) return NULL;
  run_step(d, &io);
  if (io.err[0]) {
    napi_throw(env, make_error(env, io.err));
    return NULL;
  }
  return step_result(env, &io);
}

static void execute_step(napi_env env, void *data) {
  co_pool_thread();
  (void)env;
  async_step_t *a = data;
  run_step(a->d, &a->io);
}

/* Drops what an async step held: the references that kept its buffers alive, the work, itself. */
static void release_step(napi_env env, async_step_t *a) {
  napi_delete_reference(env, a->cb_ref);
  napi_delete_reference(env, a->in_ref);
  napi_delete_reference(env, a->out_ref);
  napi_delete_reference(env, a->handle_ref);
  napi_delete_async_work(env, a->work);
  free(a);
}

static void complete_step(napi_env env, napi_status status, void *data) {
  async_step_t *a = data;
  decoder_t *d = a->d;
  d->busy = false;
  if (d->end_asked) free_codec(d);
  napi_value cb, global, args[2];
  napi_get_reference_value(env, a->cb_ref, &cb);
  napi_get_global(env, &global);
  napi_get_null(env, &args[0]);
  args[1] = args[0];
  if (status != napi_ok) args[0] = make_error(env, "decoderStep: the step was cancelled");
  else if (a->io.err[0]) args[0] = make_error(env, a->io.err);
  else args[1] = step_result(env, &a->io);
  release_step(env, a);
  /* An exception thrown by the callback surfaces as an uncaught exception, as in any callback. */
  napi_call_function(env, global, cb, 2, args, NULL);
}

/* decoderStep(..., callback(err, [status, consumed, produced])): runs on the thread pool. */
static napi_value decoder_step(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], name;
  napi_valuetype cbt = napi_undefined;
  async_step_t *a = calloc(1, sizeof *a);
  if (!a || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7 ||
      napi_typeof(env, argv[6], &cbt) != napi_ok || cbt != napi_function) {
    free(a);
    napi_throw_type_error(env, NULL, "decoderStep(handle, input, inOff, inLen, output, finish, callback)");
    return NULL;
  }
  a->d = parse_step(env, argv, &a->io);
  if (!a->d) {
    free(a);
    return NULL;
  }
  napi_create_string_utf8(env, "tsostree:decode", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, execute_step, complete_step, a, &a->work) != napi_ok) {
    free(a);
    napi_throw_error(env, NULL, "decoderStep: cannot create the work");
    return NULL;
  }
  napi_create_reference(env, argv[0], 1, &a->handle_ref);
  napi_create_reference(env, argv[1], 1, &a->in_ref);
  napi_create_reference(env, argv[4], 1, &a->out_ref);
  napi_create_reference(env, argv[6], 1, &a->cb_ref);
  a->d->busy = true;
  if (napi_queue_async_work(env, a->work) != napi_ok) {
    a->d->busy = false;
    release_step(env, a);
    napi_throw_error(env, NULL, "decoderStep: cannot queue the work");
  }
  return NULL;
}

/* decoderEnd(handle): releases the codec now, or when the step in flight completes. */
static napi_value decoder_end(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  decoder_t *d = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      !(d = get_decoder(env, argv[0]))) {
    napi_throw_type_error(env, NULL, "decoderEnd(handle)");
    return NULL;
  }
  if (d->busy) d->end_asked = true;
  else free_codec(d);
  return NULL;
}

void register_decoder(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"decoderCreate", NULL, decoder_create, NULL, NULL, NULL, napi_default, NULL},
      {"decoderStep", NULL, decoder_step, NULL, NULL, NULL, napi_default, NULL},
      {"decoderStepSync", NULL, decoder_step_sync, NULL, NULL, NULL, napi_default, NULL},
      {"decoderEnd", NULL, decoder_end, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
