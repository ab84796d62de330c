/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fa_cases.h - the harness of the table-driven self-tests (fa_selftest,
 * fa_kwait), in the manner of the kernel's uffd-unit-tests.c: a table of
 * {name, fn}; each case runs in a forked child under an alarm and ends
 * with FAIL(), SKIP() or by returning; TAP 13 results (fa_tap.h).
 */
#ifndef FA_CASES_H
#define FA_CASES_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "fa_tap.h"
#include "fa_util.h"

/* ---- harness ----------------------------------------------------------- */

static int result_fd = -1;	/* child -> parent: the reason of a FAIL or skip */

static void __attribute__((noreturn, format(printf, 2, 3))) finish(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (write(result_fd, msg, n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(code);
}

#define FAIL(fmt, ...) finish(1, "%s:%d: " fmt, __func__, __LINE__, ##__VA_ARGS__)
#define SKIP(fmt, ...) finish(2, fmt, ##__VA_ARGS__)
#define CHECK(cond, fmt, ...) do { if (!(cond)) FAIL(fmt, ##__VA_ARGS__); } while (0)
#define CHECK_ERR(expr, want) do {						\
		int __e = (expr);						\
		if (__e != (want))						\
			FAIL("%s gave %s, want %s", #expr, errname(__e), errname(want)); \
	} while (0)

static const char *errname(int e)
{
	static const char *const names[] = {
		[0] = "0", [EPERM] = "EPERM", [ENOENT] = "ENOENT", [EINTR] = "EINTR",
		[ENOMEM] = "ENOMEM", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST",
		[EINVAL] = "EINVAL", [ENOTTY] = "ENOTTY", [EAGAIN] = "EAGAIN", [EACCES] = "EACCES",
		[EHWPOISON] = "EHWPOISON",
	};
	static char buf[16];

	if (e >= 0 && e < (int)(sizeof(names) / sizeof(names[0])) && names[e])
		return names[e];
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

typedef struct {
	const char *name;
	void (*fn)(void);
} fa_test_t;

static void run_one(const fa_test_t *t)
{
	char reason[512] = "";
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	tap_run(t->name);
	if (pipe(pfd)) {
		tap_result(t->name, TAP_FAIL, "pipe failed");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		result_fd = pfd[1];
		alarm(30);
		t->fn();
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], reason, sizeof(reason) - 1);
	close(pfd[0]);
	reason[n > 0 ? n : 0] = 0;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		tap_result(t->name, TAP_PASS, "");
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
		tap_result(t->name, TAP_SKIP, reason);
	} else {
		if (WIFSIGNALED(st))
			snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason), "%skilled by %s",
				 *reason ? "; " : "", WTERMSIG(st) == SIGALRM ? "the alarm (timeout)" :
				 strsignal(WTERMSIG(st)));
		tap_result(t->name, TAP_FAIL, reason);
	}
}

static bool selected(const fa_test_t *t, const char *filter)
{
	return !filter || strstr(t->name, filter);
}

/* -l lists the cases, -f NAME runs those whose name contains NAME; every case without -f. */
static int fa_cases_main(int argc, char **argv, const fa_test_t *fa_tests, int ntests)
{
	const char *filter = NULL;
	int i, opt, plan = 0;
	bool list = false;

	while ((opt = getopt(argc, argv, "lf:")) != -1) {
		switch (opt) {
		case 'l':
			list = true;
			break;
		case 'f':
			filter = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-l] [-f NAME]\n", argv[0]);
			return 2;
		}
	}
	for (i = 0; i < ntests; i++)
		if (selected(&fa_tests[i], filter)) {
			if (list)
				printf("%s\n", fa_tests[i].name);
			plan++;
		}
	if (list)
		return 0;
	tap_plan(plan);
	for (i = 0; i < ntests; i++)
		if (selected(&fa_tests[i], filter))
			run_one(&fa_tests[i]);
	return tap_finish();
}

#endif /* FA_CASES_H */
