/*
 * lock_rank.c - the debug-build lock-order checker's slow paths (see
 * lock_rank.h and docs/locking.md).  Release builds compile none of it.
 */
#include "base/lock_rank.h"

#ifdef TDP_DEBUG

#include <execinfo.h>
#include <stdio.h>
#include <unistd.h>

__thread struct tdp_lock_stack tdp_lock_stack;

const char *tdp_lock_rank_name(int rank)
{
	switch (rank) {
	case TDP_RANK_SLOTS:
		return "slots_lock";
	case TDP_RANK_FAST_ZAP:
		return "fast_zap_mutex";
	case TDP_RANK_MMU:
		return "mmu_lock";
	case TDP_RANK_PAGES:
		return "pages_lock";
	case TDP_RANK_VCPUS:
		return "vcpus_mutex";
	case TDP_RANK_ARENA:
		return "arena_lock";
	case TDP_RANK_RECLAIM_WORKER:
		return "reclaim_worker_mutex";
	case TDP_RANK_NX:
		return "nx_mutex";
	case TDP_RANK_HOST_FAULT:
		return "fault_mutex";
	case TDP_RANK_THREAD_SLOT:
		return "slot_mutex";
	}
	return "unknown lock";
}

/* Every lock held, innermost first, then the stack of the current call. */
static void dump_held(void)
{
	const struct tdp_lock_stack *st = &tdp_lock_stack;
	void *bt[32];
	int n;

	fflush(stdout);
	for (int i = st->nr - 1; i >= 0; i--)
		fprintf(stderr, "  held: %s (rank %d)%s, taken at %s:%d\n",
			tdp_lock_rank_name(st->held[i].rank), st->held[i].rank,
			st->held[i].trylock ? " by trylock" : "", st->held[i].file,
			st->held[i].line);
	n = backtrace(bt, 32);
	fprintf(stderr, "  call stack (addr2line -f -e <binary> <+offset> names a frame):\n");
	fflush(stderr);
	backtrace_symbols_fd(bt, n, STDERR_FILENO);
}

void tdp_lock_rank_inversion(int rank, const char *file, int line)
{
	const struct tdp_lock_stack *st = &tdp_lock_stack;
	const struct tdp_held_lock *worst = NULL;

	/* Report the innermost held lock that forbids this one. */
	for (int i = st->nr - 1; i >= 0 && !worst; i--)
		if (st->held[i].rank >= rank)
			worst = &st->held[i];
	dump_held();
	if (!worst) /* max_rank disagrees with the stack: the checker is broken */
		tdp_bug_at(file, line, "lock order: taking %s (rank %d): corrupt held-lock stack",
			   tdp_lock_rank_name(rank), rank);
	tdp_bug_at(file, line,
		   "lock order: taking %s (rank %d) while holding %s (rank %d, taken at %s:%d)",
		   tdp_lock_rank_name(rank), rank, tdp_lock_rank_name(worst->rank), worst->rank,
		   worst->file, worst->line);
}

void tdp_lock_rank_overflow(int rank, const char *file, int line)
{
	dump_held();
	tdp_bug_at(file, line, "lock order: taking %s (rank %d) with %d locks held already",
		   tdp_lock_rank_name(rank), rank, TDP_LOCK_DEPTH);
}

/*
 * Remove the innermost entry of @rank (out-of-order release) and recompute
 * the maximum; @rank 0 only recomputes.
 */
void tdp_lock_rank_pop_slow(int rank, const char *file, int line)
{
	struct tdp_lock_stack *st = &tdp_lock_stack;
	int max = 0;

	if (rank) {
		int i;

		for (i = st->nr - 1; i >= 0 && st->held[i].rank != rank; i--)
			;
		if (i < 0) {
			dump_held();
			tdp_bug_at(file, line,
				   "lock order: releasing %s (rank %d), which is not held",
				   tdp_lock_rank_name(rank), rank);
		}
		for (; i < st->nr - 1; i++)
			st->held[i] = st->held[i + 1];
		st->nr--;
	}
	for (int i = 0; i < st->nr; i++)
		if (st->held[i].rank > max)
			max = st->held[i].rank;
	st->max_rank = max;
}

bool tdp_lock_rank_held(int rank)
{
	for (int i = 0; i < tdp_lock_stack.nr; i++)
		if (tdp_lock_stack.held[i].rank == rank)
			return true;
	return false;
}

#else

/* ISO C wants a translation unit to declare something. */
typedef int tdp_lock_rank_release_build;

#endif
