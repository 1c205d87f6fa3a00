# dirty-mode.sh - cli_test.sh checks of --dirty-mode, how dirty logging
# re-arms pages: wrprot (write protection) or dbit (Dirty bits and the
# vCPUs' PML logs), on bench dirty-log, bench mixed and torture (sourced
# by tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage,
# fail, $prog and $tmp).

for sc in dirty-log mixed; do
	expect_ok "bench $sc --help names --dirty-mode" "--dirty-mode M" bench "$sc" --help
done
expect_ok "torture --help names --dirty-mode" "--dirty-mode M" torture --help

# Bad values: exit 2, one line naming the flag.
for bad in "bogus" "DBIT" "" "both"; do
	expect_usage "dirty-log --dirty-mode '$bad'" bench dirty-log --dirty-mode "$bad"
	grep -q "^tdpmmu: --dirty-mode: " "$tmp/err" ||
		fail "dirty-log --dirty-mode '$bad': flag not named"
done
expect_usage "mixed --dirty-mode rotate" bench mixed --dirty-mode rotate
grep -q "^tdpmmu: --dirty-mode: " "$tmp/err" || fail "mixed --dirty-mode rotate: flag not named"
expect_usage "torture --dirty-mode x" torture --dirty-mode x
grep -q "^tdpmmu: --dirty-mode: " "$tmp/err" || fail "torture --dirty-mode x: flag not named"
expect_usage "dirty-log --dirty-mode dbit with the kvm row" \
	bench dirty-log --dirty-mode dbit --strategy rcu,kvm
grep -q "^tdpmmu: --dirty-mode: " "$tmp/err" || fail "dirty-log dbit with kvm: flag not named"
for m in wrprot dbit rotate; do
	TDPMMU_PARSE_ONLY=1 expect_ok "torture --dirty-mode $m" "valid" torture --dirty-mode $m
done

# A tiny run of each mode: the settings, the command line (dbit only: wrprot
# is the default), the JSON and the per-pass table; dbit takes no dirty
# faults and logs through PML, wrprot the reverse.
json=$tmp/dirty-mode.json
for m in wrprot dbit; do
	expect_ok "dirty-log --dirty-mode $m" "--dirty-mode $m: " \
		bench dirty-log -b 4M -i 2 -g --repeat 1 --dirty-mode $m --json "$json"
	grep -q "\"dirty_mode\": \"$m\"" "$json" || fail "dirty-log JSON: no dirty_mode $m"
	row=$(grep -A2 '^per dirty pass' "$tmp/out" | sed -n 3p)
	set -- $row
	[ "$#" -eq 7 ] || fail "dirty-log --dirty-mode $m: no per-pass row: '$row'"
	if [ "$m" = dbit ]; then
		grep -q "^command: tdpmmu bench dirty-log.* --dirty-mode dbit" "$tmp/out" ||
			fail "dirty-log dbit: not in the command line"
		[ "$3" = 0 ] || fail "dirty-log dbit: $3 dirty faults per pass, expected 0"
		[ "$5" != 0 ] || fail "dirty-log dbit: no PML entries"
	else
		grep -q "^command: tdpmmu bench dirty-log.* --dirty-mode" "$tmp/out" &&
			fail "dirty-log: default --dirty-mode echoed"
		[ "$3" != 0 ] || fail "dirty-log wrprot: no dirty faults"
		[ "$5" = 0 ] || fail "dirty-log wrprot: $5 PML entries, expected 0"
	fi
	expect_ok "mixed --dirty-mode $m" "dirty logging by .*($m)" \
		bench mixed -v 1 -b 2M --seconds 0.05 --repeat 1 --dirty-mode $m
done
