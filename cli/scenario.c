/*
 * scenario.c - the one table of `tdpmmu bench` scenarios (scenario.h), in
 * the order `tdpmmu bench --help` lists them.  Constant; main thread only.
 */
#include <string.h>

#include "scenario.h"
#include "access/access.h"
#include "demand/demand.h"
#include "dirty_log/dirty_log.h"
#include "huge_over_table/huge_over_table.h"
#include "mixed/mixed.h"
#include "mmio/mmio.h"
#include "notifier/notifier.h"
#include "nx/nx.h"
#include "populate/populate.h"

const struct scenario scenarios[] = {
	{ "populate", "every vCPU touches each 4K page of its memory once",
	  "the populate phase of KVM's dirty_log_perf_test:\n"
	  "vCPU threads touch every 4K page of their memory",
	  populate_main, populate_help, &populate_sweep },
	{ "demand-paging",
	  "KVM's demand_paging_test: each first touch waits\n"
	  "for the host (-u MISSING -d USEC) before the fault is\n"
	  "handled",
	  NULL, demand_main, demand_help, &demand_sweep },
	{ "dirty-log",
	  "KVM's dirty_log_perf_test: populate, enable dirty\n"
	  "logging, dirty/get/clear iterations, disable",
	  "KVM's dirty_log_perf_test: enable, dirty, get,\n"
	  "clear and disable the dirty log",
	  dirty_log_main, dirty_log_help, &dirty_log_sweep },
	{ "access-tracking",
	  "KVM's access_tracking_perf_test: access memory, mark\n"
	  "it idle (clear_young), access it again",
	  "KVM's access_tracking_perf_test: mark memory idle\n"
	  "(clear_young) and access it again",
	  access_main, access_help, &access_sweep },
	{ "nx-recovery",
	  "after KVM's nx_huge_pages_perf_test: fault latency\n"
	  "while NX recovery zaps split huge pages, beside a\n"
	  "baseline without it",
	  "after KVM's nx_huge_pages_perf_test: fault latency\n"
	  "with and without NX huge-page recovery",
	  nx_main, nx_help, &nx_sweep },
	{ "huge-over-table",
	  "the seed thread's case: huge pages replace page\n"
	  "tables while other vCPUs fault",
	  NULL, huge_over_table_main, huge_over_table_help, &huge_over_table_sweep },
	{ "stalled-reader", "the same, with one walker stalled in the middle", NULL,
	  huge_over_table_main, stalled_reader_help, &stalled_reader_sweep },
	{ "notifier", "MMU-notifier invalidation storms during faults", NULL, notifier_main,
	  notifier_help, &notifier_sweep },
	{ "mmio", "MMIO exits while the host updates memslots", NULL, mmio_main, mmio_help,
	  &mmio_sweep },
	{ "mixed",
	  "faults, dirty logging, aging, NX recovery and\n"
	  "invalidations all at once",
	  NULL, mixed_main, mixed_help, &mixed_sweep },
};

const size_t nr_scenarios = sizeof(scenarios) / sizeof(scenarios[0]);

const struct scenario *scenario_find(const char *name)
{
	for (size_t i = 0; i < nr_scenarios; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

void scenario_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nr_scenarios && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 scenarios[i].name);
}
