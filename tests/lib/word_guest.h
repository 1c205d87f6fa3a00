/*
 * word_guest.h - the "word guest" of the concurrency tests that check guest
 * memory through changing translations (test_consistency, test_recover,
 * test_nx).
 *
 * Each vCPU owns a set of 8-byte words at guest-physical addresses (never
 * one another vCPU or itself holds twice).  Its guest program picks a word
 * at random and writes it a value tagged with the vCPU and a write count,
 * or reads it; a read must return the last value the vCPU wrote there
 * (a mismatch is printed with the gfn, counted, and reported only once).
 * At the end every word is compared through the host (tdpmmu_host_read).
 *
 * Concurrency: a guest's fields are written only by its own vCPU thread
 * while it runs, and read by the main thread after word_guests_join; the
 * words are placed before any thread starts.  What the threads share is
 * atomic: the stop flag and the error counts in struct word_run.
 *
 * A test adds behaviour through two optional hooks, both called on the
 * guest's vCPU thread: choose (the type of the next access; a write then
 * gets its tagged value from word_guest_next) and completed (each access
 * once it completed, with whether a read returned the right value).
 */
#ifndef TDP_TEST_WORD_GUEST_H
#define TDP_TEST_WORD_GUEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/check.h"
#include "lib/util.h"
#include "tdpmmu/tdpmmu.h"
#include "lib/test_opts.h"

#define WORD_GUEST_MAX_WORDS 1024 /* each test bounds --words at or below this */

struct guest_word {
	uint64_t gpa;
	uint64_t last; /* last value written (owner only) */
};

struct word_guest;

/* What the guests of one test share. */
struct word_run {
	atomic_bool stop;
	atomic_long mismatches, run_errors;
	/* NULL: read or write, even odds. */
	unsigned (*choose)(struct word_guest *g);
	/* NULL: nothing; @ok is false for a read that returned the wrong value. */
	void (*completed)(struct word_guest *g, int j, unsigned type, bool ok);
};

/* Cache-line aligned: a guest's thread writes its fields at every access. */
struct word_guest {
	struct tdpmmu_vcpu *v;
	int id;
	int pending;           /* word of the access in flight, -1 none */
	unsigned pending_type; /* its TDPMMU_ACCESS_* type */
	int nwords;
	uint64_t rs, n, writes, reads_ok;
	struct word_run *run;
	pthread_t thread;
	struct guest_word w[WORD_GUEST_MAX_WORDS];
} test_cacheline_aligned;

/* A range of gfns words may be placed in. */
struct word_range {
	uint64_t base, pages;
};

/* The tests' command line (test_opts.h), with --words bounded to 2..@max_words. */
static inline void word_guest_opts(int argc, char **argv, struct test_opts *o, int max_vcpus,
				   int max_words)
{
	test_opts_parse(argc, argv, o, max_vcpus);
	if (o->words < 2 || o->words > max_words) {
		fprintf(stderr, "bad --words (2..%d)\n", max_words);
		exit(2);
	}
}

static inline bool word_taken(const struct word_guest *gs, int n, uint64_t gpa)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < gs[i].nwords; j++)
			if (gs[i].w[j].gpa == gpa)
				return true;
	return false;
}

/*
 * Give each of the @n guests @nwords words, even ones in @r[0] and odd
 * ones in @r[1], at random pages and 8-byte offsets, never shared.
 */
static inline void word_guests_place(struct word_guest *gs, int n, int nwords, uint64_t *rs,
				     const struct word_range r[2])
{
	for (int j = 0; j < nwords; j++) {
		for (int i = 0; i < n; i++) {
			uint64_t gpa;

			do {
				uint64_t gfn = r[j % 2].base + test_rand(rs) % r[j % 2].pages;

				gpa = (gfn << 12) + (test_rand(rs) % 512) * 8;
			} while (word_taken(gs, n, gpa));
			gs[i].w[gs[i].nwords++] = (struct guest_word){ .gpa = gpa };
		}
	}
}

/* The read of @w in flight returned @value: it must be the last one written. */
static inline bool word_guest_check_read(struct word_guest *g, struct guest_word *w, uint64_t value)
{
	if (value == w->last) {
		g->reads_ok++;
		return true;
	}
	fprintf(stderr,
		"vCPU %d: gfn 0x%" PRIx64 " offset 0x%" PRIx64 ": expected 0x%" PRIx64
		", got 0x%" PRIx64 "\n",
		g->id, w->gpa >> 12, w->gpa & 4095, w->last, value);
	atomic_fetch_add(&g->run->mismatches, 1);
	w->last = value; /* report each loss once */
	return false;
}

/* The guest program (tdpmmu_guest_fn); it leaves every 16384 accesses. */
static inline bool word_guest_next(void *ctx, struct tdpmmu_access *a)
{
	struct word_guest *g = ctx;
	struct word_run *run = g->run;
	struct guest_word *w;
	int j;

	if (g->pending >= 0) {
		bool ok = true;

		if (g->pending_type == TDPMMU_ACCESS_READ)
			ok = word_guest_check_read(g, &g->w[g->pending], a->value);
		if (run->completed)
			run->completed(g, g->pending, g->pending_type, ok);
		g->pending = -1;
	}
	if (atomic_load_explicit(&run->stop, memory_order_relaxed) || (++g->n & 0x3fff) == 0)
		return false;
	j = (int)(test_rand(&g->rs) % (uint64_t)g->nwords);
	w = &g->w[j];
	a->gpa = w->gpa;
	g->pending = j;
	if (run->choose)
		a->type = run->choose(g);
	else
		a->type = test_rand(&g->rs) % 2 ? TDPMMU_ACCESS_READ : TDPMMU_ACCESS_WRITE;
	if (a->type == TDPMMU_ACCESS_WRITE) {
		w->last = ((uint64_t)(g->id + 1) << 56) | ++g->writes;
		a->value = w->last;
	}
	g->pending_type = a->type;
	return true;
}

static inline void *word_guest_thread(void *arg)
{
	struct word_guest *g = arg;

	vcpu_run_until(g->v, g->id, word_guest_next, g, &g->run->stop, &g->run->run_errors);
	return NULL;
}

/* Create the guests' vCPUs in @vm and start their threads. */
static inline void word_guests_start(struct word_guest *gs, int n, struct tdpmmu_vm *vm,
				     uint64_t seed, struct word_run *run)
{
	for (int i = 0; i < n; i++) {
		REQUIRE(tdpmmu_vcpu_create(vm, &gs[i].v) == 0);
		gs[i].id = i;
		gs[i].rs = seed * 977 + (uint64_t)i + 1;
		gs[i].pending = -1;
		gs[i].run = run;
	}
	for (int i = 0; i < n; i++)
		REQUIRE(pthread_create(&gs[i].thread, NULL, word_guest_thread, &gs[i]) == 0);
}

/* Wait for the guests' threads (after run->stop was set). */
static inline void word_guests_join(struct word_guest *gs, int n)
{
	for (int i = 0; i < n; i++)
		pthread_join(gs[i].thread, NULL);
}

/*
 * After the run: every word must hold its last value in host memory.
 * Adds the guests' counts to *@reads_ok and *@writes; returns how many
 * words do not (the first 10 are printed).
 */
static inline uint64_t word_guests_check_host(struct tdpmmu_vm *vm, const struct word_guest *gs,
					      int n, uint64_t *reads_ok, uint64_t *writes)
{
	uint64_t bad = 0;

	for (int i = 0; i < n; i++) {
		const struct word_guest *g = &gs[i];

		*reads_ok += g->reads_ok;
		*writes += g->writes;
		for (int j = 0; j < g->nwords; j++) {
			uint64_t val = 0;

			REQUIRE(tdpmmu_host_read(vm, g->w[j].gpa, &val) == 0);
			if (val != g->w[j].last && bad++ < 10)
				fprintf(stderr,
					"host: gfn 0x%" PRIx64 " offset 0x%" PRIx64
					": expected 0x%" PRIx64 ", got 0x%" PRIx64 "\n",
					g->w[j].gpa >> 12, g->w[j].gpa & 4095, g->w[j].last, val);
		}
	}
	return bad;
}

#endif
