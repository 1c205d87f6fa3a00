#!/bin/sh
# torture_extension.sh - a torture run extended past --duration says so.
#
# A short --duration rarely reaches every path the torture must see; it
# then runs up to a few more rounds, and must print one line naming the
# path, the --duration and the extension before it does (cli/torture/
# torture.c).  0.1 s of one strategy never reaches NX recovery, so the run
# is extended: the line must be there, and the strategy's result line must
# report more time than --duration (the extension really ran).  Seconds,
# so it runs from `make torture`, not make check.
#
# usage: sh tests/cli/torture_extension.sh PATH/TO/tdpmmu

prog=$1
if [ -z "$prog" ] || [ ! -x "$prog" ]; then
	echo "usage: sh $0 PATH/TO/tdpmmu" >&2
	exit 2
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM

"$prog" torture --duration 0.1 --strategy rcu >"$out" 2>&1 || {
	echo "torture_extension: FAIL: torture --duration 0.1 exited $?" >&2
	cat "$out" >&2
	exit 1
}
line="^torture rcu: '[a-z_]*' not reached in 0.1 s: up to [0-9]* more rounds of [0-9]* s past --duration$"
secs=$(sed -n 's/^torture rcu: \([0-9.]*\) s, .*/\1/p' "$out")
if ! grep -q "$line" "$out"; then
	echo "torture_extension: FAIL: no extension line in a 0.1 s run that took $secs s" >&2
	cat "$out" >&2
	exit 1
fi
if ! awk -v s="$secs" 'BEGIN { exit !(s > 0.1) }'; then
	echo "torture_extension: FAIL: the extension line was printed but the run took '$secs' s" >&2
	exit 1
fi
echo "torture_extension: a 0.1 s run extended to $secs s said so"
