/*
 * test_shared_backing.c - with a payload, shmem and shared_hugetlb
 * memslots are real shared memory (src/host/host_shared.c): the frames a
 * guest wrote are a MAP_SHARED memfd mapping, so a forked child's store
 * to them is seen by this process, while an anonymous slot's frames stay
 * private (the child's store is its own copy).  shared_hugetlb runs where
 * 2 MiB huge pages are free; without them its add must fail cleanly
 * (-ENOMEM), never SIGBUS later.
 *
 * Threads: the main thread only (and a forked child that stores and exits).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/test_vm.h"
#include "vm/vm_internal.h"

#define PAGES 1024

/* A guest that writes @value at offset 0 of one page. */
struct one_write {
	uint64_t gpa, value;
	bool done;
};

static bool one_write_next(void *ctx, struct tdpmmu_access *a)
{
	struct one_write *w = ctx;

	if (w->done)
		return false;
	w->done = true;
	a->gpa = w->gpa;
	a->type = TDPMMU_ACCESS_WRITE;
	a->value = w->value;
	return true;
}

/* The bytes of @gfn's frame in the payload. */
static volatile uint64_t *frame_word(struct tdpmmu_vm *vm, uint64_t gfn)
{
	uint64_t pfn = 0;

	REQUIRE(tdpmmu_host_pfn(vm, gfn, &pfn) == 0);
	return (volatile uint64_t *)tdp_host_frame_bytes(&vm->host, pfn);
}

/* Whether this mapping line of /proc/self/maps covering @p is a shared memfd. */
static bool maps_shared_memfd(const volatile void *p)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	REQUIRE(f != NULL);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && (uintptr_t)p >= lo &&
		    (uintptr_t)p < hi)
			found = perms[3] == 's' && strstr(line, "memfd:tdpmmu-") != NULL;
	}
	fclose(f);
	return found;
}

/* The guest writes @gfn; a child stores 2; returns what this process then reads there. */
static uint64_t child_store_seen(struct tdpmmu_vm *vm, struct tdpmmu_vcpu *v, uint64_t gfn)
{
	struct one_write w = { .gpa = gfn * 4096, .value = 0x1111 };
	volatile uint64_t *word;
	uint64_t got = 0;
	pid_t pid;
	int status;

	REQUIRE(tdpmmu_vcpu_run(v, one_write_next, &w, 0) == 0);
	word = frame_word(vm, gfn);
	REQUIRE(word != NULL);
	CHECK_EQ(*word, 0x1111);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		*word = 2;
		_exit(0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	REQUIRE(tdpmmu_host_read(vm, gfn * 4096, &got) == 0);
	return got;
}

static struct tdpmmu_vm *make_vm(void)
{
	struct tdpmmu_vm_config cfg;
	struct tdpmmu_vm *vm;

	test_config_init(&cfg);
	cfg.max_tables = 4096;
	cfg.payload_bytes = tdpmmu_payload_bytes_for(3 * PAGES, 3);
	REQUIRE(tdpmmu_vm_create(&cfg, &vm) == 0);
	return vm;
}

static void test_shmem_and_anon(void)
{
	struct tdpmmu_vm *vm = make_vm();
	struct tdpmmu_memslot shmem = { 0, 0, PAGES, TDPMMU_BACKING_SHMEM, 0 };
	struct tdpmmu_memslot anon = { 1, 4 * PAGES, PAGES, TDPMMU_BACKING_ANON, 0 };
	struct tdpmmu_vcpu *v;

	REQUIRE(tdpmmu_memslot_add(vm, &shmem) == 0);
	REQUIRE(tdpmmu_memslot_add(vm, &anon) == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(child_store_seen(vm, v, 5), 2); /* shared: the child's store */
	CHECK(maps_shared_memfd(frame_word(vm, 5)));
	CHECK_EQ(child_store_seen(vm, v, 4 * PAGES + 5), 0x1111); /* private: its own copy */
	CHECK(!maps_shared_memfd(frame_word(vm, 4 * PAGES + 5)));
	tdpmmu_vm_destroy(vm);
}

static void test_shared_hugetlb(void)
{
	struct tdpmmu_vm *vm = make_vm();
	struct tdpmmu_memslot huge = { 0, 0, PAGES, TDPMMU_BACKING_SHARED_HUGETLB, 0 };
	struct tdpmmu_vcpu *v;
	int r = tdpmmu_memslot_add(vm, &huge);

	if (r == -ENOMEM) {
		fprintf(stderr, "test_shared_backing: no free 2M huge pages: shared_hugetlb "
				"refused cleanly (-ENOMEM)\n");
		tdpmmu_vm_destroy(vm);
		return;
	}
	REQUIRE(r == 0);
	REQUIRE(tdpmmu_vcpu_create(vm, &v) == 0);
	CHECK_EQ(child_store_seen(vm, v, 600), 2);
	CHECK(maps_shared_memfd(frame_word(vm, 600)));
	tdpmmu_vm_destroy(vm);
}

int main(void)
{
	test_shmem_and_anon();
	test_shared_hugetlb();
	return check_report("test_shared_backing");
}
