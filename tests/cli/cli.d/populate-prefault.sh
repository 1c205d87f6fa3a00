# populate-prefault.sh - cli_test.sh checks of `tdpmmu bench populate --pre-fault` (sourced by
# tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

# Each vCPU pre-faults its region, then the guest pass takes no EPT violation (the run checks
# it); the report puts the pre-fault beside the guest pass, and the JSON has both.
json=$tmp/pre-fault.json
expect_ok "populate --pre-fault: the pre-fault table" "^pre-fault, then the guest pass" \
	bench populate -v 1,2 -b 1M --repeat 1 --strategy rcu --pre-fault --json "$json"
grep -q "^          --pre-fault: each vCPU maps its region" "$tmp/out" ||
	fail "populate --pre-fault: the settings do not say so"
grep -Eq "^rcu +2 +[0-9.]+ +[0-9.]+ +512 +[0-9.]+$" "$tmp/out" ||
	fail "populate --pre-fault: no 2-vCPU row with 512 steps (2 x 256 4K pages)"
grep -q '"pre_fault": true' "$json" || fail "populate --pre-fault: JSON config lacks pre_fault"
grep -Eq '"pre_fault": \{"ns": [0-9]+, "steps": 256, "pages_per_sec": [0-9.]+, "guest_pass_ns": [0-9]+\}' \
	"$json" || fail "populate --pre-fault: JSON run lacks the pre-fault object"
grep -q '"ept_violations": 0,' "$json" ||
	fail "populate --pre-fault: the guest pass took EPT violations"
grep -q '"name": "pre-fault"' "$json" || fail "populate --pre-fault: no pre-fault phase"
# 2M leaves: one step per 2 MiB block.
expect_ok "populate --pre-fault 2M: the pre-fault table" "^pre-fault, then the guest pass" \
	bench populate -v 1 -b 4M -s anonymous_hugetlb --repeat 1 --strategy rcu --pre-fault
grep -Eq "^rcu +1 +[0-9.]+ +[0-9.]+ +2 +[0-9.]+$" "$tmp/out" ||
	fail "populate --pre-fault 2M: not one step per 2 MiB block"
expect_usage "populate --pre-fault with kvm rows" \
	bench populate -v 1 -b 1M --strategy rcu,kvm --pre-fault
expect_usage "populate --pre-fault takes no value" bench populate --pre-fault=1
