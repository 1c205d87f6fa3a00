#!/bin/sh
# symbols_test.sh - the shared library exports the product's API and
# nothing else: every defined dynamic symbol carries the tdpmmu_ prefix,
# every function the product headers (tdpmmu.h, spte.h, stats.h) declare is
# among them, and none of the test and benchmark calls of
# tdpmmu/testing.h is (they live in libtdpmmu-testing.a only).
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
# The tdpmmu_ functions declared in some headers: a line that starts with
# a type and names tdpmmu_x( (comments start with a space or a star);
# static inline helpers are not exported and are left out.
declared_in() {
	sed -n '/^static inline /d; s/^[a-z].*[ *]\(tdpmmu_[a-z0-9_]*\)(.*/\1/p' "$@" | sort -u
}
product=$(ls include/tdpmmu/*.h | grep -v '/testing\.h$')
declared=$(declared_in $product)
missing=""
for f in $declared; do
	printf '%s\n' "$syms" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "symbols_test: declared in include/tdpmmu but not exported:$missing" >&2
	exit 1
fi
testing=$(declared_in include/tdpmmu/testing.h)
[ -n "$testing" ] || { echo "symbols_test: no function found in testing.h" >&2; exit 1; }
leaked=""
for f in $testing; do
	printf '%s\n' "$syms" | grep -qx "$f" && leaked="$leaked $f"
done
if [ -n "$leaked" ]; then
	echo "symbols_test: $so exports test calls of tdpmmu/testing.h:$leaked" >&2
	exit 1
fi
echo "symbols_test: ok, $(printf '%s\n' "$syms" | wc -l) symbols, all tdpmmu_*," \
	"none of testing.h's $(printf '%s\n' "$testing" | wc -l) calls"
