# pages.sh - cli_test.sh checks of --pages, how every scenario's VMs track
# their page-table pages: count (upstream today) or list (the seed thread's
# list under the pages lock) (sourced by tests/cli/cli_test.sh, which
# defines run, expect_ok, expect_usage, fail, $prog and $tmp).

# Every scenario takes it (the sweep's flags) and says so in --help.
for sc in $(cat "$tmp/scenarios"); do
	expect_ok "bench $sc --help names --pages" "--pages M" bench "$sc" --help
done
expect_ok "torture --help names --pages" "--pages M" torture --help

# Bad values: exit 2, the flag named.
for bad in "bogus" "List" "" "rotate"; do
	expect_usage "populate --pages '$bad'" bench populate --pages "$bad"
	grep -q "^tdpmmu: --pages: " "$tmp/err" || fail "populate --pages '$bad': flag not named"
done
expect_usage "torture --pages x" torture --pages x
grep -q "^tdpmmu: --pages: " "$tmp/err" || fail "torture --pages x: flag not named"

# The header, the command line (when not the default) and the JSON say the mode.
json=$tmp/pages.json
expect_ok "populate --pages list" "^pages: list " \
	bench populate -v 1 -b 1M --repeat 1 --pages list --json "$json"
grep -qF -- "--levels 4 --pages list" "$tmp/out" || fail "populate --pages list: not in the command line"
grep -q '"pages": "list"' "$json" || fail "populate JSON: no pages list"
expect_ok "huge-over-table, default mode" "^pages: count " \
	bench huge-over-table -v 2 --seconds 0.05 --pages count --json "$json"
grep -qF -- "--pages" "$tmp/out" && fail "huge-over-table: default --pages echoed in the command line"
grep -q '"pages": "count"' "$json" || fail "huge-over-table JSON: no pages count"
for m in list count rotate; do
	TDPMMU_PARSE_ONLY=1 expect_ok "torture --pages $m" "valid" torture --pages $m
done
