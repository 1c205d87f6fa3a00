# nx-recovery.sh - cli_test.sh checks of `tdpmmu bench nx-recovery` (sourced by tests/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

for pattern in "--period MS" "--ratio N" "--seconds S" "baseline" "p99.9" \
	"anonymous_hugetlb_2mb)"; do
	expect_ok "bench nx-recovery --help names $pattern" "$pattern" bench nx-recovery --help
done

expect_usage "nx-recovery: zero period" bench nx-recovery --period 0
expect_usage "nx-recovery: zero ratio" bench nx-recovery --ratio 0
expect_usage "nx-recovery: zero seconds" bench nx-recovery --seconds 0
expect_usage "nx-recovery: over an hour" bench nx-recovery --seconds 3601
expect_usage "nx-recovery: period not a number" bench nx-recovery --period 1s
expect_usage "nx-recovery: default backing needs 2M multiples" bench nx-recovery -b 1M


json=$tmp/nx.json
expect_ok "tiny nx-recovery run" "recovery: Max fault latency: [0-9]* ns" \
	bench nx-recovery -b 8M --seconds 1 --period 1 --ratio 2 --json "$json"
for pattern in "command: tdpmmu bench nx-recovery -v 1 -b 8M -s anonymous_hugetlb_2mb" \
	"baseline: Max fault latency: " "recovery / baseline: p50 " "nx_tables_recovered" \
	"p99.9 ns"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny nx-recovery run: '$pattern' missing"
done
grep -q '"nx_tables_recovered": [1-9]' "$json" || fail "nx-recovery: no table recovered"
grep -q '"row": "baseline"' "$json" && grep -q '"recovery_over_baseline": {"p50": ' "$json" ||
	fail "nx-recovery JSON: rows or ratios missing"

