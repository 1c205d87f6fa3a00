# tdpmmu - see README.md.  `make run` builds and runs the main job,
# `make check` builds and runs every test.

CC      ?= cc
AR      := gcc-ar
PREFIX  ?= /usr/local
# The release is defined in the public header only (TDPMMU_VERSION_*);
# this reads it back for the pkg-config file.
VERSION := $(shell sed -n 's/^\#define TDPMMU_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' \
	include/tdpmmu/tdpmmu.h | paste -sd.)
ifneq ($(words $(subst ., ,$(VERSION))),3)
$(error cannot read TDPMMU_VERSION_MAJOR/MINOR/PATCH from include/tdpmmu/tdpmmu.h (got '$(VERSION)'))
endif

BASE_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -pthread \
	-D_LGPL_SOURCE -fPIC $(EXTRA_CFLAGS)

# Include paths by directory: the library boundary (docs/design.md).  The
# library (src/, the testing library src/testing/ included) and the
# white-box tests see the internal headers (-Isrc); the black-box tests and
# the program see the public headers only (include/: tdpmmu.h, spte.h,
# stats.h, testing.h).  INC_<dir> is looked up for a source's directory,
# then for its top directory.
INC_src               := -Iinclude -Isrc
INC_tests/whitebox    := -Iinclude -Isrc -Itests
INC_tests/unit        := -Iinclude -Itests
INC_tests/concurrency := -Iinclude -Itests
INC_tests/lib         := -Iinclude -Itests
INC_tests/model       := -Iinclude -Itests
INC_cli               := -Iinclude -Icli
inc_for = $(or $(INC_$(patsubst %/,%,$(dir $(1)))),$(INC_$(firstword $(subst /, ,$(1)))))

LDLIBS  := -lurcu-memb -lurcu-qsbr -lurcu-common -pthread

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
# Deliberately broken builds (docs/testing.md): the debug build with one
# bug planted; `make check` asserts the torture catches each.  Broken build
# x-y defines TDP_BREAK_X_Y, which turns TDP_MUTANT(X_Y) (src/base/mutant.h)
# from 0 into 1 at its sites in the code.
BROKEN := free-no-wait skip-flush plain-store skip-notifier-retry cas-from-frozen \
	downgrade-no-flush flush-only-changed yield-no-flush claim-by-gfn slot-no-invalid \
	remap-two-holds mark-by-gfn huge-over-invalidation online-wait preempt-ignored guest-no-qs \
	slot-no-check pre-fault-no-retry pages-no-lock ring-reset-no-flush dbit-no-flush
BROKEN += mmio-no-wrap-zap mmio-gen-after-lookup mmio-no-recheck mmio-wait-update
BROKEN += handler-pool-per-vm pml-slot-leak
$(foreach b,$(BROKEN),$(eval CFLAGS_broken-$(b) := $(CFLAGS_debug) \
	-DTDP_BREAK_$(shell echo $(b) | tr a-z- A-Z_)))
# The harvest's flush is the second defence of the downgrade: alone, no
# path leaves it anything to catch, so its broken build plants both.
CFLAGS_broken-flush-only-changed += -DTDP_BREAK_DOWNGRADE_NO_FLUSH
# The debug build with 8 entries per table: splits, collapses and teardowns
# thousands of times more often for the same memory (the torture runs it).
CFLAGS_fanout8 := $(CFLAGS_debug) -DTDP_PT_BITS=3
VARIANTS := release debug asan tsan fanout8 $(addprefix broken-,$(BROKEN))

# src/ by layer (docs/design.md); src/testing/ is the test and benchmark
# support library (libtdpmmu-testing.a), not shipped in libtdpmmu.
LIB_SRCS     := $(filter-out src/testing/%,$(wildcard src/*/*.c))
TESTING_SRCS := $(wildcard src/testing/*.c)
# tests/ by kind: unit, concurrency, model (black-box) and whitebox.
TEST_SRCS := $(wildcard tests/*/test_*.c)
TESTS     := $(notdir $(basename $(TEST_SRCS)))
CLI_SRCS  := $(wildcard cli/*.c cli/*/*.c)

DEPS_OK := build/.deps-ok
# Where variant objects go; a separate B lets several builds share one tree.
B ?= build

PHONY := all run check check-build check-run test-unit sanitize asan tsan stress-long asan-long \
	torture-short torture broken-check model fuzz fuzz-replay report \
	tsan-long format install uninstall clean help
.PHONY: $(PHONY)

all: build/tdpmmu build/libtdpmmu.a build/libtdpmmu.so

# One line per phony target, each starting "make <target> "; test-unit
# checks that every target in $(PHONY) has its line.
help:
	@echo "make              build library (build/libtdpmmu.{a,so}) and program (build/tdpmmu)"
	@echo "make all          the same"
	@echo "make run          build and run the main job (the seed thread's debate, about a minute)"
	@echo "make report       regenerate docs/results.md and its plots (about ten minutes)"
	@echo "make check        check-build, then check-run"
	@echo "make check-build  build everything make check runs, CHECK_JOBS at a time (default: CPUs)"
	@echo "make check-run    every step below marked (check), in that order"
	@echo "make test-unit    (check) unit, concurrency, CLI, install and exported-symbol tests, format check"
	@echo "make sanitize     (check) asan and tsan"
	@echo "make asan         short runs of the tests and concurrency matrix under ASan+UBSan"
	@echo "make tsan         short runs of the lock, strategy and concurrency tests under TSan"
	@echo "make fuzz-replay  (check) replay tests/model/fuzz_corpus under ASan+UBSan"
	@echo "make torture-short (check) tdpmmu torture, every strategy, TORTURE_SECONDS each (default 2)"
	@echo "make broken-check (check) each deliberately broken build must be caught"
	@echo "make stress-long  every concurrency test under every strategy for DURATION seconds (default 60)"
	@echo "make asan-long    the same under ASan+UBSan"
	@echo "make tsan-long    the same under TSan"
	@echo "make torture      tdpmmu torture, every strategy, DURATION seconds each (debug and ASan)"
	@echo "make model        check the Promela model of retire, flush and free with spin"
	@echo "make fuzz         libFuzzer on the API against a reference model, DURATION seconds"
	@echo "make format       format every C source with clang-format (.clang-format; make check checks it)"
	@echo "make install PREFIX=/path   headers, libraries, pkg-config file, program"
	@echo "make uninstall PREFIX=/path remove what install put there"
	@echo "make clean        remove build/"
	@echo "make help         this list"

$(DEPS_OK): scripts/deps.sh
	@mkdir -p build
	@CC=$(CC) sh scripts/deps.sh
	@touch $@

# $(1) = variant
define OBJ_RULE
$(B)/$(1)/obj/%.o: %.c $(DEPS_OK) Makefile
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASE_CFLAGS) $$(call inc_for,$$<) $$(CFLAGS_$(1)) -MMD -MP -c $$< -o $$@
endef
# A broken build compiles only the files whose code (source or headers)
# names its mutants, and copies the debug build's object for the rest
# (scripts/broken_obj.sh): the same flags but the one -D, so the same code.
space := $(subst ,, )
mutants_of = $(subst $(space),|,$(strip $(patsubst -DTDP_BREAK_%,%,\
	$(filter -DTDP_BREAK_%,$(CFLAGS_$(1))))))
define BROKEN_OBJ_RULE
$(B)/$(1)/obj/%.o: %.c $(B)/debug/obj/%.o $(DEPS_OK) Makefile
	@mkdir -p $$(dir $$@)
	@sh scripts/broken_obj.sh '$(call mutants_of,$(1))' $(B)/debug/obj/$$*.o $$@ $$< -- \
		$$(CC) $$(BASE_CFLAGS) $$(call inc_for,$$<) $$(CFLAGS_$(1)) -MMD -MP -c $$< -o $$@
endef
define VARIANT_RULES
$(B)/$(1)/libtdpmmu.a: $(patsubst %.c,$(B)/$(1)/obj/%.o,$(LIB_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

$(B)/$(1)/libtdpmmu-testing.a: $(patsubst %.c,$(B)/$(1)/obj/%.o,$(TESTING_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^

$(B)/$(1)/tdpmmu: $(patsubst %.c,$(B)/$(1)/obj/%.o,$(CLI_SRCS)) $(B)/$(1)/libtdpmmu-testing.a \
		$(B)/$(1)/libtdpmmu.a
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) $$^ -o $$@ $$(LDLIBS) -lm
endef
# $(1) = variant, $(2) = test source (tests/<kind>/test_x.c)
define TEST_RULE
$(B)/$(1)/tests/$(notdir $(basename $(2))): $(patsubst %.c,$(B)/$(1)/obj/%.o,$(2)) \
		$(B)/$(1)/libtdpmmu-testing.a $(B)/$(1)/libtdpmmu.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASE_CFLAGS) $$(CFLAGS_$(1)) $$(filter %.o,$$^) $$(filter %.a,$$^) -o $$@ \
		$$(LDLIBS) -lm
endef
$(foreach v,$(VARIANTS),$(eval $(call VARIANT_RULES,$(v))))
$(foreach v,$(filter-out broken-%,$(VARIANTS)),$(eval $(call OBJ_RULE,$(v))))
$(foreach v,$(filter broken-%,$(VARIANTS)),$(eval $(call BROKEN_OBJ_RULE,$(v))))
# The model programs also link the reference model they share: the sources
# of tests/model/ other than the programs (the recipe puts objects before
# the libraries).
MODEL_PROGS := test_diff test_ops_model fuzz_api
MODEL_SRCS  := $(filter-out tests/model/test_%.c tests/model/fuzz_api.c,\
	$(wildcard tests/model/*.c))
$(foreach v,$(VARIANTS),$(foreach t,$(MODEL_PROGS),\
	$(eval $(B)/$(v)/tests/$(t): $(patsubst %.c,$(B)/$(v)/obj/%.o,$(MODEL_SRCS)))))
$(foreach v,$(VARIANTS),$(foreach t,$(TEST_SRCS) tests/model/fuzz_api.c,\
	$(eval $(call TEST_RULE,$(v),$(t)))))

# Each object's header dependencies, as the compiler found them (-MMD) on
# its last build; -MP adds an empty rule per header so that a header
# deleted or renamed does not stop the build.  An object without a .d yet
# has never been built, so it is out of date anyway.
-include $(wildcard $(B)/*/obj/*/*.d $(B)/*/obj/*/*/*.d)

.SECONDARY:

build/tdpmmu: build/release/tdpmmu
	cp $< $@
build/libtdpmmu.a: build/release/libtdpmmu.a
	cp $< $@
# The shared library exports the tdpmmu_* API only (libtdpmmu.map).
build/libtdpmmu.so: $(patsubst %.c,build/release/obj/%.o,$(LIB_SRCS)) libtdpmmu.map
	$(CC) -shared -fno-lto -Wl,-soname,libtdpmmu.so.0 -Wl,--version-script,libtdpmmu.map \
		$(filter %.o,$^) -o $@ $(LDLIBS)

# Users of the public headers in the oldest standards they support (C99,
# C++11; see tdpmmu.h), strict, linked against the static library.
API_FLAGS := -pedantic -Wall -Wextra -Werror -Iinclude -pthread -MMD -MP
build/api_c99: tests/install/api_c99.c build/libtdpmmu.a
	$(CC) -std=c99 $(API_FLAGS) $< build/libtdpmmu.a -o $@ $(LDLIBS)
build/api_cxx: tests/install/api_cxx.cc build/libtdpmmu.a
	@CXX=$(CXX) sh scripts/deps.sh g++
	$(CXX) -std=c++11 $(API_FLAGS) $< build/libtdpmmu.a -o $@ $(LDLIBS)
# tdpmmu/testing.h needs C11; its calls come from the testing library.
build/libtdpmmu-testing.a: build/release/libtdpmmu-testing.a
	cp $< $@
build/api_c11: tests/install/api_c11.c build/libtdpmmu-testing.a build/libtdpmmu.a
	$(CC) -std=c11 $(API_FLAGS) $< build/libtdpmmu-testing.a build/libtdpmmu.a -o $@ $(LDLIBS)
-include build/api_c99.d build/api_cxx.d build/api_c11.d

run: build/tdpmmu
	./build/tdpmmu run

# docs/results.md and docs/results/: every scenario, every strategy (about ten minutes).
report: build/tdpmmu
	@sh scripts/deps.sh gnuplot
	sh scripts/report.sh build/tdpmmu docs/results.md

# --- tests -----------------------------------------------------------------
DEBUG_TESTS := $(addprefix build/debug/tests/,$(TESTS))
DURATION ?= 60

# make check builds everything its steps need first, CHECK_JOBS at a time
# (default: one per CPU), then runs the steps one after the other, so that
# no test shares the machine with a compiler.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check:
	+$(MAKE) -j$(CHECK_JOBS) check-build
	+$(MAKE) -j1 check-run
check-run: test-unit sanitize fuzz-replay torture-short broken-check
	@echo "make check: all tests passed"

TEST_UNIT_DEPS = $(DEBUG_TESTS) build/release/tdpmmu all build/api_c99 build/api_cxx build/api_c11
test-unit: $(TEST_UNIT_DEPS)
	@set -e; for t in $(TESTS); do echo "== $$t"; ./build/debug/tests/$$t; done
	@echo "== api_c99"; ./build/api_c99
	@echo "== api_cxx"; ./build/api_cxx
	@echo "== api_c11"; ./build/api_c11
	@echo "== cli"; sh tests/cli/cli_test.sh build/release/tdpmmu
	@echo "== install"; sh tests/install/install_test.sh
	@echo "== exported symbols"; sh tests/install/symbols_test.sh build/libtdpmmu.so
	@echo "== format"; sh scripts/format-check.sh
	@echo "== make help"; for t in $(PHONY); do \
		grep -q "@echo \"make $$t " Makefile || { echo "make help lacks $$t"; exit 1; }; done

sanitize: asan tsan

# The concurrency tests: each runs --seconds S (then on until its counters
# prove its races happened).
CONC_TESTS := test_stress test_vcpu_tlb test_vcpu_ad test_notifier test_consistency test_roots \
	test_recover test_nx test_dirty_log \
	test_aging test_write_track test_dirty_race test_memslot_race test_fault_wait test_qsbr_guest \
	test_pre_fault test_pages test_dirty_ring
CONC_TESTS += test_mmio
ASAN_RUN := ASAN_OPTIONS=detect_leaks=0
# gcc 12's TSan needs a smaller mmap range than recent kernels give: turn
# address randomisation off for its runs where the system allows it.  TSan
# sleeps a second at exit by default while other threads live (liburcu's
# call_rcu thread, under rcu and rcu-qsbr), to let them report; 50 ms is
# enough for idle helper threads and saves about 30 s of make check.
NO_ASLR := $(shell setarch -R true >/dev/null 2>&1 && echo setarch -R)
TSAN_RUN := TSAN_OPTIONS="halt_on_error=1 atexit_sleep_ms=50 suppressions=tests/tsan.supp" $(NO_ASLR)

# Every concurrency test runs under each reclamation strategy (the tests
# read $$TDPMMU_STRATEGY), with the same assertions.  The sanitizer builds
# carry the debug assertions, so the short matrix runs there.
STRATEGIES := rcu rcu-qsbr llist llist-trylock wrlock global
CHECK_SECONDS ?= 1
# $(1) = command prefix, $(2) = binary directory, $(3) = seconds
define RUN_MATRIX
	@set -e; for s in $(STRATEGIES); do for t in $(CONC_TESTS); do \
		echo "$$s $$t"; TDPMMU_STRATEGY=$$s $(1) ./$(2)/$$t --seconds $(3); done; done
endef

ASAN_DEPS = $(addprefix build/asan/tests/,test_diff test_ops_model test_badinput test_reclaim \
	test_host_fault test_fault_handlers test_thread_slots $(CONC_TESTS)) build/asan/tdpmmu
asan: $(ASAN_DEPS)
	@echo "== asan+ubsan: differential, operations model, bad input, strategies, concurrency tests"
	$(ASAN_RUN) ./build/asan/tests/test_diff --ops 20000
	$(ASAN_RUN) ./build/asan/tests/test_ops_model --ops 20000
	$(ASAN_RUN) ./build/asan/tests/test_badinput
	$(ASAN_RUN) ./build/asan/tests/test_reclaim
	$(ASAN_RUN) ./build/asan/tests/test_host_fault
	$(ASAN_RUN) ./build/asan/tests/test_fault_handlers
	$(ASAN_RUN) ./build/asan/tests/test_thread_slots
	$(ASAN_RUN) sh tests/cli/bench_smoke.sh build/asan/tdpmmu
	$(call RUN_MATRIX,$(ASAN_RUN),build/asan/tests,$(CHECK_SECONDS))

TSAN_DEPS = $(addprefix build/tsan/tests/,test_lock test_preempt test_reclaim test_host_fault \
	test_fault_handlers $(CONC_TESTS)) \
	build/tsan/tdpmmu
tsan: $(TSAN_DEPS)
	@echo "== tsan: lock, strategies, concurrency tests"
	$(TSAN_RUN) ./build/tsan/tests/test_lock
	$(TSAN_RUN) ./build/tsan/tests/test_preempt
	$(TSAN_RUN) ./build/tsan/tests/test_reclaim
	$(TSAN_RUN) ./build/tsan/tests/test_host_fault
	$(TSAN_RUN) ./build/tsan/tests/test_fault_handlers
	$(TSAN_RUN) sh tests/cli/bench_smoke.sh build/tsan/tdpmmu
	$(call RUN_MATRIX,$(TSAN_RUN),build/tsan/tests,$(CHECK_SECONDS))

# The torture, a few seconds per strategy (make torture runs long ones).
TORTURE_SECONDS ?= 2
TORTURE_DEPS = build/debug/tdpmmu build/fanout8/tdpmmu
torture-short: $(TORTURE_DEPS)
	@echo "== torture: every strategy, $(TORTURE_SECONDS) s each, 512 and 8 entries per table"
	./build/debug/tdpmmu torture --duration $(TORTURE_SECONDS)
	./build/fanout8/tdpmmu torture --duration $(TORTURE_SECONDS)

# Each deliberately broken build must be caught within seconds: by the
# torture, or, for the windows its mix reaches too rarely to be caught
# every time in seconds, by the concurrency test that aims at that window
# (docs/testing.md).
CATCH_free-no-wait        := tdpmmu torture --strategy rcu --duration 30
CATCH_skip-flush          := tdpmmu torture --strategy llist --duration 30
CATCH_skip-notifier-retry := tests/test_notifier --seconds 5
CATCH_plain-store         := tests/test_vcpu_ad --seconds 5
CATCH_cas-from-frozen     := tests/test_stress --seconds 5
CATCH_downgrade-no-flush  := tdpmmu torture --strategy rcu --duration 20 --dirty-mode wrprot
CATCH_flush-only-changed  := tdpmmu torture --strategy llist --duration 20 --dirty-mode wrprot
CATCH_yield-no-flush      := tests/test_dirty_race --rounds 16
CATCH_claim-by-gfn        := tests/test_memslot_race --only 1 --rounds 4
CATCH_slot-no-invalid     := tests/test_memslot_race --only 2 --rounds 8
CATCH_remap-two-holds     := tests/test_memslot_race --only 3 --rounds 8
CATCH_mark-by-gfn         := tests/test_memslot_race --only 4 --rounds 8 --strategy rcu-qsbr
CATCH_huge-over-invalidation := tests/test_memslot_race --only 5 --rounds 8
CATCH_online-wait         := tests/test_fault_wait --seconds 1 --strategy rcu-qsbr
CATCH_guest-no-qs         := tests/test_qsbr_guest --seconds 0.2 --strategy rcu-qsbr
CATCH_preempt-ignored     := tests/test_preempt
CATCH_slot-no-check       := tests/test_thread_slots
CATCH_pre-fault-no-retry  := tests/test_pre_fault
CATCH_pages-no-lock       := tests/test_pages --seconds 10
CATCH_ring-reset-no-flush := tests/test_dirty_ring
CATCH_mmio-no-wrap-zap    := tests/test_mmio
CATCH_mmio-gen-after-lookup := tests/test_mmio
CATCH_mmio-no-recheck     := tests/test_mmio
CATCH_mmio-wait-update    := tests/test_mmio
CATCH_handler-pool-per-vm := tests/test_fault_handlers
CATCH_pml-slot-leak       := tests/test_dirty_log --dirty-mode dbit --seconds 0.5
CATCH_dbit-no-flush       := tests/test_dirty_log --dirty-mode dbit --seconds 0.5
BROKEN_DEPS = $(foreach b,$(BROKEN),build/broken-$(b)/$(word 1,$(CATCH_$(b))))
broken-check: $(BROKEN_DEPS)
	@in_src="$$(grep -rhoE 'TDP_MUTANT\([A-Z0-9_]+\)' src --exclude=mutant.h | \
		sed 's/.*(\(.*\))/\1/' | sort -u | tr '\n' ' ')"; \
	in_mk="$$(echo $(BROKEN) | tr a-z- A-Z_ | tr ' ' '\n' | sort -u | tr '\n' ' ')"; \
	if [ "$$in_src" != "$$in_mk" ]; then \
		echo "TDP_MUTANT sites in src/: $$in_src"; echo "BROKEN builds: $$in_mk"; exit 1; \
	fi
	@set -e; catch() { \
		b=$$1; shift; c="$$*"; start=$$(date +%s); \
		if timeout 300 ./build/broken-$$b/$$c >build/broken-$$b.log 2>&1; then \
			echo "broken build $$b: NOT caught by $$c (log: build/broken-$$b.log)"; exit 1; \
		fi; \
		echo "broken build $$b: caught by $$c in $$(( $$(date +%s) - start )) s:" \
			"$$(grep -m1 -E "VIOLATION|BUG|FAILED|failed" build/broken-$$b.log)"; \
	}; \
	$(foreach b,$(BROKEN),catch $(b) $(CATCH_$(b));) true

# Everything make check's steps run, built CHECK_JOBS at a time.  After
# the *_DEPS definitions above: make expands a rule's prerequisites when
# it reads the rule, so a variable defined later would be empty here.  The
# recipe is expanded only when it runs, with every variable defined: it
# fails if the prerequisites make read are fewer than the list names now
# (what happened before cad31b1, when check-build built fuzz_api alone).
CHECK_BUILD_DEPS = $(TEST_UNIT_DEPS) $(ASAN_DEPS) $(TSAN_DEPS) $(TORTURE_DEPS) $(BROKEN_DEPS) \
	build/asan/tests/fuzz_api
check-build: $(CHECK_BUILD_DEPS)
	@test $(words $(sort $^)) -eq $(words $(sort $(CHECK_BUILD_DEPS))) || { \
		echo "check-build: make read $(words $(sort $^)) prerequisites, the list names" \
			"$(words $(sort $(CHECK_BUILD_DEPS))): a *_DEPS variable is defined after" \
			"the rule"; exit 1; }

# Long torture: every strategy for DURATION seconds each (default 60),
# in the debug build, with 8 entries per table, and under ASan+UBSan; first,
# a 0.1 s run must say it was extended past --duration.
torture: build/debug/tdpmmu build/fanout8/tdpmmu build/asan/tdpmmu
	sh tests/cli/torture_extension.sh build/debug/tdpmmu
	./build/debug/tdpmmu torture --duration $(DURATION)
	./build/fanout8/tdpmmu torture --duration $(DURATION)
	$(ASAN_RUN) ./build/asan/tdpmmu torture --duration $(DURATION)

# The API fuzz harness (tests/model/fuzz_api.c): make check replays its corpus
# under ASan+UBSan with gcc; make fuzz runs libFuzzer (clang) for DURATION.
$(B)/asan/obj/tests/model/fuzz_api.o: CFLAGS_asan += -DFUZZ_STANDALONE
fuzz-replay: build/asan/tests/fuzz_api
	@echo "== fuzz corpus replay (asan+ubsan)"
	./build/asan/tests/fuzz_api tests/model/fuzz_corpus
fuzz:
	sh scripts/fuzz.sh $(DURATION)

# The Promela model of retire -> flush -> free, checked with spin.
model:
	sh scripts/model.sh

# Long runs of every concurrency test under every strategy (DURATION
# seconds each; STRATEGIES="llist wrlock" narrows it).
stress-long: $(addprefix build/debug/tests/,$(CONC_TESTS))
	$(call RUN_MATRIX,,build/debug/tests,$(DURATION))
asan-long: $(addprefix build/asan/tests/,$(CONC_TESTS))
	$(call RUN_MATRIX,$(ASAN_RUN),build/asan/tests,$(DURATION))
tsan-long: $(addprefix build/tsan/tests/,$(CONC_TESTS))
	$(call RUN_MATRIX,$(TSAN_RUN),build/tsan/tests,$(DURATION))

format:
	sh scripts/format-check.sh --fix

# --- install ---------------------------------------------------------------
# The product: its headers (not tdpmmu/testing.h: the testing library is
# built for the tests and the program, and is not installed), libraries,
# pkg-config file and program.
install: all
	install -d $(DESTDIR)$(PREFIX)/include/tdpmmu $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin
	install -m 644 $(filter-out %/testing.h,$(wildcard include/tdpmmu/*.h)) \
		$(DESTDIR)$(PREFIX)/include/tdpmmu/
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
