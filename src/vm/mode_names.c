/*
 * mode_names.c - the names of the VM config's modes that users choose by
 * name (--preempt, --pages, --dirty-mode): the host kernel's preemption
 * model (what it does to the MMU lock's holders: mmu_lock.h), how
 * page-table pages are tracked (mmu_page.h) and how dirty logging re-arms
 * a page (ops/dirty_log.c).  Constant data: no concurrency.
 */
#include <errno.h>
#include <string.h>

#include "tdpmmu/tdpmmu.h"

static const char *const preempt_names[TDPMMU_NR_PREEMPT] = {
	[TDPMMU_PREEMPT_NONE] = "none",
	[TDPMMU_PREEMPT_VOLUNTARY] = "voluntary",
	[TDPMMU_PREEMPT_FULL] = "full",
};

static const char *const pages_names[TDPMMU_NR_PAGES_MODES] = {
	[TDPMMU_PAGES_COUNT] = "count",
	[TDPMMU_PAGES_LIST] = "list",
};

static const char *const dirty_mode_names[TDPMMU_NR_DIRTY_MODES] = {
	[TDPMMU_DIRTY_WRPROT] = "wrprot",
	[TDPMMU_DIRTY_DBIT] = "dbit",
};

static const char *name_of(const char *const *names, unsigned n, unsigned i)
{
	return i < n ? names[i] : NULL;
}

/* The index of @s in @names, or -EINVAL. */
static int index_of(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -EINVAL;
}

const char *tdpmmu_preempt_name(enum tdpmmu_preempt p)
{
	return name_of(preempt_names, TDPMMU_NR_PREEMPT, (unsigned)p);
}

int tdpmmu_preempt_parse(const char *s, enum tdpmmu_preempt *out)
{
	int i = index_of(preempt_names, TDPMMU_NR_PREEMPT, s);

	if (i >= 0)
		*out = (enum tdpmmu_preempt)i;
	return i < 0 ? i : 0;
}

const char *tdpmmu_pages_name(enum tdpmmu_pages_mode m)
{
	return name_of(pages_names, TDPMMU_NR_PAGES_MODES, (unsigned)m);
}

int tdpmmu_pages_parse(const char *s, enum tdpmmu_pages_mode *out)
{
	int i = index_of(pages_names, TDPMMU_NR_PAGES_MODES, s);

	if (i >= 0)
		*out = (enum tdpmmu_pages_mode)i;
	return i < 0 ? i : 0;
}

const char *tdpmmu_dirty_mode_name(enum tdpmmu_dirty_mode m)
{
	return name_of(dirty_mode_names, TDPMMU_NR_DIRTY_MODES, (unsigned)m);
}

int tdpmmu_dirty_mode_parse(const char *s, enum tdpmmu_dirty_mode *out)
{
	int i = index_of(dirty_mode_names, TDPMMU_NR_DIRTY_MODES, s);

	if (i >= 0)
		*out = (enum tdpmmu_dirty_mode)i;
	return i < 0 ? i : 0;
}
