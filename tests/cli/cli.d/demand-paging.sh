# demand-paging.sh - cli_test.sh checks of `tdpmmu bench demand-paging` (sourced by
# tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

expect_ok "bench demand-paging -h" "usage: tdpmmu bench demand-paging" bench demand-paging -h
for pattern in "-v LIST" "-b SIZE" "-s BACKING" "-u MODE" "-d USEC" "-o " "-a " "-r N " "--random " \
	"--strategy LIST" "--repeat N" "--levels N" "--payload" "--json FILE" "--plot FILE" \
	"userfaultfd" "only with -u"; do
	expect_ok "bench demand-paging --help names $pattern" "$pattern" bench demand-paging --help
done

# Bad input: exit 2 before anything runs, and no --json file.
never=$tmp/never-demand.json
for bad in "-u MISSING -d -1" "-u MISSING -d 1000001" "-u MISSING -d 1e3" "-u MISSING -d 10us" \
	"-d 10" "-d 0" "-a" "-u" "-u missed" "-u MINOR --strategy rcu,kvm" "-u MINOR" "-u MINOR -s anonymous_thp" "-v 0" "-v 1,1" \
	"-b 5000" "-b 0" "--strategy rcu,epoch" "-s anonymous_hugetlb_16kb" \
	"--levels 3" "--repeat 0" "--plot $tmp/demand.txt" "-v 1000 -b 1T" "-x" "--random=1" \
	"-r 2" "-u MISSING -r 0" "-u MISSING -r 1001" "-u MISSING -r" "-u MISSING -r 1x"; do
	# shellcheck disable=SC2086 # the flags split on purpose
	expect_usage "demand-paging: bad input" bench demand-paging $bad --json "$never"
	[ -e "$never" ] && fail "demand-paging $bad: bad input still created --json file"
done
expect_usage "demand-paging: empty -d" bench demand-paging -u MISSING -d ""
# The refusals name the flag and say what to do.
run bench demand-paging -d 10
grep -q "^tdpmmu: -d: .*give -u MISSING" "$tmp/err" ||
	fail "demand-paging -d without -u: no clear line"
run bench demand-paging -u MINOR --strategy kvm
grep -q "^tdpmmu: -u MINOR: .*shmem or hugetlbfs" "$tmp/err" ||
	fail "demand-paging -u MINOR with kvm: no clear line"
expect_usage "demand-paging: positional argument" bench demand-paging 12
run bench demand-paging -r 4
grep -q "^tdpmmu: -r: .*give -u MISSING" "$tmp/err" ||
	fail "demand-paging -r without -u: no clear line"

# -r: the readers per userfaultfd reach the library (host_fault_handlers,
# tests/whitebox/test_fault_handlers.c proves the bound) and the JSON; one
# userfaultfd per vCPU region is one memslot each, every host page still
# faulted in once.
json=$tmp/demand-r.json
expect_ok "demand-paging -r 3" "per vCPU region, 3 readers each (-r)" \
	bench demand-paging -v 2 -u MISSING -d 10 -r 3 -b 64K --json "$json"
grep -q '"single_uffd": false, "readers_per_uffd": 3,' "$json" &&
	grep -q '"host_faults": 32, "host_fault_waits": 0,' "$json" &&
	grep -q 'demand-paging -v 2 .* -u MISSING -d 10 -r 3' "$json" ||
	fail "demand-paging -r 3: JSON lacks the readers, the 32 host faults or the command"
expect_ok "demand-paging -a -r 2" "(32 host faults, 0 waits)" \
	bench demand-paging -v 2 -a -u MISSING -d 10 -r 2 -b 64K

# A tiny sweep: 2 strategies x 2 counts, a row each, every host page faulted in once.
json=$tmp/demand.json
expect_ok "tiny demand-paging sweep" "^demand-paging: best of 1 round" \
	bench demand-paging -v 1,4 --strategy rcu,global -u MISSING -d 50 -b 64K --json "$json"
# strategy, vCPUs, demand paging s, ns/fault/vCPU, host faults (16 per vCPU), host waits (0), metric
row='^(rcu|global) +(1 +[0-9.]+ +[0-9.]+ +16|4 +[0-9.]+ +[0-9.]+ +64) +0 +[0-9.]+ '
rows=$(grep -Ec "$row" "$tmp/out")
[ "$rows" -eq 4 ] || fail "demand-paging sweep: $rows rows with the right host faults, not 4"
grep -q "Overall demand paging rate" "$tmp/out" &&
	fail "demand-paging sweep: per-run lines in a sweep"
for pattern in '"scenario": "demand-paging"' '"uffd_mode": "MISSING", "delay_us": 50' \
	'"name": "pages_per_sec"' '"name": "demand paging", "seconds": [0-9.]*, "faults": [1-9]'; do
	grep -q "$pattern" "$json" || fail "demand-paging JSON: '$pattern' missing"
done
[ "$(grep -c '"scenario": "demand-paging", "strategy"' "$json")" -eq 4 ] ||
	fail "demand-paging JSON: not 4 results"
for n in 16 64; do
	extra="\"pages\": $n, \"region_pages\": $n, \"host_pages\": $n, \"ept_violations\": $n"
	extra="$extra, \"host_faults\": $n, \"host_fault_waits\": 0,"
	[ "$(grep -c "$extra" "$json")" -eq 2 ] ||
		fail "demand-paging JSON: host faults of the $n-page runs are not the $n pages"
	# The counters object: host_fault_waits is followed by the next counter.
	[ "$(grep -cE "\"host_faults\": $n, \"host_fault_waits\": 0(\}|, \")" "$json")" -eq 2 ] ||
		fail "demand-paging JSON: counters host_faults of the $n-page runs are not $n"
done
grep -q '"pages_per_sec": [1-9]' "$json" || fail "demand-paging JSON: no pages_per_sec"

# Without -u (or with -d 0) host faults cost nothing and none is counted; one
# run prints the selftest's lines.
expect_ok "demand-paging -d 0" \
	"Overall demand paging rate: [0-9.]* pgs/sec (0 host faults, 0 waits)" \
	bench demand-paging -b 64K

# -o: 4 vCPUs on the same 16 pages, 16 host faults; huge backing: one per 2M page.
expect_ok "demand-paging -o" "(16 host faults, [0-9]* waits)" \
	bench demand-paging -v 4 -o --random -b 64K -u MISSING -d 20
expect_ok "demand-paging hugetlb" "(2 host faults, 0 waits)" \
	bench demand-paging -v 2 -s anonymous_hugetlb_2mb -b 2M -u MISSING -d 20 --payload

# 256 vCPUs on this machine: their waits overlap (serialised: 4096 x 100 us = 0.41 s).
json=$tmp/demand256.json
expect_ok "demand-paging 256 vCPUs" "^rcu  *256 " \
	bench demand-paging -v 256 -b 64K -u MISSING -d 100 --json "$json"
secs=$(sed -n 's/.*"demand_paging_seconds": \([0-9.]*\).*/\1/p' "$json")
awk -v s="$secs" 'BEGIN { exit !(s > 0 && s < 0.3) }' ||
	fail "demand-paging 256 vCPUs: demand paging took '$secs' s, the waits did not overlap"

if command -v gnuplot >/dev/null 2>&1; then
	svg=$tmp/demand.svg
	expect_ok "demand-paging --plot" "plot written to" \
		bench demand-paging -v 1,2 --strategy rcu,llist -b 16K -u MISSING -d 10 --plot "$svg"
	[ -s "$svg" ] && grep -q "<svg" "$svg" || fail "demand-paging --plot: no svg written"
fi

# kvm rows: the guest on /dev/kvm, its memory paged in by userfaultfd
# handlers (cli/kvm/uffd.c), one per vCPU; or the one-line skip.
json=$tmp/demand-kvm.json
run bench demand-paging -v 2 -b 8M -u MISSING -d 1 --strategy kvm --repeat 1 --json "$json"
if [ "$rc" -eq 1 ] && grep -q "^tdpmmu: kvm: " "$tmp/err"; then
	echo "cli_test: /dev/kvm cannot run a VM here: no demand-paging kvm row" >&2
elif [ "$rc" -ne 0 ]; then
	fail "demand-paging kvm: exit status $rc"
	sed 's/^/    /' "$tmp/err" >&2
else
	# 2 x 2048 pages, each copied in once by its vCPU's handler, none twice.
	grep -q "^kvm  *2  *[0-9.]*  *[0-9.]*  *4096  *0  *[0-9.]" "$tmp/out" ||
		fail "demand-paging kvm: no row with 4096 copies and no EEXIST"
	for pattern in '"uffd_mode": "MISSING", "delay_us": 1, "single_uffd": false' \
		'"host_faults": 4096, "host_fault_waits": 0' '"uffds": 2, ' '"mmu": "[a-zA-Z ]*MMU"' \
		'"pf_taken": [1-9]' '"emulated": false'; do
		grep -q -- "$pattern" "$json" || fail "demand-paging kvm JSON: no $pattern"
	done
	# -a: one userfaultfd and handler for both vCPUs; -o shares it too.
	run bench demand-paging -v 2 -b 4M -u MISSING -a --strategy kvm --repeat 1 --json "$json"
	grep -q '"uffds": 1, ' "$json" && grep -q "^kvm  *2  *[0-9.]*  *[0-9.]*  *2048 " "$tmp/out" ||
		fail "demand-paging kvm -a: not one userfaultfd copying 2048 pages"
	run bench demand-paging -v 2 -b 1M -u MISSING -o --strategy kvm --repeat 1 --json "$json"
	grep -q '"uffds": 1, ' "$json" && grep -q "^kvm  *2  *[0-9.]*  *[0-9.]*  *256 " "$tmp/out" ||
		fail "demand-paging kvm -o: not one userfaultfd copying the 256 shared pages"
	# -r 3: three reader threads on the one userfaultfd, every page copied once.
	run bench demand-paging -v 2 -b 4M -u MISSING -a -r 3 --strategy kvm --repeat 1 --json "$json"
	grep -q '"uffds": 1, ' "$json" && grep -q '"readers_per_uffd": 3' "$json" &&
		grep -q "^kvm  *2  *[0-9.]*  *[0-9.]*  *2048 " "$tmp/out" ||
		fail "demand-paging kvm -a -r 3: not one userfaultfd with 3 readers copying 2048 pages"
	# A handler that fails, or holds its fault: one clear line, exit 1, no hang.
	export TDPMMU_UFFD_INJECT=fail
	run bench demand-paging -v 2 -b 1M -u MISSING --strategy kvm
	line="^tdpmmu: kvm, 2 vCPUs: userfaultfd handler for vCPU [01]: UFFDIO_COPY .*injected"
	[ "$rc" -eq 1 ] && grep -q "$line" "$tmp/err" ||
		fail "demand-paging kvm: a failing handler gave exit $rc and: $(cat "$tmp/err")"
	export TDPMMU_UFFD_INJECT=stall TDPMMU_UFFD_TIMEOUT_MS=100
	run bench demand-paging -v 1 -b 1M -u MISSING --strategy kvm
	unset TDPMMU_UFFD_INJECT TDPMMU_UFFD_TIMEOUT_MS
	line="^tdpmmu: kvm, 1 vCPU: userfaultfd handler for vCPU 0: stuck for more than 100 ms"
	[ "$rc" -eq 1 ] && grep -q "$line" "$tmp/err" ||
		fail "demand-paging kvm: a stuck handler gave exit $rc and: $(cat "$tmp/err")"
fi
