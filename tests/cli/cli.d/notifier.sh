# notifier.sh - cli_test.sh checks of `tdpmmu bench notifier` (sourced by tests/cli/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

expect_ok "bench notifier -h" "usage: tdpmmu bench notifier" bench notifier -h
for pattern in "-v LIST" "--strategy LIST" "--repeat N" "--levels N" "--payload" \
	"--json FILE" "--plot FILE" "-b SIZE" "-s BACKING" "-w PCT" "--seconds S" \
	"--range SIZE" "--rate N" "--remap PCT" "Kfaults/s"; do
	expect_ok "bench notifier --help names $pattern" "$pattern" bench notifier --help
done

# Bad input: exit 2, one line, and no --json file.
never=$tmp/never-notifier.json
for bad in "--seconds 0" "--seconds 1s" "--seconds 3601" "--rate -1" "--rate fast" \
	"--rate 10000001" "--range 0" "--range 5000" "--range 2MB" "--remap 101" "--remap x" \
	"-w 101" "-v 0" "-v 1,1" "-v 4097" "-b 0" "-s anonymous_hugetlb_16kb" "--strategy rcu,epoch" \
	"--levels 3" "--repeat 0" "--frobnicate" \
	"-s hugetlb-2m -b 2M --remap 50" "--plot $tmp/notifier.txt"; do
	# shellcheck disable=SC2086
	expect_usage "notifier: $bad" bench notifier $bad --json "$never"
	[ -e "$never" ] && fail "notifier $bad: bad input still created the --json file"
	rm -f "$never"
done

# The sweep: 2 strategies x 2 counts, every run checked.
json=$tmp/notifier.json
expect_ok "tiny notifier sweep" "^notifier: best of 1 round" \
	bench notifier -v 1,2 --strategy rcu,global -b 4M --seconds 0.2 --json "$json"
grep -qF -- "command: tdpmmu bench notifier -v 1,2 --strategy rcu,global --repeat 1" \
	"$tmp/out" || fail "notifier: command line missing"
rows=$(awk '/^strategy .*Kfaults\/s/ { t = 1; next } t && /^(rcu|global) +[12] / { n++; next }
	{ t = 0 } END { print n + 0 }' "$tmp/out")
[ "$rows" -eq 4 ] || fail "notifier: $rows rows in the main table, expected 4"
[ "$(grep -c '"scenario": "notifier", "strategy": ' "$json")" -eq 4 ] ||
	fail "notifier JSON: not 4 results"
[ "$(grep -c '"invalidations": [1-9][0-9]*, "remaps": ' "$json")" -eq 4 ] ||
	fail "notifier JSON: a run without invalidations"
[ "$(grep -c '"faults_per_sec": [1-9]' "$json")" -eq 4 ] ||
	fail "notifier JSON: a run without faults"
[ "$(grep -c '"fault_latency_ns": {"p50": [0-9]' "$json")" -eq 4 ] ||
	fail "notifier JSON: a run without fault latency"
for pattern in '"range_bytes": 2097152' '"rate": 0' '"remap_pct": 50' '"remaps": [1-9]' \
	'"notifier_retries": [0-9]' '"leaves_zapped": [1-9]' '"invalidate_ns_mean": [0-9]' \
	'"pages_checked": 1024$' '"pages_checked": 2048$'; do
	grep -q -- "$pattern" "$json" || fail "notifier JSON: no $pattern"
done

# Paced, payload, hugetlb (no remaps), hundreds of vCPUs, and the picture.
json=$tmp/notifier-paced.json
expect_ok "notifier paced with payload" "^rcu, 2 vCPUs, " \
	bench notifier -v 2 -b 4M --seconds 0.2 --rate 50 --payload --json "$json"
grep -q '"invalidations": \([5-9]\|1[0-2]\), ' "$json" ||
	fail "notifier --rate 50 for 0.2 s: not about 10 invalidations"
expect_ok "notifier on hugetlb" "--remap 0" \
	bench notifier -s hugetlb-2m -v 1 -b 4M --seconds 0.1 --rate 100
expect_ok "notifier with 256 vCPUs" "^rcu, 256 vCPUs, " bench notifier -v 256 -b 4K --seconds 0.1
expect_ok "notifier --plot" "plot written to" \
	bench notifier -v 1,2 -b 1M --seconds 0.05 --plot "$tmp/notifier.svg"
[ -s "$tmp/notifier.svg" ] && grep -q "<svg" "$tmp/notifier.svg" ||
	fail "notifier --plot: no svg written"
