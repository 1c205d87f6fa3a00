# examples.sh - cli_test.sh checks that every documented command line is
# valid as written (sourced by tests/cli/cli_test.sh, which defines run,
# expect_ok, expect_usage, fail, $prog and $tmp).
#
# Every line of a ```sh block in README.md, docs/bench.md and docs/testing.md
# that starts with ./build/tdpmmu or tdpmmu is an example.  Each runs with
# TDPMMU_PARSE_ONLY=1 (the whole command line and every up-front check, no
# measurement) and must exit 0; one that ends in a "# fails: WHY" comment is
# a documented failure and must exit non-zero.  The placeholder SCENARIO
# stands for every scenario bench --help lists.  --json and --plot paths go
# to a scratch folder, so nothing is written into the tree.  The cheapest
# examples (under 1 s on 2 cores) also run for real.  Well under a second.

ex_dir=$tmp/examples.d
mkdir -p "$ex_dir"
ex_root=${ex_root:-$(dirname "$0")/../..}
ex_found=0
ex_real=0

# ex_extract FILE...: "FILE:LINE:ok|fails:COMMAND LINE" for each example.
ex_extract() {
	awk '
	/^[ \t]*```/ {
		if (inb) { inb = 0; next }
		inb = ($0 ~ /^[ \t]*```(sh|shell|bash|console)[ \t]*$/)
		next
	}
	!inb { next }
	{
		line = $0
		sub(/^[ \t]*(\$[ \t]+)?/, "", line)
		if (line !~ /^(\.\/build\/)?tdpmmu([ \t]|$)/)
			next
		want = "ok"
		if (line ~ /#[ \t]*fails:/)
			want = "fails"
		sub(/[ \t]+#.*$/, "", line)
		printf "%s:%d:%s:%s\n", FILENAME, FNR, want, line
	}' "$@"
}

# ex_args WORD...: the example's arguments in $ex_argv (one per line), with
# --json/--plot paths moved into $ex_dir.
ex_args() {
	ex_argv=
	ex_prev=
	for word in "$@"; do
		case "$ex_prev" in
		--json | --plot) [ "$word" != - ] && word=$ex_dir/$(basename "$word") ;;
		esac
		case "$word" in
		--json=?* | --plot=?*)
			[ "${word#*=}" != - ] && word=${word%%=*}=$ex_dir/$(basename "${word#*=}")
			;;
		esac
		ex_argv="$ex_argv$word
"
		ex_prev=$word
	done
}

# ex_check WHERE WANT ARGS...: one example under parse-only, then for real
# when it is one of the cheap ones.
ex_check() {
	where=$1
	want=$2
	shift 2
	ex_found=$((ex_found + 1))
	checks=$((checks + 1))
	TDPMMU_PARSE_ONLY=1 "$prog" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$want" = fails ]; then
		[ "$rc" -ne 0 ] ||
			fail "$where: 'tdpmmu $*' is documented to fail but exits 0"
		return
	fi
	if [ "$rc" -ne 0 ]; then
		fail "$where: 'tdpmmu $*' exits $rc under TDPMMU_PARSE_ONLY=1:"
		sed 's/^/    /' "$tmp/err" >&2
		return
	fi
	case " $* " in
	*" --help "* | *" bench access-tracking -b 1M "*)
		ex_real=$((ex_real + 1))
		run "$@"
		[ "$rc" -eq 0 ] || fail "$where: 'tdpmmu $*' exits $rc when run"
		;;
	esac
}

ex_list=$tmp/examples.list
ex_docs=
for doc in README.md docs/bench.md docs/testing.md; do
	[ -f "$ex_root/$doc" ] && ex_docs="$ex_docs $doc"
done
# shellcheck disable=SC2086 # file names without spaces
(cd "$ex_root" && ex_extract $ex_docs) >"$ex_list"
while IFS= read -r ex; do
	where=${ex%%:ok:*}
	[ "$where" = "$ex" ] && where=${ex%%:fails:*}
	rest=${ex#"$where":}
	want=${rest%%:*}
	cmdline=${rest#*:}
	case "$cmdline" in
	*[\"\'\`\$\\\;\|\&\<\>]*)
		checks=$((checks + 1))
		fail "$where: quoting or shell syntax in an example, which examples.sh cannot run: $cmdline"
		continue
		;;
	esac
	set -f
	# shellcheck disable=SC2086 # the example's own words
	set -- $cmdline
	set +f
	shift # ./build/tdpmmu
	ex_args "$@"
	for scenario in $(case "$cmdline" in *SCENARIO*) cat "$tmp/scenarios" ;; *) echo - ;; esac); do
		old_ifs=$IFS
		IFS='
'
		set -f
		# shellcheck disable=SC2046 # one argument per line
		set -- $(printf '%s' "$ex_argv" | sed "s/^SCENARIO\$/$scenario/")
		set +f
		IFS=$old_ifs
		ex_check "$where" "$want" "$@"
	done
done <"$ex_list"

checks=$((checks + 1))
[ "$ex_found" -ge 10 ] ||
	fail "examples: only $ex_found documented tdpmmu command lines found (expected >= 10)"
checks=$((checks + 1))
[ "$ex_real" -ge 3 ] || fail "examples: only $ex_real cheap examples ran for real (expected >= 3)"
checks=$((checks + 1))
[ -z "$(ls -A "$ex_dir")" ] || fail "examples: parse-only runs wrote $(ls -A "$ex_dir")"
# A line that is not an example: parse-only still refuses bad input.
export TDPMMU_PARSE_ONLY=1
expect_usage "parse only: a bad flag" bench populate -b 3X
expect_usage "parse only: a bad torture flag" torture --vcpus 17
unset TDPMMU_PARSE_ONLY
