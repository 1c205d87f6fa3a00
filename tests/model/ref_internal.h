/*
 * ref_internal.h - what the reference model's sources (ref_model.c,
 * ref_leaves.c, ref_check.c) share beside ref_model.h.  Not for its users.
 */
#ifndef TDP_TEST_REF_INTERNAL_H
#define TDP_TEST_REF_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

/* calloc that aborts when memory runs out. */
void *ref_zalloc(uint64_t n);
/* @g lies in a read-only slot. */
bool ref_in_ro(uint64_t g);
/* @g's slot logs dirty pages. */
bool ref_logging(uint64_t g);
/* Set @g's dirty bit (no-op unless its slot logs). */
void ref_mark(uint64_t g);

#endif
