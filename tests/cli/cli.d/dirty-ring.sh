# dirty-ring.sh - cli_test.sh checks of `tdpmmu bench dirty-log --ring` (sourced by
# tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

expect_ok "bench dirty-log --help names --ring" "--ring N" bench dirty-log --help
expect_ok "bench dirty-log --help names the ring's phase" \
	"Iteration N harvest and reset dirty rings" bench dirty-log --help
# Bad sizes exit 2 with one line naming the flag and what is wrong.
ring_usage() {
	why=$1
	shift
	expect_usage "dirty-log --ring: $why ($*)" bench dirty-log "$@"
	grep -q "^tdpmmu: --ring" "$tmp/err" || fail "dirty-log --ring: $why ($*): flag not named"
	grep -q "$why" "$tmp/err" || fail "dirty-log --ring: $why ($*): '$why' not said"
}
ring_usage "power of two" --ring 1000
ring_usage "too small" --ring 512
ring_usage "too large" --ring 131072
ring_usage "kvm row" --ring 4096 --strategy rcu,kvm
expect_usage "dirty-log --ring: not a number" bench dirty-log --ring x
expect_usage "dirty-log --ring: zero" bench dirty-log --ring 0
expect_usage "dirty-log --ring: no value" bench dirty-log --ring
# One tiny run: 2 vCPUs of 2048 pages on 1024-entry rings (448 before the
# exit), so the vCPUs stop on soft-full rings mid-pass; the run's own check
# (pages collected == pages written) must hold every iteration.
expect_ok "dirty-log --ring: a run, soft-full exits, every page collected" \
	"^Iteration 2: 4096 pages collected from the rings" \
	bench dirty-log --ring 1024 -v 2 -b 8M -i 2
grep -q "^dirty ring: [1-9][0-9]* entries harvested" "$tmp/out" ||
	fail "dirty-log --ring: no summary of the ring"
exits=$(sed -n 's/^dirty ring: .*ring_soft_full_exits \([0-9]*\),.*/\1/p' "$tmp/out")
[ -n "$exits" ] && [ "$exits" -gt 0 ] || fail "dirty-log --ring: no soft-full exit ('$exits')"
grep -q -- "--ring 1024" "$tmp/out" || fail "dirty-log --ring: not in the report's command"
