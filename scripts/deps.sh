#!/bin/sh
# deps.sh - make sure the Debian packages the build needs are present.
# As root, missing packages are installed with apt-get; otherwise the exact
# command is printed and the build stops.
#
# usage: sh scripts/deps.sh [gnuplot] [g++]
#   gnuplot: also the plots' package; g++: also a C++ compiler ($CXX), for
#   the check that the public headers build as C++ (make check)
set -e
CC=${CC:-cc}
CXX=${CXX:-g++}
want_gnuplot=""
want_cxx=""
for w in "$@"; do
	case $w in
	gnuplot) want_gnuplot=gnuplot ;;
	g++) want_cxx=g++ ;;
	*) echo "deps: unknown extra '$w'" >&2; exit 2 ;;
	esac
done

find_missing() {
	missing=""
	if ! printf '#include <urcu/urcu-memb.h>\n' | $CC -E -x c - >/dev/null 2>&1; then
		missing="$missing liburcu-dev"
	fi
	if [ "$want_gnuplot" = gnuplot ] && ! command -v gnuplot >/dev/null 2>&1; then
		missing="$missing gnuplot-nox"
	fi
	if [ -n "$want_cxx" ] && ! command -v "$CXX" >/dev/null 2>&1; then
		missing="$missing g++"
	fi
}

find_missing
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$missing with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
	find_missing
	[ -z "$missing" ] && exit 0
	echo "deps: still missing after apt-get:$missing" >&2
	exit 1
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with:  sudo apt-get install -y$missing" >&2
exit 1
