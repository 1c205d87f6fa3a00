# reclaim.sh - cli_test.sh checks of `tdpmmu bench huge-over-table` and `bench stalled-reader` (sourced by tests/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

for scenario in huge-over-table stalled-reader; do
	expect_ok "bench --help lists $scenario" "$scenario" bench --help
	expect_ok "bench $scenario -h" "usage: tdpmmu bench $scenario" bench $scenario -h
	expect_usage "$scenario: one vCPU" bench $scenario -v 1
	expect_usage "$scenario: unknown strategy in a list" bench $scenario --strategy rcu,epoch
	expect_usage "$scenario: empty entry in a list" bench $scenario --strategy rcu,
	expect_usage "$scenario: zero seconds" bench $scenario --seconds 0
	expect_usage "$scenario: seconds not a number" bench $scenario --seconds 1s
	expect_usage "$scenario: empty --json" bench $scenario --json=
done
expect_usage "stalled-reader: stall over half the run" bench stalled-reader --seconds 0.2 --stall-ms 100
expect_usage "stalled-reader: zero stall" bench stalled-reader --stall-ms 0
expect_usage "huge-over-table: no --stall-ms" bench huge-over-table --stall-ms 10

json=$tmp/hot.json
expect_ok "tiny huge-over-table run" "^wrlock " bench huge-over-table --seconds 0.1 --json "$json"
for strategy in rcu rcu-qsbr llist llist-trylock wrlock global; do
	grep -q "^$strategy " "$tmp/out" || fail "huge-over-table: no row for $strategy"
	grep -q "\"scenario\": \"huge-over-table\", \"strategy\": \"$strategy\"" "$json" ||
		fail "huge-over-table JSON: no $strategy result"
done
grep -q '"strategy": "wrlock", "retired": [0-9]*, .*"write_retries": [1-9]' "$json" ||
	fail "huge-over-table JSON: wrlock made no write-lock retry"
json=$tmp/stall.json
expect_ok "tiny stalled-reader run" "during the 20 ms stall" \
	bench stalled-reader --seconds 0.2 --stall-ms 20 --strategy rcu,llist --json "$json"
grep -q "^global " "$tmp/out" && fail "stalled-reader --strategy rcu,llist: ran global"
grep -q '"stall": {"ms": [0-9]' "$json" || fail "stalled-reader JSON: no stall window"

