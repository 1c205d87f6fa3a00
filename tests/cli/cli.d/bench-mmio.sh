# bench-mmio.sh - cli_test.sh checks of `tdpmmu bench mmio`: MMIO exits to a
# hole no memslot maps while the host adds and deletes a memslot (sourced
# by tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage,
# fail, $prog and $tmp).  Under a second in all.

expect_ok "bench mmio -h" "usage: tdpmmu bench mmio" bench mmio -h
for pattern in "-v LIST" "--strategy LIST" "--repeat N" "-b SIZE" "-s BACKING" "--seconds S" \
	"--mmio-pct P" "--slot-rate N" "--slot-op OP" "--mmio-caching on|off" "--mmio-gen-bits B" "Macc/s" \
	"no kvm rows"; do
	expect_ok "bench mmio --help names $pattern" "$pattern" bench mmio --help
done

# Bad input: exit 2, one line naming the flag, and no --json file.
never=$tmp/never-mmio.json
for bad in "--mmio-pct 101" "--mmio-pct -1" "--mmio-pct x" "--slot-rate -1" \
	"--slot-rate 100001" "--slot-rate fast" "--mmio-caching yes" "--mmio-caching ON" \
	"--slot-op move" "--slot-op add" \
	"--mmio-gen-bits 0" "--mmio-gen-bits 20" "--seconds 0" "--payload" "--strategy rcu,kvm" \
	"-v 0" "-b 0" "-b 5000"; do
	flag=${bad%% *}
	# shellcheck disable=SC2086
	expect_usage "mmio: $bad" bench mmio $bad --json "$never"
	grep -q "^tdpmmu: .*$flag" "$tmp/err" || fail "mmio $bad: the flag is not named"
	[ -e "$never" ] && fail "mmio $bad: bad input still created the --json file"
	rm -f "$never"
done

# One tiny sweep: 2 strategies x 2 counts, every run checked; the JSON.
json=$tmp/mmio.json
expect_ok "tiny mmio sweep" "^mmio: best of 1 round" \
	bench mmio -v 1,2 --strategy rcu,global -b 1M --seconds 0.05 --mmio-gen-bits 3 \
	--json "$json"
grep -qF -- "command: tdpmmu bench mmio -v 1,2 --strategy rcu,global --repeat 1" "$tmp/out" ||
	fail "mmio: command line missing"
rows=$(awk '/^strategy .*Macc\/s/ { t = 1; next } t && /^(rcu|global) +[12] / { n++; next }
	{ t = 0 } END { print n + 0 }' "$tmp/out")
[ "$rows" -eq 4 ] || fail "mmio: $rows rows in the main table, expected 4"
[ "$(grep -c '"scenario": "mmio", "strategy": ' "$json")" -eq 4 ] || fail "mmio JSON: not 4 results"
# Per run (the counters object has the same names: the result's own line is matched).
for pattern in '^      "accesses": [1-9][0-9]*, "memory_accesses": [1-9][0-9]*, "hole_accesses": [1-9][0-9]*, "device_calls": [1-9][0-9]*, "emulated_by_vmm": 0,$' \
	'^      "mmio_exits": [1-9][0-9]*, "mmio_exits_fast": [1-9][0-9]*, "mmio_entries_stale": [1-9][0-9]*, "mmio_entries_installed": [1-9][0-9]*, "mmio_gen_wrap_zaps": [1-9]' \
	'^      "memslot_updates": [1-9][0-9]*, "generations": [1-9]'; do
	[ "$(grep -c -- "$pattern" "$json")" -eq 4 ] || fail "mmio JSON: not every run matches $pattern"
done
for pattern in '"mmio_caching": true' '"mmio_gen_bits": 3' '"slot_op": "add-delete"' '"mmio_pct": 50'; do
	grep -q -- "$pattern" "$json" || fail "mmio JSON: no $pattern in the config"
done

# Dirty-log updates: the generation moves, nothing is zapped.
expect_ok "mmio --slot-op dirty-log" "^rcu, 1 vCPU, " \
	bench mmio -v 1 -b 1M --seconds 0.05 --slot-op dirty-log --json "$json"
grep -q '"slot_op": "dirty-log"' "$json" || fail "mmio dirty-log: slot_op not in the JSON"
grep -q '"mmio_entries_stale": [1-9].*"mmio_gen_wrap_zaps": 0,$' "$json" ||
	fail "mmio dirty-log: no stale MMIO entries"
grep -q '"fast_zaps": 0,' "$json" || fail "mmio dirty-log: a memslot update zapped the roots"

# Caching off: every hole access a fault that finds no memslot, emulated by the VMM.
expect_ok "mmio caching off" "^rcu, 1 vCPU, " \
	bench mmio -v 1 -b 1M --seconds 0.05 --mmio-caching off --json "$json"
grep -q '^      "mmio_exits": 0, "mmio_exits_fast": 0, ' "$json" || fail "mmio off: MMIO exits counted"
grep -q '"emulated_by_vmm": [1-9]' "$json" || fail "mmio off: nothing emulated by the VMM"
