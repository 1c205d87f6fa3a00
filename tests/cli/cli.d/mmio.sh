# mmio.sh - cli_test.sh checks of --mmio-caching on torture: whether an
# access to a gfn in no memslot installs an MMIO entry and exits to the MMIO
# handler (on, KVM's enable_mmio_caching default) or fails with -ENOENT
# (off).  Parse-only checks: a torture run costs seconds, and make check's
# torture-short runs it with the default (sourced by tests/cli/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

expect_ok "torture --help names --mmio-caching" "--mmio-caching on|off" torture --help

# Bad values: exit 2, one line naming the flag and what is wrong.
for bad in "yes" "" "ON" "1" "on,off"; do
	expect_usage "torture --mmio-caching '$bad'" torture --mmio-caching "$bad"
	grep -q "^tdpmmu: --mmio-caching: '$bad' is not on or off" "$tmp/err" ||
		fail "torture --mmio-caching '$bad': flag or reason not named"
done
expect_usage "torture --mmio-caching without a value" torture --mmio-caching
grep -q "^tdpmmu: .*--mmio-caching" "$tmp/err" ||
	fail "torture --mmio-caching without a value: flag not named"

for m in on off; do
	TDPMMU_PARSE_ONLY=1 expect_ok "torture --mmio-caching $m" "valid" torture --mmio-caching $m
done
