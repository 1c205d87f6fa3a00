#!/bin/sh
# bench_smoke.sh - every benchmark scenario once, tiny, every strategy at
# two vCPU counts (and the kvm rows of populate, dirty-log and
# demand-paging, whose userfaultfd handler threads run too): under the
# sanitizer builds (make check's asan and tsan) this runs the benchmarks'
# own threads (vCPU pools, host loops, samplers, stalled readers, the
# VMM's vCPUs) against every strategy.  Any failure or sanitizer
# report fails the run.
#
# usage: sh tests/cli/bench_smoke.sh PATH/TO/tdpmmu
set -eu
prog=$1
run() {
	echo "bench $*"
	"$prog" bench "$@" >/dev/null
}
# kvm too: the VMM's threads where /dev/kvm runs VMs, else its one-line skip.
run populate -v 1,2 -b 256K --repeat 1 --strategy all,kvm
run dirty-log -v 1,2 -b 1M -i 2 --strategy rcu,kvm
run demand-paging -v 1,3 -b 256K -u MISSING -d 20 -o --strategy all
run demand-paging -v 1,2 -b 1M -u MISSING -d 1 --repeat 1 --strategy rcu,kvm
run dirty-log -v 1,2 -b 1M -i 2 --strategy all
run access-tracking -v 1,2 -b 1M --strategy all
run nx-recovery -v 1,2 -b 4M --seconds 0.05 --strategy all
run huge-over-table -v 2,3 --seconds 0.05 --strategy all
run stalled-reader -v 2 --seconds 0.1 --stall-ms 20 --strategy all
run notifier -v 1,2 -b 1M --seconds 0.05 --strategy all
run mmio -v 1,2 -b 1M --seconds 0.05 --mmio-gen-bits 3 --strategy all
run mmio -v 2 -b 1M --seconds 0.05 --slot-op dirty-log --strategy rcu,global
run mmio -v 2 -b 1M --seconds 0.05 --mmio-caching off
run mixed -v 1,2 -b 4M --seconds 0.05 --strategy all
echo "bench_smoke: every scenario ran under every strategy"
