/*
 * mutant.h - the one switch of the deliberately broken builds
 * (docs/testing.md, the Makefile's BROKEN list).
 *
 * TDP_MUTANT(NAME) is the integer constant 1 when the build defines
 * TDP_BREAK_NAME (-DTDP_BREAK_NAME, which defines it as 1) and 0 when it
 * does not.  Every mutant site is ordinary code that tests it:
 *
 *	if (TDP_MUTANT(SKIP_FLUSH))
 *		return;
 *
 * so each site is a whole statement, both branches are compiled (and type
 * checked) in every build, and the compiler drops the dead one.
 *
 * How: TDP_BREAK_NAME is expanded first; if it became 1, pasting gives
 * TDP_MUTANT_PROBE_1, which expands to "x," and shifts a 1 into the
 * second argument position; an undefined name pastes to an unknown
 * identifier, which stays one argument, and the 0 is second.  Not
 * concurrency-relevant: everything here is resolved at compile time.
 */
#ifndef TDP_MUTANT_H
#define TDP_MUTANT_H

#define TDP_MUTANT_PROBE_1 x,
#define TDP_MUTANT_SECOND(first, second, ...) second
#define TDP_MUTANT_PICK(probe) TDP_MUTANT_SECOND(probe 1, 0, 0)
#define TDP_MUTANT_PASTE(value) TDP_MUTANT_PICK(TDP_MUTANT_PROBE_##value)
#define TDP_MUTANT_VALUE(value) TDP_MUTANT_PASTE(value)
#define TDP_MUTANT(name) TDP_MUTANT_VALUE(TDP_BREAK_##name)

#endif
