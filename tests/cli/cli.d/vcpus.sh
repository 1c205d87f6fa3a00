# vcpus.sh - cli_test.sh checks of the -v limit, 4096 vCPUs (KVM's
# KVM_MAX_VCPUS where configured; the library's thread slots go to 8192):
# every scenario with -v accepts 4096 and refuses 4097 with one line naming
# the maximum, says 4096 in --help, and where /dev/kvm opens the help of
# the scenarios with kvm rows names the host's KVM limit beside it.  Parse
# only (TDPMMU_PARSE_ONLY=1): nothing runs, well under a second.  (Sourced
# by tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage,
# fail, $prog and $tmp.)

for scenario in populate demand-paging dirty-log access-tracking nx-recovery \
	huge-over-table stalled-reader notifier mixed; do
	case $scenario in
	huge-over-table | stalled-reader) size= ;;
	mixed) size="-b 8K" ;; # two memslots: an even number of pages
	*) size="-b 4K" ;;
	esac
	export TDPMMU_PARSE_ONLY=1
	# shellcheck disable=SC2086 # $size is two words or none
	expect_ok "vcpus: $scenario -v 4096" "valid; nothing was run" \
		bench $scenario -v 4096 $size --repeat 1
	unset TDPMMU_PARSE_ONLY
	# shellcheck disable=SC2086
	expect_usage "vcpus: $scenario -v 4097" bench $scenario -v 4097 $size
	grep -q "^tdpmmu: -v: 4097 vCPUs is more than the maximum, 4096$" "$tmp/err" ||
		fail "vcpus: $scenario -v 4097: the error does not name the maximum, 4096"
	expect_ok "vcpus: $scenario --help says 4096" "^  -v LIST .*\.\.4096 each" \
		bench $scenario --help
done

# The host's KVM limit beside -v, where /dev/kvm opens (KVM_CAP_MAX_VCPUS).
for scenario in populate demand-paging dirty-log access-tracking; do
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		expect_ok "vcpus: $scenario --help names KVM's limit" \
			"^               (kvm rows: [0-9]* at most on this host, KVM_CAP_MAX_VCPUS)$" \
			bench $scenario --help
	else
		run bench $scenario --help
		grep -q "kvm rows: .* at most on this host" "$tmp/out" &&
			fail "vcpus: $scenario --help names a KVM limit without /dev/kvm"
	fi
done
