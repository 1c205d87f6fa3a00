# demand-paging.sh - cli_test.sh checks of `tdpmmu bench demand-paging` (sourced by
# tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

expect_ok "bench demand-paging -h" "usage: tdpmmu bench demand-paging" bench demand-paging -h
for pattern in "-v LIST" "-b SIZE" "-s BACKING" "-d USEC" "-o " "-a " "--strategy LIST" \
	"--repeat N" "--levels N" "--payload" "--json FILE" "--plot FILE" "userfaultfd"; do
	expect_ok "bench demand-paging --help names $pattern" "$pattern" bench demand-paging --help
done

# Bad input: exit 2 before anything runs, and no --json file.
never=$tmp/never-demand.json
for bad in "-d -1" "-d 1000001" "-d 1e3" "-d 10us" "-v 0" "-v 1,1" "-b 5000" "-b 0" \
	"--strategy rcu,epoch" "-s shmem" "-s anonymous_hugetlb_2mb -b 1M" "--levels 3" \
	"--repeat 0" "--plot $tmp/demand.txt" "-v 1000 -b 1T" "-x"; do
	# shellcheck disable=SC2086 # the flags split on purpose
	expect_usage "demand-paging: bad input" bench demand-paging $bad --json "$never"
	[ -e "$never" ] && fail "demand-paging $bad: bad input still created --json file"
done
expect_usage "demand-paging: empty -d" bench demand-paging -d ""
expect_usage "demand-paging: positional argument" bench demand-paging 12

# A tiny sweep: 2 strategies x 2 counts, a row each, every host page faulted in once.
json=$tmp/demand.json
expect_ok "tiny demand-paging sweep" "^demand-paging: best of 1 round" \
	bench demand-paging -v 1,4 --strategy rcu,global -d 50 -b 64K --json "$json"
# strategy, vCPUs, demand paging s, ns/fault/vCPU, host faults (16 per vCPU), host waits (0), metric
row='^(rcu|global) +(1 +[0-9.]+ +[0-9.]+ +16|4 +[0-9.]+ +[0-9.]+ +64) +0 +[0-9.]+ '
rows=$(grep -Ec "$row" "$tmp/out")
[ "$rows" -eq 4 ] || fail "demand-paging sweep: $rows rows with the right host faults, not 4"
grep -q "Overall demand paging rate" "$tmp/out" &&
	fail "demand-paging sweep: per-run lines in a sweep"
for pattern in '"scenario": "demand-paging"' '"delay_us": 50' '"name": "pages_per_sec"' \
	'"name": "demand paging", "seconds": [0-9.]*, "faults": [1-9]'; do
	grep -q "$pattern" "$json" || fail "demand-paging JSON: '$pattern' missing"
done
[ "$(grep -c '"scenario": "demand-paging", "strategy"' "$json")" -eq 4 ] ||
	fail "demand-paging JSON: not 4 results"
for n in 16 64; do
	extra="\"pages\": $n, \"region_pages\": $n, \"host_pages\": $n, \"ept_violations\": $n"
	extra="$extra, \"host_faults\": $n, \"host_fault_waits\": 0,"
	[ "$(grep -c "$extra" "$json")" -eq 2 ] ||
		fail "demand-paging JSON: host faults of the $n-page runs are not the $n pages"
	[ "$(grep -c "\"host_faults\": $n, \"host_fault_waits\": 0}" "$json")" -eq 2 ] ||
		fail "demand-paging JSON: counters host_faults of the $n-page runs are not $n"
done
grep -q '"pages_per_sec": [1-9]' "$json" || fail "demand-paging JSON: no pages_per_sec"

# -d 0 costs nothing and counts no host fault; one run prints the selftest's lines.
expect_ok "demand-paging -d 0" \
	"Overall demand paging rate: [0-9.]* pgs/sec (0 host faults, 0 waits)" \
	bench demand-paging -b 64K

# -o: 4 vCPUs on the same 16 pages, 16 host faults; huge backing: one per 2M page.
expect_ok "demand-paging -o" "(16 host faults, [0-9]* waits)" \
	bench demand-paging -v 4 -o -a -b 64K -d 20
expect_ok "demand-paging hugetlb" "(2 host faults, 0 waits)" \
	bench demand-paging -v 2 -s anonymous_hugetlb_2mb -b 2M -d 20 --payload

# 256 vCPUs on this machine: their waits overlap (serialised: 4096 x 100 us = 0.41 s).
json=$tmp/demand256.json
expect_ok "demand-paging 256 vCPUs" "^rcu  *256 " \
	bench demand-paging -v 256 -b 64K -d 100 --json "$json"
secs=$(sed -n 's/.*"demand_paging_seconds": \([0-9.]*\).*/\1/p' "$json")
awk -v s="$secs" 'BEGIN { exit !(s > 0 && s < 0.3) }' ||
	fail "demand-paging 256 vCPUs: demand paging took '$secs' s, the waits did not overlap"

if command -v gnuplot >/dev/null 2>&1; then
	svg=$tmp/demand.svg
	expect_ok "demand-paging --plot" "plot written to" \
		bench demand-paging -v 1,2 --strategy rcu,llist -b 16K -d 10 --plot "$svg"
	[ -s "$svg" ] && grep -q "<svg" "$svg" || fail "demand-paging --plot: no svg written"
fi
