/*
 * pages_mode.c - the names of the ways page-table pages are tracked
 * (enum tdpmmu_pages_mode); what each mode does is in mmu_page.h
 * (struct tdp_pages).  Not concurrency-relevant.
 */
#include <errno.h>
#include <string.h>

#include "tdpmmu/tdpmmu.h"

static const char *const pages_names[TDPMMU_NR_PAGES_MODES] = {
	[TDPMMU_PAGES_COUNT] = "count",
	[TDPMMU_PAGES_LIST] = "list",
};

const char *tdpmmu_pages_name(enum tdpmmu_pages_mode m)
{
	return (unsigned)m < TDPMMU_NR_PAGES_MODES ? pages_names[m] : NULL;
}

int tdpmmu_pages_parse(const char *s, enum tdpmmu_pages_mode *out)
{
	for (int i = 0; s && i < TDPMMU_NR_PAGES_MODES; i++) {
		if (!strcmp(s, pages_names[i])) {
			*out = (enum tdpmmu_pages_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}
