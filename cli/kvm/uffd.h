/*
 * uffd.h - demand paging of guest memory through userfaultfd, as KVM's
 * demand_paging_test -u MISSING does it: memory ranges registered in
 * MISSING mode, one userfaultfd per range (per vCPU region, or one for
 * all memory) with its reader threads (-r, default 1), each reading fault events, sleeping the delay and resolving
 * the fault with UFFDIO_COPY of one page (4K or the backing's page).
 *
 * Nothing hangs: handlers poll with a timeout so they can be stopped, and
 * a watchdog thread reports a handler that holds a fault longer than the
 * pager's timeout.  A handler that fails (an ioctl error, an unexpected
 * event) or is found stuck records one error line and its range is
 * unregistered, which wakes the faulting threads: they fault the memory
 * in as ordinary anonymous memory and the guest finishes, after which the
 * caller reads the error (uffd_pager_error) and fails the run.
 *
 * Test hooks (environment, read by uffd_pager_create):
 *   TDPMMU_UFFD_INJECT=fail   the first UFFDIO_COPY fails as if with EIO
 *   TDPMMU_UFFD_INJECT=stall  the first fault read is never resolved
 *   TDPMMU_UFFD_TIMEOUT_MS=N  the watchdog's limit (default 10 s + delay)
 *
 * Threads: create, add, stop, error, stats and destroy on one owner thread; the
 * handler and watchdog threads are the pager's own.  Every error returns
 * -errno and writes a one-line reason to @why.
 */
#ifndef TDPMMU_CLI_KVM_UFFD_H
#define TDPMMU_CLI_KVM_UFFD_H

#include <stddef.h>
#include <stdint.h>

struct uffd_pager_opts {
	unsigned delay_us;   /* each fault's handler sleeps this long before the copy */
	uint64_t page_bytes; /* the copy unit: 4K, or the backing's huge page */
	unsigned timeout_ms; /* a fault held longer is a stuck handler (0: 10 s + delay) */
	unsigned readers;    /* reader threads per userfaultfd (demand_paging_test's -r; 0: 1) */
};

struct uffd_pager_stats {
	uint64_t faults;   /* fault events read */
	uint64_t copies;   /* UFFDIO_COPYs that mapped memory */
	uint64_t eexist;   /* faults already resolved by another handler (woken only) */
	uint64_t max_ns;   /* the longest event-to-resolved time of a handler */
	unsigned handlers; /* ranges registered */
};

struct uffd_pager;

/* Whether userfaultfd can serve KVM's faults here: 0, or -errno and why. */
int uffd_probe(char *why, size_t len);

int uffd_pager_create(const struct uffd_pager_opts *o, struct uffd_pager **out, char *why,
		      size_t len);
/*
 * Registers [@hva, @hva + @bytes) (page aligned) with a userfaultfd of its
 * own in MISSING mode and starts its handler thread; @name ("vCPU 3")
 * names it in error lines.  The range must not be touched before.
 */
int uffd_pager_add(struct uffd_pager *p, void *hva, uint64_t bytes, const char *name, char *why,
		   size_t len);
/*
 * Stops and joins the threads (their ranges unregistered: later faults
 * there are plain ones).  After it the statistics are final: a handler
 * counts a copy after the ioctl that already woke the faulting vCPU.
 */
void uffd_pager_stop(struct uffd_pager *p);
/* 0, or the first handler's failure (-errno) with its line in @why. */
int uffd_pager_error(struct uffd_pager *p, char *why, size_t len);
void uffd_pager_stats(struct uffd_pager *p, struct uffd_pager_stats *st);
/* Stops (if not yet) and closes everything. */
void uffd_pager_destroy(struct uffd_pager *p);

#endif /* TDPMMU_CLI_KVM_UFFD_H */
