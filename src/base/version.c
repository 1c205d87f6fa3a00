/*
 * version.c - the release the library was built as (tdpmmu/tdpmmu.h).
 */
#include "tdpmmu/tdpmmu.h"

const char *tdpmmu_version(void)
{
	return TDPMMU_VERSION;
}
