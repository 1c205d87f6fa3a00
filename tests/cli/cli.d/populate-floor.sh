# populate-floor.sh - cli_test.sh checks of `tdpmmu bench populate`'s parallel floor (sourced
# by tests/cli/cli_test.sh, which defines run, expect_ok, fail, $prog and $tmp).

# 4K mappings: the parallel floor at every count, in the scaling table, the table of each
# strategy's scaling over it, and the JSON.
json=$tmp/par-floor.json
expect_ok "populate: the parallel floor in the scaling table" "^vCPUs parallel floor" \
	bench populate -v 1,2 -b 1M --repeat 1 --strategy rcu --json "$json"
grep -q "^scaling over the parallel floor's" "$tmp/out" ||
	fail "populate: no scaling over the parallel floor's"
grep -Eq "^ +2 +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+$" "$tmp/out" ||
	fail "populate: no 2-vCPU row of rcu's scaling over the parallel floor's"
grep -Eq '"parallel_floor_pages_per_sec": \[[0-9]+, [0-9]+\]' "$json" ||
	fail "populate: JSON without the parallel floor of both counts"
# Every vCPU's thread walks the one region with -o.
expect_ok "populate -o: the parallel floor over the shared region" "^scaling over the parallel" \
	bench populate -v 1,3 -b 1M -o --repeat 1 --strategy rcu
# Huge mappings: no floor, so no parallel floor (a dash) and no table over it.
expect_ok "populate 2M: no parallel floor" "^    2              -" \
	bench populate -v 1,2 -b 4M -s anonymous_hugetlb --repeat 1 --strategy rcu
grep -q "^scaling over the parallel floor's" "$tmp/out" &&
	fail "populate 2M: a table over a parallel floor that was not measured"
