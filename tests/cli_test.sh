#!/bin/sh
# cli_test.sh - checks of the tdpmmu program's command line: help and
# version (and --help on every subcommand), every kind of bad input (exit 2,
# one message on stderr, nothing on stdout, nothing done), a tiny populate
# run with JSON output, and small runs of every flag and backing name.
#
# usage: sh tests/cli_test.sh PATH/TO/tdpmmu
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
	grep -q "try 'tdpmmu --help'" "$tmp/err" || fail "$desc ($*): no --help hint"
}

# --- help and version --------------------------------------------------------
expect_ok "--help" populate --help
expect_ok "help" populate help
expect_ok "no arguments" populate
expect_ok "--version" "^tdpmmu [0-9]" --version
expect_ok "bench populate --help" "--repeat" bench populate --help
expect_ok "bench populate -h" "anonymous_hugetlb_1gb" bench populate -h
expect_ok "bench --help" "populate" bench --help
expect_ok "run --help" "usage: tdpmmu run" run --help
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
expect_usage "more than 1000 vCPUs" bench populate -v 1001
expect_usage "duplicate vCPU count" bench populate -v 2,2
expect_usage "bad size" bench populate -b 12Q
expect_usage "size with trailing junk" bench populate -b 1GB
expect_usage "size not a multiple of 4K" bench populate -b 5000
expect_usage "zero size" bench populate -b 0
expect_usage "size overflow" bench populate -b 99999999999999999999
expect_usage "write percentage over 100" bench populate -w 101
expect_usage "write percentage not a number" bench populate -w half
expect_usage "unknown backing" bench populate -s frobnicate
expect_usage "KVM backing we do not model" bench populate -s shmem
expect_usage "backing name in the wrong case" bench populate -s Anonymous
expect_usage "bad level count" bench populate --levels 3
expect_usage "memory beyond the address space" bench populate -v 1000 -b 1T
expect_usage "overlapping memory beyond the address space" bench populate -o -b 512T
expect_usage "payload beyond this machine" bench populate -v 1000 -b 64G --payload
expect_usage "hugetlb size not a multiple of 2M" bench populate -s anonymous_hugetlb -b 1M -v 1
expect_usage "hugetlb_2mb size not a multiple of 2M" \
	bench populate -s anonymous_hugetlb_2mb -b 3M -v 2
expect_usage "hugetlb_1gb size not a multiple of 1G" \
	bench populate -s anonymous_hugetlb_1gb -b 512M -v 2
expect_usage "short hugetlb name, size not a multiple of 2M" \
	bench populate -s hugetlb-2m -b 1M -v 1

# Bad input does nothing: not even create the JSON file.
run bench populate -v 0 --json "$tmp/never.json"
[ -e "$tmp/never.json" ] && fail "bad input still created the --json file"

# --- a tiny run --------------------------------------------------------------
json=$tmp/populate.json
expect_ok "tiny populate run" "fault / floor" \
	bench populate -v 1,2 -b 8M --repeat 1 --json "$json"
for pattern in "command: tdpmmu bench populate -v 1,2 -b 8M" "liburcu flavour: memb" \
	"floor (bare walk + CAS)" "fault latency" "p99.9 ns" "flush wait ms" "MMU lock" \
	"summary" "machine ref" "-s anonymous (4K mappings)"; do
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
		'"phases": \[{"name": "populate", "seconds": [0-9]' '"faults": [0-9]' \
		'"faults_per_sec": [0-9]' '"fault_latency_ns": {"p50": [0-9]' '"p99": [0-9]' \
		'"p999": [0-9]' '"max": [0-9]' '"read_acquisitions": [0-9]' \
		'"write_acquisitions": [0-9]' '"vcpu_write_acquisitions": 0' \
		'"read_wait_ns": [0-9]' '"write_hold_ns": [0-9]' '"retired": [0-9]' \
		'"freed": [0-9]' '"peak_outstanding": [0-9]' '"peak_outstanding_bytes": [0-9]' \
		'"tlb_flushes": [0-9]' '"floor_ns_per_page": [0-9]' '"machine_ref_ratio": [0-9]'; do
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

# --- the selftest scenarios: dirty-log, access-tracking, nx-recovery ----------
for scenario in dirty-log access-tracking nx-recovery; do
	expect_ok "bench --help lists $scenario" "$scenario" bench --help
	expect_ok "--help lists $scenario" "bench $scenario" --help
	expect_ok "bench $scenario -h" "usage: tdpmmu bench $scenario" bench $scenario -h
	for pattern in "-v N" "-b SIZE" "-s BACKING" "--json FILE" "-h, --help"; do
		expect_ok "bench $scenario --help names $pattern" "$pattern" bench $scenario --help
	done
	# Bad input common to all three: one line, exit 2, nothing done.
	expect_usage "$scenario: unknown flag" bench $scenario --frobnicate
	expect_usage "$scenario: positional argument" bench $scenario 12
	expect_usage "$scenario: zero vCPUs" bench $scenario -v 0
	expect_usage "$scenario: more than 1000 vCPUs" bench $scenario -v 1001
	expect_usage "$scenario: vCPU list (one count only)" bench $scenario -v 1,2
	expect_usage "$scenario: bad size" bench $scenario -b 1GB
	expect_usage "$scenario: size not a multiple of 4K" bench $scenario -b 5000
	expect_usage "$scenario: unknown backing" bench $scenario -s shmem
	expect_usage "$scenario: hugetlb size not a multiple of 2M" \
		bench $scenario -s anonymous_hugetlb_2mb -b 1M
	expect_usage "$scenario: memory beyond the address space" bench $scenario -v 1000 -b 1T
	expect_usage "$scenario: empty --json" bench $scenario --json=
	run bench $scenario -v 0 --json "$tmp/never-$scenario.json"
	[ -e "$tmp/never-$scenario.json" ] && fail "$scenario: bad input still created --json file"
done
for pattern in "-i N" "-g " "-e " "-w PCT" "-a " "-x N" "--eager-split" "--recover HOW" \
	"Populate memory" "Enabling dirty logging" "Iteration N dirty memory" \
	"Iteration N get dirty log" "Iteration N clear dirty log" "Disabling dirty logging"; do
	expect_ok "bench dirty-log --help names $pattern" "$pattern" bench dirty-log --help
done
for pattern in "-o " "--flush" "Populating memory" "Writing to populated memory" \
	"Reading from populated memory" "Mark memory idle" "Writing to idle memory" \
	"Reading from idle memory" "still idle"; do
	expect_ok "bench access-tracking --help names $pattern" "$pattern" bench access-tracking --help
done
for pattern in "--period MS" "--ratio N" "--seconds S" "baseline" "p99.9" \
	"anonymous_hugetlb_2mb)"; do
	expect_ok "bench nx-recovery --help names $pattern" "$pattern" bench nx-recovery --help
done

expect_usage "dirty-log: one iteration" bench dirty-log -i 1
expect_usage "dirty-log: iterations not a number" bench dirty-log -i two
expect_usage "dirty-log: too many iterations" bench dirty-log -i 101
expect_usage "dirty-log: write percentage over 100" bench dirty-log -w 101
expect_usage "dirty-log: zero memslots" bench dirty-log -x 0
expect_usage "dirty-log: more memslots than allowed" bench dirty-log -x 513
expect_usage "dirty-log: memslots that do not split the memory" bench dirty-log -b 8M -x 3
expect_usage "dirty-log: memslots of partial huge pages" \
	bench dirty-log -s hugetlb_2mb -b 2M -x 2
expect_usage "dirty-log: unknown recovery" bench dirty-log --recover collapse
expect_usage "dirty-log: missing recovery" bench dirty-log --recover
expect_usage "dirty-log: value to a bare flag" bench dirty-log --eager-split=1
expect_usage "dirty-log: -o is not a dirty-log flag" bench dirty-log -o
expect_usage "access-tracking: value to --flush" bench access-tracking --flush=yes
expect_usage "access-tracking: -w is not an access-tracking flag" bench access-tracking -w 50
expect_usage "nx-recovery: zero period" bench nx-recovery --period 0
expect_usage "nx-recovery: zero ratio" bench nx-recovery --ratio 0
expect_usage "nx-recovery: zero seconds" bench nx-recovery --seconds 0
expect_usage "nx-recovery: over an hour" bench nx-recovery --seconds 3601
expect_usage "nx-recovery: period not a number" bench nx-recovery --period 1s
expect_usage "nx-recovery: default backing needs 2M multiples" bench nx-recovery -b 1M

# Tiny runs: every phase line, the checks pass, valid-looking JSON.
json=$tmp/dirty.json
expect_ok "tiny dirty-log run" "Disabling dirty logging time: " \
	bench dirty-log -b 8M --json "$json"
for pattern in "command: tdpmmu bench dirty-log -v 1 -b 8M -s anonymous -i 2" \
	"liburcu flavour: memb" "Populate memory time: " "Enabling dirty logging time: " \
	"Iteration 1 dirty memory time: " "Iteration 1 get dirty log time: " \
	"Iteration 1 clear dirty log time: " "Iteration 2 dirty memory time: " \
	"Iteration 2 clear dirty log time: " "Get dirty log over 2 iterations took " \
	"Clear dirty log over 2 iterations took " "pages dirty per iteration: 2048 2048" \
	"leaves_write_protected" "pages_logged_dirty" "fast_faults_fixed" "eager_splits" \
	"huge_pages_recovered"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny dirty-log run: '$pattern' missing"
done
for pattern in '"machine": {' '"command": "tdpmmu bench dirty-log' '"scenario": "dirty-log"' \
	'"name": "Iteration 2 clear dirty log", "seconds": [0-9]' '"dirty_pages": \[2048, 2048\]' \
	'"pages_logged_dirty": [0-9]'; do
	grep -q -- "$pattern" "$json" || fail "dirty-log JSON: no $pattern"
done
expect_ok "dirty-log -g (no manual protect)" "Iteration 3 get dirty log time: " \
	bench dirty-log -b 4M -i 3 -g -w 50 -a
grep -qF "clear dirty log time" "$tmp/out" && fail "dirty-log -g: clear phase printed"
expect_ok "dirty-log -e, hugetlb, eager split, zap, memslots" "vCPU pass while disabling (-e)" \
	bench dirty-log -v 2 -b 4M -s hugetlb_2mb -e --eager-split --recover zap -x 2
grep -q "eager_splits  *[1-9]" "$tmp/out" || fail "dirty-log --eager-split: no eager splits"
grep -q "collapsible_tables_zapped  *[1-9]" "$tmp/out" ||
	fail "dirty-log --recover zap: no tables zapped"
expect_ok "dirty-log inplace recovery" "huge_pages_recovered  *[1-9]" \
	bench dirty-log -b 4M -s hugetlb_2mb

json=$tmp/access.json
expect_ok "tiny access-tracking run" "Reading from idle memory      : " \
	bench access-tracking -b 8M --json "$json"
for pattern in "command: tdpmmu bench access-tracking -v 1 -b 8M" \
	"Populating memory             : " "Writing to populated memory   : " \
	"Reading from populated memory : " "Mark memory idle              : " \
	"Writing to idle memory        : " "still idle after writing: " \
	"still idle after reading: " "young_cleared"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny access-tracking run: '$pattern' missing"
done
[ "$(grep -c "^Mark memory idle" "$tmp/out")" -eq 2 ] ||
	fail "tiny access-tracking run: 'Mark memory idle' not printed twice"
grep -q '"scenario": "access-tracking"' "$json" || fail "access-tracking JSON: no scenario"
# 256 pages fit in the 4K TLB: without a flush they stay idle (the warning),
# with --flush every access walks again and sets Accessed.
expect_ok "access-tracking in the TLB warns" "WARNING: vCPU0: Too many pages still idle" \
	bench access-tracking -b 1M
expect_ok "access-tracking --flush" "still idle after reading: 0 of 512" \
	bench access-tracking -b 1M -v 2 -o --flush
grep -q "WARNING" "$tmp/out" && fail "access-tracking --flush: pages still idle"

json=$tmp/nx.json
expect_ok "tiny nx-recovery run" "recovery: Max fault latency: [0-9]* ns" \
	bench nx-recovery -b 8M --seconds 1 --period 1 --ratio 2 --json "$json"
for pattern in "command: tdpmmu bench nx-recovery -v 1 -b 8M -s anonymous_hugetlb_2mb" \
	"baseline: Max fault latency: " "recovery / baseline: p50 " "nx_tables_recovered" \
	"p99.9 ns"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny nx-recovery run: '$pattern' missing"
done
grep -q '"nx_tables_recovered": [1-9]' "$json" || fail "nx-recovery: no table recovered"
grep -q '"row": "baseline"' "$json" && grep -q '"recovery_over_baseline": {"p50": ' "$json" ||
	fail "nx-recovery JSON: rows or ratios missing"

# --- reclamation strategies ----------------------------------------------------
for scenario in populate dirty-log access-tracking nx-recovery; do
	expect_usage "$scenario: unknown strategy" bench $scenario --strategy epoch
	expect_ok "bench $scenario --help names --strategy" "--strategy NAME" bench $scenario --help
done
expect_ok "populate under llist" "command: .*--strategy llist" \
	bench populate -b 1M --repeat 1 --strategy llist
for scenario in huge-over-table stalled-reader; do
	expect_ok "bench --help lists $scenario" "$scenario" bench --help
	expect_ok "bench $scenario -h" "usage: tdpmmu bench $scenario" bench $scenario -h
	expect_usage "$scenario: one vCPU" bench $scenario -v 1
	expect_usage "$scenario: unknown strategy in a list" bench $scenario --strategy rcu,epoch
	expect_usage "$scenario: empty entry in a list" bench $scenario --strategy rcu,
	expect_usage "$scenario: zero seconds" bench $scenario --seconds 0
	expect_usage "$scenario: seconds not a number" bench $scenario --seconds 1s
	expect_usage "$scenario: empty --json" bench $scenario --json=
done
expect_usage "stalled-reader: stall over half the run" bench stalled-reader --seconds 0.2 --stall-ms 100
expect_usage "stalled-reader: zero stall" bench stalled-reader --stall-ms 0
expect_usage "huge-over-table: no --stall-ms" bench huge-over-table --stall-ms 10

json=$tmp/hot.json
expect_ok "tiny huge-over-table run" "^wrlock " bench huge-over-table --seconds 0.1 --json "$json"
for strategy in rcu rcu-qsbr llist llist-trylock wrlock global; do
	grep -q "^$strategy " "$tmp/out" || fail "huge-over-table: no row for $strategy"
	grep -q "\"scenario\": \"huge-over-table\", \"strategy\": \"$strategy\"" "$json" ||
		fail "huge-over-table JSON: no $strategy result"
done
grep -q '"strategy": "wrlock", "retired": [0-9]*, .*"write_retries": [1-9]' "$json" ||
	fail "huge-over-table JSON: wrlock made no write-lock retry"
json=$tmp/stall.json
expect_ok "tiny stalled-reader run" "during the 20 ms stall" \
	bench stalled-reader --seconds 0.2 --stall-ms 20 --strategy rcu,llist --json "$json"
grep -q "^global " "$tmp/out" && fail "stalled-reader --strategy rcu,llist: ran global"
grep -q '"stall": {"ms": [0-9]' "$json" || fail "stalled-reader JSON: no stall window"

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

if [ "$failures" -ne 0 ]; then
	echo "cli_test: $failures failed checks" >&2
	exit 1
fi
echo "cli_test: all $checks checks passed"
