/* A content object's payload produced on a thread of the pool, hashed and, when it is the
 * expected object, stored: the job shared by inflate_hash.c (a pulled .filez inflated) and
 * assemble.c (a delta's object assembled from pieces). The caller's `produce` fills `out`; the
 * rest — SHA-256(prefix || out) into `digest`, the comparison with `expected`, the exclusive create
 * with the object's metadata — is object_job.c's.
 *
 * The write arguments (expected, path, source, mode, uid, gid, flags, xattrs): an object whose
 * digest is `expected` is stored as content-store.ts would store it: `path` created exclusively
 * with `mode`, `source` (or `out` when null) written, then fchown(uid, gid) (flag 1), fchmod(mode)
 * (flag 2), the xattrs (records: u16 name length, name, u32 value length, value), mtime 0 (flag 4),
 * writeback started (flag 8); a failed step removes the file.
 *
 * A job resolves to 0 (verified; written, when asked), OJ_EXISTS (path existed: nothing written),
 * OJ_MISMATCH (digest is not `expected`: nothing written), OJ_NOMEM, a negative code of its
 * producer, or step << 16 | errno for a failed syscall (steps: 1 open, 2 write, 3 fchown, 4 fchmod,
 * 5 fsetxattr, 6 futimens; a producer's own from 7). Every buffer is held until it settles. */
#ifndef TSOSTREE_OBJECT_JOB_H
#define TSOSTREE_OBJECT_JOB_H
#include "checkout_ops.h"

#define OJ_NOMEM -4
#define OJ_EXISTS 1
#define OJ_MISMATCH 2
#define OJ_MAX_SOURCES 8
#define OJ_NREFS (8 + OJ_MAX_SOURCES)

typedef struct oj_source {
  char *path;          /* read on the pool (NULL: `data` is given) */
  const uint8_t *data; /* the bytes, once read or given */
  uint8_t *owned;      /* what the pool read, freed with the job */
  size_t len;
  bool loaded;
} oj_source_t;

typedef struct oj_job {
  int32_t (*produce)(struct oj_job *);
  const uint8_t *in, *prefix, *expected, *source, *xattrs;
  uint8_t *out, *digest;
  size_t in_len, out_len, prefix_len, source_len, xattrs_len;
  /* assemble.c's pieces and read sources */
  const uint8_t *pieces;
  size_t pieces_len;
  oj_source_t sources[OJ_MAX_SOURCES];
  uint32_t nsources;
  char *path; /* NULL: verify only */
  uint32_t mode, flags;
  int32_t uid, gid;
  napi_ref refs[OJ_NREFS];
  int nrefs;
  int32_t code;
  napi_async_work work;
  napi_deferred deferred;
} oj_job_t;

/* A zeroed job, or NULL after throwing. */
oj_job_t *oj_new(napi_env env, const char *name);
/* A buffer argument, held until the job settles (NULL and 0 for null/undefined when optional). */
bool oj_buffer_arg(napi_env env, oj_job_t *j, napi_value v, bool optional, const uint8_t **data, size_t *len);
/* The arguments out, prefix, digest[32] from argv[0..2] and, with `write`, the write arguments
 * (expected, path, source, mode, uid, gid, flags, xattrs) from argv[3..10]. */
bool oj_payload_args(napi_env env, oj_job_t *j, napi_value *argv, bool write);
/* Queues the job with `produce` when its arguments were `ok`: its promise, or NULL after throwing
 * (the usage when they were not) and releasing the job. */
napi_value oj_start(napi_env env, oj_job_t *j, bool ok, const char *usage, int32_t (*produce)(oj_job_t *));
void oj_release(napi_env env, oj_job_t *j);
#endif
