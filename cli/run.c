/*
 * run.c - `tdpmmu run`, the main job (`make run`): the populate benchmark
 * from 1 to 256 vCPUs, sized to take about a minute on a 2-core machine.
 * It is exactly `tdpmmu bench populate` with the flags below, which it
 * prints first and then parses like any command line.
 */
#include <string.h>

#include "populate.h"

/*
 * 331 vCPUs' worth of memory per round (1+2+8+64+256): a latency round,
 * then five throughput rounds.  On the 2-core development VM (about 20 M
 * faults/s with both cores busy) RUN_SIZE per vCPU gives about 5 s of
 * populate per round, and about a minute in all with VM setup and
 * teardown, the checks, the audit and the machine reference.
 */
#define RUN_VCPUS "1,2,8,64,256"
#define RUN_SIZE "1G"
#define RUN_REPEAT "5"

int run_main(int argc, char **argv)
{
	char *flags[] = { "run", "-v", RUN_VCPUS, "-b", RUN_SIZE, "--repeat", RUN_REPEAT, NULL };
	int nr_flags = (int)(sizeof(flags) / sizeof(flags[0])) - 1;
	struct populate_opts o;
	char command[600];

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		print_run_help(stdout);
		return 0;
	}
	if (argc > 1)
		usage_error("'run' takes no arguments ('bench populate' takes flags)");
	populate_opts_init(&o);
	populate_opts_parse(&o, nr_flags, flags);
	snprintf(command, sizeof(command), "tdpmmu bench populate -v %s -b %s --repeat %s",
		 RUN_VCPUS, RUN_SIZE, RUN_REPEAT);
	printf("tdpmmu run: the same as `%s`\n\n", command);
	return populate_bench(&o, command);
}
