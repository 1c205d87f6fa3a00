/*
 * host_shared.c - real shared memory behind shmem and shared_hugetlb
 * memslots.  With a payload (cfg.payload_bytes) a slot's frames are bytes
 * of one private anonymous reservation (host.c); for the shared backings
 * the selftests' VM_MEM_SRC_SHMEM and VM_MEM_SRC_SHARED_HUGETLB name, the
 * slot's frames are instead a memfd (MFD_HUGETLB with 2 MiB pages for
 * shared_hugetlb) mapped MAP_SHARED over the same addresses, so the guest's
 * memory is the shared memory a VMM would give KVM (what userfaultfd MINOR
 * faults need): another mapping of the file, or a forked child, sees the
 * guest's writes.  Frames are never reused, so the mapping stays until the
 * VM goes; the descriptor is closed at once (the mapping holds the file).
 *
 * A hugetlb mapping reserves its huge pages when it is made: without
 * enough free ones the add fails with -ENOMEM instead of a SIGBUS on a
 * later touch.  The range is 2 MiB aligned (the payload is, host.c, and a
 * slot's frames start at a 1 GiB boundary plus its base gfn's offset).
 * Remapped pages (tdpmmu_host_remap on a shmem slot) move to private
 * frames, as a VMM's migration would to new pages of its choice.
 *
 * Called by tdp_host_add_slot under slots_lock, before the slot is
 * published, on frames nothing has handed out yet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/host.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21u << 26) /* log2(2M) << MFD_HUGE_SHIFT */
#endif

/* Put the private reservation back over [@first, @end) after a failed map. */
static void restore_private(struct tdp_host *h, uint64_t first, uint64_t end)
{
	mmap(h->payload + first * 4096, (end - first) * 4096, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

int tdp_host_share_frames(struct tdp_host *h, uint64_t pfn, uint64_t npages, enum tdpmmu_backing b)
{
	bool huge = b == TDPMMU_BACKING_SHARED_HUGETLB;
	uint64_t align = huge ? TDP_BLOCK_PAGES : 1;
	uint64_t first = pfn / align * align, end = (pfn + npages + align - 1) / align * align;
	void *p;
	int fd, r;

	if (!h->payload || (b != TDPMMU_BACKING_SHMEM && !huge))
		return 0;
	if (end > h->pfn_limit)
		return -ENOSPC;
	fd = memfd_create(huge ? "tdpmmu-shared-hugetlb" : "tdpmmu-shmem",
			  MFD_CLOEXEC | (huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0));
	if (fd < 0)
		return errno == EINVAL && huge ? -ENOMEM : -errno;
	if (ftruncate(fd, (off_t)((end - first) * 4096))) {
		r = -errno;
		close(fd);
		return r;
	}
	p = mmap(h->payload + first * 4096, (end - first) * 4096, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	r = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r)
		restore_private(h, first, end);
	return r;
}
