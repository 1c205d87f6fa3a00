/*
 * sysinfo.c - describe the machine and the build at the top of every
 * report: CPU model, cores, memory, kernel, liburcu's read-side mode and
 * the page-table geometry this program was built with.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "tdpmmu/tdpmmu.h"

static void read_cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');
		size_t n;

		if (strncmp(line, "model name", 10) || !v)
			continue;
		for (v++; isspace((unsigned char)*v); v++)
			;
		n = strlen(v);
		while (n && isspace((unsigned char)v[n - 1]))
			v[--n] = '\0';
		if (n)
			snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

void machine_info_read(struct machine_info *m)
{
	struct sysinfo si;
	struct utsname u;
	cpu_set_t set;

	memset(m, 0, sizeof(*m));
	read_cpu_model(m->cpu, sizeof(m->cpu));
	m->online_cores = sysconf(_SC_NPROCESSORS_ONLN);
	m->usable_cores = m->online_cores;
	if (!sched_getaffinity(0, sizeof(set), &set))
		m->usable_cores = CPU_COUNT(&set);
	if (!sysinfo(&si))
		m->mem_bytes = (uint64_t)si.totalram * si.mem_unit;
	if (!uname(&u))
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	else
		snprintf(m->kernel, sizeof(m->kernel), "unknown");
	m->membarrier = tdpmmu_rcu_membarrier_active();
}

const char *build_variant(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return "asan (TDP_DEBUG)";
#elif defined(__SANITIZE_THREAD__)
	return "tsan (TDP_DEBUG)";
#elif defined(TDP_DEBUG)
	return "debug (TDP_DEBUG)";
#elif defined(__OPTIMIZE__)
	return "release";
#else
	return "unoptimised";
#endif
}

void machine_info_print(const struct machine_info *m, unsigned levels, FILE *f)
{
	fprintf(f, "cpu:     %s\n", m->cpu);
	fprintf(f, "cores:   %ld online", m->online_cores);
	if (m->usable_cores != m->online_cores)
		fprintf(f, ", %ld usable by this process", m->usable_cores);
	fprintf(f, "\nmemory:  %.1f GiB\n", (double)m->mem_bytes / (1ull << 30));
	fprintf(f, "kernel:  %s\n", m->kernel);
	fprintf(f, "liburcu flavour: memb, sys_membarrier fast path: %s\n",
		m->membarrier ? "active" : "INACTIVE");
	fprintf(f, "build:   %s, %u-level tables, TDP_PT_BITS %u, cc %s\n", build_variant(), levels,
		tdpmmu_pt_bits(), __VERSION__);
}

void machine_info_json(const struct machine_info *m, unsigned levels, FILE *f)
{
	fputs("{\n    \"cpu\": ", f);
	json_string(f, m->cpu);
	fprintf(f, ",\n    \"cores\": %ld,\n    \"usable_cores\": %ld,\n", m->online_cores,
		m->usable_cores);
	fprintf(f, "    \"memory_bytes\": %" PRIu64 ",\n    \"kernel\": ", m->mem_bytes);
	json_string(f, m->kernel);
	fprintf(f, ",\n    \"rcu_flavour\": \"memb\",\n    \"membarrier_active\": %s,\n",
		m->membarrier ? "true" : "false");
	fprintf(f, "    \"levels\": %u,\n    \"pt_bits\": %u,\n    \"build\": ", levels,
		tdpmmu_pt_bits());
	json_string(f, build_variant());
	fputs(",\n    \"compiler\": ", f);
	json_string(f, __VERSION__);
	fputs("\n  }", f);
}
