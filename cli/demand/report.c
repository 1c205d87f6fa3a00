/*
 * report.c - `tdpmmu bench demand-paging` as a scenario of the sweep
 * driver (sweep.c): its settings lines, its JSON (config and per-result
 * fields), its sweep description and demand_main().  The flags are
 * opts.c's, the runs run.c's and (kvm rows) kvm.c's.  Main thread only.
 */
#include <inttypes.h>

#include "demand/demand.h"

static void print_settings(const void *opts, FILE *f)
{
	const struct demand_opts *o = opts;
	char size[32], host[32], uffd[200];

	format_size(o->b.bytes_per_vcpu, size, sizeof(size));
	format_size(demand_host_page_pages(o) * GUEST_PAGE_BYTES, host, sizeof(host));
	if (o->uffd == DEMAND_UFFD_NONE)
		snprintf(uffd, sizeof(uffd), "no userfaultfd: host faults cost no delay");
	else
		snprintf(uffd, sizeof(uffd),
			 "-u %s, -d %u us per host fault; %s, %u reader%s each (-r);\n"
			 "               kvm rows: UFFDIO_COPY of %s",
			 demand_uffd_name(o->uffd), o->delay_us,
			 o->single_uffd ? "one userfaultfd for all memory"
					: "one userfaultfd per vCPU region",
			 o->readers, o->readers == 1 ? "" : "s", host);
	fprintf(f,
		"demand-paging: %s per vCPU (%" PRIu64 " pages), -s %s (%s host pages);\n"
		"               %s;\n"
		"               %s; %s order; %s\n"
		"               every page written once, every fault timed, every run checked\n",
		size, bench_pages_per_vcpu(&o->b), backing_kvm_name(o->b.backing), host, uffd,
		o->overlap ? "every vCPU the same region (-o)" : "each vCPU its own region",
		o->random_order ? "random (--random)" : "ascending",
		o->b.sw.payload ? "real host memory (--payload)" : "no payload");
}

static void json_config(const void *opts, FILE *f)
{
	const struct demand_opts *o = opts;

	fprintf(f, "{\"bytes_per_vcpu\": %" PRIu64 ", \"backing\": ", o->b.bytes_per_vcpu);
	json_string(f, backing_kvm_name(o->b.backing));
	fprintf(f, ", \"host_page_bytes\": %" PRIu64 ", \"uffd_mode\": ",
		(uint64_t)(demand_host_page_pages(o) * GUEST_PAGE_BYTES));
	if (o->uffd == DEMAND_UFFD_NONE)
		fputs("null", f);
	else
		json_string(f, demand_uffd_name(o->uffd));
	fprintf(f,
		", \"delay_us\": %u, \"single_uffd\": %s, \"readers_per_uffd\": %u, "
		"\"overlap\": %s, \"random_access\": %s}",
		o->delay_us, o->single_uffd ? "true" : "false", o->readers,
		o->overlap ? "true" : "false", o->random_order ? "true" : "false");
}

static void json_extra(const void *opts, const struct sweep_run *run, FILE *f)
{
	const struct demand_extra *x = run->extra;

	fprintf(f,
		"      \"pages\": %" PRIu64 ", \"region_pages\": %" PRIu64
		", \"host_pages\": %" PRIu64 ", \"ept_violations\": %" PRIu64
		", \"host_faults\": %" PRIu64 ", \"host_fault_waits\": %" PRIu64 ",\n"
		"      \"pages_per_sec\": ",
		x->pages_touched, x->region_pages, x->host_pages, x->ept_violations, x->host_faults,
		x->host_fault_waits);
	json_number(f, run->metric, 1);
	fputs(", \"ns_per_fault_per_vcpu\": ", f);
	json_number(f, run->col[1], 2);
	fputs(", \"demand_paging_seconds\": ", f);
	json_number(f, (double)x->paging_ns / 1e9, 9);
	fputs(", \"vcpu_creation_seconds\": ", f);
	json_number(f, (double)x->create_ns / 1e9, 9);
	if (!x->kvm)
		return;
	/* kvm: host faults are userfaultfd copies, waits EEXISTs; the MMU is the sweep's. */
	fprintf(f, ",\n      \"uffds\": %u, \"uffd_max_fault_seconds\": ", x->uffds);
	json_number(f, (double)x->uffd_max_ns / 1e9, 9);
	fputs(", \"mmu\": ", f);
	json_string(f, run->kvm.mmu ? run->kvm.mmu : "unknown");
}

const struct sweep_scenario demand_sweep = {
	.title = "demand paging benchmark (after KVM's demand_paging_test)",
	.metric_name = "Kpages/s",
	.metric_json = "pages_per_sec",
	.metric_what = "pages touched per second, all vCPUs (the selftest's demand paging "
		       "rate: start of the pass to the last vCPU done)",
	.metric_scale = 1e3,
	.cols = { "demand paging s", "ns/fault/vCPU", "host faults", "host waits" },
	.col_decimals = { 6, 1, 0, 0 },
	.run = demand_run,
	.run_kvm = demand_kvm_run,
	.check_kvm = demand_kvm_check,
	.print_settings = print_settings,
	.json_config = json_config,
	.json_extra = json_extra,
};

int demand_main(const struct scenario *sc, int argc, char **argv)
{
	struct demand_opts o;
	char command[800];

	demand_opts_parse(&o, argc, argv);
	demand_opts_command(&o, sc->name, command, sizeof(command));
	return sweep_main(sc, &o, command);
}
