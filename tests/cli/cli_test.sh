#!/bin/sh
# cli_test.sh - checks of the tdpmmu program's command line: help and
# version (and --help on every subcommand), every kind of bad input (exit 2,
# one message on stderr, nothing on stdout, nothing done), a tiny populate
# run with JSON output, and small runs of every flag and backing name.
#
# usage: sh tests/cli/cli_test.sh PATH/TO/tdpmmu
# Needs only a POSIX shell and grep.

prog=$1
if [ -z "$prog" ] || [ ! -x "$prog" ]; then
	echo "usage: sh $0 PATH/TO/tdpmmu" >&2
	exit 2
fi

tmp=$(mktemp -d 2>/dev/null) || tmp=${TMPDIR:-/tmp}/cli_test.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

checks=0
failures=0

fail() {
	echo "cli_test: FAIL: $*" >&2
	failures=$((failures + 1))
}

# run ARGS...: run the program, leaving $rc, $tmp/out and $tmp/err.
run() {
	checks=$((checks + 1))
	"$prog" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect_ok DESCRIPTION PATTERN ARGS...: exit 0 and PATTERN on stdout.
expect_ok() {
	desc=$1
	pattern=$2
	shift 2
	run "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$desc: exit status $rc, expected 0"
		sed 's/^/    /' "$tmp/err" >&2
		return
	fi
	grep -q -- "$pattern" "$tmp/out" || fail "$desc: '$pattern' missing from stdout"
}

# expect_usage DESCRIPTION ARGS...: exit 2, one error line plus the hint on
# stderr, nothing on stdout.
expect_usage() {
	desc=$1
	shift
	run "$@"
	if [ "$rc" -ne 2 ]; then
		fail "$desc ($*): exit status $rc, expected 2"
		return
	fi
	[ -s "$tmp/out" ] && fail "$desc ($*): printed to stdout"
	if [ "$(wc -l <"$tmp/err")" -ne 2 ]; then
		fail "$desc ($*): expected an error line and the hint on stderr, got:"
		sed 's/^/    /' "$tmp/err" >&2
		return
	fi
	grep -q "^tdpmmu: " "$tmp/err" || fail "$desc ($*): no 'tdpmmu:' error line"
	# The hint names the command's own --help: "try 'tdpmmu bench NAME --help'"
	# for a scenario bench --help lists ($tmp/scenarios), else its command's.
	hint=tdpmmu
	case "$1" in
	run | torture) hint="tdpmmu $1" ;;
	bench)
		hint="tdpmmu bench"
		[ -n "$2" ] && grep -qxF -- "$2" "$tmp/scenarios" 2>/dev/null &&
			hint="tdpmmu bench $2"
		;;
	esac
	grep -qxF "try '$hint --help'" "$tmp/err" ||
		fail "$desc ($*): no hint naming '$hint --help'"
}

# --- help and version --------------------------------------------------------
expect_ok "--help" populate --help
expect_ok "help" populate help
# No arguments: the usage on stderr, exit 2.
run
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q "^usage: tdpmmu" "$tmp/err" ||
	fail "no arguments: exit $rc, expected 2 with the usage on stderr"
expect_ok "--version" "^tdpmmu [0-9]" --version
expect_ok "bench populate --help" "--repeat" bench populate --help
expect_ok "bench populate -h" "anonymous_hugetlb_1gb" bench populate -h
expect_ok "bench --help" "populate" bench --help
expect_ok "run --help" "usage: tdpmmu run" run --help
# One table of scenarios (cli/scenario.c) feeds bench --help, the program's
# --help, the "known:" list and each scenario's own --help: they must agree.
"$prog" bench --help 2>/dev/null | sed -n '/^scenarios/,/^$/s/^  \([a-z-][a-z-]*\)  .*/\1/p' \
	>"$tmp/scenarios"
checks=$((checks + 1))
[ "$(wc -l <"$tmp/scenarios")" -ge 9 ] ||
	fail "bench --help: fewer than 9 scenarios listed ($(tr '\n' ' ' <"$tmp/scenarios"))"
for scenario in $(cat "$tmp/scenarios"); do
	expect_ok "bench $scenario --help" "^usage: tdpmmu bench $scenario \[flags\]" \
		bench "$scenario" --help
	expect_ok "--help names $scenario" "[ ,]$scenario\\([],: ]\\|\$\\)" --help
	expect_usage "bench: an unknown scenario" bench "$scenario-x"
	grep -q "(known: .*$scenario" "$tmp/err" ||
		fail "bench: unknown scenario's known list does not name $scenario"
done
for pattern in "-v LIST" "-b SIZE" "-s BACKING" "-w PCT" "-o " "-a " "--payload" "--levels" \
	"--json FILE"; do
	expect_ok "bench populate --help names $pattern" "$pattern" bench populate --help
done

# --- bad input ---------------------------------------------------------------
expect_usage "unknown command" frobnicate
expect_usage "unknown scenario" bench frobnicate
expect_usage "missing scenario" bench
expect_usage "arguments to run" run extra
expect_usage "unknown flag" bench populate --frobnicate
expect_usage "unknown short flag" bench populate -x 1
expect_usage "--max-level is gone" bench populate --max-level 1
expect_usage "positional argument" bench populate 12
expect_usage "missing value" bench populate -v
expect_usage "value to a bare flag" bench populate --payload=1
expect_usage "bad number" bench populate --repeat abc
expect_usage "negative number" bench populate --repeat -1
expect_usage "zero repeats" bench populate --repeat 0
expect_usage "bad number in vCPU list" bench populate -v 1,x
expect_usage "empty entry in vCPU list" bench populate -v 1,,2
expect_usage "trailing comma in vCPU list" bench populate -v 1,
expect_usage "zero vCPUs" bench populate -v 0
expect_usage "zero vCPUs in a list" bench populate -v 1,0
expect_usage "more than 4096 vCPUs" bench populate -v 4097
expect_usage "duplicate vCPU count" bench populate -v 2,2
expect_usage "bad size" bench populate -b 12Q
expect_usage "size with trailing junk" bench populate -b 1GB
expect_usage "size not a multiple of 4K" bench populate -b 5000
expect_usage "zero size" bench populate -b 0
expect_usage "size overflow" bench populate -b 99999999999999999999
expect_usage "write percentage over 100" bench populate -w 101
expect_usage "write percentage not a number" bench populate -w half
expect_usage "unknown backing" bench populate -s frobnicate
expect_usage "KVM backing we do not model" bench populate -s anonymous_hugetlb_16kb
expect_usage "backing name in the wrong case" bench populate -s Anonymous
expect_usage "bad level count" bench populate --levels 3
expect_usage "memory beyond the address space" bench populate -v 1000 -b 1T
expect_usage "overlapping memory beyond the address space" bench populate -o -b 512T
expect_usage "payload beyond this machine" bench populate -v 1000 -b 64G --payload
# Memory need not be a multiple of the backing's page (as in the selftests):
# the slot maps with the largest pages that fit (tests/unit/test_short_slot.c).
expect_ok "hugetlb size not a multiple of 2M" "^rcu  *1 " \
	bench populate -s anonymous_hugetlb -b 1M -v 1 --repeat 1
expect_ok "hugetlb_1gb size not a multiple of 1G" "^rcu  *2 " \
	bench populate -s anonymous_hugetlb_1gb -b 3M -v 2 --repeat 1

# Bad input does nothing: not even create the JSON file.
run bench populate -v 0 --json "$tmp/never.json"
[ -e "$tmp/never.json" ] && fail "bad input still created the --json file"

# --- a tiny run --------------------------------------------------------------
json=$tmp/populate.json
expect_ok "tiny populate run" "fault / floor" \
	bench populate -v 1,2 -b 8M --repeat 1 --json "$json"
for pattern in "command: tdpmmu bench populate -v 1,2 --strategy rcu --repeat 1" \
	"-b 8M" "liburcu flavour: memb" "floor (bare walk + CAS)" "fault latency" "p99.9 ns" \
	"MMU lock" "x global" "machine ref" "-s anonymous (4K mappings)" "leaves_4k"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny populate run: '$pattern' missing"
done
# Not a terminal: no progress line (and so no carriage return) in the output.
grep -q "round 1/1" "$tmp/out" && fail "tiny populate run: progress line on a pipe"
if [ ! -s "$json" ]; then
	fail "tiny populate run: no JSON written"
else
	for pattern in '"machine": {' '"cpu": "' '"cores": [0-9]' '"memory_bytes": [0-9]' \
		'"kernel": "' '"rcu_flavour": "memb"' '"membarrier_active": [tf]' \
		'"results": \[' '"scenario": "populate"' '"strategy": "rcu"' '"vcpus": 2,' \
		'"phases": \[' '{"name": "populate", "seconds": [0-9]' '"faults": [0-9]' \
		'"faults_per_sec": [0-9]' '"fault_latency_ns": {"p50": [0-9]' '"p99": [0-9]' \
		'"p999": [0-9]' '"max": [0-9]' '"read_acquisitions": [0-9]' \
		'"write_acquisitions": [0-9]' '"vcpu_write_acquisitions": 0' \
		'"read_wait_ns": [0-9]' '"write_hold_ns": [0-9]' '"retired": [0-9]' \
		'"freed": [0-9]' '"peak_outstanding": [0-9]' '"peak_outstanding_bytes": [0-9]' \
		'"tlb_flushes": [0-9]' '"floor_ns_per_page": [0-9]' \
		'"machine_ref_ops_per_sec": \[[0-9]' '"metric": {"name": "faults_per_sec", "best": [0-9]' \
		'"x_rcu": 1.0000' '"x_global": null' '"sweep": {"vcpus": \[1, 2\], "strategies": \["rcu"\]'; do
		grep -q -- "$pattern" "$json" || fail "JSON: no $pattern"
	done
	[ "$(head -c 1 "$json")" = "{" ] && [ "$(tail -n 1 "$json")" = "}" ] ||
		fail "JSON: not one object"
fi

# Other settings go through the same path.
expect_ok "5-level run" "fault / floor" bench populate -v 1 -b 4M --repeat 1 --levels 5
expect_ok "overlapping, random order, half reads, payload" "all vCPUs share one region" \
	bench populate -v 1,3 -b 4M --repeat 2 -o -a -w 50 --payload
grep -qF "random (-a)" "$tmp/out" || fail "-a: random order not reported"
grep -qF "50% writes" "$tmp/out" || fail "-w 50: not reported"
grep -qF "real host memory (--payload)" "$tmp/out" || fail "--payload: not reported"
expect_ok "KVM name anonymous" "-s anonymous (4K" bench populate -v 2 -b 1M --repeat 1 -s anonymous
expect_ok "KVM name anonymous_thp" "leaves_2m" \
	bench populate -v 2 -b 3M --repeat 1 -s anonymous_thp -a
expect_ok "KVM name anonymous_hugetlb" "-s anonymous_hugetlb_2mb (2M" \
	bench populate -v 2 -b 4M --repeat 2 -s anonymous_hugetlb
expect_ok "KVM name anonymous_hugetlb_2mb" "leaves_2m" \
	bench populate -v 2 -b 2M --repeat 1 -s anonymous_hugetlb_2mb -o
expect_ok "KVM name anonymous_hugetlb_1gb" "leaves_1g" \
	bench populate -v 1 -b 1G --repeat 1 -s anonymous_hugetlb_1gb
expect_ok "short name thp" "-s anonymous_thp" bench populate -v 1 -b 2M --repeat 1 -s thp
expect_ok "issue spelling hugetlb_2mb" "-s anonymous_hugetlb_2mb" bench populate -v 1 -b 2M --repeat 1 -s hugetlb_2mb
expect_ok "short name hugetlb-1g" "-s anonymous_hugetlb_1gb" \
	bench populate -v 1 -b 1G --repeat 1 -s hugetlb-1g -w 0
expect_ok "hundreds of vCPU threads" "  300 " bench populate -v 300 -b 16K --repeat 1

# --- the sweep: every strategy x every count, side by side ---------------------
# --plot needs gnuplot (a Debian package; CI installs it): without it the
# plot checks are skipped, and --plot must be a clear usage error.
have_gnuplot=
plot_args=
if command -v gnuplot >/dev/null 2>&1; then
	have_gnuplot=yes
	plot_args="--plot $tmp/sweep.svg" # $tmp has no blanks (mktemp)
else
	echo "cli_test: gnuplot is not installed: the --plot checks are skipped" >&2
fi
json=$tmp/sweep.json
# shellcheck disable=SC2086
expect_ok "sweep of every strategy" "best of 2 rounds" \
	bench populate -v 1,2 -b 1M --repeat 2 --strategy all --json "$json" $plot_args
for strategy in rcu rcu-qsbr llist llist-trylock wrlock global; do
	for v in 1 2; do
		[ "$(grep -c "^$strategy  *$v " "$tmp/out")" -ge 2 ] ||
			fail "sweep: $strategy at $v vCPUs missing from a table"
	done
done
grep -q "^rcu  *1 .* 1.00x " "$tmp/out" || fail "sweep: rcu is not 1.00x rcu"
grep -q "^global  *2 .* 1.00x$" "$tmp/out" || fail "sweep: global is not 1.00x global"
[ "$(grep -c '"scenario": "populate", "strategy"' "$json")" -eq 12 ] || fail "sweep JSON: not 12 results"
grep -q '"strategies": \["rcu", "rcu-qsbr", "llist", "llist-trylock", "wrlock", "global"\]' "$json" ||
	fail "sweep JSON: strategies not listed"
grep -q '"rounds": 2' "$json" || fail "sweep JSON: rounds not counted"
if [ -n "$have_gnuplot" ]; then
	grep -q "<svg" "$tmp/sweep.svg" 2>/dev/null || fail "sweep --plot: no SVG written"
	grep -q "plot written to $tmp/sweep.svg" "$tmp/out" || fail "sweep --plot: not reported"
	# A PATH without gnuplot: --plot is refused before anything runs.
	checks=$((checks + 1))
	PATH=/nonexistent "$prog" bench populate -v 1 -b 1M --plot "$tmp/never.svg" \
		>"$tmp/out" 2>"$tmp/err"
	[ $? -eq 2 ] && [ ! -s "$tmp/out" ] && [ ! -e "$tmp/never.svg" ] &&
		grep -q "apt-get install -y gnuplot-nox" "$tmp/err" ||
		fail "--plot without gnuplot: not a usage error with the install hint"
fi
expect_ok "--strategy list in any order" "^global " \
	bench populate -v 1 -b 1M --repeat 1 --strategy global,rcu
grep -q "command: .*--strategy rcu,global" "$tmp/out" || fail "--strategy list not normalised"
expect_usage "--plot with an unknown picture type" bench populate --plot "$tmp/p.pdf"
expect_usage "--plot without a name" bench populate --plot=
expect_usage "--strategy with an empty entry" bench populate --strategy rcu,
expect_usage "--repeat over the maximum" bench populate --repeat 1001
run bench populate -v 0 --plot "$tmp/never.svg"
[ -e "$tmp/never.svg" ] && fail "bad input still created the --plot file"

# --- the selftest scenarios: dirty-log, access-tracking, nx-recovery ----------
for scenario in dirty-log access-tracking nx-recovery; do
	expect_ok "bench --help lists $scenario" "$scenario" bench --help
	expect_ok "--help lists $scenario" "bench $scenario" --help
	expect_ok "bench $scenario -h" "usage: tdpmmu bench $scenario" bench $scenario -h
	for pattern in "-v LIST" "-b SIZE" "-s BACKING" "--strategy LIST" "--json FILE" \
		"--plot FILE" "-h, --help"; do
		expect_ok "bench $scenario --help names $pattern" "$pattern" bench $scenario --help
	done
	# Bad input common to all three: one line, exit 2, nothing done.
	expect_usage "$scenario: unknown flag" bench $scenario --frobnicate
	expect_usage "$scenario: positional argument" bench $scenario 12
	expect_usage "$scenario: zero vCPUs" bench $scenario -v 0
	expect_usage "$scenario: more than 4096 vCPUs" bench $scenario -v 4097
	expect_usage "$scenario: bad size" bench $scenario -b 1GB
	expect_usage "$scenario: size not a multiple of 4K" bench $scenario -b 5000
	expect_usage "$scenario: unknown backing" bench $scenario -s anonymous_hugetlb_16kb
	expect_usage "$scenario: memory beyond the address space" bench $scenario -v 1000 -b 1T
	expect_usage "$scenario: empty --json" bench $scenario --json=
	run bench $scenario -v 0 --json "$tmp/never-$scenario.json"
	[ -e "$tmp/never-$scenario.json" ] && fail "$scenario: bad input still created --json file"
done
# --- reclamation strategies ----------------------------------------------------
for scenario in populate dirty-log access-tracking nx-recovery; do
	expect_usage "$scenario: unknown strategy" bench $scenario --strategy epoch
	expect_ok "bench $scenario --help names --strategy" "--strategy" bench $scenario --help
done
expect_ok "populate under llist" "command: .*--strategy llist" \
	bench populate -b 1M --repeat 1 --strategy llist
# --- torture: help and bad input (its runs are make check's torture-short) ----
expect_ok "--help lists torture" "torture \[flags\]" --help
for pattern in "--strategy LIST" "--duration S" "--vcpus N" "--seed N" "--check-ms MS" \
	"--inject N" "--alloc-fail N" "--no-quarantine" "violations: N"; do
	expect_ok "torture --help names $pattern" "$pattern" torture --help
done
expect_usage "torture: zero duration" torture --duration 0
expect_usage "torture: duration not a number" torture --duration 5s
expect_usage "torture: too many vCPUs" torture --vcpus 17
expect_usage "torture: unknown strategy" torture --strategy rcu,epoch
expect_usage "torture: zero seed" torture --seed 0
expect_usage "torture: checks too often" torture --check-ms 1
expect_usage "torture: positional argument" torture 5

# --- each scenario's own checks: tests/cli/cli.d/*.sh, sourced here -------------------
for fragment in "$(dirname "$0")"/cli.d/*.sh; do
	. "$fragment"
done

if [ "$failures" -ne 0 ]; then
	echo "cli_test: $failures failed checks" >&2
	exit 1
fi
echo "cli_test: all $checks checks passed"
