#!/bin/sh
# model.sh - check model/reclaim.pml with spin: every strategy must verify
# exhaustively with no errors, and every broken variant that applies to it
# must be caught.  Usage: sh scripts/model.sh [rcu|llist|wrlock ...]
# Builds in a temporary directory; writes nothing into the tree.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
pml="$root/model/reclaim.pml"
strategies=${*:-rcu llist wrlock}

if ! command -v spin >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "model: spin not found, installing it (apt-get install -y spin)"
		apt-get install -y spin >/dev/null || {
			echo "model: apt-get install -y spin failed" >&2
			exit 1
		}
	else
		echo "model: spin not found; install it with: sudo apt-get install spin" >&2
		exit 1
	fi
fi
command -v gcc >/dev/null 2>&1 || { echo "model: gcc not found" >&2; exit 1; }
[ -f "$pml" ] || { echo "model: $pml missing" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tdpmmu-model.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
runs=0
fails=0

# verify STRATEGY [BUG]: generate, compile and run pan in its own directory;
# leaves pan's output in $dir/pan.out and the error count in $errors.  The
# correct models are searched exhaustively (-O2); a broken one stops at its
# first error after a few hundred thousand states at most, so -O0 is quicker.
verify() {
	opt=-O2
	[ -n "${2:-}" ] && opt=-O0
	dir="$tmp/$1${2:+-$2}"
	mkdir "$dir" || return 1
	flags="-D$(echo "$1" | tr '[:lower:]' '[:upper:]')${2:+ -D$2}"
	# shellcheck disable=SC2086 # $flags is one or two -D options
	(
		cd "$dir" &&
		spin -a $flags "$pml" >spin.out 2>&1 &&
		gcc $opt -DSAFETY -o pan pan.c >gcc.out 2>&1 &&
		./pan -m100000 >pan.out 2>&1
	)
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$dir/pan.out" 2>/dev/null)
	[ -n "$errors" ]
}

fail() {
	echo "model: $1" >&2
	for f in spin.out gcc.out; do
		[ -s "$dir/$f" ] && tail -n 20 "$dir/$f" | sed 's/^/    /' >&2
	done
	[ -s "$dir/pan.out" ] && grep -E '^pan|errors:' "$dir/pan.out" | sed 's/^/    /' >&2
	echo "    replay: spin -a $flags model/reclaim.pml && gcc -DSAFETY -o pan pan.c &&" \
		"./pan && spin -t -p $flags model/reclaim.pml" >&2
	fails=$((fails + 1))
}

for s in $strategies; do
	case $s in
	rcu) bugs="BUG_FREE_NO_WAIT BUG_SKIP_FLUSH BUG_NO_READER_WAIT BUG_FLUSH_NO_MUTEX" ;;
	llist|wrlock) bugs="BUG_FREE_NO_WAIT BUG_SKIP_FLUSH BUG_NO_HOLDOFF BUG_NO_READER_WAIT BUG_FLUSH_NO_MUTEX" ;;
	*) echo "model: unknown strategy $s (rcu, llist, wrlock)" >&2; exit 2 ;;
	esac

	runs=$((runs + 1))
	if ! verify "$s"; then
		fail "$s FAILED (spin, gcc or pan did not run)"
	elif [ "$errors" -ne 0 ]; then
		fail "$s FAILED (errors: $errors)"
	elif grep -q 'max search depth too small' "$dir/pan.out"; then
		fail "$s FAILED (search truncated: max search depth too small)"
	else
		states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$dir/pan.out")
		echo "model: $s ok (states $states)"
	fi

	for b in $bugs; do
		runs=$((runs + 1))
		if ! verify "$s" "$b"; then
			fail "$s $b FAILED (spin, gcc or pan did not run)"
		elif [ "$errors" -eq 0 ]; then
			fail "$s $b NOT caught (errors: 0)"
		elif ! grep -q 'assertion violated no_walker_dereferences_a_freed_table' "$dir/pan.out"; then
			fail "$s $b FAILED (errors: $errors, but not the dereference assertion)"
		else
			echo "model: $s $b caught"
		fi
	done
done

echo "model: $((runs - fails)) of $runs runs as expected in $(($(date +%s) - start))s"
[ "$fails" -eq 0 ]
