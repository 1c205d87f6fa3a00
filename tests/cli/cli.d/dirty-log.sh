# dirty-log.sh - cli_test.sh checks of `tdpmmu bench dirty-log` (sourced by tests/cli/cli_test.sh,
# which defines run, expect_ok, expect_usage, fail, $prog and $tmp).

for pattern in "-v LIST" "-i N" "-g " "-e " "-w PCT" "-r SEED" "-a " "-x N" "-c CPULIST" \
	"-m MODE" "-n " "--eager-split" \
	"--recover HOW" "--strategy LIST" "--repeat N" "--levels N" "--payload" \
	"--plot FILE" "Mpages/s" "Populate memory" "Enabling dirty logging" \
	"Iteration N dirty memory" "Iteration N get dirty log" "Iteration N clear dirty log" \
	"Disabling dirty logging"; do
	expect_ok "bench dirty-log --help names $pattern" "$pattern" bench dirty-log --help
done
expect_usage "dirty-log: one iteration" bench dirty-log -i 1
expect_usage "dirty-log: iterations not a number" bench dirty-log -i two
expect_usage "dirty-log: too many iterations" bench dirty-log -i 1000001
expect_usage "dirty-log: write percentage over 100" bench dirty-log -w 101
expect_usage "dirty-log: zero memslots" bench dirty-log -x 0
expect_usage "dirty-log: more memslots than allowed" bench dirty-log -x 4097
# -a: memstress's draws with replacement: the same pages every pass, fewer
# than the region's; the run checks the log holds exactly those written.
expect_ok "dirty-log -a draws" \
	"pages dirty per iteration: 2048 \([0-9]*\) \1 (of 2048; the guest writes \1 per pass)" \
	bench dirty-log -v 2 -b 4M -a -i 3
n=$(sed -n 's/^pages dirty per iteration: 2048 \([0-9]*\) .*/\1/p' "$tmp/out")
[ -n "$n" ] && [ "$n" -gt 1024 ] && [ "$n" -lt 2048 ] ||
	fail "dirty-log -a: '$n' pages dirty of 2048 drawn with replacement"
expect_ok "dirty-log: more memslots than the old 512" "^rcu  *1 " bench dirty-log -b 2400K -x 600
expect_usage "dirty-log: memslots that do not split the memory" bench dirty-log -b 8M -x 3
# Slots smaller than the backing's huge page map with the largest pages that
# fit, as KVM does (issue 20): here 4K.
expect_ok "dirty-log: memslots of partial huge pages" "leaves_4k  *512" \
	bench dirty-log -s hugetlb_2mb -b 2M -x 2
# The selftest's -r, -c, -m, -n: bad values exit 2 with one line naming the flag.
dl_usage() {
	flag=$1
	shift
	expect_usage "dirty-log: bad $flag ($*)" bench dirty-log "$@"
	grep -q "^tdpmmu: $flag" "$tmp/err" || fail "dirty-log: bad $flag ($*): flag not named"
}
dl_usage -r -r x
dl_usage -r -r 4294967296
dl_usage -c -c x
dl_usage -c -c 0,
dl_usage -c -c 99999
dl_usage -c -v 2 -c 0
dl_usage -c -c 0,0,0
dl_usage -c -c 0 --strategy rcu,kvm
dl_usage -m -m 0
dl_usage -m -m x
dl_usage -m -m 9 --levels 5
dl_usage -n -n
dl_usage -x -x 4097
# A CPU this process may not run on.
if command -v taskset >/dev/null 2>&1 && [ "$(nproc --all 2>/dev/null || echo 1)" -gt 1 ]; then
	checks=$((checks + 1))
	taskset -c 0 "$prog" bench dirty-log -b 1M -c 1 >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] && grep -q "^tdpmmu: -c: CPU 1 is not one" "$tmp/err" ||
		fail "dirty-log -c: a CPU outside this process's set accepted"
fi
expect_usage "dirty-log: unknown recovery" bench dirty-log --recover collapse
expect_usage "dirty-log: missing recovery" bench dirty-log --recover
expect_usage "dirty-log: value to a bare flag" bench dirty-log --eager-split=1
expect_usage "dirty-log: -o is not a dirty-log flag" bench dirty-log -o
# The sweep's flags.
expect_usage "dirty-log: duplicate vCPU count" bench dirty-log -v 1,1
expect_usage "dirty-log: bad vCPU list" bench dirty-log -v 1,x
expect_usage "dirty-log: unknown strategy in a list" bench dirty-log --strategy rcu,epoch
expect_usage "dirty-log: zero repeats" bench dirty-log --repeat 0
expect_usage "dirty-log: three levels" bench dirty-log --levels 3
expect_usage "dirty-log: plot not svg or png" bench dirty-log --plot "$tmp/dl.txt"
expect_usage "dirty-log: nothing written to plot" bench dirty-log -w 0 --plot "$tmp/dl.svg"
expect_usage "dirty-log: largest count beyond the address space" \
	bench dirty-log -v 1,1000 -b 1T
run bench dirty-log -b 1M --levels 6 --json "$tmp/never-dl.json"
[ -e "$tmp/never-dl.json" ] && fail "dirty-log: bad --levels still created the --json file"

# One strategy, one count, one round: the selftest's lines as the run goes.
json=$tmp/dirty.json
expect_ok "tiny dirty-log run" "Disabling dirty logging time: " \
	bench dirty-log -b 8M --json "$json"
for pattern in "command: tdpmmu bench dirty-log -v 1 " " -b 8M -s anonymous -i 2 " \
	"--strategy rcu " "liburcu flavour: memb" "Populate memory time: " \
	"Enabling dirty logging time: " "Iteration 1 dirty memory time: " \
	"Iteration 1 get dirty log time: " "Iteration 1 clear dirty log time: " \
	"Iteration 2 dirty memory time: " "Iteration 2 clear dirty log time: " \
	"Get dirty log over 2 iterations took " "Clear dirty log over 2 iterations took " \
	"pages dirty per iteration: 2048 2048" "leaves_write_protected" "pages_logged_dirty" \
	"fast_faults_fixed" "eager_splits" "huge_pages_recovered" "populate s" "dirty s/it" \
	"Mpages/s" "disable s"; do
	grep -qF -- "$pattern" "$tmp/out" || fail "tiny dirty-log run: '$pattern' missing"
done
# The selftest's lines once, from the counted round, not the latency round.
[ "$(grep -c "^Iteration 2 dirty memory time: " "$tmp/out")" -eq 1 ] ||
	fail "tiny dirty-log run: iteration lines not printed exactly once"
for pattern in '"machine": {' '"command": "tdpmmu bench dirty-log' '"scenario": "dirty-log"' \
	'"name": "Iteration 2 clear dirty log", "seconds": [0-9]' '"dirty_pages": \[2048, 2048\]' \
	'"reprotected_pages": \[2048, 2048\]' '"get_dirty_log_seconds": [0-9]' \
	'"clear_dirty_log_seconds": [0-9]' '"enable_write_protected": 0' \
	'"disable_pass_faults": 0' '"pages_logged_dirty": [0-9]' \
	'"name": "pages_written_per_sec", "best": [1-9]' '"iterations": 2, "manual_protect": true' \
	'"recover": "inplace"' '"fault_latency_ns": {"p50": [0-9]'; do
	grep -q -- "$pattern" "$json" || fail "dirty-log JSON: no $pattern"
done
# -w is a per-page draw from -r's seed: about half the pages at -w 50, the
# same ones for the same seed (the run checks the log against the draw),
# others for another seed; -c pins (a vCPU and the main thread), -m 9 is x86's.
dl_written() {
	expect_ok "dirty-log $*" "Iteration 2: " bench dirty-log -b 4M "$@"
	written=$(sed -n 's/^Iteration 2: \([0-9]*\) of 1024 pages dirty.*/\1/p' "$tmp/out")
}
dl_written -w 50 -r 1
w1=$written
dl_written -w 50 -r 1 -m 9 -c 0,0
w1b=$written
dl_written -w 50
wd=$written
grep -q -- "-w 50 -r 1 " "$tmp/out" || fail "dirty-log -w: default seed not in the command line"
dl_written -w 50 -r 2 -i 3
w2=$written
[ -n "$w1" ] && [ "$w1" -gt 400 ] && [ "$w1" -lt 624 ] ||
	fail "dirty-log -w 50 -r 1: '$w1' of 1024 pages written, not about half"
[ "$w1" = "$w1b" ] || fail "dirty-log -w 50 -r 1: $w1 then $w1b pages: not the same draw"
[ "$w1" = "$wd" ] || fail "dirty-log -w 50: default seed is not 1 ($wd vs $w1)"
[ -n "$w2" ] && [ "$w2" != "$w1" ] || fail "dirty-log -r 2: the same draw as -r 1 ($w2)"
expect_ok "dirty-log -i beyond 100" "Iteration 101: " bench dirty-log -b 64K -i 101
expect_ok "dirty-log -g (no manual protect)" "Iteration 3 get dirty log time: " \
	bench dirty-log -b 4M -i 3 -g -w 50 -a
grep -qF "clear dirty log time" "$tmp/out" && fail "dirty-log -g: clear phase printed"
expect_ok "dirty-log -e, hugetlb, eager split, zap, memslots" "vCPU pass while disabling (-e)" \
	bench dirty-log -v 2 -b 4M -s hugetlb_2mb -e --eager-split --recover zap -x 2
grep -q "eager_splits  *[1-9]" "$tmp/out" || fail "dirty-log --eager-split: no eager splits"
grep -q "collapsible_tables_zapped  *[1-9]" "$tmp/out" ||
	fail "dirty-log --recover zap: no tables zapped"
expect_ok "dirty-log inplace recovery" "huge_pages_recovered  *[1-9]" \
	bench dirty-log -b 4M -s hugetlb_2mb

# A sweep: two strategies x two counts, JSON and a plot; no per-run lines.
json=$tmp/dirty-sweep.json
svg=$tmp/dirty-sweep.svg
expect_ok "dirty-log sweep" "^dirty-log: best of 1 round per row" \
	bench dirty-log -v 1,2 --strategy rcu,global -b 1M --json "$json" --plot "$svg"
sed -n '/^strategy .* Mpages\/s /,/^Mpages\/s: /p' "$tmp/out" >"$tmp/table"
[ "$(grep -c '^[a-z][a-z-]*  *[0-9]' "$tmp/table")" -eq 4 ] ||
	fail "dirty-log sweep: main table has not 4 rows"
for row in "rcu  *1 " "rcu  *2 " "global  *1 " "global  *2 "; do
	grep -q "^$row *[0-9.]* *[0-9.]* *[0-9.]* *[0-9.]* *[0-9.]* *[1-9]" "$tmp/table" ||
		fail "dirty-log sweep: no row '$row' with a metric"
done
grep -q "^Iteration" "$tmp/out" && fail "dirty-log sweep: per-run lines in a sweep"
[ "$(grep -c '"scenario": "dirty-log", "strategy": "' "$json")" -eq 4 ] ||
	fail "dirty-log sweep JSON: not 4 results"
for pattern in '"sweep": {"vcpus": \[1, 2\], "strategies": \["rcu", "global"\]' \
	'"dirty_pages": \[256, 256\]' '"dirty_pages": \[512, 512\]' \
	'"strategy": "global", "vcpus": 2' '"x_global": 1.0000'; do
	grep -q -- "$pattern" "$json" || fail "dirty-log sweep JSON: no $pattern"
done
[ -s "$svg" ] && grep -q "<svg" "$svg" || fail "dirty-log sweep: no svg from --plot"
expect_ok "dirty-log rounds, 5 levels, payload" "best of 2 rounds per row" \
	bench dirty-log -b 1M -i 3 --repeat 2 --levels 5 --payload --strategy llist
grep -q "^llist  *1 " "$tmp/out" || fail "dirty-log --strategy llist: no llist row"
grep -q "^Iteration" "$tmp/out" && fail "dirty-log --repeat 2: per-run lines"
# --payload with several memslots: each slot's frames start on their own
# 1 GiB boundary, and the payload must have room for all of them.
expect_ok "dirty-log --payload over 4 memslots" "^rcu  *2 " \
	bench dirty-log -v 2 -b 4M -x 4 --payload
