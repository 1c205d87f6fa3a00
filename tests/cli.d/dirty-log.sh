# dirty-log.sh - cli_test.sh checks of `tdpmmu bench dirty-log` (sourced by tests/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

for pattern in "-i N" "-g " "-e " "-w PCT" "-a " "-x N" "--eager-split" "--recover HOW" \
	"Populate memory" "Enabling dirty logging" "Iteration N dirty memory" \
	"Iteration N get dirty log" "Iteration N clear dirty log" "Disabling dirty logging"; do
	expect_ok "bench dirty-log --help names $pattern" "$pattern" bench dirty-log --help
done
expect_usage "dirty-log: one iteration" bench dirty-log -i 1
expect_usage "dirty-log: iterations not a number" bench dirty-log -i two
expect_usage "dirty-log: too many iterations" bench dirty-log -i 101
expect_usage "dirty-log: write percentage over 100" bench dirty-log -w 101
expect_usage "dirty-log: zero memslots" bench dirty-log -x 0
expect_usage "dirty-log: more memslots than allowed" bench dirty-log -x 513
expect_usage "dirty-log: memslots that do not split the memory" bench dirty-log -b 8M -x 3
expect_usage "dirty-log: memslots of partial huge pages" \
	bench dirty-log -s hugetlb_2mb -b 2M -x 2
expect_usage "dirty-log: unknown recovery" bench dirty-log --recover collapse
expect_usage "dirty-log: missing recovery" bench dirty-log --recover
expect_usage "dirty-log: value to a bare flag" bench dirty-log --eager-split=1
expect_usage "dirty-log: -o is not a dirty-log flag" bench dirty-log -o

json=$tmp/dirty.json
expect_ok "tiny dirty-log run" "Disabling dirty logging time: " \
	bench dirty-log -b 8M --json "$json"
for pattern in "command: tdpmmu bench dirty-log -v 1 -b 8M -s anonymous -i 2" \
	"liburcu flavour: memb" "Populate memory time: " "Enabling dirty logging time: " \
	"Iteration 1 dirty memory time: " "Iteration 1 get dirty log time: " \
	"Iteration 1 clear dirty log time: " "Iteration 2 dirty memory time: " \
	"Iteration 2 clear dirty log time: " "Get dirty log over 2 iterations took " \
	"Clear dirty log over 2 iterations took " "pages dirty per iteration: 2048 2048" \
	"leaves_write_protected" "pages_logged_dirty" "fast_faults_fixed" "eager_splits" \
	"huge_pages_recovered"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny dirty-log run: '$pattern' missing"
done
for pattern in '"machine": {' '"command": "tdpmmu bench dirty-log' '"scenario": "dirty-log"' \
	'"name": "Iteration 2 clear dirty log", "seconds": [0-9]' '"dirty_pages": \[2048, 2048\]' \
	'"pages_logged_dirty": [0-9]'; do
	grep -q -- "$pattern" "$json" || fail "dirty-log JSON: no $pattern"
done
expect_ok "dirty-log -g (no manual protect)" "Iteration 3 get dirty log time: " \
	bench dirty-log -b 4M -i 3 -g -w 50 -a
grep -qF "clear dirty log time" "$tmp/out" && fail "dirty-log -g: clear phase printed"
expect_ok "dirty-log -e, hugetlb, eager split, zap, memslots" "vCPU pass while disabling (-e)" \
	bench dirty-log -v 2 -b 4M -s hugetlb_2mb -e --eager-split --recover zap -x 2
grep -q "eager_splits  *[1-9]" "$tmp/out" || fail "dirty-log --eager-split: no eager splits"
grep -q "collapsible_tables_zapped  *[1-9]" "$tmp/out" ||
	fail "dirty-log --recover zap: no tables zapped"
expect_ok "dirty-log inplace recovery" "huge_pages_recovered  *[1-9]" \
	bench dirty-log -b 4M -s hugetlb_2mb

