# mixed.sh - cli_test.sh checks of `tdpmmu bench mixed` (sourced by tests/cli/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

expect_ok "bench mixed -h" "usage: tdpmmu bench mixed" bench mixed -h
for pattern in "-v LIST" "--strategy LIST" "--repeat N" "--levels N" "--payload" \
	"--json FILE" "--plot FILE" "-b SIZE" "-s BACKING" "-w PCT" "--seconds S" \
	"--dirty-rate N" "--age-rate N" "--nx-rate N" "--inval-rate N" "--range SIZE" \
	"--remap PCT" "Macc/s"; do
	expect_ok "bench mixed --help names $pattern" "$pattern" bench mixed --help
done

# Bad input: exit 2, one line, and no --json file.
never=$tmp/never-mixed.json
for bad in "--seconds 0" "--seconds x" "--dirty-rate -1" "--dirty-rate 100001" \
	"--age-rate often" "--nx-rate 1.5" "--inval-rate 100001" "--range 0" "--range 6K" \
	"--remap 101" "-w 101" "-v 0" "-v 2,2" "-b 4K" "-s anonymous_hugetlb_16kb" \
	"-s hugetlb-2m -b 4M --remap 1" "--strategy epoch" "--levels 6" "--repeat x" \
	"--frobnicate" "extra" "--plot $tmp/mixed.gif"; do
	# shellcheck disable=SC2086
	expect_usage "mixed: $bad" bench mixed $bad --json "$never"
	[ -e "$never" ] && fail "mixed $bad: bad input still created the --json file"
	rm -f "$never"
done

# The sweep: 2 strategies x 2 counts, every background activity at its default rate.
json=$tmp/mixed.json
expect_ok "tiny mixed sweep" "^mixed: best of 1 round" \
	bench mixed -v 1,2 --strategy rcu,global -b 4M --seconds 0.2 --json "$json"
grep -qF -- "command: tdpmmu bench mixed -v 1,2 --strategy rcu,global --repeat 1" \
	"$tmp/out" || fail "mixed: command line missing"
rows=$(awk '/^strategy .*Macc\/s/ { t = 1; next } t && /^(rcu|global) +[12] / { n++; next }
	{ t = 0 } END { print n + 0 }' "$tmp/out")
[ "$rows" -eq 4 ] || fail "mixed: $rows rows in the main table, expected 4"
[ "$(grep -c '"scenario": "mixed", "strategy": ' "$json")" -eq 4 ] ||
	fail "mixed JSON: not 4 results"
for pattern in '"accesses_per_sec": [1-9]' '"faults": [1-9][0-9]*, "passes": [1-9]' \
	'"dirty_rounds": [1-9][0-9]*, "pages_logged": [1-9]' \
	'"aging_passes": [1-9][0-9]*, "young_cleared": ' \
	'"nx_recoveries": [1-9][0-9]*, "nx_tables_zapped": ' \
	'"invalidations": [1-9][0-9]*, "remaps": ' '"fault_latency_ns": {"p50": [0-9]'; do
	[ "$(grep -c -- "$pattern" "$json")" -eq 4 ] || fail "mixed JSON: not 4 times $pattern"
done
# The activities did real work somewhere in the sweep.
for pattern in '"young_cleared": [1-9][0-9]*, "aging_ns"' '"nx_tables_zapped": [1-9]' \
	'"remaps": [1-9]' '"pages_reprotected": [1-9]' '"nx_forced_small": [1-9]' \
	'"dirty_rate": 20, "age_rate": 20, "nx_rate": 20, "nx_ratio": 10, "inval_rate": 200'; do
	grep -q -- "$pattern" "$json" || fail "mixed JSON: no $pattern"
done

# Activities off, payload, hugetlb, hundreds of vCPUs, and the picture.
json=$tmp/mixed-off.json
expect_ok "mixed with everything off" "dirty log get+clear off, aging off" \
	bench mixed -v 2 -b 4M --seconds 0.1 --dirty-rate 0 --age-rate 0 --nx-rate 0 \
	--inval-rate 0 --json "$json"
tr -d '\n' <"$json" |
	grep -q '"dirty_rounds": 0, .*"aging_passes": 0, .*"nx_recoveries": 0, .*"invalidations": 0, ' ||
	fail "mixed with everything off: some activity ran"
expect_ok "mixed with payload" "^rcu, 1 vCPU, " bench mixed -v 1 -b 4M --seconds 0.1 --payload
expect_ok "mixed on hugetlb" "--remap 0" bench mixed -s hugetlb-2m -v 1 -b 4M --seconds 0.1
expect_ok "mixed with 256 vCPUs" "^rcu, 256 vCPUs, " bench mixed -v 256 -b 8K --seconds 0.1
expect_ok "mixed --plot" "plot written to" \
	bench mixed -v 1,2 -b 4M --seconds 0.05 --plot "$tmp/mixed.svg"
[ -s "$tmp/mixed.svg" ] && grep -q "<svg" "$tmp/mixed.svg" || fail "mixed --plot: no svg written"
