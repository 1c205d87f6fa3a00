# tdpmmu - see README.md.  `make run` builds and runs the main job,
# `make check` builds and runs every test.

CC      ?= cc
AR      := gcc-ar
PREFIX  ?= /usr/local
VERSION := 0.1.0

BASE_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -pthread \
	-D_LGPL_SOURCE -DTDPMMU_VERSION='"$(VERSION)"' -Iinclude -Isrc -fPIC $(EXTRA_CFLAGS)
LDLIBS  := -lurcu-memb -lurcu-common -pthread

# Build variants: release for the program and benchmarks; debug (lock-mode
# and internal assertions) for the tests; asan and tsan for the sanitizers.
# Release objects carry LTO code (the program links with it) and plain code
# (for the static and shared libraries' other users).
CFLAGS_release := -O2 -g -flto=auto -ffat-lto-objects
CFLAGS_debug   := -O1 -g -DTDP_DEBUG
CFLAGS_asan    := -O1 -g -DTDP_DEBUG -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
# liburcu is not instrumented: call it instead of inlining its fast paths.
CFLAGS_tsan    := -O1 -g -DTDP_DEBUG -fsanitize=thread -U_LGPL_SOURCE
VARIANTS := release debug asan tsan

LIB_SRCS  := $(wildcard src/*.c)
TEST_SRCS := $(wildcard tests/test_*.c)
TESTS     := $(patsubst tests/%.c,%,$(TEST_SRCS))
CLI_SRCS  := $(wildcard cli/*.c)
HDRS      := $(wildcard include/tdpmmu/*.h src/*.h tests/*.h cli/*.h)

DEPS_OK := build/.deps-ok

.PHONY: all run check test-unit test-stress sanitize asan tsan stress-long asan-long \
	tsan-long install uninstall clean help

all: build/tdpmmu build/libtdpmmu.a build/libtdpmmu.so

help:
	@echo "make            build library (build/libtdpmmu.{a,so}) and program (build/tdpmmu)"
	@echo "make run        build and run the main job (populate benchmark)"
	@echo "make check      build and run every test, with short ASan+UBSan and TSan runs"
	@echo "make asan-long  long concurrent stress under ASan+UBSan (DURATION=seconds)"
	@echo "make tsan-long  long concurrent stress under TSan (DURATION=seconds)"
	@echo "make stress-long long concurrent stress, debug build (DURATION=seconds)"
	@echo "make install PREFIX=/path   headers, libraries, pkg-config file, program"

$(DEPS_OK): scripts/deps.sh
	@mkdir -p build
	@CC=$(CC) sh scripts/deps.sh
	@touch $@

# $(1) = variant
define VARIANT_RULES
build/$(1)/obj/%.o: %.c $(HDRS) $(DEPS_OK) Makefile
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) -c $$< -o $$@

build/$(1)/libtdpmmu.a: $(patsubst %.c,build/$(1)/obj/%.o,$(LIB_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

build/$(1)/tdpmmu: $(patsubst %.c,build/$(1)/obj/%.o,$(CLI_SRCS)) build/$(1)/libtdpmmu.a
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) $$^ -o $$@ $$(LDLIBS) -lm

build/$(1)/tests/%: build/$(1)/obj/tests/%.o build/$(1)/libtdpmmu.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) $$^ -o $$@ $$(LDLIBS) -lm
endef
$(foreach v,$(VARIANTS),$(eval $(call VARIANT_RULES,$(v))))

.SECONDARY:

build/tdpmmu: build/release/tdpmmu
	cp $< $@
build/libtdpmmu.a: build/release/libtdpmmu.a
	cp $< $@
build/libtdpmmu.so: $(patsubst %.c,build/release/obj/%.o,$(LIB_SRCS))
	$(CC) -shared -fno-lto -Wl,-soname,libtdpmmu.so.0 $^ -o $@ $(LDLIBS)

run: build/tdpmmu
	./build/tdpmmu run

# --- tests -----------------------------------------------------------------
DEBUG_TESTS := $(addprefix build/debug/tests/,$(TESTS))
DURATION ?= 60

check: test-unit sanitize
	@echo "make check: all tests passed"

test-unit: $(DEBUG_TESTS) build/release/tdpmmu all
	@set -e; for t in $(TESTS); do echo "== $$t"; ./build/debug/tests/$$t; done
	@echo "== cli"; sh tests/cli_test.sh build/release/tdpmmu
	@echo "== install"; sh tests/install_test.sh

sanitize: asan tsan

asan: build/asan/tests/test_stress build/asan/tests/test_diff build/asan/tests/test_badinput \
	build/asan/tests/test_vcpu_tlb build/asan/tests/test_notifier build/asan/tests/test_consistency
	@echo "== asan+ubsan: differential, bad input, stress, vCPU TLB, notifier, consistency"
	ASAN_OPTIONS=detect_leaks=0 ./build/asan/tests/test_diff --ops 20000
	ASAN_OPTIONS=detect_leaks=0 ./build/asan/tests/test_badinput
	ASAN_OPTIONS=detect_leaks=0 ./build/asan/tests/test_stress --seconds 3
	ASAN_OPTIONS=detect_leaks=0 ./build/asan/tests/test_vcpu_tlb --seconds 2
	ASAN_OPTIONS=detect_leaks=0 ./build/asan/tests/test_notifier --seconds 2
	ASAN_OPTIONS=detect_leaks=0 ./build/asan/tests/test_consistency --seconds 2

tsan: build/tsan/tests/test_stress build/tsan/tests/test_lock build/tsan/tests/test_vcpu_tlb \
	build/tsan/tests/test_notifier
	@echo "== tsan: lock, stress, vCPU TLB, notifier"
	TSAN_OPTIONS="halt_on_error=1 suppressions=tests/tsan.supp" setarch -R ./build/tsan/tests/test_lock
	TSAN_OPTIONS="halt_on_error=1 suppressions=tests/tsan.supp" setarch -R ./build/tsan/tests/test_stress --seconds 3
	TSAN_OPTIONS="halt_on_error=1 suppressions=tests/tsan.supp" setarch -R ./build/tsan/tests/test_vcpu_tlb --seconds 2
	TSAN_OPTIONS="halt_on_error=1 suppressions=tests/tsan.supp" setarch -R ./build/tsan/tests/test_notifier --seconds 2

stress-long: build/debug/tests/test_stress
	./build/debug/tests/test_stress --seconds $(DURATION) --threads 8
asan-long: build/asan/tests/test_stress
	ASAN_OPTIONS=detect_leaks=0 ./build/asan/tests/test_stress --seconds $(DURATION) --threads 8
tsan-long: build/tsan/tests/test_stress
	TSAN_OPTIONS="halt_on_error=1 suppressions=tests/tsan.supp" setarch -R ./build/tsan/tests/test_stress --seconds $(DURATION) --threads 8

# --- install ---------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/include/tdpmmu $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin
	install -m 644 include/tdpmmu/*.h $(DESTDIR)$(PREFIX)/include/tdpmmu/
	install -m 644 build/libtdpmmu.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 build/libtdpmmu.so $(DESTDIR)$(PREFIX)/lib/libtdpmmu.so.0
	ln -sf libtdpmmu.so.0 $(DESTDIR)$(PREFIX)/lib/libtdpmmu.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' tdpmmu.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/tdpmmu.pc
	install -m 755 build/tdpmmu $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/tdpmmu $(DESTDIR)$(PREFIX)/lib/libtdpmmu.* \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/tdpmmu.pc $(DESTDIR)$(PREFIX)/bin/tdpmmu

clean:
	rm -rf build
