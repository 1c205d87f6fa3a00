# reclaim.sh - cli_test.sh checks of `tdpmmu bench huge-over-table` and `bench stalled-reader`
# (sourced by tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail, $prog, $tmp).

for scenario in huge-over-table stalled-reader; do
	expect_ok "bench --help lists $scenario" "$scenario" bench --help
	expect_ok "bench $scenario -h" "usage: tdpmmu bench $scenario" bench $scenario -h
	for pattern in "-v LIST" "--strategy LIST" "(default all)" \
		"--repeat N" "--levels N" "--payload" "--json FILE" "--plot FILE" "--seconds S" \
		"-h, --help"; do
		expect_ok "bench $scenario --help names $pattern" "$pattern" bench $scenario --help
	done
	expect_usage "$scenario: one vCPU" bench $scenario -v 1
	expect_usage "$scenario: one vCPU in a list" bench $scenario -v 4,1,2
	expect_usage "$scenario: zero vCPUs" bench $scenario -v 2,0
	expect_usage "$scenario: duplicate count" bench $scenario -v 2,2
	expect_usage "$scenario: unknown strategy in a list" bench $scenario --strategy rcu,epoch
	expect_usage "$scenario: empty entry in a list" bench $scenario --strategy rcu,
	expect_usage "$scenario: zero seconds" bench $scenario --seconds 0
	expect_usage "$scenario: seconds not a number" bench $scenario --seconds 1s
	expect_usage "$scenario: empty --json" bench $scenario --json=
	expect_usage "$scenario: bad level count" bench $scenario --levels 6
	expect_usage "$scenario: zero repeats" bench $scenario --repeat 0
	expect_usage "$scenario: plot not svg or png" bench $scenario --plot "$tmp/r.jpg"
	expect_usage "$scenario: -b is not a flag here" bench $scenario -b 1M
	run bench $scenario -v 3,1 --json "$tmp/never-$scenario.json"
	[ -e "$tmp/never-$scenario.json" ] && fail "$scenario: bad input still created --json file"
done
expect_ok "stalled-reader --help names --stall-ms" "--stall-ms MS" bench stalled-reader --help
expect_ok "stalled-reader --help names the retired picture" "FILE-retired.svg" \
	bench stalled-reader --help
expect_usage "stalled-reader: stall over half the run" bench stalled-reader --seconds 0.2 --stall-ms 100
expect_usage "stalled-reader: zero stall" bench stalled-reader --stall-ms 0
expect_usage "huge-over-table: no --stall-ms" bench huge-over-table --stall-ms 10

# huge-over-table: every strategy by default, one row each.
expect_ok "tiny huge-over-table run, every strategy" "^wrlock " \
	bench huge-over-table --seconds 0.05
for strategy in rcu rcu-qsbr llist llist-trylock wrlock global; do
	grep -q "^$strategy  *2  *[0-9]" "$tmp/out" || fail "huge-over-table: no row for $strategy"
done
grep -qF "command: tdpmmu bench huge-over-table -v 2 --strategy all --repeat 1 --levels 4 --seconds 0.05" \
	"$tmp/out" || fail "huge-over-table: command line"

# A sweep: 2 strategies x 2 counts.
json=$tmp/hot.json
expect_ok "tiny huge-over-table sweep" "^Mfaults/s: faults completed" \
	bench huge-over-table -v 2,3 --strategy rcu,wrlock --seconds 0.05 --json "$json"
[ "$(grep -c '^\(rcu\|wrlock\)  *[23]  *[0-9]' "$tmp/out")" -eq 8 ] ||
	fail "huge-over-table sweep: not 4 rows in each of the two tables"
grep -q "^global " "$tmp/out" && fail "huge-over-table --strategy rcu,wrlock: ran global"
if [ ! -s "$json" ]; then
	fail "huge-over-table sweep: no JSON"
else
	[ "$(grep -c '"scenario": "huge-over-table", "strategy": "' "$json")" -eq 4 ] ||
		fail "huge-over-table JSON: not 4 results"
	grep -q '"strategy": "wrlock", "retired": [0-9]*, .*"write_retries": [1-9]' "$json" ||
		fail "huge-over-table JSON: wrlock made no write-lock retry"
	grep -q '"strategy": "rcu", "retired": [1-9][0-9]*, .*"write_retries": 0}' "$json" ||
		fail "huge-over-table JSON: rcu retired nothing, or retried under the write lock"
	for pattern in '"name": "faults_per_sec", "best": [1-9]' '"lower_is_better": false' \
		'"faults_per_sec": [1-9]' '"huge_replaced_per_sec": [1-9]' '"huge_vcpus": 2,' \
		'"small_faults": [1-9]' '"huge_replaced": [1-9]' '"x_rcu": 1.0000' \
		'"vcpu_write_acquisitions": [1-9]' '"config": {"seconds": 0.05' \
		'"fault_latency_ns": {"p50": [0-9]*, "p99": [0-9]*, "p999": [0-9]*, "max": [1-9]'; do
		grep -q -- "$pattern" "$json" || fail "huge-over-table JSON: no $pattern"
	done
fi

# stalled-reader: a sweep with both pictures; long enough (about 250 samples a
# run) that the JSON series is decimated.
json=$tmp/stall.json
expect_ok "tiny stalled-reader sweep" "^stall Mf/s: faults/s of all vCPUs" \
	bench stalled-reader -v 2,3 --seconds 0.25 --stall-ms 20 --strategy rcu,llist \
	--json "$json" --plot "$tmp/stall.svg"
[ "$(grep -c '^\(rcu\|llist\)  *[23]  *[0-9]' "$tmp/out")" -eq 8 ] ||
	fail "stalled-reader sweep: not 4 rows in each of the two tables"
grep -q "^global " "$tmp/out" && fail "stalled-reader --strategy rcu,llist: ran global"
grep -q "^rcu  *2  *2[0-9]\.[0-9] " "$tmp/out" || fail "stalled-reader: rcu's stall not about 20 ms"
[ -s "$tmp/stall.svg" ] || fail "stalled-reader --plot: no sweep picture"
[ -s "$tmp/stall-retired.svg" ] || fail "stalled-reader --plot: no retired-memory picture"
grep -q "stall (rcu)" "$tmp/stall-retired.svg" || fail "stalled-reader: stall window not drawn"
grep -qF "plot of retired memory written to $tmp/stall-retired.svg" "$tmp/out" ||
	fail "stalled-reader: retired picture not reported"
if [ ! -s "$json" ]; then
	fail "stalled-reader sweep: no JSON"
else
	[ "$(grep -c '"scenario": "stalled-reader", "strategy": "' "$json")" -eq 4 ] ||
		fail "stalled-reader JSON: not 4 results"
	for pattern in '"name": "stall_faults_per_sec", "best": [0-9]' \
		'"stall": {"ms": 2[0-9]\.[0-9]*, "start_ms": [0-9]' '"outside_faults_per_sec": [1-9]' \
		'"peak_outstanding_bytes": [1-9]' '"stall_ms": 20, "sample_ms": 1' \
		'"retired_series": {"samples_per_point": 1, "points": \[\[0\.[0-9]*, [0-9]*\], \[' \
		'"name": "before the stall", "seconds": 0.06' '"name": "stall", "seconds": 0.02'; do
		grep -q -- "$pattern" "$json" || fail "stalled-reader JSON: no $pattern"
	done
	# Every series has at most 200 points, and some were decimated to get there.
	points=$(grep -o '"points": \[.*' "$json" | awk -F'\\], \\[' '{ print NF }' | sort -n)
	[ -n "$points" ] && [ "$(echo "$points" | tail -n 1)" -le 200 ] ||
		fail "stalled-reader JSON: a series over 200 points ($points)"
	[ "$(echo "$points" | head -n 1)" -ge 100 ] ||
		fail "stalled-reader JSON: a series under 100 points ($points)"
fi
