#!/bin/sh
# install_test.sh - `make install PREFIX=...` into a scratch prefix, then
# build the README's example against the installed headers and both
# libraries, run it, and check that header, library, pkg-config file and
# program agree on the version.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s install PREFIX="$tmp" >/dev/null
for f in include/tdpmmu/tdpmmu.h include/tdpmmu/spte.h include/tdpmmu/stats.h \
	lib/libtdpmmu.a lib/libtdpmmu.so lib/pkgconfig/tdpmmu.pc bin/tdpmmu; do
	[ -e "$tmp/$f" ] || { echo "install_test: $f not installed" >&2; exit 1; }
done
# The test and benchmark support is not part of the product.
[ ! -e "$tmp/include/tdpmmu/testing.h" ] ||
	{ echo "install_test: tdpmmu/testing.h installed" >&2; exit 1; }
grep -q "^prefix=$tmp\$" "$tmp/lib/pkgconfig/tdpmmu.pc" ||
	{ echo "install_test: tdpmmu.pc has the wrong prefix" >&2; exit 1; }
cc tests/install/install_example.c -I"$tmp/include" "$tmp/lib/libtdpmmu.a" \
	-lurcu-memb -lurcu-qsbr -lurcu-common -pthread -o "$tmp/static"
cc tests/install/install_example.c -I"$tmp/include" -L"$tmp/lib" -ltdpmmu -Wl,-rpath,"$tmp/lib" \
	-o "$tmp/shared"
"$tmp/static" | grep -q "mapped at level 2" || { echo "install_test: static example" >&2; exit 1; }
"$tmp/shared" | grep -q "mapped at level 2" || { echo "install_test: shared example" >&2; exit 1; }
# One version everywhere: the installed header, the library and the
# pkg-config file (the Makefile reads it from the header).
v=$(sed -n 's/^Version: //p' "$tmp/lib/pkgconfig/tdpmmu.pc")
for prog in static shared; do
	"$tmp/$prog" | grep -qx "tdpmmu $v, library $v" || {
		echo "install_test: $prog example: version is not $v (tdpmmu.pc):" \
			"$("$tmp/$prog" | tail -1)" >&2
		exit 1
	}
done
"$tmp/bin/tdpmmu" --version | grep -qx "tdpmmu $v" ||
	{ echo "install_test: tdpmmu --version is not $v" >&2; exit 1; }
echo "install_test: ok, version $v"
