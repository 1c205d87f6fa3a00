/*
 * scenario.h - the benchmark scenarios of `tdpmmu bench`, in one table
 * (scenario.c).  Everything that lists or finds a scenario reads it: the
 * dispatch of `tdpmmu bench NAME` and its "known:" list (main.c), the
 * program's --help and `tdpmmu bench --help` (help.c), `tdpmmu run`
 * (run.c) and the sweep driver (sweep/sweep.c: the name in the report,
 * the JSON and the plot, and which scenarios have kvm rows).  Each
 * scenario lives in its own folder (cli/<scenario>/: opts.c, run.c,
 * report.c, help.c and a header), which defines the entry point, the help
 * printer and the sweep description the table points at.
 *
 * Constant data, read by the main thread only.
 */
#ifndef TDPMMU_CLI_SCENARIO_H
#define TDPMMU_CLI_SCENARIO_H

#include <stddef.h>
#include <stdio.h>

struct sweep_scenario;

struct scenario {
	const char *name; /* what `tdpmmu bench` takes; the JSON's "scenario" */
	/* `tdpmmu bench --help`: the list's text, lines separated by '\n' */
	const char *summary;
	/* `tdpmmu --help`: its text there, or NULL: only named on the "also" line */
	const char *usage;
	/* Parses the flags (argv[0] is the name) and runs the sweep; the exit status. */
	int (*main)(const struct scenario *sc, int argc, char **argv);
	void (*help)(FILE *f);              /* `tdpmmu bench NAME --help` */
	const struct sweep_scenario *sweep; /* title, metric, columns, run functions */
};

extern const struct scenario scenarios[];
extern const size_t nr_scenarios;

/* The scenario named @name, or NULL. */
const struct scenario *scenario_find(const char *name);
/* "populate, demand-paging, ...": every name, in the table's order. */
void scenario_names(char *buf, size_t len);

#endif /* TDPMMU_CLI_SCENARIO_H */
