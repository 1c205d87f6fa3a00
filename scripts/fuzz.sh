#!/bin/sh
# fuzz.sh - build the libFuzzer target tests/model/fuzz_api.c (with ASan and
# UBSan, from the library sources) and run it over a copy of
# tests/model/fuzz_corpus for a while.
#
#   sh scripts/fuzz.sh DURATION_SECONDS [BUILD_DIR]
#
# BUILD_DIR (default build/fuzz) receives the binary, the working corpus
# (the seeds plus what the fuzzer adds) and, on a failure, the crashing
# input (BUILD_DIR/artifacts/).  Replay one with
#   FUZZ_API_TRACE=1 BUILD_DIR/fuzz_api FILE
# which prints every call before the failure.  Exits non-zero when the
# fuzzer finds a crash, a hang, a leak or a model mismatch.
#
# Needs clang with libFuzzer: as root it is installed with apt-get when
# missing; otherwise the command to install it is printed.  FUZZ_CC picks
# another compiler, FUZZ_CFLAGS adds compiler flags, FUZZ_FLAGS adds
# libFuzzer options (e.g. FUZZ_FLAGS='-jobs=2 -workers=2').
set -eu

usage() {
	echo "usage: sh scripts/fuzz.sh DURATION_SECONDS [BUILD_DIR]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	usage
fi
DURATION=$1
case $DURATION in
'' | *[!0-9]*) usage ;;
esac
cd "$(dirname "$0")/.."
BUILD=${2:-build/fuzz}
CC=${FUZZ_CC:-clang}
mkdir -p "$BUILD"

probe_fuzzer() {
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{\n\treturn 0;\n}\n' \
		>"$BUILD/probe.c"
	"$CC" -fsanitize=fuzzer,address,undefined "$BUILD/probe.c" -o "$BUILD/probe" \
		>/dev/null 2>&1
}

if ! command -v "$CC" >/dev/null 2>&1 || ! probe_fuzzer; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$CC" = clang ]; then
		echo "fuzz: installing clang (libFuzzer) with apt-get"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang
	fi
	if ! command -v "$CC" >/dev/null 2>&1 || ! probe_fuzzer; then
		echo "fuzz: $CC with libFuzzer (-fsanitize=fuzzer) is needed" >&2
		echo "fuzz: install it with:  sudo apt-get install -y clang" >&2
		exit 1
	fi
fi
rm -f "$BUILD/probe.c" "$BUILD/probe"
CC=$CC sh scripts/deps.sh

echo "fuzz: building $BUILD/fuzz_api"
# The library and the testing library (src/*/ includes src/testing/), the
# reference model's sources (tests/model/ minus its programs) and the
# harness, in one compile: -Isrc is for the library's sources; the harness
# itself uses the public headers and tdpmmu/testing.h.
model_srcs=$(ls tests/model/*.c | grep -v -e '/test_[^/]*\.c$' -e '/fuzz_api\.c$' || true)
# shellcheck disable=SC2046,SC2086 # the source lists and FUZZ_CFLAGS split on purpose
"$CC" -std=gnu11 -O1 -g -D_LGPL_SOURCE -DTDP_DEBUG \
	-Iinclude -Isrc -Itests -pthread -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined ${FUZZ_CFLAGS:-} \
	$(ls src/*/*.c) $model_srcs tests/model/fuzz_api.c -o "$BUILD/fuzz_api" \
	-lurcu-memb -lurcu-qsbr -lurcu-common -lm

rm -rf "$BUILD/corpus"
mkdir -p "$BUILD/corpus" "$BUILD/artifacts"
cp tests/model/fuzz_corpus/* "$BUILD/corpus/"
echo "fuzz: running for $DURATION s over $(find "$BUILD/corpus" -type f | wc -l) seed(s)"
status=0
# shellcheck disable=SC2086 # FUZZ_FLAGS splits on purpose
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	"$BUILD/fuzz_api" -max_total_time="$DURATION" -max_len=2048 -timeout=60 -rss_limit_mb=4096 \
	-print_final_stats=1 -artifact_prefix="$BUILD/artifacts/" ${FUZZ_FLAGS:-} \
	"$BUILD/corpus" || status=$?
if [ "$status" != 0 ]; then
	echo "fuzz: FAILED (exit $status); inputs in $BUILD/artifacts/:" >&2
	ls -l "$BUILD/artifacts/" >&2
	echo "fuzz: replay with FUZZ_API_TRACE=1 $BUILD/fuzz_api FILE" >&2
	exit 1
fi
echo "fuzz: no crash in $DURATION s"
