/* bsdiff patches as ostree's delta parts carry them (see bspatch.c). */
#ifndef TSOSTREE_BSPATCH_H
#define TSOSTREE_BSPATCH_H
#include <stddef.h>
#include <stdint.h>

#define BS_SHORT 1
#define BS_CONTROL 2
#define BS_EXTRA 3

/* Applies `patch` to `old`, producing exactly `size` bytes into `out`: 0 or a BS_ code. */
int bs_apply(const uint8_t *old, int64_t old_len, const uint8_t *patch, size_t patch_len, uint8_t *out,
             int64_t size);
#endif
