#!/bin/sh
# broken_obj.sh - one object of a deliberately broken build (Makefile,
# BROKEN): compile it with the broken flags only if the source or a header
# it includes (the debug object's dependency file, -MMD) names one of the
# build's mutants; otherwise the debug object is the same code, so copy it.
# This keeps each broken build to the few files its mutant touches.
#
# usage: sh scripts/broken_obj.sh 'KNOB1|KNOB2' DEBUG.o OUT.o SOURCE -- COMPILE...
set -eu
knobs=$1 debug_o=$2 out=$3 src=$4
shift 5
deps=$(tr -s ' \\' '\n\n' <"${debug_o%.o}.d" | grep -E '\.[ch]$' || true)
# shellcheck disable=SC2086 # the header list is whitespace-separated paths
if grep -qE "TDP_MUTANT\\(($knobs)\\)" "$src" $deps; then
	echo "$*"
	exec "$@"
fi
cp "$debug_o" "$out"
