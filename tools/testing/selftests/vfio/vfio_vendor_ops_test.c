// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci vendor ops, seen through a device fd: the vendor driver
 * capability of VFIO_DEVICE_GET_INFO, the bounds of the region and
 * interrupt indexes, and config space and BAR access.
 *
 * The device must already be bound to vfio-pci:
 *
 *   VFIO_SELFTESTS_BDF	the device, e.g. 0000:00:04.0
 *   VFIO_EXPECT_VENDOR	the vendor driver expected to drive it, e.g.
 *			vfio_pci_edu, or "none" for plain vfio-pci
 *
 * Without them every test is skipped.
 */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"

/* The size of struct vfio_device_info before it had cap_offset */
#define DEVICE_INFO_V0_SIZE \
	(offsetof(struct vfio_device_info, num_irqs) + sizeof(__u32))

#define SYSFS_PCI_DEVICES	"/sys/bus/pci/devices"
#define VENDOR_NONE		"none"

/* The standard header, compared with sysfs; see config_matches_sysfs. */
#define CONFIG_HEADER_SIZE	64

/* Why VFIO_SET_IOMMU fails with EPERM in a guest */
#define EPERM_HINT \
	" (no interrupt remapping: vfio_iommu_type1.allow_unsafe_interrupts=1?)"

/* More capabilities than any device reports; ends a looping chain. */
#define MAX_CAPS		64

/* Larger than any VFIO_DEVICE_GET_INFO answer can reasonably be. */
#define MAX_INFO_SIZE		65536U

/* QEMU's edu device: identification and liveness registers in BAR0. */
#define EDU_VENDOR		"0x1234"
#define EDU_DEVICE		"0x11e8"
#define EDU_REG_ID		0x00
#define EDU_ID			0x010000edU
#define EDU_REG_LIVENESS	0x04

static const char *bdf;
static const char *expect_vendor;

static bool expect_none(void)
{
	return !strcmp(expect_vendor, VENDOR_NONE);
}

/*
 * Read a device attribute from sysfs into @buf without its trailing newline.
 * Return: 0 or -errno.
 */
static int read_dev_attr(const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s", bdf, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;

	len = read(fd, buf, size - 1);
	if (len < 0) {
		len = -errno;
		close(fd);
		return len;
	}
	close(fd);

	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return 0;
}

/* Return: the device's IOMMU group number, or -errno. */
static int iommu_group_id(void)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *name;
	ssize_t len;
	char *end;
	long id;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/iommu_group", bdf);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = '\0';

	name = strrchr(link, '/');
	name = name ? name + 1 : link;
	errno = 0;
	id = strtol(name, &end, 10);
	if (errno || end == name || *end || id < 0 || id > INT_MAX)
		return -EINVAL;

	return id;
}

static __u32 le32_at(const __u8 *buf, size_t off)
{
	__u32 val;

	memcpy(&val, buf + off, sizeof(val));
	return le32toh(val);
}

FIXTURE(vfio_dev) {
	int container;
	int group;
	int device;
	struct vfio_device_info info;
};

FIXTURE_SETUP(vfio_dev)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int iommu_type = VFIO_TYPE1v2_IOMMU;
	char path[PATH_MAX];
	int group_id;

	self->container = -1;
	self->group = -1;
	self->device = -1;

	group_id = iommu_group_id();
	ASSERT_LE(0, group_id)
		TH_LOG("%s has no IOMMU group: %s", bdf, strerror(-group_id));

	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container)
		TH_LOG("cannot open /dev/vfio/vfio: %s", strerror(errno));
	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(self->container, VFIO_GET_API_VERSION));

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	self->group = open(path, O_RDWR);
	if (self->group < 0 && errno == ENOENT) {
		/* Bound without an IOMMU, in no-IOMMU mode */
		snprintf(path, sizeof(path), "/dev/vfio/noiommu-%d", group_id);
		self->group = open(path, O_RDWR);
		iommu_type = VFIO_NOIOMMU_IOMMU;
	}
	ASSERT_LE(0, self->group)
		TH_LOG("cannot open the group of %s (%s): %s", bdf, path,
		       strerror(errno));

	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_GET_STATUS, &status))
		TH_LOG("VFIO_GROUP_GET_STATUS: %s", strerror(errno));
	ASSERT_TRUE(!!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		TH_LOG("group %d is not viable: bind all its devices to vfio-pci",
		       group_id);

	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container))
		TH_LOG("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	ASSERT_LT(0, ioctl(self->container, VFIO_CHECK_EXTENSION, iommu_type))
		TH_LOG("IOMMU type %d is not supported", iommu_type);
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, iommu_type))
		TH_LOG("VFIO_SET_IOMMU(%d): %s%s", iommu_type, strerror(errno),
		       errno == EPERM ? EPERM_HINT : "");

	self->device = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, self->device)
		TH_LOG("VFIO_GROUP_GET_DEVICE_FD(%s): %s", bdf, strerror(errno));

	self->info.argsz = sizeof(self->info);
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_INFO, &self->info))
		TH_LOG("VFIO_DEVICE_GET_INFO: %s", strerror(errno));
}

FIXTURE_TEARDOWN(vfio_dev)
{
	if (self->device >= 0)
		close(self->device);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
}

TEST_F(vfio_dev, device_info)
{
	const struct vfio_device_info_cap_vendor_driver *vendor = NULL;
	const size_t vendor_size = sizeof(*vendor);
	struct vfio_device_info *info;
	unsigned int vendor_caps = 0;
	__u32 size, off;
	int n;

	EXPECT_TRUE(!!(self->info.flags & VFIO_DEVICE_FLAGS_PCI));
	EXPECT_LE((__u32)VFIO_PCI_NUM_REGIONS, self->info.num_regions);
	EXPECT_LE((__u32)VFIO_PCI_NUM_IRQS, self->info.num_irqs);

	/* The fixture's call had no room for capabilities. */
	info = calloc(1, sizeof(*info));
	ASSERT_NE(NULL, info);
	info->argsz = sizeof(*info);
	info->cap_offset = 0xdeadbeef;
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_INFO, info));

	if (!expect_none()) {
		ASSERT_TRUE(!!(info->flags & VFIO_DEVICE_FLAGS_CAPS))
			TH_LOG("no capabilities, expected the %s vendor capability",
			       expect_vendor);
		ASSERT_LE(sizeof(*info) + vendor_size, info->argsz);
	}

	if (!(info->flags & VFIO_DEVICE_FLAGS_CAPS)) {
		EXPECT_EQ(sizeof(*info), info->argsz);
		free(info);
		return;
	}

	if (info->argsz > sizeof(*info))
		EXPECT_EQ(0U, info->cap_offset)
			TH_LOG("cap_offset set although argsz was too small");

	/* Again with the size the kernel asked for */
	size = info->argsz;
	ASSERT_LE(size, MAX_INFO_SIZE);
	free(info);
	info = calloc(1, size);
	ASSERT_NE(NULL, info);
	info->argsz = size;
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_INFO, info));
	ASSERT_EQ(size, info->argsz);
	ASSERT_TRUE(!!(info->flags & VFIO_DEVICE_FLAGS_CAPS));
	EXPECT_EQ(self->info.num_regions, info->num_regions);
	EXPECT_EQ(self->info.num_irqs, info->num_irqs);
	ASSERT_NE(0U, info->cap_offset);

	off = info->cap_offset;
	for (n = 0; off && n < MAX_CAPS; n++) {
		const struct vfio_info_cap_header *hdr;

		ASSERT_LE(sizeof(*info), off)
			TH_LOG("capability %d at %u overlaps the info", n, off);
		ASSERT_EQ(0UL, off % sizeof(__u32))
			TH_LOG("capability %d at %u is misaligned", n, off);
		ASSERT_LE(off + sizeof(*hdr), size)
			TH_LOG("capability %d at %u is past the end (%u)", n,
			       off, size);
		hdr = (const void *)((const char *)info + off);

		if (hdr->id == VFIO_DEVICE_INFO_CAP_VENDOR_DRIVER) {
			ASSERT_LE(off + vendor_size, size)
				TH_LOG("vendor capability at %u is truncated",
				       off);
			vendor = (const void *)hdr;
			vendor_caps++;
		}
		off = hdr->next;
	}
	ASSERT_EQ(0U, off)
		TH_LOG("capability chain longer than %d entries", MAX_CAPS);

	if (expect_none()) {
		EXPECT_EQ(0U, vendor_caps)
			TH_LOG("plain vfio-pci device reports vendor %.*s",
			       (int)sizeof(vendor->name), vendor->name);
	} else {
		ASSERT_EQ(1U, vendor_caps);
		EXPECT_EQ(1, vendor->header.version);
		ASSERT_NE(NULL, memchr(vendor->name, '\0',
				       sizeof(vendor->name)))
			TH_LOG("vendor name is not NUL-terminated");
		EXPECT_STREQ(expect_vendor, vendor->name);
	}

	free(info);
}

TEST_F(vfio_dev, device_info_old_argsz)
{
	const __u32 old_argsz = DEVICE_INFO_V0_SIZE;
	const __u8 guard = 0xa5;
	struct vfio_device_info *info;
	__u64 buf[(sizeof(*info) + 256) / sizeof(__u64)];
	const __u8 *bytes = (const __u8 *)buf;
	size_t i, dirty = 0;

	memset(buf, guard, sizeof(buf));
	info = (struct vfio_device_info *)buf;
	info->argsz = old_argsz;

	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_INFO, info))
		TH_LOG("VFIO_DEVICE_GET_INFO with argsz %u: %s", old_argsz,
		       strerror(errno));
	EXPECT_TRUE(!!(info->flags & VFIO_DEVICE_FLAGS_PCI));
	EXPECT_EQ(self->info.num_regions, info->num_regions);
	EXPECT_EQ(self->info.num_irqs, info->num_irqs);

	if (!expect_none()) {
		EXPECT_TRUE(!!(info->flags & VFIO_DEVICE_FLAGS_CAPS));
		EXPECT_LT(old_argsz, info->argsz);
		EXPECT_LE(sizeof(*info) +
			  sizeof(struct vfio_device_info_cap_vendor_driver),
			  info->argsz);
	} else if (!(info->flags & VFIO_DEVICE_FLAGS_CAPS)) {
		EXPECT_EQ(old_argsz, info->argsz);
	}

	for (i = old_argsz; i < sizeof(buf); i++) {
		if (bytes[i] != guard) {
			if (!dirty)
				TH_LOG("byte %zu written: %#04x", i, bytes[i]);
			dirty++;
		}
	}
	EXPECT_EQ(0UL, dirty)
		TH_LOG("%zu bytes past argsz %u were written", dirty,
		       old_argsz);
}

TEST_F(vfio_dev, bad_argsz)
{
	static const __u32 bad[] = {
		0, 4, DEVICE_INFO_V0_SIZE - 1,
	};
	struct vfio_device_info info;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&info, 0, sizeof(info));
		info.argsz = bad[i];
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_GET_INFO, &info))
			TH_LOG("argsz %u accepted", bad[i]);
		EXPECT_EQ(EINVAL, errno)
			TH_LOG("argsz %u: %s", bad[i], strerror(errno));
	}
}

TEST_F(vfio_dev, sysfs_vendor)
{
	char name[128];
	int ret;

	ret = read_dev_attr("vfio_vendor_driver", name, sizeof(name));
	ASSERT_EQ(0, ret)
		TH_LOG("cannot read vfio_vendor_driver: %s", strerror(-ret));
	EXPECT_STREQ(expect_vendor, name);
}

TEST_F(vfio_dev, config_matches_sysfs)
{
	/* IDs, revision and class, subsystem IDs; not command/status */
	static const unsigned int words[] = {
		PCI_VENDOR_ID, PCI_CLASS_REVISION, PCI_SUBSYSTEM_VENDOR_ID,
	};
	struct vfio_region_info reg = {
		.argsz = sizeof(reg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	__u8 vcfg[CONFIG_HEADER_SIZE], scfg[CONFIG_HEADER_SIZE];
	char path[PATH_MAX];
	size_t i;
	int fd;

	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_REGION_INFO, &reg))
		TH_LOG("config region info: %s", strerror(errno));
	ASSERT_TRUE(!!(reg.flags & VFIO_REGION_INFO_FLAG_READ));
	ASSERT_LE((__u64)CONFIG_HEADER_SIZE, reg.size);
	ASSERT_EQ(CONFIG_HEADER_SIZE,
		  pread(self->device, vcfg, sizeof(vcfg), reg.offset))
		TH_LOG("reading config space through vfio: %s",
		       strerror(errno));

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/config", bdf);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd)
		TH_LOG("cannot open %s: %s", path, strerror(errno));
	ASSERT_EQ(CONFIG_HEADER_SIZE, pread(fd, scfg, sizeof(scfg), 0))
		TH_LOG("cannot read %s: %s", path, strerror(errno));
	close(fd);

	for (i = 0; i < ARRAY_SIZE(words); i++)
		EXPECT_EQ(le32_at(scfg, words[i]), le32_at(vcfg, words[i]))
			TH_LOG("config dword %#04x: sysfs %#010x, vfio %#010x",
			       words[i], le32_at(scfg, words[i]),
			       le32_at(vcfg, words[i]));
}

TEST_F(vfio_dev, edu_bar0_ident)
{
	static const __u32 patterns[] = { 0x12345678, 0xffffffff, 0xa5a55a5a };
	const __u32 rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	struct vfio_region_info bar = {
		.argsz = sizeof(bar),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	char vendor[16], device[16];
	__u32 val, id;
	__u16 cmd;
	size_t i;

	ASSERT_EQ(0, read_dev_attr("vendor", vendor, sizeof(vendor)));
	ASSERT_EQ(0, read_dev_attr("device", device, sizeof(device)));
	if (strcmp(vendor, EDU_VENDOR) || strcmp(device, EDU_DEVICE))
		SKIP(return, "%s is %s:%s, not an edu device", bdf, vendor,
		     device);

	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_REGION_INFO, &bar))
		TH_LOG("BAR0 region info: %s", strerror(errno));
	ASSERT_EQ(rw, bar.flags & rw);
	ASSERT_LE(EDU_REG_LIVENESS + sizeof(val), bar.size);

	/* BAR accesses fail unless memory decode is enabled. */
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_REGION_INFO, &cfg));
	ASSERT_EQ((ssize_t)sizeof(cmd),
		  pread(self->device, &cmd, sizeof(cmd),
			cfg.offset + PCI_COMMAND));
	if (!(le16toh(cmd) & PCI_COMMAND_MEMORY)) {
		cmd = htole16(le16toh(cmd) | PCI_COMMAND_MEMORY);
		ASSERT_EQ((ssize_t)sizeof(cmd),
			  pwrite(self->device, &cmd, sizeof(cmd),
				 cfg.offset + PCI_COMMAND))
			TH_LOG("enabling memory decode: %s", strerror(errno));
	}

	ASSERT_EQ((ssize_t)sizeof(id),
		  pread(self->device, &id, sizeof(id), bar.offset + EDU_REG_ID))
		TH_LOG("reading BAR0: %s", strerror(errno));
	EXPECT_EQ(EDU_ID, le32toh(id));

	for (i = 0; i < ARRAY_SIZE(patterns); i++) {
		val = htole32(patterns[i]);
		ASSERT_EQ((ssize_t)sizeof(val),
			  pwrite(self->device, &val, sizeof(val),
				 bar.offset + EDU_REG_LIVENESS))
			TH_LOG("writing BAR0: %s", strerror(errno));
		ASSERT_EQ((ssize_t)sizeof(val),
			  pread(self->device, &val, sizeof(val),
				bar.offset + EDU_REG_LIVENESS))
			TH_LOG("reading BAR0: %s", strerror(errno));
		EXPECT_EQ(~patterns[i], le32toh(val));
	}
}

TEST_F(vfio_dev, bad_region_index)
{
	const __u32 bad[] = {
		self->info.num_regions, self->info.num_regions + 1, 0xffffffff,
	};
	struct vfio_region_info reg;
	size_t i;

	/* Controls: config space, and the last device-specific region */
	memset(&reg, 0, sizeof(reg));
	reg.argsz = sizeof(reg);
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	EXPECT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_REGION_INFO, &reg))
		TH_LOG("config region: %s", strerror(errno));
	if (self->info.num_regions > VFIO_PCI_NUM_REGIONS) {
		memset(&reg, 0, sizeof(reg));
		reg.argsz = sizeof(reg);
		reg.index = self->info.num_regions - 1;
		EXPECT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_REGION_INFO,
				   &reg))
			TH_LOG("region %u: %s", reg.index, strerror(errno));
	}

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&reg, 0, sizeof(reg));
		reg.argsz = sizeof(reg);
		reg.index = bad[i];
		errno = 0;
		EXPECT_EQ(-1,
			  ioctl(self->device, VFIO_DEVICE_GET_REGION_INFO, &reg))
			TH_LOG("region %u of %u accepted", bad[i],
			       self->info.num_regions);
		EXPECT_EQ(EINVAL, errno)
			TH_LOG("region %u: %s", bad[i], strerror(errno));
	}
}

/* VFIO_DEVICE_SET_IRQS with DATA_NONE, ACTION_TRIGGER, start 0, count 0 */
static int set_irqs_none(int device, __u32 index)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index,
	};

	return ioctl(device, VFIO_DEVICE_SET_IRQS, &set);
}

TEST_F(vfio_dev, bad_irq_index)
{
	const __u32 bad[] = { self->info.num_irqs, 0xffffffff };
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} efd_set;
	struct vfio_irq_info irq;
	size_t i;
	int efd;

	/* Control: the last index; for plain vfio-pci the request irq */
	memset(&irq, 0, sizeof(irq));
	irq.argsz = sizeof(irq);
	irq.index = self->info.num_irqs - 1;
	EXPECT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_IRQ_INFO, &irq))
		TH_LOG("irq %u: %s", irq.index, strerror(errno));

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&irq, 0, sizeof(irq));
		irq.argsz = sizeof(irq);
		irq.index = bad[i];
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_GET_IRQ_INFO, &irq))
			TH_LOG("irq info %u of %u accepted", bad[i],
			       self->info.num_irqs);
		EXPECT_EQ(EINVAL, errno)
			TH_LOG("irq info %u: %s", bad[i], strerror(errno));
	}

	/*
	 * Control: the request irq takes an eventfd, and the same SET_IRQS
	 * as below, at its index, removes it again.
	 */
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	memset(&efd_set, 0, sizeof(efd_set));
	efd_set.set.argsz = sizeof(efd_set);
	efd_set.set.flags = VFIO_IRQ_SET_DATA_EVENTFD |
			    VFIO_IRQ_SET_ACTION_TRIGGER;
	efd_set.set.index = VFIO_PCI_REQ_IRQ_INDEX;
	efd_set.set.count = 1;
	efd_set.fd = efd;
	EXPECT_EQ(0, ioctl(self->device, VFIO_DEVICE_SET_IRQS, &efd_set))
		TH_LOG("request irq eventfd: %s", strerror(errno));
	EXPECT_EQ(0, set_irqs_none(self->device, VFIO_PCI_REQ_IRQ_INDEX))
		TH_LOG("request irq, no data: %s", strerror(errno));
	close(efd);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, set_irqs_none(self->device, bad[i]))
			TH_LOG("SET_IRQS %u of %u accepted", bad[i],
			       self->info.num_irqs);
		EXPECT_EQ(EINVAL, errno)
			TH_LOG("SET_IRQS %u: %s", bad[i], strerror(errno));
	}
}

int main(int argc, char **argv)
{
	bdf = getenv("VFIO_SELFTESTS_BDF");
	expect_vendor = getenv("VFIO_EXPECT_VENDOR");

	if (!bdf || !*bdf) {
		ksft_print_header();
		ksft_exit_skip("VFIO_SELFTESTS_BDF is not set (a device bound to vfio-pci)\n");
	}
	if (!expect_vendor || !*expect_vendor) {
		ksft_print_header();
		ksft_exit_skip("VFIO_EXPECT_VENDOR is not set (a vendor driver or \"none\")\n");
	}
	if (strlen(expect_vendor) >=
	    sizeof(((struct vfio_device_info_cap_vendor_driver *)0)->name)) {
		ksft_print_header();
		ksft_exit_fail_msg("VFIO_EXPECT_VENDOR is too long: %s\n",
				   expect_vendor);
	}

	return test_harness_run(argc, argv);
}
