# access-tracking.sh - cli_test.sh checks of `tdpmmu bench access-tracking` (sourced by tests/cli/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

for pattern in "-v LIST" "-o " "--flush" "--strategy LIST" "--repeat N" "--levels N" \
	"--payload" "--plot FILE" "Mpages/s" "Populating memory" "Writing to populated memory" \
	"Reading from populated memory" "Mark memory idle" "Writing to idle memory" \
	"Reading from idle memory" "still idle" "-w N"; do
	expect_ok "bench access-tracking --help names $pattern" "$pattern" bench access-tracking --help
done
expect_usage "access-tracking: value to --flush" bench access-tracking --flush=yes
expect_usage "access-tracking: -w is a number, not a percentage" bench access-tracking -w 50%
expect_usage "access-tracking: duplicate vCPU count" bench access-tracking -v 2,2
expect_usage "access-tracking: unknown strategy in a list" \
	bench access-tracking --strategy all,epoch
expect_usage "access-tracking: zero repeats" bench access-tracking --repeat 0
expect_usage "access-tracking: plot not svg or png" bench access-tracking --plot "$tmp/at.pdf"
run bench access-tracking -b 1M --repeat 0 --json "$tmp/never-at.json"
[ -e "$tmp/never-at.json" ] && fail "access-tracking: bad --repeat still created --json file"

# One strategy, one count, one round: the selftest's lines as the run goes.
json=$tmp/access.json
expect_ok "tiny access-tracking run" "Reading from idle memory      : " \
	bench access-tracking -b 8M --json "$json"
for pattern in "command: tdpmmu bench access-tracking -v 1 " " -b 8M" \
	"Populating memory             : " "Writing to populated memory   : " \
	"Reading from populated memory : " "Mark memory idle              : " \
	"Writing to idle memory        : " "still idle after writing: " \
	"still idle after reading: " "young_cleared" "write idle s" "read idle s" "Mpages/s" \
	"mark idle s"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny access-tracking run: '$pattern' missing"
done
[ "$(grep -c "^Mark memory idle" "$tmp/out")" -eq 2 ] ||
	fail "tiny access-tracking run: 'Mark memory idle' not printed twice"
for pattern in '"scenario": "access-tracking"' '"name": "pages_aged_per_sec", "best": [1-9]' \
	'"pages": 2048' '"young_cleared": \[2048, 2048\]' '"still_idle_after_write": 0' \
	'"still_idle_after_read": 0' '"idle_warnings": 0' '"overlap": false, "flush": false' \
	'"name": "Mark memory idle", "seconds": [0-9]' '"fault_latency_ns": {"p50": [0-9]' \
	'"mark_idle_seconds": \[[0-9]'; do
	grep -q -- "$pattern" "$json" || fail "access-tracking JSON: no $pattern"
done
# 256 pages fit in the 4K TLB: without a flush they stay idle (the warning),
# with --flush every access walks again and sets Accessed.
expect_ok "access-tracking in the TLB warns" "WARNING: vCPU0: Too many pages still idle" \
	bench access-tracking -b 1M
# -w: >0 warns, 0 fails (exit 1, naming the vCPU), negative refused as
# upstream's atoi_non_negative does; without -w auto (simulated rows: warn).
expect_ok "access-tracking -w 1 warns" "WARNING: vCPU0: Too many pages still idle" \
	bench access-tracking -b 1M -w 1
expect_usage "access-tracking -w -1 refused" bench access-tracking -b 1M -w -1
grep -q "^tdpmmu: -w: '-1' is negative" "$tmp/err" ||
	fail "access-tracking -w -1: no clear line"
run bench access-tracking -b 1M -w 0
[ "$rc" -eq 1 ] && grep -q "^tdpmmu: vCPU0: Too many pages still idle (256 out of 256)" "$tmp/err" ||
	fail "access-tracking -w 0: idle pages did not fail the run"
expect_ok "access-tracking -w 0 --flush passes" "still idle after reading: 0 of 256" \
	bench access-tracking -b 1M -w 0 --flush
for bad in x 1.5 ""; do
	expect_usage "access-tracking: -w '$bad'" bench access-tracking -w "$bad"
	grep -q "^tdpmmu: -w: " "$tmp/err" || fail "access-tracking -w '$bad': flag not named"
done
expect_ok "access-tracking --flush" "still idle after reading: 0 of 512" \
	bench access-tracking -b 1M -v 2 -o --flush
grep -q "WARNING" "$tmp/out" && fail "access-tracking --flush: pages still idle"

# A sweep: two strategies x two counts, JSON and a plot; one warning line per run.
json=$tmp/access-sweep.json
svg=$tmp/access-sweep.svg
expect_ok "access-tracking sweep" "^access-tracking: best of 1 round per row" \
	bench access-tracking -v 1,2 --strategy rcu,global -b 1M --json "$json" --plot "$svg"
sed -n '/^strategy .* Mpages\/s /,/^Mpages\/s: /p' "$tmp/out" >"$tmp/table"
[ "$(grep -c '^[a-z][a-z-]*  *[0-9]' "$tmp/table")" -eq 4 ] ||
	fail "access-tracking sweep: main table has not 4 rows"
for row in "rcu  *1 " "rcu  *2 " "global  *1 " "global  *2 "; do
	grep -q "^$row *[0-9.]* *[0-9.]* *[0-9.]* *[0-9.]* *[0-9.]* *[1-9]" "$tmp/table" ||
		fail "access-tracking sweep: no row '$row' with a metric"
done
grep -q "^Populating memory" "$tmp/out" && fail "access-tracking sweep: per-run lines"
[ "$(grep -c "WARNING" "$tmp/out")" -eq 4 ] ||
	fail "access-tracking sweep: not one warning line per run"
for prefix in "rcu, 1 vCPU" "rcu, 2 vCPUs" "global, 1 vCPU" "global, 2 vCPUs"; do
	grep -q "^$prefix: WARNING: Too many pages still idle" "$tmp/out" ||
		fail "access-tracking sweep: no warning for $prefix"
done
[ "$(grep -c '"scenario": "access-tracking", "strategy": "' "$json")" -eq 4 ] ||
	fail "access-tracking sweep JSON: not 4 results"
for pattern in '"still_idle_after_read": 512' '"idle_warnings": 4' \
	'"sweep": {"vcpus": \[1, 2\], "strategies": \["rcu", "global"\]'; do
	grep -q -- "$pattern" "$json" || fail "access-tracking sweep JSON: no $pattern"
done
[ -s "$svg" ] && grep -q "<svg" "$svg" || fail "access-tracking sweep: no svg from --plot"
expect_ok "access-tracking rounds, 5 levels, payload, flush" "best of 2 rounds per row" \
	bench access-tracking -b 1M -v 2 --repeat 2 --levels 5 --payload --flush --strategy all
for strategy in rcu rcu-qsbr llist llist-trylock wrlock global; do
	grep -q "^$strategy  *2 " "$tmp/out" || fail "access-tracking --strategy all: no $strategy"
done
grep -q "WARNING" "$tmp/out" && fail "access-tracking --flush sweep: pages still idle"

# kvm rows: through /sys/kernel/mm/page_idle/bitmap and /proc/self/pagemap.
# Where the kernel or this process lacks them (or /dev/kvm cannot run a VM),
# one line says why the kvm rows are skipped and the rest runs.
json=$tmp/access-kvm.json
expect_ok "access-tracking rcu,kvm" "^rcu  *1 " \
	bench access-tracking -v 1 -b 1M --repeat 1 --strategy rcu,kvm --json "$json"
if grep -q "^kvm: .*: the kvm rows are skipped" "$tmp/out"; then
	[ "$(grep -c "the kvm rows are skipped" "$tmp/out")" -eq 1 ] ||
		fail "access-tracking kvm skipped: not one line"
	grep -q "^kvm  *1 " "$tmp/out" && fail "access-tracking kvm skipped: a kvm row anyway"
	grep -q '"kvm_skipped": "' "$json" || fail "access-tracking kvm skipped: not in the JSON"
	if [ ! -e /sys/kernel/mm/page_idle/bitmap ]; then
		grep -q "^kvm: /sys/kernel/mm/page_idle/bitmap: " "$tmp/out" ||
			fail "access-tracking: no page_idle here, and the line does not say so"
		run bench access-tracking -v 1 -b 1M --strategy kvm
		[ "$rc" -eq 1 ] && grep -q "^tdpmmu: kvm: /sys/kernel/mm/page_idle/bitmap: " "$tmp/err" ||
			fail "access-tracking: kvm alone without page_idle: expected exit 1 with why"
	fi
else
	grep -q "^kvm  *1  *[0-9.]* .*[1-9]" "$tmp/out" || fail "access-tracking: no kvm row"
	grep -q '"strategy": "kvm", "vcpus": 1' "$json" || fail "access-tracking: no kvm result"
	grep -q '"young_cleared": \[[1-9][0-9]*, [1-9]' "$json" ||
		fail "access-tracking kvm: page_idle marked no page idle"
fi
expect_usage "access-tracking: kvm rows and hugetlb" \
	bench access-tracking -s anonymous_hugetlb_2mb -b 2M --strategy rcu,kvm
