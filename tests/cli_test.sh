#!/bin/sh
# cli_test.sh - checks of the tdpmmu program's command line: help and
# version, every kind of bad input (exit 2, one message on stderr, nothing
# on stdout, nothing done), and a tiny populate run with JSON output.
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
expect_ok "bench populate --help" "--repeat" bench populate --help
expect_ok "--version" "^tdpmmu [0-9]" --version

# --- bad input ---------------------------------------------------------------
expect_usage "unknown command" frobnicate
expect_usage "unknown scenario" bench frobnicate
expect_usage "missing scenario" bench
expect_usage "arguments to run" run extra
expect_usage "unknown flag" bench populate --frobnicate
expect_usage "unknown short flag" bench populate -x 1
expect_usage "positional argument" bench populate 12
expect_usage "missing value" bench populate -v
expect_usage "bad number" bench populate --repeat abc
expect_usage "negative number" bench populate --repeat -1
expect_usage "zero repeats" bench populate --repeat 0
expect_usage "bad number in thread list" bench populate -v 1,x
expect_usage "empty entry in thread list" bench populate -v 1,,2
expect_usage "trailing comma in thread list" bench populate -v 1,
expect_usage "zero threads" bench populate -v 0
expect_usage "zero threads in a list" bench populate -v 1,0
expect_usage "more than 1000 threads" bench populate -v 1001
expect_usage "duplicate thread count" bench populate -v 2,2
expect_usage "bad size" bench populate -b 12Q
expect_usage "size with trailing junk" bench populate -b 1GB
expect_usage "size not a multiple of 4K" bench populate -b 5000
expect_usage "zero size" bench populate -b 0
expect_usage "size overflow" bench populate -b 99999999999999999999
expect_usage "unknown backing" bench populate -s frobnicate
expect_usage "bad level count" bench populate --levels 3
expect_usage "bad max level" bench populate --max-level 4
expect_usage "memory beyond the address space" bench populate -v 1000 -b 1T
expect_usage "hugetlb-2m memory not 2M aligned" bench populate -s hugetlb-2m -b 1M -v 1

# Bad input does nothing: not even create the JSON file.
run bench populate -v 0 --json "$tmp/never.json"
[ -e "$tmp/never.json" ] && fail "bad input still created the --json file"

# --- a tiny run --------------------------------------------------------------
json=$tmp/populate.json
expect_ok "tiny populate run" "fault / floor" \
	bench populate -v 1,2 -b 8M --repeat 1 --json "$json"
for pattern in "liburcu flavour: memb" "floor (bare walk + CAS)" \
	"throughput 2 threads / 1 thread" "machine reference"; do
	grep -qF "$pattern" "$tmp/out" || fail "tiny populate run: '$pattern' missing"
done
if [ ! -s "$json" ]; then
	fail "tiny populate run: no JSON written"
else
	grep -q '"scenario": "populate"' "$json" || fail "JSON: no \"scenario\": \"populate\""
	grep -q '"threads": 2' "$json" || fail "JSON: no result for 2 threads"
	grep -q '"floor_ns": [0-9]' "$json" || fail "JSON: no floor_ns"
	grep -q '"2": [0-9]' "$json" || fail "JSON: no scaling for 2 threads"
	grep -q '"machine_ref_ratio": [0-9]' "$json" || fail "JSON: no machine_ref_ratio"
	[ "$(head -c 1 "$json")" = "{" ] && [ "$(tail -n 1 "$json")" = "}" ] ||
		fail "JSON: not one object"
fi

# Other settings go through the same path: 5 levels, huge pages, no floor.
expect_ok "5-level run" "fault / floor" bench populate -v 1 -b 4M --repeat 1 --levels 5
expect_ok "2M mappings" "leaves_2m" \
	bench populate -v 2 -b 4M --repeat 2 -s hugetlb-2m --max-level 0

if [ "$failures" -ne 0 ]; then
	echo "cli_test: $failures failed checks" >&2
	exit 1
fi
echo "cli_test: all $checks checks passed"
