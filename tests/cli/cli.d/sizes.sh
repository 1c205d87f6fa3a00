# sizes.sh - cli_test.sh checks of the size syntax (-b and every other size
# flag read the way KVM selftests' parse_size reads them) and of memory that
# is not a multiple of the backing's huge page, and of the shared backings
# (sourced by tests/cli/cli_test.sh, which defines run, expect_ok,
# expect_usage, fail, $prog and $tmp).  About 2 s.

# Accepted: bytes with b, plain bytes, hex, octal; the report prints the size back.
for form in "4096b:4K" "4096:4K" "0x1000:4K" "0X100000:1M" "064M:52M" "1m:1M" "0x4K:4K"; do
	arg=${form%%:*}
	want=${form#*:}
	expect_ok "sizes: -b $arg" " -b $want -s anonymous " bench populate -v 1 --repeat 1 -b "$arg"
done
expect_ok "sizes: --range in hex" " --range 8K " \
	bench notifier -v 1 -b 1M --range 0x2000 --repeat 1 --seconds 0.05

# Refused with one line naming the flag: garbage, signs, spaces, overflow, zero, partial pages.
for bad in "08M" "0x" "0xG" "1MB" " 1M" "1M " "-1M" "+1M" "1.5M" "0" "0x0" "0b" \
	"0x10000000000000000" "16777216T" "4097b" "0x1001" "1Q"; do
	expect_usage "sizes: -b '$bad'" bench populate -b "$bad"
	grep -q "^tdpmmu: -b: " "$tmp/err" || fail "sizes: -b '$bad': the error does not name -b"
done
expect_usage "sizes: --range '0x'" bench notifier --range 0x
grep -q "^tdpmmu: --range: " "$tmp/err" || fail "sizes: --range 0x: the error does not name --range"

# Not a multiple of the huge page: accepted, huge pages where they fit, 4K the rest.
json=$tmp/sizes.json
expect_ok "sizes: 3M of hugetlb_1gb" "-s anonymous_hugetlb_1gb" \
	bench populate -v 1 --repeat 1 -b 3M -s anonymous_hugetlb_1gb --json "$json"
for pattern in '"leaves_4k": 256' '"leaves_2m": 1' '"leaves_1g": 0'; do
	grep -q -- "$pattern" "$json" || fail "sizes: 3M of hugetlb_1gb: no $pattern"
done
expect_ok "sizes: 3M of THP" "-s anonymous_thp" bench populate -v 2 --repeat 1 -b 3M -s anonymous_thp
expect_ok "sizes: 1M of hugetlb_2mb" "-s anonymous_hugetlb_2mb" \
	bench populate -v 1 --repeat 1 -b 1M -s anonymous_hugetlb_2mb
expect_ok "sizes: dirty-log, 3 memslots of 1M hugetlb" "command: " \
	bench dirty-log -v 1 -b 3M -s hugetlb_2mb -x 3 -i 2
expect_ok "sizes: nx-recovery on 3M of hugetlb_1gb" "command: " \
	bench nx-recovery -v 1 -b 3M -s anonymous_hugetlb_1gb --repeat 1 --seconds 0.05

# The shared backings (selftests' shmem and shared_hugetlb).
expect_ok "sizes: shmem" " -s shmem " bench populate -v 1 --repeat 1 -b 1M -s shmem
expect_ok "sizes: shared_hugetlb" " -s shared_hugetlb " \
	bench populate -v 1 --repeat 1 -b 3M -s shared_hugetlb
expect_ok "sizes: --help names shared_hugetlb" "shared_hugetlb" bench populate --help
expect_ok "sizes: --help explains octal sizes" "064M is 52M" --help
expect_usage "sizes: backing in the wrong case" bench populate -s Shmem
