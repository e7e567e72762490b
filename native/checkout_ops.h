/* Shared by checkout_ops.c (helpers, directory metadata) and checkout_run.c (the threaded run of
 * a checkout plan); the plan encoding is described in checkout_ops.c. */
#ifndef TSOSTREE_CHECKOUT_OPS_H
#define TSOSTREE_CHECKOUT_OPS_H
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

int co_push(pairs_t *p, int32_t a, int32_t b);
napi_value co_int32_array(napi_env env, pairs_t *p);
int co_read_path(const uint8_t *plan, size_t len, size_t *pos, char *out, size_t cap);
int co_verdict(int dfd, const char *rel, const char *src, int flags);
/* The first call of every job on a thread of libuv's pool, and of our own threads: see
 * checkout_ops.c. */
void co_pool_thread(void);
/* Queues execute/complete on the pool (work and deferred are stored in the job); the promise, or
 * NULL after throwing "NAME: cannot start" (the caller still owns data). */
napi_value co_queue_promise(napi_env env, const char *name, napi_async_execute_callback execute,
                            napi_async_complete_callback complete, void *data, napi_async_work *work,
                            napi_deferred *deferred);
/* Rejects `deferred` with an Error like Node's fs errors: "STRERROR: SYSCALL 'PATH'", with errno,
 * syscall and path. */
void co_reject_errno(napi_env env, napi_deferred deferred, int err, const char *syscall, const char *path);
/* Resolves `deferred` with `value` and deletes the job's `work`: the end of a pool job whose
 * promise settles with an int (an errno, a result code). */
void co_resolve_int32(napi_env env, napi_deferred deferred, napi_async_work work, int32_t value);
/* Defines exports[name] = fn. */
void co_register(napi_env env, napi_value exports, const char *name, napi_callback fn);
napi_value co_checkout_start(napi_env env, napi_callback_info info);
napi_value co_checkout_push(napi_env env, napi_callback_info info);
napi_value co_checkout_finish(napi_env env, napi_callback_info info);

#endif
