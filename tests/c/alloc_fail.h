/* Allocation-failure injection for tests/c/test_alloc_fail.c (see alloc_fail.c). */
#ifndef DW_ALLOC_FAIL_H
#define DW_ALLOC_FAIL_H

#include <stddef.h>

/* Start counting allocations from 0; fail the one with 1-based index fail_at (0: none). */
void af_reset(long fail_at);
long af_count(void); /* allocations since the last af_reset */
int af_failed(void); /* 1 if the armed allocation was reached (and failed) */
long af_live(void);  /* blocks allocated through the wrappers and not yet freed */

#endif
