# preempt.sh - cli_test.sh checks of --preempt, the host kernel's preemption
# model every scenario's VMs follow (sourced by tests/cli/cli_test.sh, which
# defines run, expect_ok, expect_usage, fail, $prog and $tmp).

# Every scenario takes it (the sweep's flags) and says so in --help.
for sc in $(cat "$tmp/scenarios"); do
	expect_ok "bench $sc --help names --preempt" "--preempt M" bench "$sc" --help
done
expect_ok "torture --help names --preempt" "--preempt M" torture --help

# Bad values: exit 2, the flag named.
for bad in "bogus" "Full" "" "preempt" "rotate"; do
	expect_usage "populate --preempt '$bad'" bench populate --preempt "$bad"
	grep -q "^tdpmmu: --preempt: " "$tmp/err" || fail "populate --preempt '$bad': flag not named"
done
expect_usage "notifier --preempt x" bench notifier --preempt x
expect_usage "torture --preempt x" torture --preempt x
grep -q "^tdpmmu: --preempt: " "$tmp/err" || fail "torture --preempt x: flag not named"

# The header and the JSON say the model, and the host kernel's beside it.
json=$tmp/preempt.json
expect_ok "populate --preempt full" "^preempt: full (the simulated rows' MMU lock); this host's kernel: " \
	bench populate -v 1 -b 1M --repeat 1 --preempt full --json "$json"
grep -qF -- "--levels 4 --preempt full" "$tmp/out" || fail "populate --preempt full: not in the command line"
grep -q '"preempt": "full", "host_preempt": "[^"]' "$json" || fail "populate JSON: no preempt full"
expect_ok "notifier, default model" "^preempt: voluntary " \
	bench notifier -v 1 -b 1M --seconds 0.05 --json "$json"
grep -q '"preempt": "voluntary"' "$json" || fail "notifier JSON: no preempt voluntary"
expect_ok "nx-recovery --preempt none" "^preempt: none " \
	bench nx-recovery -v 1 -b 4M -s anonymous_hugetlb --period 1 --seconds 0.05 --preempt none
for m in none voluntary full rotate; do
	TDPMMU_PARSE_ONLY=1 expect_ok "torture --preempt $m" "valid" torture --preempt $m
done
