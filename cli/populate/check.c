/*
 * check.c - after a populate run, prove that every page got
 * mapped and mapped right: fault and leaf accounting against the memslot
 * (with -a, memstress's draws with replacement, against the pages the
 * draws touched, recomputed from the seed: page_touched_map),
 * lookups of a sample of every region against the host frames (level,
 * Accessed, and for written pages W and Dirty; with --payload the bytes
 * the guest wrote or read), and (once per configuration) the library's
 * full audit.
 */
#include <stdlib.h>
#include <string.h>

#include "populate/populate.h"
#include "tdpmmu/testing.h"

#define SAMPLES_PER_REGION 1024

/*
 * Pages the leaves must map when @touched pages of the memslot [0, @pages)
 * were touched: each touched page's largest block the backing gives that
 * lies wholly in the slot (the library's rule), each block once.
 */
static uint64_t pages_mapped_for(const struct populate_opts *o, const uint64_t *touched,
				 uint64_t pages)
{
	uint64_t sum = 0, last_end = 0;

	for (uint64_t gfn = 0; gfn < pages; gfn++) {
		uint64_t n = 1, start = gfn;

		if (!page_touched(touched, gfn) || gfn < last_end)
			continue;
		for (int l = backing_max_level(o->backing); l > TDPMMU_LEVEL_4K; l--) {
			uint64_t size = tdpmmu_level_pages(l), s = gfn / size * size;

			if (s + size <= pages) {
				n = size;
				start = s;
				break;
			}
		}
		sum += n;
		last_end = start + n;
	}
	return sum;
}

/* A page -a's draws never touched: unmapped, or inside a touched page's huge leaf. */
static void check_untouched(struct tdpmmu_vm *vm, uint64_t gfn)
{
	struct tdpmmu_mapping m;

	if (tdpmmu_lookup(vm, gfn, &m))
		fatal("check failed: lookup of gfn 0x%llx failed", (unsigned long long)gfn);
	if (m.present && m.level == TDPMMU_LEVEL_4K)
		fatal("check failed: gfn 0x%llx was never touched but is mapped 4K",
		      (unsigned long long)gfn);
}

static void check_payload(struct tdpmmu_vm *vm, uint64_t gfn, bool written)
{
	uint64_t want = written ? page_value(gfn) : 0, got = 0;
	int r = tdpmmu_host_read(vm, gfn * GUEST_PAGE_BYTES, &got);

	if (r)
		fatal("check failed: reading gfn 0x%llx through the host: %s",
		      (unsigned long long)gfn, strerror(-r));
	if (got != want)
		fatal("check failed: gfn 0x%llx holds 0x%llx, the guest %s 0x%llx",
		      (unsigned long long)gfn, (unsigned long long)got,
		      written ? "wrote" : "read, so it must still hold", (unsigned long long)want);
}

static void check_page(struct tdpmmu_vm *vm, const struct populate_opts *o, uint64_t gfn)
{
	bool written = page_written(gfn, o->write_pct);
	struct tdpmmu_mapping m;
	uint64_t pfn = 0;
	int r = tdpmmu_lookup(vm, gfn, &m);

	if (r)
		fatal("check failed: lookup of gfn 0x%llx: %s", (unsigned long long)gfn,
		      strerror(-r));
	if (!m.present)
		fatal("check failed: gfn 0x%llx is not mapped", (unsigned long long)gfn);
	r = tdpmmu_host_pfn(vm, gfn, &pfn);
	if (r || m.pfn != pfn)
		fatal("check failed: gfn 0x%llx maps frame 0x%llx, the host frame is 0x%llx",
		      (unsigned long long)gfn, (unsigned long long)m.pfn, (unsigned long long)pfn);
	if (m.level > backing_max_level(o->backing))
		fatal("check failed: gfn 0x%llx is mapped at level %d, -s %s allows %d",
		      (unsigned long long)gfn, m.level, backing_kvm_name(o->backing),
		      backing_max_level(o->backing));
	if (!tdpmmu_spte_accessed(m.spte))
		fatal("check failed: gfn 0x%llx was touched but its leaf is not Accessed",
		      (unsigned long long)gfn);
	if (written && (!tdpmmu_spte_writable(m.spte) || !tdpmmu_spte_dirty(m.spte)))
		fatal("check failed: gfn 0x%llx was written but its leaf is not writable and "
		      "Dirty (0x%llx)",
		      (unsigned long long)gfn, (unsigned long long)m.spte);
	if (o->sw.payload)
		check_payload(vm, gfn, written);
}

static void check_one(struct tdpmmu_vm *vm, const struct populate_opts *o, const uint64_t *touched,
		      uint64_t gfn)
{
	if (page_touched(touched, gfn))
		check_page(vm, o, gfn);
	else
		check_untouched(vm, gfn);
}

static void check_region(struct tdpmmu_vm *vm, const struct populate_opts *o,
			 const uint64_t *touched, uint64_t first, uint64_t n)
{
	if (n <= SAMPLES_PER_REGION) {
		for (uint64_t i = 0; i < n; i++)
			check_one(vm, o, touched, first + i);
		return;
	}
	/* Evenly spread, first and last page included. */
	for (uint64_t k = 0; k < SAMPLES_PER_REGION; k++)
		check_one(vm, o, touched, first + k * (n - 1) / (SAMPLES_PER_REGION - 1));
}

void populate_check(struct tdpmmu_vm *vm, const struct populate_opts *o,
		    const struct populate_result *res, bool audit)
{
	const int64_t *c = res->counters;
	uint64_t per_vcpu = populate_pages_per_vcpu(o);
	uint64_t mapped = (uint64_t)c[TDPMMU_C_LEAVES_4K] +
			  (uint64_t)c[TDPMMU_C_LEAVES_2M] * tdpmmu_level_pages(TDPMMU_LEVEL_2M) +
			  (uint64_t)c[TDPMMU_C_LEAVES_1G] * tdpmmu_level_pages(TDPMMU_LEVEL_1G);
	unsigned regions = o->overlap ? 1 : res->vcpus;
	uint64_t *touched =
		page_touched_map(res->pages, res->vcpus, per_vcpu, o->overlap, o->random_order);
	int violations;

	/* Every EPT violation was handled exactly once, as a fix or as a spurious fault. */
	if ((uint64_t)(c[TDPMMU_C_FAULTS_FIXED] + c[TDPMMU_C_FAULTS_SPURIOUS]) != res->faults)
		fatal("check failed: %llu EPT violations, counters say %lld fixed + %lld spurious",
		      (unsigned long long)res->faults, (long long)c[TDPMMU_C_FAULTS_FIXED],
		      (long long)c[TDPMMU_C_FAULTS_SPURIOUS]);
	/*
	 * The memslot starts at gfn 0 and nothing maps outside it: leaves cover
	 * it exactly (with -a, exactly the blocks of the pages the draws touched).
	 */
	if (mapped != pages_mapped_for(o, touched, res->pages))
		fatal("check failed: the leaves map %llu pages, the pages touched need %llu "
		      "(the memslot has %llu)",
		      (unsigned long long)mapped,
		      (unsigned long long)pages_mapped_for(o, touched, res->pages),
		      (unsigned long long)res->pages);
	for (unsigned i = 0; i < regions; i++)
		check_region(vm, o, touched, (uint64_t)i * per_vcpu, per_vcpu);
	free(touched);
	if (audit) {
		violations = tdpmmu_audit(vm);
		if (violations)
			fatal("check failed: the audit found %d violations (see above)",
			      violations);
	}
}
