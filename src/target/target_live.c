// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Live processes. Every thread is seized (PTRACE_SEIZE) and interrupted
// (PTRACE_INTERRUPT), never attached with SIGSTOP: if this process dies while
// the target is stopped, the kernel detaches and the target simply runs on;
// no stray SIGSTOP is left behind. Memory is read with process_vm_readv
// through a page cache (the target is stopped, so pages do not change).

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target/target_internal.h"
#include "util/error.h"
#include "util/vector.h"

enum {
	// Up to 64 MiB of the target's pages (buffers are allocated as
	// slots are first used). A dump of 100,000 tasks reads ~36,000
	// distinct pages; a cache of 2,048 slots read 253,000 while the
	// target was stopped, the same pages over and over.
	PAGE_CACHE_SLOTS = 16384,
	// Threads keep being created while we stop others: rescan until the
	// set is stable, a bounded number of times.
	MAX_STOP_ROUNDS = 64,
};

static struct pcs_error *read_page(struct pcs_target *t, struct pcs_live_page *pg,
				   pcs_addr_t addr)
{
	if (!pg->data) {
		pg->data = malloc(t->page_size);
		if (!pg->data)
			return &pcs_enomem;
	}
	pg->addr = addr;
	struct iovec local = { pg->data, t->page_size };
	struct iovec remote = { (void *)(uintptr_t)addr, t->page_size };
	ssize_t n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
	if (n < 0 && (errno == ENOSYS || errno == EPERM) && t->mem_fd >= 0)
		n = pread(t->mem_fd, pg->data, t->page_size, (off_t)addr);
	pg->ok = n == (ssize_t)t->page_size;
	return NULL;
}

struct pcs_error *pcs_target_live_read(struct pcs_target *t, pcs_addr_t addr,
				       void *buf, size_t len)
{
	unsigned char *out = buf;
	while (len) {
		pcs_addr_t page = addr & ~(pcs_addr_t)(t->page_size - 1);
		// Hashed, so that pages a power of two apart (objects of one
		// size in different arenas) do not all share a slot.
		uint64_t index = (page / t->page_size) * UINT64_C(0x9e3779b97f4a7c15);
		struct pcs_live_page *pg = &t->pages[(index >> 32) % PAGE_CACHE_SLOTS];
		if (pg->addr != page) {
			struct pcs_error *err = read_page(t, pg, page);
			if (err)
				return err;
		}
		if (!pg->ok)
			return pcs_error_fault(addr, "cannot read 0x%" PRIx64
					       ": not mapped in the process", addr);
		size_t off = (size_t)(addr - page);
		size_t n = t->page_size - off;
		if (n > len)
			n = len;
		memcpy(out, pg->data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

static void resume_all(struct pcs_target *t)
{
	for (size_t i = 0; i < t->nstopped; i++)
		ptrace(PTRACE_DETACH, t->stopped[i].tid, NULL,
		       (void *)(uintptr_t)t->stopped[i].sig);
	t->nstopped = 0;
}

void pcs_target_live_deinit(struct pcs_target *t)
{
	resume_all(t);
	free(t->stopped);
	if (t->pages) {
		for (size_t i = 0; i < t->npages; i++)
			free(t->pages[i].data);
		free(t->pages);
	}
	if (t->mem_fd >= 0)
		close(t->mem_fd);
}

static bool is_stopped(const struct pcs_target *t, int tid)
{
	for (size_t i = 0; i < t->nstopped; i++)
		if (t->stopped[i].tid == tid)
			return true;
	return false;
}

static int tracer_of(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	int tracer = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

static struct pcs_error *permission_error(int pid, int errnum)
{
	char buf[64] = "";
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	int tracer = tracer_of(pid);
	const char *hint;
	char buf2[128];
	if (tracer > 0) {
		snprintf(buf2, sizeof(buf2), "already traced by pid %d", tracer);
		hint = buf2;
	} else if (buf[0] && buf[0] != '0' && geteuid() != 0) {
		hint = "see /proc/sys/kernel/yama/ptrace_scope; run as root or with "
		       "CAP_SYS_PTRACE";
	} else if (geteuid() == 0) {
		hint = "refused by the kernel: the process may hold privileges this "
		       "one lacks, or a security module forbids tracing it";
	} else {
		hint = "needs the same user, or CAP_SYS_PTRACE";
	}
	struct pcs_error *err = pcs_error_create(PCS_ERROR_OS, "ptrace: %s (%s)",
						 strerror(errnum), hint);
	if (err != &pcs_enomem)
		err->errnum = errnum;
	return err;
}

// Seize and interrupt one thread and wait for it to stop; *stopped says
// whether it did (false: it exited meanwhile).
static struct pcs_error *stop_thread(struct pcs_target *t, int tid, bool *stopped)
{
	*stopped = false;
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		if (errno == ESRCH)
			return NULL;
		return permission_error(t->pid, errno);
	}
	if (!PCS_VEC_RESERVE(t->stopped, t->nstopped, t->cap_stopped, 1)) {
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return &pcs_enomem;
	}
	t->stopped[t->nstopped++] = (struct pcs_stopped_thread){ tid, 0 };
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return NULL;	// exited meanwhile
	for (;;) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return NULL;
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);
			// A signal-delivery-stop came first: the thread is
			// stopped, and the signal must be delivered on detach.
			if ((status >> 16) == 0 && sig != SIGTRAP)
				t->stopped[t->nstopped - 1].sig = sig;
			*stopped = true;
			return NULL;
		}
	}
}

static struct pcs_error *add_thread(struct pcs_target *t, int tid)
{
	struct user_regs_struct regs;
	memset(&regs, 0, sizeof(regs));
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
		return NULL;	// gone
	if (!PCS_VEC_RESERVE(t->threads, t->nthreads, t->cap_threads, 1))
		return &pcs_enomem;
	struct pcs_target_thread *th = &t->threads[t->nthreads++];
	*th = (struct pcs_target_thread){
		.tid = tid, .fs_base = regs.fs_base, .pc = regs.rip, .sp = regs.rsp,
		.has_regs = true,
	};
	_Static_assert(sizeof(th->regs) == sizeof(regs),
		       "struct pcs_x86_64_regs is struct user_regs_struct");
	memcpy(&th->regs, &regs, sizeof(th->regs));
	return NULL;
}

static struct pcs_error *stop_all(struct pcs_target *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	for (int round = 0; round < MAX_STOP_ROUNDS; round++) {
		DIR *dir = opendir(path);
		if (!dir) {
			if (errno == ENOENT)
				return pcs_error_create(PCS_ERROR_OS, "no such process");
			return pcs_error_os(errno, "cannot list threads");
		}
		bool added = false;
		struct dirent *de;
		struct pcs_error *err = NULL;
		while (!err && (de = readdir(dir))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);
			if (*end || tid <= 0 || is_stopped(t, (int)tid))
				continue;
			bool stopped;
			err = stop_thread(t, (int)tid, &stopped);
			if (!err && stopped) {
				added = true;
				err = add_thread(t, (int)tid);
			}
		}
		closedir(dir);
		if (err)
			return err;
		if (!added)
			return t->nthreads ? NULL
				: pcs_error_create(PCS_ERROR_OS, "no such process");
	}
	return pcs_error_create(PCS_ERROR_LIMIT,
				"threads keep appearing; cannot stop the process");
}

static struct pcs_error *read_maps(struct pcs_target *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pcs_error_os(errno, "cannot open %s", path);
	char *line = NULL;
	size_t cap = 0;
	struct pcs_error *err = NULL;
	while (!err && getline(&line, &cap, f) > 0) {
		unsigned long long start, end, off;
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &start, &end,
			   &off, &name_at) < 3 || !name_at)
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		if (!PCS_VEC_RESERVE(t->regions, t->nregions, t->cap_regions, 1)) {
			err = &pcs_enomem;
			break;
		}
		t->regions[t->nregions++] = (struct pcs_region){ start, end };
		if (name[0] == '/')
			err = pcs_target_add_mapping(t, start, end, off, name);
	}
	free(line);
	fclose(f);
	return err;
}

// Threads of a process someone else holds stopped: ids only.
static struct pcs_error *list_threads(struct pcs_target *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	DIR *dir = opendir(path);
	if (!dir)
		return pcs_error_os(errno, "cannot list threads");
	struct dirent *de;
	struct pcs_error *err = NULL;
	while (!err && (de = readdir(dir))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0)
			continue;
		if (!PCS_VEC_RESERVE(t->threads, t->nthreads, t->cap_threads, 1))
			err = &pcs_enomem;
		else
			t->threads[t->nthreads++] = (struct pcs_target_thread){ .tid = (int)tid };
	}
	closedir(dir);
	return err;
}

// /proc/PID/cmdline: the arguments, NUL-separated, joined with spaces here.
// Its first 4 KiB are plenty for a header; unreadable is not an error.
static struct pcs_error *read_cmdline(struct pcs_target *t)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", t->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	if (n <= 0)
		return NULL;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	t->args = strndup(buf, (size_t)n);
	return t->args ? NULL : &pcs_enomem;
}

const char *pcs_target_live_local_path(struct pcs_target *t, const char *path)
{
	for (size_t i = 0; i < t->nlocal_files; i++)
		if (strcmp(t->local_files[i].path, path) == 0)
			return t->local_files[i].local ? t->local_files[i].local : path;
	// The files as the process sees them: in its own root and mount
	// namespace (a container), which need not be ours. The paths of
	// /proc/PID/maps are canonical: no symlink leads out of that root.
	char *local = NULL;
	if (path[0] == '/' && asprintf(&local, "/proc/%d/root%s", t->pid, path) >= 0 &&
	    access(local, R_OK) != 0) {
		free(local);
		local = NULL;
	}
	char *copy = strdup(path);
	if (!copy || !PCS_VEC_RESERVE(t->local_files, t->nlocal_files, t->cap_local_files, 1)) {
		free(copy);
		free(local);
		return path;
	}
	t->local_files[t->nlocal_files++] = (struct pcs_local_file){
		.path = copy, .local = local, .matches = true };
	return local ? local : path;
}

static struct pcs_error *attach(struct pcs_target *t)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", t->pid);
	if (access(path, F_OK) != 0)
		return pcs_error_create(PCS_ERROR_OS, "no such process");
	char exe[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0) {
		if (errno == EACCES || errno == EPERM)
			return permission_error(t->pid, errno);
		return pcs_error_os(errno, "cannot read %s", path);
	}
	exe[n] = '\0';
	t->exe_path = strdup(exe);
	if (!t->exe_path)
		return &pcs_enomem;
	struct pcs_error *err = read_cmdline(t);
	if (err)
		return err;
	// A process we stop ourselves keeps running until pcs_target_stop():
	// finding symbols and layouts, which read only what does not change,
	// is not part of its pause.
	err = t->held_by_other ? list_threads(t) : NULL;
	if (err)
		return err;
	// Reading another process's memory takes the same permission as
	// tracing it: say so now, not as unreadable memory later.
	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	t->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->mem_fd < 0 && (errno == EACCES || errno == EPERM))
		return permission_error(t->pid, errno);
	return read_maps(t);
}

static struct pcs_error *open_live(int pid, bool held_by_other,
				   struct pcs_target **ret)
{
	struct pcs_target *t = calloc(1, sizeof(*t));
	if (!t)
		return &pcs_enomem;
	t->kind = PCS_TARGET_PROCESS;
	t->pid = pid;
	t->core_fd = -1;
	t->mem_fd = -1;
	long ps = sysconf(_SC_PAGESIZE);
	t->page_size = ps > 0 ? (size_t)ps : 4096;
	t->npages = PAGE_CACHE_SLOTS;
	t->pages = calloc(t->npages, sizeof(*t->pages));
	if (!t->pages || asprintf(&t->name, "pid %d", pid) < 0) {
		t->name = NULL;
		pcs_target_destroy(t);
		return &pcs_enomem;
	}
	for (size_t i = 0; i < t->npages; i++)
		t->pages[i].addr = UINT64_MAX;
	t->held_by_other = held_by_other;
	struct pcs_error *err = NULL;
	if (held_by_other && tracer_of(pid) <= 0)
		err = pcs_error_create(PCS_ERROR_OTHER,
				       "not held stopped by a debugger");
	if (!err)
		err = attach(t);
	if (err) {
		err = pcs_error_prefix(err, "pid %d", pid);
		pcs_target_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}

struct pcs_error *pcs_target_attach(int pid, struct pcs_target **ret)
{
	return open_live(pid, false, ret);
}

struct pcs_error *pcs_target_open_stopped(int pid, struct pcs_target **ret)
{
	return open_live(pid, true, ret);
}

struct pcs_error *pcs_target_live_stop(struct pcs_target *t)
{
	if (t->held_by_other || t->nstopped)
		return NULL;
	struct pcs_error *err = stop_all(t);
	if (err)
		return pcs_error_prefix(err, "pid %d", t->pid);
	// Pages read while it ran may have changed since.
	for (size_t i = 0; i < t->npages; i++)
		t->pages[i].addr = UINT64_MAX;
	return NULL;
}
