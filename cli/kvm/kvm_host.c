/*
 * kvm_host.c - what the host's KVM can do and how it is set up, for the
 * VMM of kvm_vm.c and the benchmark reports: whether /dev/kvm can run our
 * guest (with a one-line reason when not), the kvm module's MMU
 * parameters, and a vCPU's binary statistics (KVM_GET_STATS_FD).
 *
 * Concurrency: no shared state; every call opens and closes what it uses
 * and may run on any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm/kvm_vm.h"

#define KVM_PARAMS "/sys/module/kvm/parameters/"

static int probe_fail(char *why, size_t len, const char *what, int err)
{
	snprintf(why, len, "%s: %s", what, strerror(err));
	return -err;
}

int kvm_probe_path(const char *path, char *why, size_t len)
{
	int kvm, vm = -1, vcpu = -1, r, err = 0;

	kvm = open(path, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return probe_fail(why, len, path, errno);
	r = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		snprintf(why, len, "%s: KVM API version %d, not %d", path, r, KVM_API_VERSION);
		err = -ENOTSUP;
		goto out;
	}
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		snprintf(why, len, "%s: no KVM_CAP_USER_MEMORY", path);
		err = -ENOTSUP;
		goto out;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		err = probe_fail(why, len, "KVM_CREATE_VM", errno);
		goto out;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		err = probe_fail(why, len, "KVM_CREATE_VCPU", errno);
		goto out;
	}
	snprintf(why, len, "ok");
out:
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	close(kvm);
	return err;
}

int kvm_probe(char *why, size_t len)
{
	return kvm_probe_path("/dev/kvm", why, len);
}

/* The first line of @path without its newline; false when unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	buf[0] = '\0';
	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok) {
		buf[0] = '\0';
		return false;
	}
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* A Y/N (or 1/0) parameter: 1, 0, or -1 when missing or odd. */
static int read_bool_param(const char *name)
{
	char path[128], v[16];

	snprintf(path, sizeof(path), KVM_PARAMS "%s", name);
	if (!read_line(path, v, sizeof(v)))
		return -1;
	if (!strcmp(v, "Y") || !strcmp(v, "1"))
		return 1;
	if (!strcmp(v, "N") || !strcmp(v, "0"))
		return 0;
	return -1;
}

static int64_t read_num_param(const char *name)
{
	char path[128], v[32], *end;
	unsigned long long n;

	snprintf(path, sizeof(path), KVM_PARAMS "%s", name);
	if (!read_line(path, v, sizeof(v)))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end)
		return -1;
	return (int64_t)n;
}

void kvm_host_facts_read(struct kvm_host_facts *f)
{
	static const char *const vendors[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
	struct utsname u;
	char path[64];
	int kvm;

	memset(f, 0, sizeof(*f));
	if (!uname(&u))
		snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", vendors[i]);
		if (!access(path, F_OK)) {
			snprintf(f->vendor, sizeof(f->vendor), "%s", vendors[i]);
			break;
		}
	}
	f->tdp = -1;
	if (!strcmp(f->vendor, "kvm_pvm")) {
		f->tdp = 0;
	} else if (f->vendor[0]) {
		char v[16];

		snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", f->vendor,
			 strcmp(f->vendor, "kvm_amd") ? "ept" : "npt");
		if (read_line(path, v, sizeof(v)))
			f->tdp = !strcmp(v, "Y") || !strcmp(v, "1");
	}
	f->tdp_mmu = read_bool_param("tdp_mmu");
	f->eager_page_split = read_bool_param("eager_page_split");
	read_line(KVM_PARAMS "nx_huge_pages", f->nx_huge_pages, sizeof(f->nx_huge_pages));
	f->nx_recovery_ratio = read_num_param("nx_huge_pages_recovery_ratio");
	f->nx_recovery_period_ms = read_num_param("nx_huge_pages_recovery_period_ms");
	f->manual_protect2 = -1;
	f->max_vcpus = -1;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm >= 0) {
		f->manual_protect2 =
			ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
		close(kvm);
	}
	f->max_vcpus = kvm_host_max_vcpus();
}

/*
 * KVM's vCPUs per VM on this host: KVM_CAP_MAX_VCPUS (the build's
 * KVM_MAX_VCPUS: 1024 on x86 unless MAXSMP makes it 4096), else the older
 * KVM_CAP_NR_VCPUS; -1 without /dev/kvm.
 */
int kvm_host_max_vcpus(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), n;

	if (kvm < 0)
		return -1;
	n = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	close(kvm);
	return n > 0 ? n : -1;
}

/* Under -v in --help: the host's KVM limit for the kvm rows, where /dev/kvm is there. */
void kvm_vcpus_help(FILE *f)
{
	int n = kvm_host_max_vcpus();

	if (n > 0)
		fprintf(f,
			"               (kvm rows: %d at most on this host, KVM_CAP_MAX_VCPUS)\n",
			n);
}

/* Which statistic a descriptor's name is, as a field of @st; NULL if none we keep. */
static int64_t *kstat_field(struct kvm_vcpu_kstats *st, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
		{ "exits", offsetof(struct kvm_vcpu_kstats, exits) },
		{ "pf_taken", offsetof(struct kvm_vcpu_kstats, pf_taken) },
		{ "pf_fixed", offsetof(struct kvm_vcpu_kstats, pf_fixed) },
		{ "pf_fast", offsetof(struct kvm_vcpu_kstats, pf_fast) },
		{ "pf_spurious", offsetof(struct kvm_vcpu_kstats, pf_spurious) },
		{ "pf_emulate", offsetof(struct kvm_vcpu_kstats, pf_emulate) },
		{ "io_exits", offsetof(struct kvm_vcpu_kstats, io_exits) },
		{ "insn_emulation", offsetof(struct kvm_vcpu_kstats, insn_emulation) },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, name))
			return (int64_t *)((char *)st + map[i].off);
	return NULL;
}

int kvm_vcpu_kstats_read(int vcpu_fd, struct kvm_vcpu_kstats *st)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsz;
	char *descs = NULL;
	int fd, err = 0;

	st->exits = st->pf_taken = st->pf_fixed = st->pf_fast = -1;
	st->pf_spurious = st->pf_emulate = st->io_exits = st->insn_emulation = -1;
	fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return -errno;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		err = -EIO;
		goto out;
	}
	dsz = sizeof(*d) + h.name_size;
	descs = malloc(dsz * h.num_desc);
	if (!descs) {
		err = -ENOMEM;
		goto out;
	}
	if (pread(fd, descs, dsz * h.num_desc, h.desc_offset) != (ssize_t)(dsz * h.num_desc)) {
		err = -EIO;
		goto out;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		uint64_t v;
		int64_t *field;

		d = (struct kvm_stats_desc *)(descs + i * dsz);
		d->name[h.name_size - 1] = '\0';
		field = kstat_field(st, d->name);
		if (!field || d->size < 1)
			continue;
		if (pread(fd, &v, sizeof(v), h.data_offset + d->offset) != (ssize_t)sizeof(v)) {
			err = -EIO;
			goto out;
		}
		*field = (int64_t)v;
	}
out:
	free(descs);
	close(fd);
	return err;
}
