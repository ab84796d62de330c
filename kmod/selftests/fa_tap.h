/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fa_tap.h - TAP 13 results of the table-driven self-tests, formatted as
 * the kernel's tools/testing/selftests/kselftest.h does (so that kselftest
 * runners and any TAP reader take them), then the "N passed, M failed"
 * line the lab's scripts read.
 *
 *   TAP version 13
 *   1..3
 *   # RUN name-1
 *   ok 1 name-1
 *   # name-2: why it failed
 *   not ok 2 name-2
 *   ok 3 name-3 # SKIP why it skipped
 *   # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
 *   1 passed, 1 failed, 1 skipped
 */
#ifndef FA_TAP_H
#define FA_TAP_H

#include <stdio.h>

enum tap_status { TAP_PASS, TAP_FAIL, TAP_SKIP };

static struct {
	unsigned int plan, num, count[3];
} tap;

static inline void tap_plan(unsigned int plan)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* a case that hangs or crashes leaves its RUN line */
	tap.plan = plan;
	printf("TAP version 13\n1..%u\n", plan);
}

/* Before a case: which one was running if the next line never comes. */
static inline void tap_run(const char *name)
{
	printf("# RUN %s\n", name);
}

/* The case's result; why (may be "") goes on a diagnostic line, or after # SKIP. */
static inline void tap_result(const char *name, enum tap_status st, const char *why)
{
	tap.count[st]++;
	tap.num++;
	if (st == TAP_SKIP) {
		printf("ok %u %s # SKIP %s\n", tap.num, name, why);
		return;
	}
	if (why && *why)
		printf("# %s: %s\n", name, why);
	printf("%s %u %s\n", st == TAP_PASS ? "ok" : "not ok", tap.num, name);
}

/* The totals; returns the exit status: 1 if any case failed. */
static inline int tap_finish(void)
{
	if (tap.plan != tap.num)
		printf("# Planned tests != run tests (%u != %u)\n", tap.plan, tap.num);
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n", tap.count[TAP_PASS],
	       tap.count[TAP_FAIL], tap.count[TAP_SKIP]);
	printf("%u passed, %u failed, %u skipped\n", tap.count[TAP_PASS], tap.count[TAP_FAIL],
	       tap.count[TAP_SKIP]);
	return tap.count[TAP_FAIL] ? 1 : 0;
}

#endif /* FA_TAP_H */
