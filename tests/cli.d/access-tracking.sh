# access-tracking.sh - cli_test.sh checks of `tdpmmu bench access-tracking` (sourced by tests/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

for pattern in "-o " "--flush" "Populating memory" "Writing to populated memory" \
	"Reading from populated memory" "Mark memory idle" "Writing to idle memory" \
	"Reading from idle memory" "still idle"; do
	expect_ok "bench access-tracking --help names $pattern" "$pattern" bench access-tracking --help
done
expect_usage "access-tracking: value to --flush" bench access-tracking --flush=yes
expect_usage "access-tracking: -w is not an access-tracking flag" bench access-tracking -w 50

json=$tmp/access.json
expect_ok "tiny access-tracking run" "Reading from idle memory      : " \
	bench access-tracking -b 8M --json "$json"
for pattern in "command: tdpmmu bench access-tracking -v 1 -b 8M" \
	"Populating memory             : " "Writing to populated memory   : " \
	"Reading from populated memory : " "Mark memory idle              : " \
	"Writing to idle memory        : " "still idle after writing: " \
	"still idle after reading: " "young_cleared"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny access-tracking run: '$pattern' missing"
done
[ "$(grep -c "^Mark memory idle" "$tmp/out")" -eq 2 ] ||
	fail "tiny access-tracking run: 'Mark memory idle' not printed twice"
grep -q '"scenario": "access-tracking"' "$json" || fail "access-tracking JSON: no scenario"
# 256 pages fit in the 4K TLB: without a flush they stay idle (the warning),
# with --flush every access walks again and sets Accessed.
expect_ok "access-tracking in the TLB warns" "WARNING: vCPU0: Too many pages still idle" \
	bench access-tracking -b 1M
expect_ok "access-tracking --flush" "still idle after reading: 0 of 512" \
	bench access-tracking -b 1M -v 2 -o --flush
grep -q "WARNING" "$tmp/out" && fail "access-tracking --flush: pages still idle"

