#!/bin/sh
# symbols_test.sh - the shared library exports the public API and nothing
# else: every defined dynamic symbol carries the tdpmmu_ prefix, and every
# function the public header declares is among them.
#
# usage: sh tests/install/symbols_test.sh [build/libtdpmmu.so]
set -eu
so=${1:-build/libtdpmmu.so}
[ -f "$so" ] || { echo "symbols_test: $so not built" >&2; exit 1; }
syms=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sort -u)
stray=$(printf '%s\n' "$syms" | grep -v '^tdpmmu_' || true)
if [ -n "$stray" ]; then
	echo "symbols_test: $so exports symbols outside tdpmmu_*:" >&2
	printf '  %s\n' $stray >&2
	exit 1
fi
# Every tdpmmu_ function named in a prototype in the public headers.
declared=$(sed -n 's/.*[ *]\(tdpmmu_[a-z0-9_]*\)(.*/\1/p' include/tdpmmu/*.h | sort -u)
missing=""
for f in $declared; do
	printf '%s\n' "$syms" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "symbols_test: declared in include/tdpmmu but not exported:$missing" >&2
	exit 1
fi
echo "symbols_test: ok, $(printf '%s\n' "$syms" | wc -l) symbols, all tdpmmu_*"
