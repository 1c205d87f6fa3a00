# populate.sh - cli_test.sh checks of `tdpmmu bench populate`'s selftest flags
# (sourced by tests/cli/cli_test.sh, which defines run, expect_ok,
# expect_usage, fail, $prog and $tmp; its other checks are in cli_test.sh).

# -w with -r: each page written with probability -w, drawn with the seed;
# the run's checks (cli/populate/check.c) hold every written page dirty and
# holding its value and every other page clean, so a guest and a checker
# drawing with different seeds fail the run.
expect_ok "populate -r names" "-r SEED" bench populate --help
for bad in "-r -1" "-r 4294967296" "-r x" "-r"; do
	# shellcheck disable=SC2086 # the flags split on purpose
	expect_usage "populate: bad seed" bench populate $bad
done
json=$tmp/populate-seed.json
for seed in 0 7; do
	expect_ok "populate -w 50 -r $seed" "^rcu  *1 " \
		bench populate -v 1 -b 1M --repeat 1 -w 50 -r $seed --payload --json "$json"
	grep -q "\"command\": \"tdpmmu bench populate .* -w 50 -r $seed" "$json" ||
		fail "populate -r $seed: the command line lacks -r $seed"
done

# -a: memstress's random access, each access drawing its page with
# replacement from the seed, so some pages are never touched: fewer 4K
# leaves than pages (a permutation would map all 2048), and the run's checks
# hold the leaves to exactly the pages the draws touched (recomputed from
# the seed) and every untouched page unmapped.
json=$tmp/populate-a.json
expect_ok "populate -a draws" "^rcu  *2 " bench populate -v 2 -b 4M -a --repeat 1 --json "$json"
leaves=$(sed -n 's/.*"leaves_4k": \([0-9]*\).*/\1/p' "$json" | head -1)
[ -n "$leaves" ] && [ "$leaves" -gt 1024 ] && [ "$leaves" -lt 2048 ] ||
	fail "populate -a: '$leaves' 4K leaves for 2048 pages drawn with replacement"
expect_ok "populate -a -o -w 50 --payload" "^rcu  *3 " \
	bench populate -v 3 -b 4M -o -a -w 50 -r 5 --payload --repeat 1
expect_ok "populate -a thp" "^rcu  *2 " bench populate -v 2 -b 5M -s thp -a --repeat 1
