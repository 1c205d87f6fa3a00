# outputs.sh - cli_test.sh checks of the rules every command shares (sourced by
# tests/cli/cli_test.sh, which defines run, expect_ok, expect_usage, fail, $prog
# and $tmp): --json and --plot are written whole or not at all (a failed or killed
# run leaves an earlier file as it was, and no temporary), every write is checked,
# "-" is standard output, paths and conflicts are checked before anything runs;
# one rule for lists and one syntax for numbers; the error hint names the
# command's own --help.  Tiny runs only: the whole file takes a few seconds.

out=$tmp/outputs.d
mkdir -p "$out"
tiny="-b 4M -v 1 --repeat 1"
old='{"old": "result"}'

# only_files NAME...: $out holds exactly these (no temporary left behind).
only_files() {
	checks=$((checks + 1))
	got=$(cd "$out" && ls -A | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "$desc: $out holds '$got', expected '$want'"
}

# old_intact FILE: FILE still holds the earlier result.
old_intact() {
	checks=$((checks + 1))
	[ "$(cat "$1")" = "$old" ] || fail "$desc: the earlier $(basename "$1") was changed"
}

# expect_failure DESCRIPTION PATTERN ARGS...: exit 1, PATTERN on stderr.
expect_failure() {
	desc=$1
	pattern=$2
	shift 2
	run "$@"
	[ "$rc" -eq 1 ] || fail "$desc: exit status $rc, expected 1"
	grep -q -- "$pattern" "$tmp/err" || fail "$desc: '$pattern' missing from stderr"
}

# --- paths and conflicts: usage errors before anything runs -------------------
rm -rf "${out:?}"/* && printf '%s\n' "$old" >"$out/old.json"
for bad in "--json $out/nowhere/r.json" "--plot $out/nowhere/r.svg" \
	"--json $out/old.json/r.json" "--json $out" "--plot -" \
	"--json $out/x.svg --plot $out/x.svg" "--json $out/x.svg --plot $out/../outputs.d/x.svg"; do
	# shellcheck disable=SC2086
	expect_usage "outputs: $bad" bench populate $tiny $bad
	flag=${bad%% *}
	grep -q "^tdpmmu: $flag" "$tmp/err" || fail "outputs: $bad: the error does not name $flag"
done
desc="bad output paths"
only_files old.json
old_intact "$out/old.json"

# --- "-" is standard output: the JSON alone there, the report on stderr -------
desc="--json -"
# shellcheck disable=SC2086
run bench populate $tiny --json -
[ "$rc" -eq 0 ] || fail "--json -: exit status $rc"
[ "$(head -n 1 "$tmp/out")" = "{" ] && [ "$(tail -n 1 "$tmp/out")" = "}" ] ||
	fail "--json -: standard output is not one JSON object"
grep -q "^command: tdpmmu bench populate" "$tmp/err" || fail "--json -: no report on stderr"
for pattern in '^  "schema_version": [1-9][0-9]*,$' \
	"^  \"tdpmmu_version\": \"$("$prog" --version | sed 's/^tdpmmu //')\",\$" \
	'^  "timestamp": "20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z",$'; do
	grep -q -- "$pattern" "$tmp/out" || fail "--json: no $pattern"
done
only_files old.json

# --- every write checked: the reason, exit 1, no partial file -----------------
checks=$((checks + 1))
"$prog" --help >/dev/full 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "^tdpmmu: .*No space left on device" "$tmp/err" ||
	fail "--help >/dev/full: not exit 1 with the reason"
checks=$((checks + 1))
# shellcheck disable=SC2086
"$prog" bench populate $tiny >/dev/full 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "No space left on device" "$tmp/err" ||
	fail "a report to /dev/full: not exit 1 with the reason"
# shellcheck disable=SC2086
expect_failure "--json /dev/full" "No space left on device" bench populate $tiny --json /dev/full
# A file size limit (SIGXFSZ ignored): the writes fail with EFBIG past 1 KiB.
for what in "--json $out/old.json" "--plot $out/old.svg"; do
	command -v gnuplot >/dev/null 2>&1 || [ "${what%% *}" = --json ] || continue
	rm -rf "${out:?}"/* && printf '%s\n' "$old" >"$out/old.json" && cp "$out/old.json" "$out/old.svg"
	desc="$what over the file size limit"
	checks=$((checks + 1))
	# shellcheck disable=SC2086
	(trap '' XFSZ && ulimit -f 1 && exec "$prog" bench populate $tiny $what) \
		>/dev/null 2>"$tmp/err"
	rc=$?
	# (gnuplot, limited too, cannot say why: its picture is found cut short)
	[ "$rc" -eq 1 ] && grep -q "^tdpmmu: .*\(File too large\|cut short\)" "$tmp/err" ||
		fail "$desc: exit $rc, expected 1 with the reason: $(cat "$tmp/err")"
	only_files old.json old.svg
	old_intact "$out/old.json"
	old_intact "$out/old.svg"
done

# --- a killed run leaves the earlier file and no temporary --------------------
rm -rf "${out:?}"/* && printf '%s\n' "$old" >"$out/old.json"
desc="SIGTERM during a run"
checks=$((checks + 1))
"$prog" bench mixed -v 1 -b 4M --seconds 5 --json "$out/old.json" >"$tmp/kill.out" 2>&1 &
pid=$!
# The settings are flushed before the first run, after the JSON's temporary is made.
i=0
while ! grep -q "^command: " "$tmp/kill.out" 2>/dev/null && [ $i -lt 200 ]; do
	sleep 0.02
	i=$((i + 1))
done
for f in "$out"/.old.json.*; do
	[ -e "$f" ] || fail "$desc: no temporary while the run was going (the check proves nothing)"
done
kill -TERM "$pid"
wait "$pid" 2>/dev/null
rc=$?
[ "$rc" -eq 143 ] || fail "$desc: exit status $rc, expected 143 (killed by SIGTERM)"
only_files old.json
old_intact "$out/old.json"
# A reader that goes away (SIGPIPE): the earlier file, or a whole new one.
desc="| head -1"
checks=$((checks + 1))
# shellcheck disable=SC2086
"$prog" bench populate -b 1M -v 1 --repeat 1 --strategy all --json "$out/old.json" |
	head -n 1 >/dev/null
only_files old.json
[ "$(cat "$out/old.json")" = "$old" ] || [ "$(tail -n 1 "$out/old.json")" = "}" ] ||
	fail "$desc: a partial JSON file"

# --- lists: an entry named twice is an error naming the flag and the value ----
for bad in "-v 1,1" "--strategy rcu,rcu" "--strategy all,wrlock" "--strategy kvm,rcu,kvm"; do
	# shellcheck disable=SC2086
	expect_usage "duplicates: $bad" bench populate $bad
	grep -q "^tdpmmu: ${bad%% *}: .*\(1\|rcu\|wrlock\|kvm\).* twice" "$tmp/err" ||
		fail "duplicates: $bad: the error does not name the flag and the value"
done
expect_usage "duplicates: torture --strategy" torture --strategy llist,llist

# --- one number syntax: decimal digits, seconds with a fraction ---------------
for bad in "-v 01x" "-v +1" "--repeat 0x1" "--repeat 1e0"; do
	expect_usage "numbers: $bad" bench populate "${bad%% *}" "${bad#* }"
done
for bad in " 1" "0x1" "1e0" "+1" "." "-1" "inf" "nan" "1 "; do
	expect_usage "numbers: --seconds '$bad'" bench nx-recovery --seconds "$bad"
	grep -q "^tdpmmu: --seconds: " "$tmp/err" || fail "numbers: --seconds '$bad' not named"
done
expect_usage "numbers: -v ' 1'" bench populate -v " 1"
expect_usage "numbers: torture --duration 0x1" torture --duration 0x1
expect_ok "numbers: --seconds .25" "^notifier: best of 1 round" \
	bench notifier -v 1 -b 4M --repeat 1 --seconds .25
expect_ok "--help documents the number syntax" "a number is decimal digits" bench --help

# --- messages name the right flag and the scenario's own --help -------------
expect_usage "mixed -b 12K" bench mixed -b 12K
grep -q "^tdpmmu: -b 12K: " "$tmp/err" || fail "mixed -b 12K: the error does not name -b 12K"
expect_usage "dirty-log's hint" bench dirty-log -v x
grep -qxF "try 'tdpmmu bench dirty-log --help'" "$tmp/err" ||
	fail "dirty-log: the hint does not name its --help"

# --- a kvm row that cannot run (no hugetlb pages, or no usable /dev/kvm) ------
# One line says so and the simulated rows run; the JSON says why too.
rm -rf "${out:?}"/*
if [ "$(cat /proc/sys/vm/nr_hugepages 2>/dev/null)" = 0 ]; then
	expect_ok "hugetlb without reserved pages, kvm in the sweep" "the kvm rows are skipped" \
		bench populate -v 1 -b 2M -s anonymous_hugetlb --repeat 1 --strategy rcu,kvm \
		--json "$out/h.json"
	grep -q "^rcu  *1 " "$tmp/out" || fail "hugetlb, kvm: the rcu row did not run"
	grep -q '"kvm_skipped": "' "$out/h.json" || fail "hugetlb, kvm: no kvm_skipped in the JSON"
	grep -q '"strategy": "kvm"' "$out/h.json" && fail "hugetlb, kvm: a kvm row in the JSON"
fi
# A kvm row's limit is checked before anything runs (no rcu rows measured first):
# twice this machine's memory and swap, whose page tables the simulated rows allow.
mem_kib=$(awk '/^(MemTotal|SwapTotal):/ { s += $2 } END { print s }' /proc/meminfo)
big=$(((mem_kib / 1048576 + 1) * 2))G
expect_usage "kvm limit before the run" bench populate -v 1 -b "$big" --strategy rcu,kvm
grep -q "^tdpmmu: -b $big" "$tmp/err" || fail "kvm limit: the error does not name -b $big"
