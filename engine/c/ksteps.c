// SPDX-License-Identifier: GPL-2.0
/*
 * ksteps.c - the kernel reaches area pages: twice through gup (O_DIRECT
 * write, process_vm_readv from a helper process) and twice through user
 * copies (read() from a pipe into the page, write() to a pipe from it).
 * Each runs while its page is missing, and again once the page is placed.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "engine_api.h"
#include "engine_int.h"

/* Returns bytes or -1; *err gets errno. */
static long odirect_write(char *page, int *err)
{
	int fd = open(E.cfg->odirect_path ? E.cfg->odirect_path : "", O_RDWR | O_CREAT | O_DIRECT, 0600);
	long r;

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	r = pwrite(fd, page, PAGE, 0);
	*err = r < 0 ? errno : 0;
	close(fd);
	return r;
}

/* A helper process reads the page out of this one (remote gup); *tid gets its pid. */
static long remote_read(char *page, int *err, int *tid)
{
	struct { long ret; int err; } out = { -1, 0 };
	pid_t parent = getpid(), pid;
	int pfd[2];

	if (pipe(pfd)) {
		*err = errno;
		return -1;
	}
	/* The helper must not share the area copy-on-write: a later write (or a
	 * FOLL_PIN read) would then fault to unshare the page, which is fork's
	 * doing, not the marker's. */
	madvise(E.area, E.pages * PAGE, MADV_DONTFORK);
	pid = fork();
	if (pid == 0) {
		static char buf[PAGE];
		struct iovec local = { buf, PAGE }, remote = { page, PAGE };

		out.ret = process_vm_readv(parent, &local, 1, &remote, 1, 0);
		out.err = out.ret < 0 ? errno : 0;
		if (write(pfd[1], &out, sizeof(out)) < 0)
			_exit(1);
		_exit(0);
	}
	madvise(E.area, E.pages * PAGE, MADV_DOFORK);
	close(pfd[1]);
	*tid = pid;
	if (pid < 0 || read(pfd[0], &out, sizeof(out)) != sizeof(out))
		out.err = pid < 0 ? errno : EIO;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	*err = out.err;
	return out.ret;
}

static long pipe_copy(char *page, bool into_page, int *err)
{
	static char buf[PAGE];
	int pfd[2];
	long r;

	if (pipe(pfd)) {
		*err = errno;
		return -1;
	}
	if (into_page) {	/* copy_to_user: the page's own contents, so nothing changes */
		page_fill(buf, E.cfg->seed, (page - E.area) / PAGE);
		r = write(pfd[1], buf, PAGE) == PAGE ? read(pfd[0], page, PAGE) : -1;
	} else {		/* copy_from_user */
		r = write(pfd[1], page, PAGE);
	}
	*err = r < 0 ? errno : 0;
	close(pfd[0]);
	close(pfd[1]);
	return r;
}

void fa_ksteps_run(int after)
{
	const struct fa_cfg *c = E.cfg;
	int i;

	for (i = 0; i < c->nksteps && i < FA_MAX_KSTEPS; i++) {
		struct fa_kstep_result *r = &E.res->ksteps[i];
		long page = c->kstep_pages[i];
		char *p = E.area + page * PAGE;
		long ret = -1;
		int err = EINVAL, tid = syscall(SYS_gettid);
		unsigned long long t0 = now_ns();

		if (page < 0 || page >= E.pages)
			continue;
		if (after && !__atomic_load_n(&E.placed[page], __ATOMIC_RELAXED))
			continue;	/* never placed (the run failed): nothing to compare */
		switch (c->ksteps[i]) {
		case FA_K_ODIRECT:
			ret = odirect_write(p, &err);
			break;
		case FA_K_PROCESS_VM_READV:
			ret = remote_read(p, &err, &tid);
			break;
		case FA_K_PIPE_READ:
			ret = pipe_copy(p, true, &err);
			break;
		case FA_K_PIPE_WRITE:
			ret = pipe_copy(p, false, &err);
			break;
		}
		r->kind = c->ksteps[i];
		r->page = page;
		if (after) {
			r->after_ret = ret;
			r->after_errno = err;
			r->after_tid = tid;
			r->after_t0 = t0;
			r->after_t1 = now_ns();
		} else {
			r->before_ret = ret;
			r->before_errno = err;
			r->before_tid = tid;
			r->before_t0 = t0;
			r->before_t1 = now_ns();
		}
	}
	E.res->nksteps = c->nksteps < FA_MAX_KSTEPS ? c->nksteps : FA_MAX_KSTEPS;
}
