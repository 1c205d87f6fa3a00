# kvm.sh - cli_test.sh checks of `--strategy kvm` (the host's KVM through
# our VMM) in `bench populate` and `bench dirty-log` (sourced by
# tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail,
# $prog and $tmp).  Where /dev/kvm cannot run a VM, the kvm rows must be
# skipped with one line while the rest runs; where it can, a small
# populate is checked page by page from the host and the dirty-log oracle
# runs on the real kernel, and every kvm row must have measured the
# kernel's MMU: faults taken (pf_taken > 0), emulated instructions below
# 1% of the pages touched, and the MMU the host's KVM implies ("TDP MMU"
# with EPT/NPT and kvm.tdp_mmu, "legacy TDP" without tdp_mmu, "shadow MMU"
# without EPT/NPT).  Which case this machine is gets
# said.  TDPMMU_TEST_KVM_BIG=1 adds a guest of 5 GiB (seconds to half a
# minute here, as the host first touches that memory).

# kvm_rows_check LABEL JSON: every kvm row of JSON took MMU faults, no
# emulation to speak of, and names the MMU the host's KVM implies.
kvm_rows_check() {
	checks=$((checks + 1))
	awk -v label="$1" '
		/"kvm_host": / {
			tdp = $0; sub(/.*"tdp": /, "", tdp); sub(/,.*/, "", tdp)
			tmmu = $0; sub(/.*"tdp_mmu": /, "", tmmu); sub(/,.*/, "", tmmu)
			want = ""
			if (tdp == 0)
				want = "shadow MMU"
			else if (tdp == 1 && tmmu == 1)
				want = "TDP MMU"
			else if (tdp == 1 && tmmu == 0)
				want = "legacy TDP"
		}
		/"kvm_stats": / {
			pf = $0; sub(/.*"pf_taken": /, "", pf); sub(/,.*/, "", pf)
			emu = $0; sub(/.*"insn_emulation": /, "", emu); sub(/[,}].*/, "", emu)
			in_row = 1
			next
		}
		in_row && /"mmu": / {
			in_row = 0
			rows++
			mmu = $0; sub(/.*"mmu": "/, "", mmu); sub(/".*/, "", mmu)
			pages = $0; sub(/.*"pages_touched": /, "", pages); sub(/[,}].*/, "", pages)
			if (pf + 0 <= 0)
				bad = bad sprintf(" row %d: pf_taken %s;", rows, pf)
			if (pages + 0 <= 0 || emu * 100 > pages + 0)
				bad = bad sprintf(" row %d: insn_emulation %s over 1%% of %s pages;",
						  rows, emu, pages)
			if (want != "" && mmu != want)
				bad = bad sprintf(" row %d: mmu \"%s\", expected \"%s\";", rows, mmu, want)
		}
		END {
			if (!rows)
				bad = " no kvm row with kvm_stats and mmu"
			if (bad != "") {
				printf "%s:%s\n", label, bad
				exit 1
			}
		}' "$2" >"$tmp/kvm_rows" 2>&1 || fail "$(cat "$tmp/kvm_rows")"
}

expect_usage "kvm: a scenario without kvm rows" bench huge-over-table --strategy kvm
expect_usage "kvm: a shared backing the VMM does not map" bench populate -s shmem --strategy rcu,kvm
expect_usage "kvm: shared_hugetlb on demand-paging" bench demand-paging -u MISSING -s shared_hugetlb --strategy kvm
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
	kvm_rows_check "kvm: populate" "$tmp/kvm.json"
	if grep -q '"module": "kvm_pvm"' "$tmp/kvm.json"; then
		grep -q '"mmu": "shadow MMU"' "$tmp/kvm.json" ||
			fail "kvm: kvm_pvm, yet the populate rows do not say shadow MMU"
	fi
	# The guest's own 4K pages: a heavier walk, the same checks.
	expect_ok "kvm: populate --guest-page 4K" "^kvm  *2 " \
		bench populate -v 2 -b 2M --repeat 1 -w 50 --guest-page 4K --strategy kvm \
		--json "$tmp/kvm4k.json"
	kvm_rows_check "kvm: populate --guest-page 4K" "$tmp/kvm4k.json"
	# Every page is checked from the host side, -o, -a and half reads too.
	expect_ok "kvm: populate -o -a -w 50 --prefault" "^kvm  *3 " \
		bench populate -v 3 -b 2M --repeat 1 -o -a -w 50 --prefault --strategy kvm
	# The dirty_log_test oracle on the real kernel: 2 vCPUs, 4 iterations.
	expect_ok "kvm: the dirty-log oracle, manual protect" "^kvm  *2 " \
		bench dirty-log -v 2 -b 4M -i 4 -w 50 -a --strategy kvm --json "$tmp/kvmdl.json"
	kvm_rows_check "kvm: dirty-log" "$tmp/kvmdl.json"
	expect_ok "kvm: the dirty-log oracle, -g, -e, two memslots, 4K guest pages" "^kvm  *2 " \
		bench dirty-log -v 2 -b 4M -i 3 -g -e -x 2 --guest-page 4K --strategy kvm \
		--json "$tmp/kvmdl2.json"
	kvm_rows_check "kvm: dirty-log -g -e -x 2" "$tmp/kvmdl2.json"
	# More guest memory than the host's RAM and swap: refused before anything runs.
	expect_usage "kvm: more guest memory than the host has" \
		bench populate -v 1 -b 32G --strategy rcu,kvm
	grep -q "of kvm guest memory is more than" "$tmp/err" ||
		fail "kvm: -b 32G refused, but not for the kvm guest's size"
	if [ "${TDPMMU_TEST_KVM_BIG:-0}" = 1 ]; then
		# Past the old 3 GiB limit: 5 GiB of data above gpa 4 GiB, every page checked.
		expect_ok "kvm: a 5 GiB guest" "^kvm  *1 " \
			bench populate -v 1 -b 5G --repeat 1 -s anonymous_thp --strategy kvm \
			--json "$tmp/kvmbig.json"
		kvm_rows_check "kvm: a 5 GiB guest" "$tmp/kvmbig.json"
	else
		echo "cli_test: TDPMMU_TEST_KVM_BIG unset: the 5 GiB kvm guest is not run" >&2
	fi
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
