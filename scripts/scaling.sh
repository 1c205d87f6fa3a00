#!/bin/sh
# scaling.sh - the scaling sweeps for a machine with many cores (1 to 16
# vCPUs, every strategy): populate and dirty-log, which the issue asks for,
# then the other scenarios at 1, 4 and 16 vCPUs, and `tdpmmu run`.  Each
# command's report goes to OUTDIR/device-NAME.txt (first line: a title
# naming the machine), its JSON beside it; `make report` includes the .txt
# files in docs/results.md.
#
# usage: sh scripts/scaling.sh PATH/TO/tdpmmu OUTDIR [MACHINE-NAME]
# About five minutes on a 16-core machine.
set -eu

prog=$1
dir=$2
machine=${3:-$(nproc) cores}
mkdir -p "$dir"

# sweep NAME FLAGS...
sweep() {
	name=$1
	shift
	echo "scaling: tdpmmu bench $*" >&2
	{
		echo "$machine: tdpmmu bench $*"
		"$prog" bench "$@" --json "$dir/device-$name.json"
	} >"$dir/device-$name.txt" 2>&1 || {
		echo "scaling: $name failed; see $dir/device-$name.txt" >&2
		return 1
	}
	grep -v '^JSON written to' "$dir/device-$name.txt" >"$dir/device-$name.tmp"
	mv "$dir/device-$name.tmp" "$dir/device-$name.txt"
}

status=0
sweep populate populate -v 1,2,4,8,16 -b 1G --repeat 5 --strategy all || status=1
sweep dirty-log dirty-log -v 1,2,4,8,16 -b 256M -i 3 --repeat 2 --strategy all || status=1
sweep huge-over-table huge-over-table -v 2,4,8,16 --seconds 1 --strategy all || status=1
sweep nx-recovery nx-recovery -v 1,4,16 -b 512M --period 100 --ratio 1 --seconds 0.5 \
	--strategy all || status=1
sweep demand-paging demand-paging -v 1,4,16 -b 16M -u MISSING -d 50 --strategy all || status=1
sweep notifier notifier -v 1,4,16 --seconds 0.5 --strategy all || status=1
sweep mixed mixed -v 1,4,16 --seconds 0.5 --strategy all || status=1
echo "scaling: tdpmmu run" >&2
{
	echo "$machine: tdpmmu run"
	"$prog" run
} >"$dir/device-run.txt" 2>&1 || status=1
exit $status
