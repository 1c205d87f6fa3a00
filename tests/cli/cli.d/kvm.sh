# kvm.sh - cli_test.sh checks of `--strategy kvm` (the host's KVM through
# our VMM) in `bench populate` and `bench dirty-log` (sourced by
# tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail,
# $prog and $tmp).  Where /dev/kvm cannot run a VM, the kvm rows must be
# skipped with one line while the rest runs; where it can, a small
# populate is checked page by page from the host and the dirty-log oracle
# runs on the real kernel.  Which case this machine is gets said.

expect_usage "kvm: a scenario without kvm rows" bench huge-over-table --strategy kvm
expect_usage "kvm: in a bad list" bench populate --strategy kvm,
expect_ok "populate --help names --prefault" "--prefault" bench populate --help
expect_ok "populate --help names kvm" "kvm" bench populate --help
expect_ok "dirty-log --help names kvm" "kvm" bench dirty-log --help

run bench populate -v 1,2 -b 1M --repeat 1 --strategy rcu,kvm --json "$tmp/kvm.json"
if [ "$rc" -ne 0 ]; then
	fail "kvm: populate with rcu,kvm: exit status $rc"
	sed 's/^/    /' "$tmp/err" >&2
elif grep -q "^kvm: .*: the kvm rows are skipped$" "$tmp/out"; then
	echo "cli_test: /dev/kvm cannot run a VM here: checked that the kvm rows are skipped" >&2
	grep -q "^rcu  *2 " "$tmp/out" || fail "kvm skipped: the rcu rows did not run"
	grep -q "^kvm  *1 " "$tmp/out" && fail "kvm skipped: a kvm row anyway"
	grep -q '"kvm_skipped": "' "$tmp/kvm.json" || fail "kvm skipped: not in the JSON"
	run bench populate -v 1 -b 1M --repeat 1 --strategy kvm
	[ "$rc" -eq 1 ] && grep -q "^tdpmmu: kvm: " "$tmp/err" ||
		fail "kvm alone and unusable: expected exit 1 with the reason"
else
	echo "cli_test: /dev/kvm runs VMs here: checking the kvm rows" >&2
	for v in 1 2; do
		grep -q "^kvm  *$v  *[0-9]" "$tmp/out" || fail "kvm: no kvm row at $v vCPUs"
	done
	grep -q "^kvm:     Linux " "$tmp/out" || fail "kvm: the host's KVM not in the header"
	grep -q '"kvm_host": {"kernel": "' "$tmp/kvm.json" || fail "kvm: no kvm_host in the JSON"
	grep -q '"strategy": "kvm", "vcpus": 2' "$tmp/kvm.json" || fail "kvm: no kvm result"
	grep -q '"kvm_stats": {"exits": [0-9]' "$tmp/kvm.json" || fail "kvm: no kvm_stats"
	# Every page is checked from the host side, -o, -a and half reads too.
	expect_ok "kvm: populate -o -a -w 50 --prefault" "^kvm  *3 " \
		bench populate -v 3 -b 2M --repeat 1 -o -a -w 50 --prefault --strategy kvm
	# The dirty_log_test oracle on the real kernel: 2 vCPUs, 4 iterations.
	expect_ok "kvm: the dirty-log oracle, manual protect" "^kvm  *2 " \
		bench dirty-log -v 2 -b 4M -i 4 -w 50 -a --strategy kvm
	expect_ok "kvm: the dirty-log oracle, -g, -e, two memslots" "^kvm  *2 " \
		bench dirty-log -v 2 -b 4M -i 3 -g -e -x 2 --strategy kvm
	# Bad setup: a user who may not open /dev/kvm gets one line, the rest runs.
	# (A copy of the program in a directory nobody can reach: the checkout
	# itself may be private to root.)
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
		nobody_dir=$(mktemp -d /tmp/tdpmmu-nobody.XXXXXX) &&
		chmod 755 "$nobody_dir" && cp "$prog" "$nobody_dir/tdpmmu"; then
		checks=$((checks + 1))
		(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$nobody_dir/tdpmmu" bench populate -v 1 -b 1M --repeat 1 \
			--strategy rcu,kvm) >"$tmp/out" 2>"$tmp/err"
		[ $? -eq 0 ] && grep -q "^kvm: /dev/kvm: Permission denied: the kvm rows are skipped$" \
			"$tmp/out" && grep -q "^rcu  *1 " "$tmp/out" ||
			fail "kvm as nobody: expected one line and the rcu rows"
		rm -rf "$nobody_dir"
	else
		echo "cli_test: not root or no setpriv: the no-permission case is not checked" >&2
	fi
fi
