/*
 * parse.c - strict parsing of numbers and byte sizes from the command line,
 * and the reverse: printing a byte size the way a user would type it, or
 * roughly, for messages.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>

#include "cli.h"
#include "common/errors.h"

/* Digits only: no sign, no spaces, no hex, nothing after them. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	*end = s;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	const char *end;
	int r = parse_digits(s, out, &end);

	if (r)
		return r;
	return *end ? -EINVAL : 0;
}

int parse_decimal(const char *s, double *out)
{
	const char *p = s;
	bool digits = false;

	if (!s)
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++)
		digits = true;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits = true;
	if (!digits || *p)
		return -EINVAL;
	*out = strtod(s, NULL); /* only digits and one point: strtod cannot misread it */
	return 0;
}

/*
 * The number of a size, as KVM selftests' parse_size reads it with
 * strtoull base 0: "0x" then hex digits, a leading 0 then octal digits
 * ("064" is 52), else decimal.  Unlike strtoull: no sign, no spaces, and
 * an overflow is -ERANGE rather than a saturated value.
 */
static int parse_size_number(const char *s, uint64_t *out, const char **end)
{
	unsigned base = 10, n = 0;
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	for (;; s++, n++) {
		unsigned d;

		if (isdigit((unsigned char)*s))
			d = (unsigned)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			break;
		if (d >= base)
			return -EINVAL; /* "08": strtoull stops at the 8, which is no suffix */
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (!n)
		return -EINVAL; /* "0x" with no digits */
	*out = v;
	*end = s;
	return 0;
}

/*
 * A byte size as KVM selftests' parse_size takes it: a number (above) and
 * an optional suffix b/B (bytes) or k/K, m/M, g/G, t/T (powers of 1024),
 * and nothing after it.  Sizes are the one exception to "digits only".
 */
int parse_size(const char *s, uint64_t *out)
{
	const char *end;
	unsigned shift = 0;
	uint64_t v;
	int r = parse_size_number(s, &v, &end);

	if (r)
		return r;
	switch (*end) {
	case '\0':
	case 'b':
	case 'B':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (int i = 0; i < 4; i++) {
		unsigned shift = 40 - 10 * (unsigned)i;
		uint64_t unit = 1ull << shift;

		if (bytes && bytes % unit == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes >> shift, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
}

void format_size_approx(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024.0 && u < 6) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}
