// api_cxx.cc - a C++11 user of the public headers (-std=c++11 -pedantic
// -Werror, see the Makefile), linked against the static library: the
// headers must compile as C++ and give the functions C linkage.
#include <cstdio>
#include <cstring>

#include <tdpmmu/spte.h>
#include <tdpmmu/stats.h>
#include <tdpmmu/tdpmmu.h>

static int failures;

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			std::fprintf(stderr, "api_cxx: %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

int main()
{
	tdpmmu_vm_config cfg;
	tdpmmu_vm *vm = nullptr;
	tdpmmu_vcpu *vcpu = nullptr;
	tdpmmu_memslot slot = {};
	tdpmmu_fault_result r = {};
	tdpmmu_mapping m = {};
	tdpmmu_reclaim_stats rs = {};
	int64_t c[TDPMMU_NR_COUNTERS];
	tdpmmu_backing b = TDPMMU_NR_BACKINGS;
	tdpmmu_strategy s = TDPMMU_NR_STRATEGIES;

	EXPECT(std::strcmp(tdpmmu_version(), TDPMMU_VERSION) == 0);
	EXPECT(tdpmmu_strategy_parse("llist", &s) == 0 && s == TDPMMU_STRATEGY_LLIST);
	EXPECT(tdpmmu_backing_parse("anonymous_hugetlb_2mb", &b) == 0 &&
	       b == TDPMMU_BACKING_HUGETLB_2M);
	EXPECT(std::strcmp(tdpmmu_backing_name(b), "hugetlb-2m") == 0);

	tdpmmu_vm_config_init(&cfg);
	cfg.strategy = s;
	if (tdpmmu_vm_create(&cfg, &vm)) {
		std::fprintf(stderr, "api_cxx: tdpmmu_vm_create failed\n");
		return 1;
	}
	slot.npages = 1 << 18;
	slot.backing = b;
	EXPECT(tdpmmu_memslot_add(vm, &slot) == 0);
	EXPECT(tdpmmu_vcpu_create(vm, &vcpu) == 0);
	EXPECT(tdpmmu_fault(vcpu, 0x200, TDPMMU_ACCESS_READ, 0, &r) == 0);
	EXPECT(r.level == TDPMMU_LEVEL_2M && !r.spurious);
	EXPECT(tdpmmu_fault(vcpu, 0x201, TDPMMU_ACCESS_READ, 0, &r) == 0 && r.spurious);
	EXPECT(tdpmmu_lookup(vm, 0x201, &m) == 0 && m.present && tdpmmu_spte_leaf(m.spte, m.level));
	EXPECT(tdpmmu_spte_large(m.spte) && tdpmmu_spte_host_writable(m.spte));
	EXPECT(tdpmmu_zap_all(vm) == 0);
	EXPECT(tdpmmu_lookup(vm, 0x201, &m) == 0 && !m.present);
	tdpmmu_counters_read(vm, c);
	EXPECT(c[TDPMMU_C_LEAVES_2M] == 0 && c[TDPMMU_C_TABLES_L1] == 0);
	tdpmmu_reclaim_stats_read(vm, &rs);
	EXPECT(rs.strategy == TDPMMU_STRATEGY_LLIST && rs.retired >= 1);
	EXPECT(tdpmmu_level_pages(TDPMMU_LEVEL_2M) == 1ull << tdpmmu_pt_bits());
	EXPECT(tdpmmu_spte_frozen(TDPMMU_SPTE_FROZEN) && tdpmmu_thread_attach() == 0);
	tdpmmu_vm_destroy(vm);
	if (failures)
		return 1;
	std::printf("api_cxx: ok, tdpmmu %s\n", tdpmmu_version());
	return 0;
}
