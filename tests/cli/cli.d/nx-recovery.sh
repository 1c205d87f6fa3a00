# nx-recovery.sh - cli_test.sh checks of `tdpmmu bench nx-recovery` (sourced by tests/cli/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

for pattern in "-v LIST" "--strategy LIST" "--repeat N" "--levels N" \
	"--payload" "--plot FILE" "-p, --period MS" "default 2G" "default anonymous" "--ratio N" "--seconds S" "baseline" "p99.9" \
	"anonymous_hugetlb_2mb (2M)" "rec max us" "50x lower than"; do
	expect_ok "bench nx-recovery --help names $pattern" "$pattern" bench nx-recovery --help
done

expect_usage "nx-recovery: zero period" bench nx-recovery --period 0
expect_usage "nx-recovery: zero ratio" bench nx-recovery --ratio 0
expect_usage "nx-recovery: zero seconds" bench nx-recovery --seconds 0
expect_usage "nx-recovery: under 0.05 seconds" bench nx-recovery --seconds 0.01
expect_usage "nx-recovery: over an hour" bench nx-recovery --seconds 3601
expect_usage "nx-recovery: period not a number" bench nx-recovery --period 1s
expect_usage "nx-recovery: -p zero period" bench nx-recovery -p 0
grep -q "^tdpmmu: -p: " "$tmp/err" || fail "nx-recovery -p 0: flag not named"
# The selftest's defaults (-b 2G -s anonymous) and -p as the period.
expect_ok "nx-recovery defaults" "-b 2G -s anonymous --period 7 " \
	bench nx-recovery -p 7 --seconds 0.05
expect_usage "nx-recovery: bad level count" bench nx-recovery --levels 3
expect_usage "nx-recovery: zero repeats" bench nx-recovery --repeat 0
expect_usage "nx-recovery: plot not svg or png" bench nx-recovery --plot "$tmp/nx.pdf"
expect_usage "nx-recovery: the largest count beyond the address space" \
	bench nx-recovery -v 1,1000 -b 1T
run bench nx-recovery -v 1,0 --json "$tmp/never-nx.json"
[ -e "$tmp/never-nx.json" ] && fail "nx-recovery: a bad -v list still created --json file"

# One strategy, one count, one round: the selftest's lines as the run goes.
expect_ok "tiny nx-recovery run" "recovery: Max fault latency: [0-9]* ns" \
	bench nx-recovery -b 4M -s anonymous_hugetlb_2mb --seconds 0.1 --period 1 --ratio 2
for pattern in "command: tdpmmu bench nx-recovery -v 1 --strategy rcu --repeat 1 --levels 4 -b 4M -s anonymous_hugetlb_2mb --period 1 --ratio 2 --seconds 0.1" \
	"baseline: Max fault latency: " "recovery / baseline: p50 " "nx_tables_recovered" \
	"rec max us" "p99.9 ns"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny nx-recovery run: '$pattern' missing"
done

# A sweep: 2 strategies x 2 counts, one row and one JSON result each.
json=$tmp/nx.json
expect_ok "tiny nx-recovery sweep" "^target: rcu's max fault latency" \
	bench nx-recovery -v 2,3 --strategy rcu,wrlock -b 4M -s hugetlb_2mb --seconds 0.05 --period 1 \
	--ratio 2 \
	--json "$json" --plot "$tmp/nx.svg"
for strategy in rcu wrlock; do
	for v in 2 3; do
		grep -q "^$strategy  *$v  *[0-9]" "$tmp/out" ||
			fail "nx-recovery sweep: no row for $strategy at $v vCPUs"
	done
done
[ "$(grep -c '^\(rcu\|wrlock\)  *[23]  *[0-9]' "$tmp/out")" -eq 8 ] ||
	fail "nx-recovery sweep: not 4 rows in each of the two tables"
grep -q "^  3 vCPUs: wrlock / rcu max [0-9.]*x (\(met\|not met\)), p99.9 " "$tmp/out" ||
	fail "nx-recovery sweep: no target line at 3 vCPUs"
grep -qF "plot written to $tmp/nx.svg" "$tmp/out" || fail "nx-recovery: no plot line"
[ -s "$tmp/nx.svg" ] || fail "nx-recovery --plot: no picture"
if [ ! -s "$json" ]; then
	fail "nx-recovery sweep: no JSON"
else
	[ "$(grep -c '"scenario": "nx-recovery", "strategy": "' "$json")" -eq 4 ] ||
		fail "nx-recovery JSON: not 4 results"
	for pattern in '"name": "recovery_max_fault_latency_us", "best": [0-9]' \
		'"lower_is_better": true' '"x_rcu": [0-9]' \
		'"baseline": {"period_ms": 0, "seconds": 0.0[5-9]' \
		'"recovery": {"period_ms": 1, "seconds": 0.0[5-9]' \
		'"fault_latency_ns": {"p50": [0-9]*, "p99": [0-9]*, "p999": [0-9]*, "max": [1-9]' \
		'"max_latency_cycles": ' '"recovery_over_baseline": {"p50": ' \
		'"config": {"bytes_per_vcpu": 4194304, "backing": "anonymous_hugetlb_2mb", "period_ms": 1' \
		'"strategies": \["rcu", "wrlock"\]' '"vcpus": \[2, 3\]' \
		'"name": "recovery: fetch and read loop", "seconds": 0.0[5-9]'; do
		grep -q -- "$pattern" "$json" || fail "nx-recovery JSON: no $pattern"
	done
	grep -q '"recovery": {"period_ms": 1, .*"nx_tables_recovered": [1-9]' "$json" ||
		fail "nx-recovery: no table recovered in any run"
	grep -q '"baseline": {.*"nx_tables_recovered": [1-9]' "$json" &&
		fail "nx-recovery: the baseline recovered tables"
fi
