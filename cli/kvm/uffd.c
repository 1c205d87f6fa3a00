/*
 * uffd.c - demand paging through userfaultfd (uffd.h): one userfaultfd
 * per registered range with its reader threads (demand_paging_test's -r,
 * default 1: they poll the same descriptor, and a read that another reader
 * won finds nothing), a watchdog thread for the whole pager.
 *
 * Which userfaultfd: KVM faults guest memory in from the kernel (the vCPU
 * thread's get_user_pages), so the descriptor must see kernel-mode faults:
 * UFFD_USER_MODE_ONLY, all an unprivileged process may ask for when
 * vm.unprivileged_userfaultfd is 0, would turn KVM's faults into errors
 * instead of events, and is never used.  The userfaultfd(2) syscall works
 * for root (CAP_SYS_PTRACE); else /dev/userfaultfd, where its permissions
 * allow; else uffd_probe says why.
 *
 * A handler (each reader of a range): poll its descriptor and the pager's stop eventfd (with a
 * timeout, belt and braces), read one fault event, note it busy (the
 * watchdog's clock), sleep the delay, UFFDIO_COPY the page holding the
 * fault (page_bytes, counted from the range's start, clipped at its end)
 * from a zero source, note it idle.  EEXIST (another handler's copy won,
 * one uffd with several faulting vCPUs) wakes the range and counts.
 *
 * Failure: the first error of any handler is kept (one line); the failed
 * handler's range is unregistered, which wakes every thread waiting on a
 * fault there (the kernel does it on UFFDIO_UNREGISTER) and later faults
 * are ordinary anonymous faults, so nothing blocks forever.  The
 * watchdog does the same for a handler that holds one fault longer than
 * the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm/uffd.h"

#define UFFD_POLL_MS 200      /* a handler's poll: the stop eventfd wakes it sooner */
#define UFFD_WATCH_MS 20      /* the watchdog's period */
#define UFFD_DEFAULT_MS 10000 /* a fault held longer (plus the delay) is stuck */

enum uffd_inject { INJECT_NONE, INJECT_FAIL, INJECT_STALL };

struct uffd_handler {
	struct uffd_pager *p;
	int fd;
	char *start;
	uint64_t bytes;
	char name[48];
	void *src; /* page_bytes of zeroes to copy from */
	struct uffd_reader *readers;
	unsigned nreaders;    /* started */
	atomic_bool released; /* unregistered after a failure */
	atomic_bool quit;     /* its readers stop (a failed add) */
	_Atomic uint64_t faults, copies, eexist, max_ns;
};

/* One reader thread of a range's userfaultfd. */
struct uffd_reader {
	struct uffd_handler *h;
	pthread_t thread;
	_Atomic uint64_t busy_since; /* when the fault being handled was read; 0 idle */
	_Atomic uint64_t busy_addr;
};

struct uffd_pager {
	struct uffd_pager_opts o;
	unsigned timeout_ms;
	enum uffd_inject inject;
	atomic_bool injected; /* the one injected failure happened */
	atomic_bool stop;
	int stop_fd;          /* eventfd, readable once stopping */
	pthread_mutex_t lock; /* err, why, and the handler array (the watchdog reads it) */
	int err;
	char why[256];
	struct uffd_handler **h;
	unsigned n, cap;
	pthread_t watchdog;
	bool watchdog_started;
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void sleep_us(unsigned us)
{
	struct timespec t = { us / 1000000, (long)(us % 1000000) * 1000 };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/* A userfaultfd that sees kernel-mode faults, API done: fd or -errno and why. */
static int uffd_open(char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd, dev, e;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
		if (fd < 0) {
			snprintf(why, len,
				 "userfaultfd: %s (KVM's faults need a descriptor that sees kernel "
				 "faults: run as root, or set vm.unprivileged_userfaultfd=1, or "
				 "give access to /dev/userfaultfd)",
				 strerror(e));
			return -e;
		}
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		e = errno;
		snprintf(why, len, "userfaultfd: UFFDIO_API: %s", strerror(e));
		close(fd);
		return -e;
	}
	if (!(api.ioctls & (1ull << _UFFDIO_REGISTER))) {
		snprintf(why, len, "userfaultfd: no UFFDIO_REGISTER on this kernel");
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

int uffd_probe(char *why, size_t len)
{
	int fd = uffd_open(why, len);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Keeps the pager's first error. */
static void pager_fail(struct uffd_pager *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pager_fail(struct uffd_pager *p, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&p->lock);
	if (!p->err) {
		p->err = err;
		va_start(ap, fmt);
		vsnprintf(p->why, sizeof(p->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Unregister @h's range once: wakes its waiters, later faults are plain ones. */
static void handler_release(struct uffd_handler *h)
{
	struct uffdio_range r = { .start = (uintptr_t)h->start, .len = h->bytes };

	if (atomic_exchange(&h->released, true))
		return;
	if (ioctl(h->fd, UFFDIO_UNREGISTER, &r))
		pager_fail(h->p, -errno, "userfaultfd handler for %s: UFFDIO_UNREGISTER: %s",
			   h->name, strerror(errno));
}

static void note_max(_Atomic uint64_t *max, uint64_t v)
{
	uint64_t old = atomic_load_explicit(max, memory_order_relaxed);

	while (v > old && !atomic_compare_exchange_weak(max, &old, v))
		;
}

/* Resolves the fault at @addr: 0, or -errno after recording the failure. */
static int handler_copy(struct uffd_handler *h, uint64_t addr)
{
	struct uffd_pager *p = h->p;
	uint64_t off = (addr - (uintptr_t)h->start) & ~(p->o.page_bytes - 1);
	uint64_t dst = (uintptr_t)h->start + off;
	uint64_t left = h->bytes - off < p->o.page_bytes ? h->bytes - off : p->o.page_bytes;
	uint64_t done = 0;

	if (p->inject == INJECT_FAIL && !atomic_exchange(&p->injected, true)) {
		pager_fail(p, -EIO,
			   "userfaultfd handler for %s: UFFDIO_COPY at 0x%llx: %s "
			   "(injected by TDPMMU_UFFD_INJECT=fail)",
			   h->name, (unsigned long long)dst, strerror(EIO));
		return -EIO;
	}
	while (done < left && !atomic_load(&p->stop)) {
		struct uffdio_copy c = {
			.dst = dst + done,
			.src = (uintptr_t)h->src + done,
			.len = left - done,
		};

		if (!ioctl(h->fd, UFFDIO_COPY, &c)) {
			atomic_fetch_add_explicit(&h->copies, 1, memory_order_relaxed);
			return 0;
		}
		if (errno == EAGAIN) { /* the mm changed under the copy: go on from there */
			if (c.copy > 0)
				done += (uint64_t)c.copy;
			continue;
		}
		if (errno == EEXIST) { /* mapped already: make sure no one waits on it */
			struct uffdio_range r = { .start = dst, .len = left };

			atomic_fetch_add_explicit(&h->eexist, 1, memory_order_relaxed);
			if (!ioctl(h->fd, UFFDIO_WAKE, &r))
				return 0;
		}
		pager_fail(p, -errno, "userfaultfd handler for %s: UFFDIO_%s at 0x%llx: %s",
			   h->name, errno == EEXIST ? "WAKE" : "COPY", (unsigned long long)c.dst,
			   strerror(errno));
		return -errno;
	}
	return 0;
}

/* One fault event: 1 handled, 0 nothing to read, -errno failed (recorded). */
static int handler_event(struct uffd_reader *rd)
{
	struct uffd_handler *h = rd->h;
	struct uffd_pager *p = h->p;
	struct uffd_msg msg;
	ssize_t n = read(h->fd, &msg, sizeof(msg));
	uint64_t t0, addr;
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n != (ssize_t)sizeof(msg)) {
		r = n < 0 ? -errno : -EIO;
		pager_fail(p, r, "userfaultfd handler for %s: read: %s", h->name,
			   n < 0 ? strerror(errno) : "short event");
		return r;
	}
	if (msg.event != UFFD_EVENT_PAGEFAULT) {
		pager_fail(p, -EPROTO, "userfaultfd handler for %s: unexpected event 0x%x", h->name,
			   msg.event);
		return -EPROTO;
	}
	addr = msg.arg.pagefault.address;
	t0 = mono_ns();
	atomic_store(&rd->busy_addr, addr);
	atomic_store(&rd->busy_since, t0);
	atomic_fetch_add_explicit(&h->faults, 1, memory_order_relaxed);
	if (p->inject == INJECT_STALL && !atomic_exchange(&p->injected, true)) {
		/* The injected stuck handler: hold the fault until the pager stops. */
		while (!atomic_load(&p->stop))
			sleep_us(5000);
		return -ETIMEDOUT;
	}
	if (p->o.delay_us)
		sleep_us(p->o.delay_us);
	r = handler_copy(h, addr);
	note_max(&h->max_ns, mono_ns() - t0);
	atomic_store(&rd->busy_since, 0);
	return r;
}

static void *handler_main(void *arg)
{
	struct uffd_reader *rd = arg;
	struct uffd_handler *h = rd->h;
	struct uffd_pager *p = h->p;
	struct pollfd pfd[2] = { { .fd = h->fd, .events = POLLIN },
				 { .fd = p->stop_fd, .events = POLLIN } };

	while (!atomic_load(&p->stop) && !atomic_load(&h->quit)) {
		int r = poll(pfd, 2, UFFD_POLL_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
			pager_fail(p, r < 0 ? -errno : -EIO, "userfaultfd handler for %s: poll: %s",
				   h->name, r < 0 ? strerror(errno) : "error on the descriptor");
			break;
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (handler_event(rd) < 0)
			break;
	}
	handler_release(h);
	return NULL;
}

/* Finds handlers holding one fault too long, reports and releases them. */
static void *watchdog_main(void *arg)
{
	struct uffd_pager *p = arg;
	struct pollfd pfd = { .fd = p->stop_fd, .events = POLLIN };
	uint64_t limit = (uint64_t)p->timeout_ms * 1000000ull;

	while (!atomic_load(&p->stop)) {
		uint64_t now;

		poll(&pfd, 1, UFFD_WATCH_MS);
		now = mono_ns();
		pthread_mutex_lock(&p->lock);
		for (unsigned k = 0; k < p->n * p->o.readers; k++) {
			struct uffd_handler *h = p->h[k / p->o.readers];
			struct uffd_reader *rd = &h->readers[k % p->o.readers];
			uint64_t since = atomic_load(&rd->busy_since);

			/* @since may be after @now: a fault read since the clock was read. */
			if (!since || since >= now || now - since <= limit ||
			    atomic_load(&h->released))
				continue;
			if (!p->err) {
				p->err = -ETIMEDOUT;
				snprintf(p->why, sizeof(p->why),
					 "userfaultfd handler for %s: stuck for more than %u ms "
					 "on the fault at 0x%llx",
					 h->name, p->timeout_ms,
					 (unsigned long long)atomic_load(&rd->busy_addr));
			}
			pthread_mutex_unlock(&p->lock);
			handler_release(h);
			pthread_mutex_lock(&p->lock);
		}
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

int uffd_pager_create(const struct uffd_pager_opts *o, struct uffd_pager **out, char *why,
		      size_t len)
{
	struct uffd_pager *p;
	const char *inject = getenv("TDPMMU_UFFD_INJECT");
	const char *timeout = getenv("TDPMMU_UFFD_TIMEOUT_MS");
	int r;

	*out = NULL;
	if (!o->page_bytes || (o->page_bytes & (o->page_bytes - 1)) || o->page_bytes < 4096) {
		snprintf(why, len, "userfaultfd: page size %llu is not a power of two >= 4K",
			 (unsigned long long)o->page_bytes);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(why, len, "userfaultfd: out of memory");
		return -ENOMEM;
	}
	p->o = *o;
	if (!p->o.readers)
		p->o.readers = 1;
	p->timeout_ms = o->timeout_ms ? o->timeout_ms : UFFD_DEFAULT_MS + o->delay_us / 1000;
	if (timeout && *timeout)
		p->timeout_ms = (unsigned)strtoul(timeout, NULL, 10);
	if (inject && !strcmp(inject, "fail"))
		p->inject = INJECT_FAIL;
	else if (inject && !strcmp(inject, "stall"))
		p->inject = INJECT_STALL;
	pthread_mutex_init(&p->lock, NULL);
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stop_fd < 0) {
		r = -errno;
		snprintf(why, len, "userfaultfd: eventfd: %s", strerror(errno));
		free(p);
		return r;
	}
	r = pthread_create(&p->watchdog, NULL, watchdog_main, p);
	if (r) {
		snprintf(why, len, "userfaultfd: watchdog thread: %s", strerror(r));
		close(p->stop_fd);
		free(p);
		return -r;
	}
	p->watchdog_started = true;
	*out = p;
	return 0;
}

/* A failed add: its started readers stop within a poll period. */
static void handler_stop_readers(struct uffd_handler *h)
{
	atomic_store(&h->quit, true);
	for (unsigned k = 0; k < h->nreaders; k++)
		pthread_join(h->readers[k].thread, NULL);
}

static void handler_free(struct uffd_handler *h)
{
	if (h->fd >= 0)
		close(h->fd);
	if (h->src && h->src != MAP_FAILED)
		munmap(h->src, h->p->o.page_bytes);
	free(h->readers);
	free(h);
}

int uffd_pager_add(struct uffd_pager *p, void *hva, uint64_t bytes, const char *name, char *why,
		   size_t len)
{
	struct uffd_handler *h = calloc(1, sizeof(*h));
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)hva, .len = bytes },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int r;

	if (!h) {
		snprintf(why, len, "userfaultfd: out of memory");
		return -ENOMEM;
	}
	h->p = p;
	h->fd = -1;
	h->start = hva;
	h->bytes = bytes;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->readers = calloc(p->o.readers, sizeof(*h->readers));
	h->fd = h->readers ? uffd_open(why, len) : -ENOMEM;
	if (h->fd < 0) {
		r = h->fd;
		if (r == -ENOMEM)
			snprintf(why, len, "userfaultfd: out of memory");
		free(h->readers);
		free(h);
		return r;
	}
	h->src = mmap(NULL, p->o.page_bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (h->src == MAP_FAILED) {
		r = -errno;
		snprintf(why, len, "userfaultfd: source page: %s", strerror(errno));
		handler_free(h);
		return r;
	}
	if (ioctl(h->fd, UFFDIO_REGISTER, &reg)) {
		r = -errno;
		snprintf(why, len,
			 "userfaultfd: UFFDIO_REGISTER of %s (0x%llx, %llu bytes, MISSING): %s",
			 name, (unsigned long long)reg.range.start, (unsigned long long)bytes,
			 strerror(errno));
		handler_free(h);
		return r;
	}
	if (!(reg.ioctls & (1ull << _UFFDIO_COPY))) {
		snprintf(why, len, "userfaultfd: no UFFDIO_COPY for the memory of %s", name);
		handler_free(h);
		return -ENOTSUP;
	}
	pthread_mutex_lock(&p->lock);
	if (p->n == p->cap) {
		unsigned cap = p->cap ? 2 * p->cap : 8;
		struct uffd_handler **a = realloc(p->h, cap * sizeof(*a));

		if (!a) {
			pthread_mutex_unlock(&p->lock);
			snprintf(why, len, "userfaultfd: out of memory");
			handler_free(h);
			return -ENOMEM;
		}
		p->h = a;
		p->cap = cap;
	}
	for (r = 0; !r && h->nreaders < p->o.readers;) {
		h->readers[h->nreaders].h = h;
		r = pthread_create(&h->readers[h->nreaders].thread, NULL, handler_main,
				   &h->readers[h->nreaders]);
		if (!r)
			h->nreaders++;
	}
	if (r) {
		/* The readers started so far: stop them through the range's release. */
		pthread_mutex_unlock(&p->lock);
		snprintf(why, len, "userfaultfd: reader thread for %s: %s", name, strerror(r));
		handler_stop_readers(h);
		handler_free(h);
		return -r;
	}
	p->h[p->n++] = h;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int uffd_pager_error(struct uffd_pager *p, char *why, size_t len)
{
	int err;

	pthread_mutex_lock(&p->lock);
	err = p->err;
	if (err)
		snprintf(why, len, "%s", p->why);
	pthread_mutex_unlock(&p->lock);
	return err;
}

void uffd_pager_stats(struct uffd_pager *p, struct uffd_pager_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->lock);
	st->handlers = p->n;
	for (unsigned i = 0; i < p->n; i++) {
		struct uffd_handler *h = p->h[i];
		uint64_t m = atomic_load_explicit(&h->max_ns, memory_order_relaxed);

		st->faults += atomic_load_explicit(&h->faults, memory_order_relaxed);
		st->copies += atomic_load_explicit(&h->copies, memory_order_relaxed);
		st->eexist += atomic_load_explicit(&h->eexist, memory_order_relaxed);
		st->max_ns = m > st->max_ns ? m : st->max_ns;
	}
	pthread_mutex_unlock(&p->lock);
}

void uffd_pager_stop(struct uffd_pager *p)
{
	uint64_t one = 1;

	if (!p || atomic_exchange(&p->stop, true))
		return;
	if (write(p->stop_fd, &one, sizeof(one)) != sizeof(one)) {
		/* The poll timeouts stop the threads anyway. */
	}
	if (p->watchdog_started)
		pthread_join(p->watchdog, NULL);
	for (unsigned i = 0; i < p->n; i++)
		for (unsigned k = 0; k < p->h[i]->nreaders; k++)
			pthread_join(p->h[i]->readers[k].thread, NULL);
}

void uffd_pager_destroy(struct uffd_pager *p)
{
	if (!p)
		return;
	uffd_pager_stop(p);
	for (unsigned i = 0; i < p->n; i++)
		handler_free(p->h[i]);
	free(p->h);
	close(p->stop_fd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
