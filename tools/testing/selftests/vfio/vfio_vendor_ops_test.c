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
 *
 * With the edu sample (VFIO_EXPECT_VENDOR=vfio_pci_edu) the device also has
 * a VFIO_IRQ_TYPE_REMAP_BAR_REGION interrupt, and the remap_* tests drive
 * its handshake with the sample's debugfs switch; they need debugfs at
 * /sys/kernel/debug and change vfio_pci_core's remap_bar_timeout_ms, which
 * they set back to its default.
 *
 * The sample also has the v1 migration region; the mig_* tests drive its
 * protocol, and with VFIO_SELFTESTS_BDF2 (a second edu bound to vfio-pci,
 * in its own group) save the state of one device and restore it into the
 * other.  mig_reset needs a device vfio-pci can reset, such as an edu alone
 * behind a PCI bridge, and is skipped on others.
 *
 * The mig2_* tests drive migration uAPI v2 (VFIO_DEVICE_FEATURE
 * MIG_DEVICE_STATE and its data fds) and the dma_logging_* tests device
 * DMA logging; mig2_bad_arcs and mig2_reset_mid_session need a device
 * vfio-pci can reset, like mig_reset.  The sample reads its trap_bar0
 * parameter when the device is opened: the tests that need BAR0
 * mmap-able until the REMAP_BAR_REGION handshake (remap_*, dirty_*,
 * mig_reset_during_wait, dma_logging_remap) set it to 0, the mig2_* and
 * the other dma_logging_* tests to 1 (its default, QEMU 10's case), each
 * opening the device again when it changes; the fixture puts it back.
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
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

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

/* The size of struct vfio_irq_info before it had cap_offset */
#define IRQ_INFO_V0_SIZE \
	(offsetof(struct vfio_irq_info, count) + sizeof(__u32))

/* Room for any GET_IRQ_INFO answer with its capabilities */
#define IRQ_INFO_SIZE		256

#define EDU_MODULE		"vfio_pci_edu"
#define EDU_DEBUGFS		"/sys/kernel/debug/vfio_pci_edu"
#define REMAP_TIMEOUT_PARAM \
	"/sys/module/vfio_pci_core/parameters/remap_bar_timeout_ms"
#define REMAP_TIMEOUT_DEFAULT	"2000"

/* How long a test waits for the kernel to signal an eventfd */
#define SIGNAL_WAIT_MS		10000

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

/* Write @val to the sysfs or module parameter file @path. Return: 0 or errno. */
static int write_param(const char *path, const char *val)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = errno;
	close(fd);
	return ret;
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

#define EDU_TRAP_PARAM	"/sys/module/vfio_pci_edu/parameters/trap_bar0"

FIXTURE(vfio_dev) {
	int container;
	int group;
	int device;
	struct vfio_device_info info;
	char trap_orig[4];	/* trap_bar0 before a test changed it, or "" */
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
	self->trap_orig[0] = '\0';

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
	if (self->trap_orig[0])
		write_param(EDU_TRAP_PARAM, self->trap_orig);
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

	for (i = 0; i < ARRAY_SIZE(words); i++) {
		EXPECT_EQ(le32_at(scfg, words[i]), le32_at(vcfg, words[i]))
			TH_LOG("config dword %#04x: sysfs %#010x, vfio %#010x",
			       words[i], le32_at(scfg, words[i]),
			       le32_at(vcfg, words[i]));
	}
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

/*
 * GET_IRQ_INFO of @index into @buf (IRQ_INFO_SIZE bytes) with argsz @argsz.
 * Return: the ioctl's result.
 */
static int irq_info(int device, __u32 index, __u32 argsz, void *buf)
{
	struct vfio_irq_info *info = buf;

	memset(buf, 0, IRQ_INFO_SIZE);
	info->argsz = argsz;
	info->index = index;
	return ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, info);
}

/*
 * Find capability @id in the chain of a GET_IRQ_INFO answer of @size bytes.
 * Return: the capability, or NULL (also for a malformed chain).
 */
static const struct vfio_info_cap_header *
irq_cap(const struct vfio_irq_info *info, __u32 size, __u16 id)
{
	const struct vfio_info_cap_header *hdr;
	__u32 off = info->cap_offset;
	int n;

	for (n = 0; off && n < MAX_CAPS; n++) {
		if (off < sizeof(*info) || off % sizeof(__u32) ||
		    off + sizeof(*hdr) > size)
			return NULL;
		hdr = (const void *)((const char *)info + off);
		if (hdr->id == id)
			return hdr;
		off = hdr->next;
	}
	return NULL;
}

static bool expect_remap(void)
{
	return !strcmp(expect_vendor, EDU_MODULE);
}

/* Return: the index of the REMAP_BAR_REGION interrupt, or -1. */
static int remap_index(int device, __u32 num_irqs)
{
	const struct vfio_irq_info_cap_type *type;
	__u64 buf[IRQ_INFO_SIZE / sizeof(__u64)];
	__u32 index;

	for (index = VFIO_PCI_NUM_IRQS; index < num_irqs; index++) {
		if (irq_info(device, index, sizeof(buf), buf))
			continue;
		type = (const void *)irq_cap((void *)buf, sizeof(buf),
					     VFIO_IRQ_INFO_CAP_TYPE);
		if (type && type->type == VFIO_IRQ_TYPE_REMAP_BAR_REGION &&
		    type->subtype == VFIO_IRQ_SUBTYPE_REMAP_BAR_REGION)
			return index;
	}
	return -1;
}

/* The REMAP_BAR_REGION capability of @index; false if there is none. */
static bool remap_state(int device, __u32 index, __u32 *pending,
			__u32 *trapped)
{
	const struct vfio_irq_info_cap_remap_bar *cap;
	__u64 buf[IRQ_INFO_SIZE / sizeof(__u64)];

	if (irq_info(device, index, sizeof(buf), buf))
		return false;
	cap = (const void *)irq_cap((void *)buf, sizeof(buf),
				    VFIO_IRQ_INFO_CAP_REMAP_BAR);
	if (!cap)
		return false;
	*pending = cap->pending;
	*trapped = cap->trapped;
	return true;
}

/* SET_IRQS on @index with an eventfd, or -1 to disable. */
static int set_irq_eventfd(int device, __u32 index, __u32 action, __s32 fd)
{
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} req = {
		.set = {
			.argsz = sizeof(req),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | action,
			.index = index,
			.start = 0,
			.count = 1,
		},
		.fd = fd,
	};

	return ioctl(device, VFIO_DEVICE_SET_IRQS, &req);
}

/* SET_IRQS with DATA_NONE */
static int set_irq_none(int device, __u32 index, __u32 action, __u32 start,
			__u32 count)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | action,
		.index = index,
		.start = start,
		.count = count,
	};

	return ioctl(device, VFIO_DEVICE_SET_IRQS, &set);
}

/* The number of the last remap request, 0 for none (or no capability) */
static __u32 remap_seq(int device, __u32 index)
{
	const struct vfio_irq_info_cap_remap_bar *cap;
	__u64 buf[IRQ_INFO_SIZE / sizeof(__u64)];

	if (irq_info(device, index, sizeof(buf), buf))
		return 0;
	cap = (const void *)irq_cap((void *)buf, sizeof(buf),
				    VFIO_IRQ_INFO_CAP_REMAP_BAR);
	return cap ? cap->seq : 0;
}

/* Acknowledge request @seq. Return: 0, or -1 with errno set. */
static int ack_remap_seq(int device, __u32 seq, __u32 reserved)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_remap_bar_ack ack;
	} req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_SET |
				 VFIO_DEVICE_FEATURE_REMAP_BAR_ACK,
		},
		.ack = { .seq = seq, .reserved = reserved },
	};

	return ioctl(device, VFIO_DEVICE_FEATURE, &req);
}

/* Acknowledge the last request, as userspace following the uAPI does. */
static int ack_remap(int device, __u32 index)
{
	return ack_remap_seq(device, remap_seq(device, index), 0);
}

/* Return: whether child @pid is still running. */
static bool child_running(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

/* Wait for @efd to be signalled and read it. Return: its count, or 0. */
static __u64 wait_eventfd(int efd, int timeout_ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	__u64 count = 0;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return 0;
	if (read(efd, &count, sizeof(count)) != sizeof(count))
		return 0;
	return count;
}

static bool eventfd_quiet(int efd)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}

/* Write @val to the sample's bar0_trapped. Return: 0 or errno. */
static int write_trapped(const char *val)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	snprintf(path, sizeof(path), EDU_DEBUGFS "/%s/bar0_trapped", bdf);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = errno;
	close(fd);
	return ret;
}

/*
 * Close the device fd, which closes the device, and get a new one under the
 * same number, so that copies of it taken before stay right.
 */
static void dev_reopen(struct __test_metadata *_metadata,
		       struct _test_data_vfio_dev *self)
{
	int old = self->device, fd;

	if (old >= 0)
		close(old);
	self->device = -1;
	fd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, fd)
		TH_LOG("VFIO_GROUP_GET_DEVICE_FD(%s): %s", bdf, strerror(errno));
	if (old >= 0 && fd != old) {
		ASSERT_EQ(old, dup2(fd, old));
		close(fd);
		fd = old;
		ASSERT_EQ(0, fcntl(fd, F_SETFD, FD_CLOEXEC));
	}
	self->device = fd;
	self->info.argsz = sizeof(self->info);
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_GET_INFO, &self->info));
}

/*
 * Have BAR0 trapped from open (@trap, trap_bar0=1) or mmap-able until the
 * REMAP_BAR_REGION handshake (trap_bar0=0).  The sample reads trap_bar0
 * when the device is opened: when it changes, the device is opened again.
 * The teardown puts the parameter back.
 */
static void edu_open_trapped(struct __test_metadata *_metadata,
			     struct _test_data_vfio_dev *self, bool trap)
{
	char val[sizeof(self->trap_orig)] = "";
	ssize_t n;
	int fd;

	fd = open(EDU_TRAP_PARAM, O_RDONLY);
	ASSERT_LE(0, fd)
		TH_LOG("cannot open %s: %s", EDU_TRAP_PARAM, strerror(errno));
	n = read(fd, val, sizeof(val) - 1);
	close(fd);
	ASSERT_LT(0, n) TH_LOG("cannot read %s", EDU_TRAP_PARAM);
	val[n] = '\0';
	if ((val[0] == 'Y') == trap)
		return;

	if (!self->trap_orig[0])
		snprintf(self->trap_orig, sizeof(self->trap_orig), "%c", val[0]);
	ASSERT_EQ(0, write_param(EDU_TRAP_PARAM, trap ? "1" : "0"));
	dev_reopen(_metadata, self);
}

/*
 * Trap BAR0 from a child, which first drops the fixture's fds and its copy
 * of @map, so that closing them in the parent really closes the device.
 * The child exits with the errno of the debugfs write, 0 for success.
 */
static pid_t trap_in_child(const int *fds, int nfds, __u32 *map)
{
	pid_t pid = fork();
	int i;

	if (pid)
		return pid;
	if (map)
		munmap(map, getpagesize());
	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	_exit(write_trapped("1"));
}

/* Return: the child's exit status, or -1 if it did not exit normally. */
static int child_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Return: the signal that killed a child reading @addr, or 0. */
static int read_in_child(__u32 *addr, __u32 *val)
{
	int status;
	pid_t pid;

	pid = fork();
	if (!pid)
		_exit(le32toh(*addr) == EDU_ID ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	*val = WEXITSTATUS(status) ? 0 : EDU_ID;
	return 0;
}

static void enable_memory(struct __test_metadata *_metadata, int device)
{
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	__u16 cmd;

	ASSERT_EQ(0, ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg));
	ASSERT_EQ((ssize_t)sizeof(cmd),
		  pread(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND));
	cmd = htole16(le16toh(cmd) | PCI_COMMAND_MEMORY);
	ASSERT_EQ((ssize_t)sizeof(cmd),
		  pwrite(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND));
}

static __u32 bar0_flags(int device)
{
	struct vfio_region_info bar = {
		.argsz = sizeof(bar),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar))
		return 0;
	return bar.flags;
}

TEST_F(vfio_dev, irq_info_caps)
{
	const __u8 guard = 0xa5;
	__u64 buf[IRQ_INFO_SIZE / sizeof(__u64)];
	struct vfio_irq_info *info = (void *)buf;
	const struct vfio_irq_info_cap_type *type;
	const __u8 *bytes = (const __u8 *)buf;
	unsigned int remaps = 0;
	__u32 index, need;
	size_t i;

	if (expect_none())
		EXPECT_EQ((__u32)VFIO_PCI_NUM_IRQS, self->info.num_irqs);

	for (index = 0; index < self->info.num_irqs; index++) {
		bool dev_irq = index >= VFIO_PCI_NUM_IRQS;

		/* Old userspace: argsz ends at count; nothing past it is written */
		memset(buf, guard, sizeof(buf));
		info->argsz = IRQ_INFO_V0_SIZE;
		info->index = index;
		if (ioctl(self->device, VFIO_DEVICE_GET_IRQ_INFO, buf)) {
			/* The error irq exists only on PCI Express */
			ASSERT_EQ((__u32)VFIO_PCI_ERR_IRQ_INDEX, index)
				TH_LOG("irq %u, old argsz: %s", index,
				       strerror(errno));
			continue;
		}
		for (i = IRQ_INFO_V0_SIZE; i < sizeof(buf); i++) {
			ASSERT_EQ(guard, bytes[i])
				TH_LOG("irq %u: byte %zu past the old argsz written",
				       index, i);
		}
		EXPECT_EQ(dev_irq, !!(info->flags & VFIO_IRQ_INFO_FLAG_CAPS))
			TH_LOG("irq %u: flags %#x", index, info->flags);
		if (!dev_irq) {
			EXPECT_EQ(IRQ_INFO_V0_SIZE, info->argsz);
			continue;
		}
		need = info->argsz;
		EXPECT_LE(sizeof(*info) + sizeof(*type), need);

		/* New struct, no room for the chain: the size, no offset */
		ASSERT_EQ(0, irq_info(self->device, index, sizeof(*info), buf));
		EXPECT_EQ(need, info->argsz);
		EXPECT_EQ(0U, info->cap_offset);

		/* Room for it: the chain */
		ASSERT_GE(sizeof(buf), need);
		ASSERT_EQ(0, irq_info(self->device, index, need, buf));
		EXPECT_EQ(need, info->argsz);
		EXPECT_EQ(sizeof(*info), info->cap_offset);
		EXPECT_EQ(0U, info->cap_offset % sizeof(__u64));
		EXPECT_EQ(0U, info->reserved);
		EXPECT_TRUE(!!(info->flags & VFIO_IRQ_INFO_EVENTFD));
		type = (const void *)irq_cap(info, need, VFIO_IRQ_INFO_CAP_TYPE);
		ASSERT_NE(NULL, type)
			TH_LOG("irq %u has no type capability", index);
		EXPECT_EQ(1, type->header.version);
		if (type->type != VFIO_IRQ_TYPE_REMAP_BAR_REGION)
			continue;

		remaps++;
		EXPECT_EQ((__u32)VFIO_IRQ_SUBTYPE_REMAP_BAR_REGION, type->subtype);
		EXPECT_EQ(1U, info->count);
		EXPECT_EQ((__u32)(VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
				  VFIO_IRQ_INFO_AUTOMASKED |
				  VFIO_IRQ_INFO_FLAG_CAPS), info->flags);
		EXPECT_NE(NULL, irq_cap(info, need, VFIO_IRQ_INFO_CAP_REMAP_BAR))
			TH_LOG("remap irq %u has no REMAP_BAR capability", index);
	}

	EXPECT_EQ(expect_remap() ? 1U : 0U, remaps);
}

TEST_F(vfio_dev, remap_set_irqs)
{
	int index = remap_index(self->device, self->info.num_irqs);
	__u32 pending, trapped;
	int efd, null;

	if (!expect_remap()) {
		EXPECT_EQ(-1, index);
		return;
	}
	ASSERT_LE(0, index);
	edu_open_trapped(_metadata, self, false);

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, null);

	/* Enable, loop back, mask, unmask, disable both ways */
	EXPECT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, efd))
		TH_LOG("enable: %s", strerror(errno));
	EXPECT_EQ(0, set_irq_none(self->device, index,
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1));
	EXPECT_EQ(1U, wait_eventfd(efd, SIGNAL_WAIT_MS));
	EXPECT_EQ(0, set_irq_none(self->device, index,
				  VFIO_IRQ_SET_ACTION_MASK, 0, 1));
	EXPECT_EQ(0, set_irq_none(self->device, index,
				  VFIO_IRQ_SET_ACTION_UNMASK, 0, 1));
	EXPECT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, -1))
		TH_LOG("disable with fd -1: %s", strerror(errno));
	EXPECT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	EXPECT_EQ(0, set_irq_none(self->device, index,
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0))
		TH_LOG("disable with count 0: %s", strerror(errno));
	/* Disabled: loopback signals nothing */
	EXPECT_EQ(0, set_irq_none(self->device, index,
				  VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1));
	EXPECT_TRUE(eventfd_quiet(efd));

	/* Bad start, count, fd, flags */
	errno = 0;
	EXPECT_EQ(-1, set_irq_none(self->device, index,
				   VFIO_IRQ_SET_ACTION_UNMASK, 1, 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_none(self->device, index,
				   VFIO_IRQ_SET_ACTION_UNMASK, 0, 2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_none(self->device, index,
				   VFIO_IRQ_SET_ACTION_UNMASK, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_eventfd(self->device, index,
				      VFIO_IRQ_SET_ACTION_TRIGGER, -2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_eventfd(self->device, index,
				      VFIO_IRQ_SET_ACTION_TRIGGER, null))
		TH_LOG("an fd that is not an eventfd was accepted");
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_eventfd(self->device, index,
				      VFIO_IRQ_SET_ACTION_UNMASK, efd))
		TH_LOG("acknowledging through an eventfd was accepted");
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_eventfd(self->device, index,
				      VFIO_IRQ_SET_ACTION_MASK, efd));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_none(self->device, index,
				   VFIO_IRQ_SET_ACTION_MASK |
				   VFIO_IRQ_SET_ACTION_UNMASK, 0, 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_irq_none(self->device, index, 1U << 31, 0, 1));
	EXPECT_EQ(EINVAL, errno);

	/* Nothing was asked: no number acknowledges anything */
	EXPECT_EQ(0U, remap_seq(self->device, index));
	errno = 0;
	EXPECT_EQ(-1, ack_remap_seq(self->device, 0, 0));
	EXPECT_EQ(ESTALE, errno);
	errno = 0;
	EXPECT_EQ(-1, ack_remap_seq(self->device, 1, 0));
	EXPECT_EQ(ESTALE, errno);
	errno = 0;
	EXPECT_EQ(-1, ack_remap_seq(self->device, 0, 1));
	EXPECT_EQ(EINVAL, errno);

	/* None of it asked for anything */
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(0U, pending);
	EXPECT_EQ(0U, trapped);

	close(null);
	close(efd);
}

static off_t bar0_offset(int device)
{
	struct vfio_region_info bar = {
		.argsz = sizeof(bar),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar))
		return -1;
	return bar.offset;
}

/*
 * Setup shared by the handshake tests (self is the vfio_dev fixture's
 * FIXTURE_DATA, spelled out): BAR0 decoding and mapped at @map,
 * the remap irq at @index enabled with eventfd @efd.
 * Return: false when the test is skipped (no sample).
 */
static bool remap_setup(struct __test_metadata *_metadata,
			struct _test_data_vfio_dev *self, int *index,
			__u32 **map, int *efd)
{
	if (!expect_remap())
		SKIP(return false, "no REMAP_BAR_REGION irq without the sample");
	edu_open_trapped(_metadata, self, false);
	*index = remap_index(self->device, self->info.num_irqs);
	ASSERT_LE(0, *index);
	ASSERT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, REMAP_TIMEOUT_DEFAULT));
	enable_memory(_metadata, self->device);
	ASSERT_TRUE(!!(bar0_flags(self->device) & VFIO_REGION_INFO_FLAG_MMAP));
	*map = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->device, bar0_offset(self->device));
	ASSERT_NE(MAP_FAILED, *map)
		TH_LOG("mmap BAR0: %s", strerror(errno));
	ASSERT_EQ(EDU_ID, le32toh(**map));
	*efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, *efd);
	ASSERT_EQ(0, set_irq_eventfd(self->device, *index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, *efd));
	return true;
}

TEST_F(vfio_dev, remap_handshake)
{
	const int fds[] = { self->container, self->group };
	struct vfio_device_ioeventfd ioefd = {
		.argsz = sizeof(ioefd),
		.flags = VFIO_DEVICE_IOEVENTFD_32,
		.data = 1,
	};
	__u32 pending, trapped, val, *map, seq;
	int index, efd;
	pid_t pid;

	if (!remap_setup(_metadata, self, &index, &map, &efd))
		return;

	/* Trap: signalled, BAR0 pending and trapped, then acknowledged */
	pid = trap_in_child(fds, ARRAY_SIZE(fds), map);
	ASSERT_LT(0, pid);
	ASSERT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS))
		TH_LOG("no remap request within %d ms", SIGNAL_WAIT_MS);
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(1U, pending);
	EXPECT_EQ(1U, trapped);
	seq = remap_seq(self->device, index);
	EXPECT_NE(0U, seq);
	/* Asked, not yet enforced: a vCPU on the old mapping keeps running */
	val = 0;
	EXPECT_EQ(0, read_in_child(map, &val))
		TH_LOG("the old mapping faulted before the acknowledgment");
	EXPECT_EQ(EDU_ID, val);
	/* A number that is not this request's completes nothing */
	errno = 0;
	EXPECT_EQ(-1, ack_remap_seq(self->device, seq - 1, 0));
	EXPECT_EQ(ESTALE, errno);
	errno = 0;
	EXPECT_EQ(-1, ack_remap_seq(self->device, seq + 1, 0));
	EXPECT_EQ(ESTALE, errno);
	usleep(100000);
	EXPECT_TRUE(child_running(pid))
		TH_LOG("a stale acknowledgment completed the request");
	EXPECT_FALSE(!!(bar0_flags(self->device) & VFIO_REGION_INFO_FLAG_MMAP))
		TH_LOG("trapped BAR0 still reported mmap-able");
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED,
				   self->device, bar0_offset(self->device)))
		TH_LOG("trapped BAR0 could be mapped again");
	EXPECT_EQ(EINVAL, errno);
	/* Nor may an ioeventfd write to it behind the driver's back */
	ioefd.offset = bar0_offset(self->device) + EDU_REG_LIVENESS;
	ioefd.fd = efd;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->device, VFIO_DEVICE_IOEVENTFD, &ioefd))
		TH_LOG("an ioeventfd was added on trapped BAR0");
	EXPECT_EQ(EBUSY, errno);
	/* read() still reaches it */
	ASSERT_EQ((ssize_t)sizeof(val),
		  pread(self->device, &val, sizeof(val),
			bar0_offset(self->device) + EDU_REG_ID));
	EXPECT_EQ(EDU_ID, le32toh(val));

	EXPECT_EQ(0, ack_remap_seq(self->device, seq, 0))
		TH_LOG("acknowledge: %s", strerror(errno));
	EXPECT_EQ(0, child_status(pid))
		TH_LOG("trapping did not complete after the acknowledgment");
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(0U, pending);
	EXPECT_EQ(1U, trapped);
	/* Enforced now: the old mapping no longer reaches the device */
	EXPECT_EQ(SIGBUS, read_in_child(map, &val))
		TH_LOG("the old mapping of trapped BAR0 still reaches the device");

	/* A second acknowledgment changes nothing */
	EXPECT_EQ(0, ack_remap_seq(self->device, seq, 0));
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(0U, pending);
	EXPECT_EQ(1U, trapped);
	EXPECT_TRUE(eventfd_quiet(efd));

	/* Untrap: announced without waiting; the old mapping works again */
	EXPECT_EQ(0, write_trapped("0"));
	EXPECT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS));
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(1U, pending);
	EXPECT_EQ(0U, trapped);
	EXPECT_TRUE(!!(bar0_flags(self->device) & VFIO_REGION_INFO_FLAG_MMAP));
	val = 0;
	EXPECT_EQ(0, read_in_child(map, &val));
	EXPECT_EQ(EDU_ID, val);
	EXPECT_NE(seq, remap_seq(self->device, index));
	EXPECT_EQ(0, ack_remap(self->device, index));

	/* The first request's number cannot answer the next one */
	pid = trap_in_child(fds, ARRAY_SIZE(fds), map);
	ASSERT_LT(0, pid);
	ASSERT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS));
	errno = 0;
	EXPECT_EQ(-1, ack_remap_seq(self->device, seq, 0));
	EXPECT_EQ(ESTALE, errno);
	usleep(100000);
	EXPECT_TRUE(child_running(pid));
	EXPECT_EQ(0, ack_remap(self->device, index));
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(0, write_trapped("0"));
	EXPECT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS));
	EXPECT_EQ(0, ack_remap(self->device, index));

	munmap(map, getpagesize());
	close(efd);
}

/*
 * Export @len bytes of BAR @bar as a dma-buf (VFIO_DEVICE_FEATURE_DMA_BUF).
 * Return: the dma-buf fd, or -errno.
 */
static int dma_buf_export(int device, __u32 bar, __u64 len)
{
	__u64 buf[(sizeof(struct vfio_device_feature) +
		   sizeof(struct vfio_device_feature_dma_buf) +
		   sizeof(struct vfio_region_dma_range) + 7) / 8] = {};
	struct vfio_device_feature *hdr = (void *)buf;
	struct vfio_device_feature_dma_buf *get = (void *)hdr->data;
	struct vfio_region_dma_range *range = (void *)(get + 1);
	int fd;

	hdr->argsz = sizeof(buf);
	hdr->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF;
	get->region_index = bar;
	get->open_flags = O_RDWR | O_CLOEXEC;
	get->nr_ranges = 1;
	range->offset = 0;
	range->length = len;
	fd = ioctl(device, VFIO_DEVICE_FEATURE, hdr);
	return fd < 0 ? -errno : fd;
}

/*
 * A dma-buf reaches the BAR without the driver, like an mmap: a trapped
 * BAR, or one being trapped, is not exported.  (The test kernel has
 * CONFIG_PCI_P2PDMA, without which there is no dma-buf export at all.)
 */
TEST_F(vfio_dev, dma_buf_trapped)
{
	const int fds[] = { self->container, self->group };
	__u32 pending, trapped, *map;
	int index, efd, dbuf, ret;
	pid_t pid;

	if (!expect_remap())
		SKIP(return, "plain vfio-pci traps no BAR");

	/* Trapped from open */
	edu_open_trapped(_metadata, self, true);
	ret = dma_buf_export(self->device, 0, getpagesize());
	ASSERT_NE(-ENOTTY, ret)
		TH_LOG("no VFIO_DEVICE_FEATURE_DMA_BUF: CONFIG_PCI_P2PDMA?");
	EXPECT_EQ(-EBUSY, ret);
	if (ret >= 0)
		close(ret);

	/* mmap-able: exported */
	if (!remap_setup(_metadata, self, &index, &map, &efd))
		return;
	dbuf = dma_buf_export(self->device, 0, getpagesize());
	ASSERT_LE(0, dbuf)
		TH_LOG("export of mmap-able BAR0: %s", strerror(-dbuf));

	/* Being trapped, then trapped: refused */
	pid = trap_in_child(fds, ARRAY_SIZE(fds), map);
	ASSERT_LT(0, pid);
	ASSERT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS))
		TH_LOG("no remap request within %d ms", SIGNAL_WAIT_MS);
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(1U, pending);
	EXPECT_EQ(-EBUSY, dma_buf_export(self->device, 0, getpagesize()));
	EXPECT_EQ(0, ack_remap_seq(self->device,
				   remap_seq(self->device, index), 0));
	EXPECT_EQ(0, child_status(pid));
	ret = dma_buf_export(self->device, 0, getpagesize());
	EXPECT_EQ(-EBUSY, ret);
	if (ret >= 0)
		close(ret);

	close(dbuf);
	munmap(map, getpagesize());
	close(efd);
}

TEST_F(vfio_dev, remap_not_listening)
{
	int index, efd;
	__u32 *map;

	if (!remap_setup(_metadata, self, &index, &map, &efd))
		return;

	/* Disabled: refused at once, nothing changes */
	ASSERT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, -1));
	EXPECT_EQ(ENOTCONN, write_trapped("1"));
	EXPECT_TRUE(!!(bar0_flags(self->device) & VFIO_REGION_INFO_FLAG_MMAP));
	EXPECT_EQ(EDU_ID, le32toh(*map));

	/* Masked: the same */
	ASSERT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	ASSERT_EQ(0, set_irq_none(self->device, index,
				  VFIO_IRQ_SET_ACTION_MASK, 0, 1));
	EXPECT_EQ(ENOTCONN, write_trapped("1"));
	EXPECT_TRUE(eventfd_quiet(efd));
	EXPECT_EQ(EDU_ID, le32toh(*map));

	munmap(map, getpagesize());
	close(efd);
}

TEST_F(vfio_dev, remap_silent_userspace)
{
	__u32 pending, trapped, val, *map;
	struct timespec t0, t1;
	int index, efd;
	long ms;

	if (!remap_setup(_metadata, self, &index, &map, &efd))
		return;

	EXPECT_EQ(EINVAL, write_param(REMAP_TIMEOUT_PARAM, "0"));
	EXPECT_EQ(EINVAL, write_param(REMAP_TIMEOUT_PARAM, "60001"));
	ASSERT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, "300"));

	/* Nobody answers: the trap times out and is undone */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(ETIMEDOUT, write_trapped("1"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	TH_LOG("unanswered request ended after %ld ms (bound 300 ms)", ms);
	EXPECT_NE(0U, wait_eventfd(efd, 0));
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(1U, pending);
	EXPECT_EQ(0U, trapped);
	EXPECT_TRUE(!!(bar0_flags(self->device) & VFIO_REGION_INFO_FLAG_MMAP));
	EXPECT_EQ(0, read_in_child(map, &val));
	EXPECT_EQ(EDU_ID, val);

	/* Still masked: the next request is refused without waiting */
	EXPECT_EQ(ENOTCONN, write_trapped("1"));
	EXPECT_TRUE(eventfd_quiet(efd));

	/* A late acknowledgment of that request only re-arms it */
	EXPECT_EQ(0, ack_remap(self->device, index));
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(0U, pending);
	EXPECT_EQ(0U, trapped);

	EXPECT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, REMAP_TIMEOUT_DEFAULT));
	munmap(map, getpagesize());
	close(efd);
}

/*
 * A long wait that userspace ends early by @end: "mask", "disable" or
 * "close".
 */
static void remap_wait_ended(struct __test_metadata *_metadata,
			     struct _test_data_vfio_dev *self, const char *end)
{
	const int fds[] = { self->container, self->group, self->device };
	__u32 pending, trapped, val, *map;
	int expect = ECANCELED;
	int index, efd;
	pid_t pid;

	if (!remap_setup(_metadata, self, &index, &map, &efd))
		return;

	/* Longer than the harness would wait: only the early end passes. */
	ASSERT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, "60000"));
	pid = trap_in_child(fds, ARRAY_SIZE(fds), map);
	ASSERT_LT(0, pid);
	ASSERT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS));

	if (!strcmp(end, "mask")) {
		EXPECT_EQ(0, set_irq_none(self->device, index,
					  VFIO_IRQ_SET_ACTION_MASK, 0, 1));
	} else if (!strcmp(end, "disable")) {
		EXPECT_EQ(0, set_irq_eventfd(self->device, index,
					     VFIO_IRQ_SET_ACTION_TRIGGER, -1));
	} else {
		munmap(map, getpagesize());
		map = NULL;
		close(self->device);
		self->device = -1;
		expect = ENODEV;
	}
	EXPECT_EQ(expect, child_status(pid))
		TH_LOG("ending the wait by %s", end);
	EXPECT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, REMAP_TIMEOUT_DEFAULT));

	if (map) {
		/* The trap was undone */
		ASSERT_TRUE(remap_state(self->device, index, &pending,
					&trapped));
		EXPECT_EQ(1U, pending);
		EXPECT_EQ(0U, trapped);
		EXPECT_EQ(0, read_in_child(map, &val));
		EXPECT_EQ(EDU_ID, val);
		munmap(map, getpagesize());
	}
	close(efd);
}

TEST_F(vfio_dev, remap_wait_ended_by_mask)
{
	remap_wait_ended(_metadata, self, "mask");
}

TEST_F(vfio_dev, remap_wait_ended_by_disable)
{
	remap_wait_ended(_metadata, self, "disable");
}

TEST_F(vfio_dev, remap_wait_ended_by_close)
{
	remap_wait_ended(_metadata, self, "close");
}

/* edu registers the sample migrates, and values to tell them apart */
#define EDU_REG_STATUS		0x20
#define EDU_STATUS_IRQFACT	0x80
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90

#define MIG_INFO(field)	offsetof(struct vfio_device_migration_info, field)
#define MIG_RUNNING	VFIO_DEVICE_STATE_V1_RUNNING
#define MIG_SAVING	VFIO_DEVICE_STATE_V1_SAVING
#define MIG_RESUMING	VFIO_DEVICE_STATE_V1_RESUMING
#define MIG_STREAM_MAX	4096

struct mig_region {
	off_t	off;		/* of the region in the device fd */
	__u64	size;
	__u32	flags;
	__u64	area_off;	/* the sparse mmap area */
	__u64	area_size;
};

/* Find the v1 migration region. Return: its index, or -1. */
static int mig_find(int device, __u32 num_regions, struct mig_region *mr)
{
	const struct vfio_region_info_cap_sparse_mmap *sparse;
	const struct vfio_region_info_cap_type *type;
	__u64 buf[512];
	struct vfio_region_info *info = (void *)buf;
	const struct vfio_info_cap_header *hdr;
	__u32 index, off;
	int n;

	for (index = VFIO_PCI_NUM_REGIONS; index < num_regions; index++) {
		memset(buf, 0, sizeof(buf));
		info->argsz = sizeof(buf);
		info->index = index;
		if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info) ||
		    !(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
			continue;

		type = NULL;
		sparse = NULL;
		for (off = info->cap_offset, n = 0;
		     off && off + sizeof(*hdr) <= sizeof(buf) && n < MAX_CAPS;
		     off = hdr->next, n++) {
			hdr = (const void *)((const char *)buf + off);
			if (hdr->id == VFIO_REGION_INFO_CAP_TYPE)
				type = (const void *)hdr;
			else if (hdr->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP)
				sparse = (const void *)hdr;
		}
		if (!type ||
		    type->type != VFIO_REGION_TYPE_MIGRATION_DEPRECATED ||
		    type->subtype != VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED)
			continue;

		mr->off = info->offset;
		mr->size = info->size;
		mr->flags = info->flags;
		mr->area_off = sparse && sparse->nr_areas ? sparse->areas[0].offset : 0;
		mr->area_size = sparse && sparse->nr_areas ? sparse->areas[0].size : 0;
		return index;
	}
	return -1;
}

/* Access @size bytes of the region at @pos. Return: 0 or errno. */
static int mig_rw(int device, const struct mig_region *mr, __u64 pos,
		  void *val, size_t size, bool write)
{
	ssize_t ret;

	if (write)
		ret = pwrite(device, val, size, mr->off + pos);
	else
		ret = pread(device, val, size, mr->off + pos);
	if (ret < 0)
		return errno;
	return ret == (ssize_t)size ? 0 : EIO;
}

static int mig_set(int device, const struct mig_region *mr, __u32 state)
{
	return mig_rw(device, mr, MIG_INFO(device_state), &state,
		      sizeof(state), true);
}

static __u32 mig_get(int device, const struct mig_region *mr)
{
	__u32 state = ~0U;

	mig_rw(device, mr, MIG_INFO(device_state), &state, sizeof(state),
	       false);
	return state;
}

static int mig_read64(int device, const struct mig_region *mr, size_t field,
		      __u64 *val)
{
	return mig_rw(device, mr, field, val, sizeof(*val), false);
}

/*
 * Save the device's state as QEMU 7.2 does, from RUNNING: SAVING|RUNNING,
 * SAVING, read the data, STOP, RUNNING.
 * Return: the stream's length in @buf, or -errno of the failing step.
 */
static ssize_t mig_save(int device, const struct mig_region *mr, void *buf,
			size_t size)
{
	__u64 pending, data_offset, data_size;
	size_t len = 0;
	int ret;

	ret = mig_set(device, mr, MIG_SAVING | MIG_RUNNING);
	if (!ret)
		ret = mig_read64(device, mr, MIG_INFO(pending_bytes), &pending);
	if (!ret && pending)
		ret = EPROTO;	/* no pre-copy data */
	if (!ret)
		ret = mig_set(device, mr, MIG_SAVING);
	while (!ret) {
		ret = mig_read64(device, mr, MIG_INFO(pending_bytes), &pending);
		if (ret || !pending)
			break;
		ret = mig_read64(device, mr, MIG_INFO(data_offset),
				 &data_offset);
		if (!ret)
			ret = mig_read64(device, mr, MIG_INFO(data_size),
					 &data_size);
		if (!ret && (!data_size || len + data_size > size))
			ret = EPROTO;
		if (!ret)
			ret = mig_rw(device, mr, data_offset,
				     (char *)buf + len, data_size, false);
		len += data_size;
	}
	if (!ret)
		ret = mig_set(device, mr, 0);
	if (!ret)
		ret = mig_set(device, mr, MIG_RUNNING);
	return ret ? -ret : (ssize_t)len;
}

/*
 * Restore @len bytes as QEMU 7.2 does: RESUMING, data and data_size,
 * RUNNING.  Return: 0, or the errno of the data_size write (the stream was
 * refused) or of the step that failed.
 */
static int mig_restore(int device, const struct mig_region *mr,
		       const void *buf, size_t len)
{
	__u64 data_offset, size = len;
	int ret;

	ret = mig_set(device, mr, MIG_RESUMING);
	if (!ret)
		ret = mig_read64(device, mr, MIG_INFO(data_offset),
				 &data_offset);
	if (!ret)
		ret = mig_rw(device, mr, data_offset, (void *)buf, len, true);
	if (!ret)
		ret = mig_rw(device, mr, MIG_INFO(data_size), &size,
			     sizeof(size), true);
	if (ret)
		return ret;
	return mig_set(device, mr, MIG_RUNNING);
}

static void bar0_write(struct __test_metadata *_metadata, int device,
		       __u64 reg, __u64 val, size_t size)
{
	__u64 le = htole64(val);

	ASSERT_EQ((ssize_t)size, pwrite(device, &le, size,
					bar0_offset(device) + reg))
		TH_LOG("BAR0 write at %#llx: %s", (unsigned long long)reg,
		       strerror(errno));
}

static __u64 bar0_read(int device, __u64 reg, size_t size)
{
	__u64 val = 0;

	if (pread(device, &val, size, bar0_offset(device) + reg) !=
	    (ssize_t)size)
		return ~0ULL;
	return le64toh(val);
}

TEST_F(vfio_dev, mig_region)
{
	const __u32 want = VFIO_REGION_INFO_FLAG_READ |
			   VFIO_REGION_INFO_FLAG_WRITE |
			   VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
	struct mig_region mr;
	int index = mig_find(self->device, self->info.num_regions, &mr);
	void *data;

	if (!expect_remap()) {
		EXPECT_EQ(-1, index);
		return;
	}
	ASSERT_LE(VFIO_PCI_NUM_REGIONS, index)
		TH_LOG("no v1 migration region");
	EXPECT_EQ(want, mr.flags & want);
	EXPECT_EQ((__u64)getpagesize(), mr.area_off);
	EXPECT_LE(1ULL, mr.area_size);
	EXPECT_EQ(mr.size, mr.area_off + mr.area_size);
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));

	/* Only the data section maps */
	data = mmap(NULL, mr.area_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->device, mr.off + mr.area_off);
	EXPECT_NE(MAP_FAILED, data) TH_LOG("mmap data: %s", strerror(errno));
	if (data != MAP_FAILED)
		munmap(data, mr.area_size);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED,
				   self->device, mr.off));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, mr.area_size + getpagesize(),
				   PROT_READ, MAP_SHARED, self->device,
				   mr.off + mr.area_off));
}

TEST_F(vfio_dev, mig_protocol)
{
	static const __u32 bad_states[] = {
		MIG_RESUMING | MIG_RUNNING, MIG_RESUMING | MIG_SAVING,
		MIG_RESUMING | MIG_SAVING | MIG_RUNNING, 1U << 3, ~0U,
	};
	static const struct { __u64 pos; size_t size; } bad_reads[] = {
		{ MIG_INFO(device_state), 2 }, { MIG_INFO(device_state), 8 },
		{ MIG_INFO(reserved), 4 }, { 2, 4 },
		{ MIG_INFO(pending_bytes), 4 }, { MIG_INFO(pending_bytes) + 4, 4 },
		{ MIG_INFO(data_offset), 4 }, { MIG_INFO(data_size), 2 },
		{ 100, 8 }, { 4000, 8 },
	};
	__u64 val, data_offset, data_size, pending;
	__u8 stream[MIG_STREAM_MAX];
	struct mig_region mr;
	int index;
	ssize_t len;
	size_t i;

	if (!expect_remap())
		SKIP(return, "no migration region without the sample");
	index = mig_find(self->device, self->info.num_regions, &mr);
	ASSERT_LE(0, index);

	/* Bad offsets and sizes on each field; bad writes */
	for (i = 0; i < ARRAY_SIZE(bad_reads); i++) {
		EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, bad_reads[i].pos,
					 &val, bad_reads[i].size, false))
			TH_LOG("read of %zu bytes at %llu", bad_reads[i].size,
			       (unsigned long long)bad_reads[i].pos);
	}
	val = 0;
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, MIG_INFO(pending_bytes),
				 &val, 8, true));
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, MIG_INFO(data_offset),
				 &val, 8, true));
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, mr.size, &val, 8, false));
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, mr.size - 4, &val, 8,
				 false));

	/* Outside SAVING: no pending bytes, no data size, no data */
	EXPECT_EQ(EINVAL, mig_read64(self->device, &mr,
				     MIG_INFO(pending_bytes), &val));
	EXPECT_EQ(EINVAL, mig_read64(self->device, &mr, MIG_INFO(data_size),
				     &val));
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, mr.area_off, &val, 8,
				 false));
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, mr.area_off, &val, 8,
				 true));

	/* Invalid and error states are refused; the state stays */
	for (i = 0; i < ARRAY_SIZE(bad_states); i++) {
		EXPECT_EQ(EINVAL, mig_set(self->device, &mr, bad_states[i]))
			TH_LOG("state %#x accepted", bad_states[i]);
		EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));
	}

	/* QEMU's save: RUNNING, SAVING|RUNNING, SAVING, STOP, RUNNING */
	len = mig_save(self->device, &mr, stream, sizeof(stream));
	ASSERT_LT(0, len) TH_LOG("save: %s", strerror(-len));
	EXPECT_EQ(0x6d554445U, le32toh(*(__u32 *)stream));

	/* The same by hand, reading past data_size */
	ASSERT_EQ(0, mig_set(self->device, &mr, MIG_SAVING));
	ASSERT_EQ(0, mig_read64(self->device, &mr, MIG_INFO(pending_bytes),
				&pending));
	EXPECT_EQ((__u64)len, pending);
	ASSERT_EQ(0, mig_read64(self->device, &mr, MIG_INFO(data_offset),
				&data_offset));
	EXPECT_EQ(mr.area_off, data_offset);
	ASSERT_EQ(0, mig_read64(self->device, &mr, MIG_INFO(data_size),
				&data_size));
	EXPECT_EQ((__u64)len, data_size);
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, data_offset + data_size,
				 &val, 8, false));
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, data_offset + data_size - 4,
				 &val, 8, false));
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, data_offset, &val, 8,
				 true));
	EXPECT_EQ(0, mig_rw(self->device, &mr, data_offset, &val, 8, false));
	EXPECT_EQ(0, mig_read64(self->device, &mr, MIG_INFO(pending_bytes),
				&pending));
	EXPECT_EQ(0ULL, pending);
	/* A failed migration goes back to RUNNING from anywhere */
	EXPECT_EQ(0, mig_set(self->device, &mr, MIG_RUNNING));

	/* STOP first, then SAVING (an HMP stop before migrate) */
	EXPECT_EQ(0, mig_set(self->device, &mr, 0));
	EXPECT_EQ(0, mig_set(self->device, &mr, MIG_SAVING));
	EXPECT_EQ(0, mig_set(self->device, &mr, MIG_SAVING));
	EXPECT_EQ(0, mig_set(self->device, &mr, 0));

	/* RESUMING and out of it with no data, as a cancelled load does */
	EXPECT_EQ(0, mig_set(self->device, &mr, MIG_RESUMING));
	EXPECT_EQ(EINVAL, mig_read64(self->device, &mr,
				     MIG_INFO(pending_bytes), &val));
	val = 0;
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, MIG_INFO(data_size), &val,
				 8, true));
	val = mr.area_size + 1;
	EXPECT_EQ(EINVAL, mig_rw(self->device, &mr, MIG_INFO(data_size), &val,
				 8, true));
	EXPECT_EQ(0, mig_set(self->device, &mr, MIG_RUNNING));

	/* Restoring the device's own state works */
	EXPECT_EQ(0, mig_restore(self->device, &mr, stream, len));
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));
}

/*
 * A reset ends migration: the device runs again, and what was being saved
 * or restored is gone.  edu has no reset of its own; an edu alone behind a
 * bridge is reset through its bus.  The hot reset shows ownership with the
 * group's fd.
 */
TEST_F(vfio_dev, mig_reset)
{
	__u8 buf[sizeof(struct vfio_pci_hot_reset) + sizeof(__s32)];
	struct vfio_pci_hot_reset *hot = (void *)buf;
	__u8 stream[MIG_STREAM_MAX];
	char path[PATH_MAX];
	struct mig_region mr;
	__u64 val;
	ssize_t len;

	if (!expect_remap())
		SKIP(return, "no migration region without the sample");
	if (!(self->info.flags & VFIO_DEVICE_FLAGS_RESET))
		SKIP(return, "%s cannot be reset", bdf);
	ASSERT_LE(0, mig_find(self->device, self->info.num_regions, &mr));
	len = mig_save(self->device, &mr, stream, sizeof(stream));
	ASSERT_LT(8, len) TH_LOG("save: %s", strerror(-len));

	/* VFIO_DEVICE_RESET while the saved state waits to be read */
	ASSERT_EQ(0, mig_set(self->device, &mr, MIG_SAVING));
	ASSERT_EQ(0, mig_read64(self->device, &mr, MIG_INFO(pending_bytes),
				&val));
	EXPECT_EQ((__u64)len, val);
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET))
		TH_LOG("VFIO_DEVICE_RESET: %s", strerror(errno));
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));
	EXPECT_EQ(EINVAL, mig_read64(self->device, &mr,
				     MIG_INFO(pending_bytes), &val));

	/* A hot reset of the bus while part of a stream is restored */
	ASSERT_EQ(0, mig_set(self->device, &mr, MIG_RESUMING));
	ASSERT_EQ(0, mig_read64(self->device, &mr, MIG_INFO(data_offset),
				&val));
	ASSERT_EQ(0, mig_rw(self->device, &mr, val, stream, len - 8, true));
	val = len - 8;
	ASSERT_EQ(0, mig_rw(self->device, &mr, MIG_INFO(data_size), &val,
			    sizeof(val), true));
	EXPECT_EQ(MIG_RESUMING, mig_get(self->device, &mr));
	hot->argsz = sizeof(buf);
	hot->flags = 0;
	hot->count = 1;
	hot->group_fds[0] = self->group;
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_PCI_HOT_RESET, hot))
		TH_LOG("VFIO_DEVICE_PCI_HOT_RESET: %s", strerror(errno));
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));

	/* A reset no vfio ioctl sees, through sysfs, ends it too */
	ASSERT_EQ(0, mig_set(self->device, &mr, MIG_SAVING));
	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/reset", bdf);
	ASSERT_EQ(0, write_param(path, "1"))
		TH_LOG("sysfs reset of %s failed", bdf);
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr))
		TH_LOG("a sysfs reset left the device saving");
	EXPECT_EQ(EINVAL, mig_read64(self->device, &mr,
				     MIG_INFO(pending_bytes), &val));

	/* The device still saves and restores its own state */
	EXPECT_EQ(len, mig_save(self->device, &mr, stream, sizeof(stream)));
	EXPECT_EQ(0, mig_restore(self->device, &mr, stream, len));
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));
}

/*
 * A reset never waits for userspace: here the device_state write that
 * starts pre-copy waits for the BAR remap acknowledgment, and a reset
 * meanwhile returns at once and still ends the migration.
 */
TEST_F(vfio_dev, mig_reset_during_wait)
{
	struct timespec t0, t1;
	struct mig_region mr;
	int index, efd;
	pid_t pid;
	long ms;

	if (!expect_remap())
		SKIP(return, "no migration region without the sample");
	if (!(self->info.flags & VFIO_DEVICE_FLAGS_RESET))
		SKIP(return, "%s cannot be reset", bdf);
	edu_open_trapped(_metadata, self, false);
	index = remap_index(self->device, self->info.num_irqs);
	ASSERT_LE(0, index);
	ASSERT_LE(0, mig_find(self->device, self->info.num_regions, &mr));
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	ASSERT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, "60000"));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(mig_set(self->device, &mr, MIG_SAVING | MIG_RUNNING));
	ASSERT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS))
		TH_LOG("pre-copy asked for no BAR remap");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET))
		TH_LOG("VFIO_DEVICE_RESET: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	TH_LOG("reset returned after %ld ms", ms);
	EXPECT_TRUE(child_running(pid))
		TH_LOG("the reset waited for the device_state write");

	EXPECT_EQ(0, ack_remap(self->device, index));
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr))
		TH_LOG("the reset did not end pre-copy");

	EXPECT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, REMAP_TIMEOUT_DEFAULT));
	EXPECT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, -1));
	close(efd);
}

/* A stream saved from one edu restores into another; bad ones don't. */
TEST_F(vfio_dev, mig_round_trip)
{
	const char *bdf2 = getenv("VFIO_SELFTESTS_BDF2");
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info info2 = { .argsz = sizeof(info2) };
	__u8 stream[MIG_STREAM_MAX], bad[MIG_STREAM_MAX];
	struct mig_region mr1, mr2;
	char path[PATH_MAX + 16], link[PATH_MAX];
	const char *name;
	int group2, dev2;
	ssize_t len, n;
	__u64 before;

	if (!expect_remap() || !bdf2 || !*bdf2)
		SKIP(return, "needs the sample and VFIO_SELFTESTS_BDF2");

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/iommu_group", bdf2);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = '\0';
	name = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", name ? name + 1 : link);
	group2 = open(path, O_RDWR);
	ASSERT_LE(0, group2) TH_LOG("open %s: %s", path, strerror(errno));
	ASSERT_EQ(0, ioctl(group2, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_EQ(0, ioctl(group2, VFIO_GROUP_SET_CONTAINER, &self->container));
	dev2 = ioctl(group2, VFIO_GROUP_GET_DEVICE_FD, bdf2);
	ASSERT_LE(0, dev2) TH_LOG("device %s: %s", bdf2, strerror(errno));
	ASSERT_EQ(0, ioctl(dev2, VFIO_DEVICE_GET_INFO, &info2));

	ASSERT_LE(0, mig_find(self->device, self->info.num_regions, &mr1));
	ASSERT_LE(0, mig_find(dev2, info2.num_regions, &mr2));
	enable_memory(_metadata, self->device);
	enable_memory(_metadata, dev2);

	/* Distinct state on the source, different state on the target */
	bar0_write(_metadata, self->device, EDU_REG_LIVENESS, 0x5a5a1234, 4);
	bar0_write(_metadata, self->device, EDU_REG_STATUS, EDU_STATUS_IRQFACT, 4);
	bar0_write(_metadata, self->device, EDU_REG_DMA_SRC, 0x40000, 8);
	bar0_write(_metadata, self->device, EDU_REG_DMA_DST, 0x123456789000ULL, 8);
	bar0_write(_metadata, self->device, EDU_REG_DMA_COUNT, 0x321, 8);
	bar0_write(_metadata, dev2, EDU_REG_LIVENESS, 0x0f0f0f0f, 4);
	bar0_write(_metadata, dev2, EDU_REG_STATUS, 0, 4);
	bar0_write(_metadata, dev2, EDU_REG_DMA_SRC, 0, 8);
	bar0_write(_metadata, dev2, EDU_REG_DMA_DST, 0, 8);
	bar0_write(_metadata, dev2, EDU_REG_DMA_COUNT, 0, 8);
	before = bar0_read(dev2, EDU_REG_LIVENESS, 4);

	len = mig_save(self->device, &mr1, stream, sizeof(stream));
	ASSERT_LT(0, len) TH_LOG("save: %s", strerror(-len));

	/* Refused: bad magic, version, length, extra and missing bytes */
	memcpy(bad, stream, len);
	bad[0] ^= 0xff;
	EXPECT_EQ(EINVAL, mig_restore(dev2, &mr2, bad, len));
	EXPECT_EQ(0, mig_set(dev2, &mr2, MIG_RUNNING));
	memcpy(bad, stream, len);
	bad[4] ^= 0x01;
	EXPECT_EQ(EINVAL, mig_restore(dev2, &mr2, bad, len));
	EXPECT_EQ(0, mig_set(dev2, &mr2, MIG_RUNNING));
	memcpy(bad, stream, len);
	bad[8] ^= 0x01;
	EXPECT_EQ(EINVAL, mig_restore(dev2, &mr2, bad, len));
	EXPECT_EQ(0, mig_set(dev2, &mr2, MIG_RUNNING));
	memcpy(bad, stream, len);
	bad[12] ^= 0x01;	/* another device version */
	EXPECT_EQ(EINVAL, mig_restore(dev2, &mr2, bad, len));
	EXPECT_EQ(0, mig_set(dev2, &mr2, MIG_RUNNING));
	memcpy(bad, stream, len);
	memset(bad + len, 0, 8);
	EXPECT_EQ(EFBIG, mig_restore(dev2, &mr2, bad, len + 8));
	EXPECT_EQ(0, mig_set(dev2, &mr2, MIG_RUNNING));
	/* Truncated: accepted so far, but RESUMING cannot end with it */
	EXPECT_EQ(EINVAL, mig_restore(dev2, &mr2, stream, len - 8));
	EXPECT_EQ(MIG_RESUMING, mig_get(dev2, &mr2));
	EXPECT_EQ(0, mig_set(dev2, &mr2, MIG_RUNNING))
		TH_LOG("the partial stream was not dropped");

	/* None of that touched the target, which still works */
	EXPECT_EQ(before, bar0_read(dev2, EDU_REG_LIVENESS, 4));
	EXPECT_EQ(0ULL, bar0_read(dev2, EDU_REG_DMA_DST, 8));

	/* The real stream: the target now holds the source's state */
	EXPECT_EQ(0, mig_restore(dev2, &mr2, stream, len));
	EXPECT_EQ(MIG_RUNNING, mig_get(dev2, &mr2));
	EXPECT_EQ(~0x5a5a1234ULL & 0xffffffff,
		  bar0_read(dev2, EDU_REG_LIVENESS, 4));
	EXPECT_EQ((__u64)EDU_STATUS_IRQFACT,
		  bar0_read(dev2, EDU_REG_STATUS, 4) & EDU_STATUS_IRQFACT);
	EXPECT_EQ(0x40000ULL, bar0_read(dev2, EDU_REG_DMA_SRC, 8));
	EXPECT_EQ(0x123456789000ULL, bar0_read(dev2, EDU_REG_DMA_DST, 8));
	EXPECT_EQ(0x321ULL, bar0_read(dev2, EDU_REG_DMA_COUNT, 8));

	close(dev2);
	close(group2);
}

#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_DMA_BUF		0x40000	/* the device's buffer, as DMA sees it */
#define DIRTY_IOVA		0x100000ULL
#define DIRTY_PAGES		16

/* The device may DMA only with bus mastering on. */
static void enable_master(struct __test_metadata *_metadata, int device)
{
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	__u16 cmd;

	ASSERT_EQ(0, ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg));
	ASSERT_EQ((ssize_t)sizeof(cmd),
		  pread(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND));
	cmd = htole16(le16toh(cmd) | PCI_COMMAND_MASTER);
	ASSERT_EQ((ssize_t)sizeof(cmd),
		  pwrite(device, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND));
}

/* Run one edu DMA transfer and wait for it. Return: 0 or -1. */
static int edu_dma(struct __test_metadata *_metadata, int device, __u64 src,
		   __u64 dst, __u64 count, __u64 cmd)
{
	int i;

	bar0_write(_metadata, device, EDU_REG_DMA_SRC, src, 8);
	bar0_write(_metadata, device, EDU_REG_DMA_DST, dst, 8);
	bar0_write(_metadata, device, EDU_REG_DMA_COUNT, count, 8);
	bar0_write(_metadata, device, EDU_REG_DMA_CMD, cmd | EDU_DMA_RUN, 8);
	for (i = 0; i < 100; i++) {
		if (!(bar0_read(device, EDU_REG_DMA_CMD, 8) & EDU_DMA_RUN))
			return 0;
		usleep(50000);
	}
	return -1;
}

/*
 * Read and empty the sample's DMA log into @buf.
 * Return: the number of bytes read, or -1.
 */
static ssize_t read_dma_log(char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), EDU_DEBUGFS "/%s/dma_log", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Whether the log in @log has a line for @npage pages from @iova. */
static bool log_has(const char *log, __u64 iova, unsigned int npage)
{
	char line[64];

	snprintf(line, sizeof(line), "%#llx %u\n", (unsigned long long)iova,
		 npage);
	return strstr(log, line) && (log == strstr(log, line) ||
				     strstr(log, line)[-1] == '\n');
}

/*
 * "Guest memory" for the dirty tests: DIRTY_PAGES pages at DIRTY_IOVA,
 * BAR0 trapped through the handshake, bus mastering on, the log empty.
 */
struct dirty_ctx {
	int	index;
	int	efd;
	__u8	*mem;
	size_t	size;
};

/* Return: false when the test is skipped (no sample). */
static bool dirty_setup(struct __test_metadata *_metadata,
			struct _test_data_vfio_dev *self, struct dirty_ctx *d)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	char log[4096];
	pid_t pid;

	if (!expect_remap())
		SKIP(return false, "no DMA log without the sample");
	edu_open_trapped(_metadata, self, false);
	d->index = remap_index(self->device, self->info.num_irqs);
	ASSERT_LE(0, d->index);
	enable_memory(_metadata, self->device);
	enable_master(_metadata, self->device);

	d->size = DIRTY_PAGES * getpagesize();
	d->mem = mmap(NULL, d->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, d->mem);
	memset(d->mem, 0, d->size);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (__u64)(unsigned long)d->mem;
	map.iova = DIRTY_IOVA;
	map.size = d->size;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map))
		TH_LOG("VFIO_IOMMU_MAP_DMA: %s", strerror(errno));

	ASSERT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, REMAP_TIMEOUT_DEFAULT));
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, d->efd);
	ASSERT_EQ(0, set_irq_eventfd(self->device, d->index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, d->efd));
	pid = trap_in_child(NULL, 0, NULL);
	ASSERT_LT(0, pid);
	ASSERT_NE(0U, wait_eventfd(d->efd, SIGNAL_WAIT_MS));
	ASSERT_EQ(0, ack_remap(self->device, d->index));
	ASSERT_EQ(0, child_status(pid));
	ASSERT_LE(0, read_dma_log(log, sizeof(log)));
	return true;
}

static void dirty_cleanup(struct _test_data_vfio_dev *self,
			  struct dirty_ctx *d)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };

	write_trapped("0");
	unmap.iova = DIRTY_IOVA;
	unmap.size = d->size;
	ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	munmap(d->mem, d->size);
	close(d->efd);
}

/* Wait for the device's DMA to end. Return: 0 or -1. */
static int edu_dma_wait(int device)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!(bar0_read(device, EDU_REG_DMA_CMD, 8) & EDU_DMA_RUN))
			return 0;
		usleep(20000);
	}
	return -1;
}

/*
 * With BAR0 trapped, a DMA from the device to memory is logged, exactly
 * its page, and one the other way is not.  type1 has no pinned page to go
 * by, so it counts every mapped page dirty: more than the device wrote,
 * never less.
 */
TEST_F(vfio_dev, dirty_dma_logged)
{
	struct dirty_ctx d;
	struct vfio_iommu_type1_dirty_bitmap track = { .argsz = sizeof(track) };
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get range;
	} get = { .hdr.argsz = sizeof(get) };
	const __u64 dst = DIRTY_IOVA + 3 * getpagesize() + 16;
	char log[4096];
	__u64 bits = 0;

	if (!dirty_setup(_metadata, self, &d))
		return;
	track.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_DIRTY_PAGES, &track))
		TH_LOG("dirty tracking start: %s", strerror(errno));

	/* A pattern from memory into the device, then back to page 3 */
	memcpy(d.mem, "edu dirty tracking", 18);
	ASSERT_EQ(0, edu_dma(_metadata, self->device, DIRTY_IOVA, EDU_DMA_BUF,
			     64, 0)) TH_LOG("DMA to the device did not end");
	ASSERT_LE(0, read_dma_log(log, sizeof(log)));
	EXPECT_STREQ("", log) TH_LOG("a DMA from memory was logged");
	ASSERT_EQ(0, edu_dma(_metadata, self->device, EDU_DMA_BUF, dst, 64,
			     EDU_DMA_TO_RAM)) TH_LOG("DMA to memory did not end");
	EXPECT_EQ(0, memcmp(d.mem + (dst - DIRTY_IOVA),
			    "edu dirty tracking", 18))
		TH_LOG("the DMA did not reach memory");
	ASSERT_LE(0, read_dma_log(log, sizeof(log)));
	EXPECT_TRUE(log_has(log, DIRTY_IOVA + 3 * getpagesize(), 1))
		TH_LOG("log: %s", log);

	get.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	get.range.iova = DIRTY_IOVA;
	get.range.size = d.size;
	get.range.bitmap.pgsize = getpagesize();
	get.range.bitmap.size = sizeof(bits);
	get.range.bitmap.data = &bits;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_DIRTY_PAGES, &get))
		TH_LOG("dirty bitmap: %s", strerror(errno));
	EXPECT_EQ((1ULL << DIRTY_PAGES) - 1, bits)
		TH_LOG("dirty pages %#llx, expected all", (unsigned long long)bits);

	track.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
	EXPECT_EQ(0, ioctl(self->container, VFIO_IOMMU_DIRTY_PAGES, &track));
	dirty_cleanup(self, &d);
}

/*
 * Every way of writing the command register starts a logged transfer: a
 * 16-byte write of count and command, an 8-byte write at 0x94 whose upper
 * half is the command, a 4-byte write of the command.  Writes that cross
 * into the DMA registers from outside are refused.
 */
TEST_F(vfio_dev, dirty_dma_command_pieces)
{
	struct dirty_ctx d;
	const size_t page = getpagesize();
	__u8 cross[16] = { 0 };
	char log[4096];
	__u64 w[2];
	__u32 cmd;
	int i;

	if (!dirty_setup(_metadata, self, &d))
		return;
	memset(d.mem, 0x5a, 64);
	ASSERT_EQ(0, edu_dma(_metadata, self->device, DIRTY_IOVA, EDU_DMA_BUF,
			     64, 0));

	for (i = 0; i < 3; i++) {
		__u64 dst = DIRTY_IOVA + (5 + i) * page;

		bar0_write(_metadata, self->device, EDU_REG_DMA_SRC,
			   EDU_DMA_BUF, 8);
		bar0_write(_metadata, self->device, EDU_REG_DMA_DST, dst, 8);
		cmd = htole32(EDU_DMA_RUN | EDU_DMA_TO_RAM);
		if (i == 0) {
			w[0] = htole64(64);
			w[1] = htole64(EDU_DMA_RUN | EDU_DMA_TO_RAM);
			ASSERT_EQ(16, pwrite(self->device, w, 16,
					     bar0_offset(self->device) +
					     EDU_REG_DMA_COUNT));
		} else if (i == 1) {
			bar0_write(_metadata, self->device, EDU_REG_DMA_COUNT,
				   64, 8);
			w[0] = htole64((__u64)(EDU_DMA_RUN | EDU_DMA_TO_RAM) << 32);
			ASSERT_EQ(8, pwrite(self->device, w, 8,
					    bar0_offset(self->device) +
					    EDU_REG_DMA_COUNT + 4));
		} else {
			bar0_write(_metadata, self->device, EDU_REG_DMA_COUNT,
				   64, 8);
			ASSERT_EQ(4, pwrite(self->device, &cmd, 4,
					    bar0_offset(self->device) +
					    EDU_REG_DMA_CMD));
		}
		ASSERT_EQ(0, edu_dma_wait(self->device));
		EXPECT_EQ(0x5a, d.mem[(5 + i) * page])
			TH_LOG("write %d: no DMA reached page %d", i, 5 + i);
		ASSERT_LE(0, read_dma_log(log, sizeof(log)));
		EXPECT_TRUE(log_has(log, dst, 1))
			TH_LOG("write %d: page %d not logged: %s", i, 5 + i, log);
	}

	errno = 0;
	EXPECT_EQ(-1, pwrite(self->device, cross, sizeof(cross),
			     bar0_offset(self->device) + EDU_REG_DMA_SRC - 8));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->device, cross, sizeof(cross),
			     bar0_offset(self->device) + EDU_REG_DMA_CMD));
	EXPECT_EQ(EINVAL, errno);
	dirty_cleanup(self, &d);
}

struct dst_flipper {
	int device;
	bool stop;
	__u64 dst[2];
};

static void *flip_dst(void *arg)
{
	struct dst_flipper *f = arg;
	unsigned int i = 0;
	__u64 le;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		le = htole64(f->dst[i++ & 1]);
		pwrite(f->device, &le, 8,
		       bar0_offset(f->device) + EDU_REG_DMA_DST);
	}
	return NULL;
}

/*
 * Another thread rewrites the destination while commands are written:
 * the page the DMA lands on is always the one logged.
 */
TEST_F(vfio_dev, dirty_dma_dst_race)
{
	struct dirty_ctx d;
	const size_t page = getpagesize();
	struct dst_flipper f = { .device = self->device };
	char log[4096];
	pthread_t thread;
	int i, landed;

	if (!dirty_setup(_metadata, self, &d))
		return;
	memset(d.mem, 0x77, 64);
	ASSERT_EQ(0, edu_dma(_metadata, self->device, DIRTY_IOVA, EDU_DMA_BUF,
			     64, 0));
	bar0_write(_metadata, self->device, EDU_REG_DMA_SRC, EDU_DMA_BUF, 8);
	bar0_write(_metadata, self->device, EDU_REG_DMA_COUNT, 64, 8);
	f.dst[0] = DIRTY_IOVA + 9 * page;
	f.dst[1] = DIRTY_IOVA + 10 * page;
	bar0_write(_metadata, self->device, EDU_REG_DMA_DST, f.dst[0], 8);
	ASSERT_EQ(0, pthread_create(&thread, NULL, flip_dst, &f));

	for (i = 0; i < 20; i++) {
		memset(d.mem + 9 * page, 0, 64);
		memset(d.mem + 10 * page, 0, 64);
		bar0_write(_metadata, self->device, EDU_REG_DMA_CMD,
			   EDU_DMA_RUN | EDU_DMA_TO_RAM, 4);
		ASSERT_EQ(0, edu_dma_wait(self->device));
		landed = d.mem[9 * page] == 0x77 ? 9 :
			 d.mem[10 * page] == 0x77 ? 10 : -1;
		ASSERT_NE(-1, landed) TH_LOG("round %d: no page written", i);
		ASSERT_LE(0, read_dma_log(log, sizeof(log)));
		EXPECT_TRUE(log_has(log, DIRTY_IOVA + landed * page, 1))
			TH_LOG("round %d: landed on page %d, log: %s", i,
			       landed, log);
	}
	__atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	dirty_cleanup(self, &d);
}

/*
 * Unmapping the destination while DMA commands come, and invalidating the
 * vaddr (VFIO_DMA_UNMAP_FLAG_VADDR) before one, cannot upset the IOMMU
 * driver: the sample takes no pin.  The kernel log is checked after.
 */
TEST_F(vfio_dev, dirty_dma_unmap_race)
{
	struct dirty_ctx d;
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	const size_t page = getpagesize();
	__u64 iova;
	__u8 *buf;
	int i;

	if (!dirty_setup(_metadata, self, &d))
		return;
	iova = DIRTY_IOVA + d.size;
	buf = mmap(NULL, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	bar0_write(_metadata, self->device, EDU_REG_DMA_SRC, EDU_DMA_BUF, 8);
	bar0_write(_metadata, self->device, EDU_REG_DMA_COUNT, 16, 8);

	for (i = 0; i < 50; i++) {
		map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
		map.vaddr = (__u64)(unsigned long)buf;
		map.iova = iova;
		map.size = page;
		ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
		bar0_write(_metadata, self->device, EDU_REG_DMA_DST, iova, 8);
		bar0_write(_metadata, self->device, EDU_REG_DMA_CMD,
			   EDU_DMA_RUN | EDU_DMA_TO_RAM, 4);
		unmap.flags = 0;
		unmap.iova = iova;
		unmap.size = page;
		ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA,
				   &unmap));
		ASSERT_EQ(0, edu_dma_wait(self->device));
	}

	/* vaddr invalidated, then a command: nothing may pin through it */
	unmap.flags = VFIO_DMA_UNMAP_FLAG_VADDR;
	unmap.iova = DIRTY_IOVA;
	unmap.size = d.size;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		TH_LOG("VFIO_DMA_UNMAP_FLAG_VADDR: %s", strerror(errno));
	bar0_write(_metadata, self->device, EDU_REG_DMA_DST,
		   DIRTY_IOVA + page, 8);
	bar0_write(_metadata, self->device, EDU_REG_DMA_CMD,
		   EDU_DMA_RUN | EDU_DMA_TO_RAM, 4);
	ASSERT_EQ(0, edu_dma_wait(self->device));
	map.flags = VFIO_DMA_MAP_FLAG_VADDR;
	map.vaddr = (__u64)(unsigned long)d.mem;
	map.iova = DIRTY_IOVA;
	map.size = d.size;
	EXPECT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map))
		TH_LOG("restoring the vaddr: %s", strerror(errno));
	munmap(buf, page);
	dirty_cleanup(self, &d);
}

/* Migration uAPI v2: VFIO_DEVICE_FEATURE MIG_DEVICE_STATE and data fds */
#define V2_ERROR		((__u32)VFIO_DEVICE_STATE_ERROR)
#define V2_STOP			((__u32)VFIO_DEVICE_STATE_STOP)
#define V2_RUNNING		((__u32)VFIO_DEVICE_STATE_RUNNING)
#define V2_STOP_COPY		((__u32)VFIO_DEVICE_STATE_STOP_COPY)
#define V2_RESUMING		((__u32)VFIO_DEVICE_STATE_RESUMING)
#define V2_RUNNING_P2P		((__u32)VFIO_DEVICE_STATE_RUNNING_P2P)
#define V2_PRE_COPY		((__u32)VFIO_DEVICE_STATE_PRE_COPY)
#define V2_PRE_COPY_P2P		((__u32)VFIO_DEVICE_STATE_PRE_COPY_P2P)

/* The edu stream, version 2: struct edu_stream of the sample */
#define EDU_STREAM_MAGIC	0x6d554445U
#define EDU_STREAM_VERSION	2
#define EDU_STREAM_OFF_VERSION	4
#define EDU_STREAM_OFF_FLAGS	6
#define EDU_STREAM_OFF_LENGTH	8
#define EDU_STREAM_OFF_ID	12
#define EDU_STREAM_OFF_FACT	28	/* "reserved" in version 1 */

/* More edu registers: the factorial unit and the interrupts */
#define EDU_REG_FACT		0x08
#define EDU_STATUS_COMPUTING	0x01
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64

static const char *mig2_name(__u32 state)
{
	static const char * const names[] = {
		"ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING",
		"RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "(bad state)";
}

/*
 * SET the device state to @state; the data fd the kernel returned, -1 for
 * none, goes to @data_fd.  Return: 0 or errno.
 */
static int mig2_set(int device, __u32 state, int *data_fd)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_mig_state mig;
	} req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_SET |
				 VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		},
		.mig = { .device_state = state, .data_fd = -2 },
	};
	int ret = 0;

	if (ioctl(device, VFIO_DEVICE_FEATURE, &req))
		ret = errno;
	if (data_fd)
		*data_fd = req.mig.data_fd;
	else if (req.mig.data_fd >= 0)
		close(req.mig.data_fd);
	return ret;
}

/* Return: the device state, or ~0U when it cannot be read. */
static __u32 mig2_get(int device)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_mig_state mig;
	} req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		},
		.mig = { .device_state = ~0U, .data_fd = -2 },
	};

	if (ioctl(device, VFIO_DEVICE_FEATURE, &req))
		return ~0U;
	return req.mig.device_state;
}

/* GET VFIO_DEVICE_FEATURE_MIGRATION with @argsz. Return: 0 or errno. */
static int mig2_flags(int device, __u32 argsz, __u64 *flags)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_migration mig;
	} req = {
		.feature = {
			.argsz = argsz,
			.flags = VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIGRATION,
		},
	};

	if (ioctl(device, VFIO_DEVICE_FEATURE, &req))
		return errno;
	*flags = req.mig.flags;
	return 0;
}

/* GET VFIO_DEVICE_FEATURE_MIG_DATA_SIZE. Return: 0 or errno. */
static int mig2_data_size(int device, __u64 *len)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_mig_data_size size;
	} req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
		},
	};

	if (ioctl(device, VFIO_DEVICE_FEATURE, &req))
		return errno;
	*len = req.size.stop_copy_length;
	return 0;
}

/* PROBE a feature with @flags (the feature, GET and/or SET). */
static int feature_probe(int device, __u32 flags)
{
	struct vfio_device_feature probe = {
		.argsz = sizeof(probe),
		.flags = VFIO_DEVICE_FEATURE_PROBE | flags,
	};

	return ioctl(device, VFIO_DEVICE_FEATURE, &probe) ? errno : 0;
}

/*
 * SET @state, which must succeed, return a new data fd when @new_fd and no
 * fd otherwise, and be what GET returns after.  Return: the data fd, or -1.
 */
static int mig2_step(struct __test_metadata *_metadata, int device,
		     __u32 state, bool new_fd)
{
	int fd = -2, ret;

	ret = mig2_set(device, state, &fd);
	ASSERT_EQ(0, ret)
		TH_LOG("SET %s: %s", mig2_name(state), strerror(ret));
	if (new_fd) {
		EXPECT_LE(0, fd)
			TH_LOG("SET %s returned no data fd", mig2_name(state));
	} else {
		EXPECT_EQ(-1, fd)
			TH_LOG("SET %s returned data fd %d", mig2_name(state),
			       fd);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	EXPECT_EQ(state, mig2_get(device))
		TH_LOG("GET after SET %s", mig2_name(state));
	return fd;
}

/*
 * Read a stream from save fd @fd into @buf, @chunks[] bytes at a time in
 * turn, until read() returns 0.  Return: its length, or -errno.
 */
static ssize_t mig2_read_stream(int fd, void *buf, size_t size,
				const size_t *chunks, size_t nchunks)
{
	size_t len = 0, i = 0, want;
	ssize_t n;

	for (;;) {
		want = chunks[i++ % nchunks];
		if (want > size - len)
			want = size - len;
		if (!want)
			return -EFBIG;	/* no end */
		n = read(fd, (char *)buf + len, want);
		if (n < 0)
			return -errno;
		if (!n)
			return len;
		if ((size_t)n > want)
			return -EIO;
		len += n;
	}
}

/*
 * Write @len bytes of a stream to resume fd @fd, @chunks[] bytes at a time
 * in turn.  Return: 0, or the errno of the write that failed.
 */
static int mig2_write_stream(int fd, const void *buf, size_t len,
			     const size_t *chunks, size_t nchunks)
{
	size_t done = 0, i = 0, n;
	ssize_t ret;

	while (done < len) {
		n = chunks[i++ % nchunks];
		if (n > len - done)
			n = len - done;
		ret = write(fd, (const char *)buf + done, n);
		if (ret < 0)
			return errno;
		if ((size_t)ret != n)
			break;
		done += n;
	}
	return done == len ? 0 : EIO;
}

static const size_t mig2_whole[] = { MIG_STREAM_MAX };

/*
 * Save the device's state as QEMU 10 does without pre-copy: RUNNING to
 * STOP_COPY, read to the end, back to RUNNING.
 * Return: the stream's length in @buf, or -errno of the failing step.
 */
static ssize_t mig2_save(int device, void *buf, size_t size)
{
	ssize_t len;
	int fd, ret;

	ret = mig2_set(device, V2_STOP_COPY, &fd);
	if (ret)
		return -ret;
	if (fd < 0)
		return -EBADF;
	len = mig2_read_stream(fd, buf, size, mig2_whole, 1);
	ret = mig2_set(device, V2_RUNNING, NULL);
	close(fd);
	return ret ? -ret : len;
}

/*
 * Restore @len bytes as QEMU 10's destination does: RESUMING, the data,
 * RUNNING.  Return: 0, or the errno of the step that failed.
 */
static int mig2_restore(int device, const void *buf, size_t len)
{
	int fd, ret;

	ret = mig2_set(device, V2_RESUMING, &fd);
	if (!ret && fd < 0)
		ret = EBADF;
	if (ret)
		return ret;
	ret = mig2_write_stream(fd, buf, len, mig2_whole, 1);
	if (!ret)
		ret = mig2_set(device, V2_RUNNING, NULL);
	close(fd);
	return ret;
}

/* Return: the errno of a one-byte read() (@to: write()) of @fd, or 0. */
static int fd_errno(int fd, bool to)
{
	char byte = 0;
	ssize_t n;

	n = to ? write(fd, &byte, 1) : read(fd, &byte, 1);
	return n < 0 ? errno : 0;
}

/* VFIO_MIG_GET_PRECOPY_INFO with @argsz. Return: 0 or errno. */
static int precopy_info(int fd, __u32 argsz, struct vfio_precopy_info *info)
{
	memset(info, 0xff, sizeof(*info));
	info->argsz = argsz;
	info->flags = 0;
	return ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, info) ? errno : 0;
}

/* The registers an edu stream carries, read through BAR0 */
struct edu_regs {
	__u64	liveness;
	__u64	status;
	__u64	irq_status;
	__u64	fact;
	__u64	dma_src;
	__u64	dma_dst;
	__u64	dma_count;
};

static void edu_regs_read(int device, struct edu_regs *r)
{
	r->liveness = bar0_read(device, EDU_REG_LIVENESS, 4);
	r->status = bar0_read(device, EDU_REG_STATUS, 4);
	r->irq_status = bar0_read(device, EDU_REG_IRQ_STATUS, 4);
	r->fact = bar0_read(device, EDU_REG_FACT, 4);
	r->dma_src = bar0_read(device, EDU_REG_DMA_SRC, 8);
	r->dma_dst = bar0_read(device, EDU_REG_DMA_DST, 8);
	r->dma_count = bar0_read(device, EDU_REG_DMA_COUNT, 8);
}

static void edu_regs_expect(struct __test_metadata *_metadata,
			    const struct edu_regs *want,
			    const struct edu_regs *got)
{
	EXPECT_EQ(want->liveness, got->liveness);
	EXPECT_EQ(want->status, got->status)
		TH_LOG("status %#llx, saved %#llx (bit 0: still computing)",
		       (unsigned long long)got->status,
		       (unsigned long long)want->status);
	EXPECT_EQ(want->irq_status, got->irq_status)
		TH_LOG("interrupts %#llx, saved %#llx: raised by the restore?",
		       (unsigned long long)got->irq_status,
		       (unsigned long long)want->irq_status);
	EXPECT_EQ(want->fact, got->fact);
	EXPECT_EQ(want->dma_src, got->dma_src);
	EXPECT_EQ(want->dma_dst, got->dma_dst);
	EXPECT_EQ(want->dma_count, got->dma_count);
}

/* Compute @n! with the factorial unit. Return: what it reads after, or ~0. */
static __u64 edu_factorial(struct __test_metadata *_metadata, int device,
			   __u32 n)
{
	int i;

	bar0_write(_metadata, device, EDU_REG_FACT, n, 4);
	for (i = 0; i < 100; i++) {
		if (!(bar0_read(device, EDU_REG_STATUS, 4) &
		      EDU_STATUS_COMPUTING))
			return bar0_read(device, EDU_REG_FACT, 4);
		usleep(10000);
	}
	return ~0ULL;
}

/*
 * Give the device a state of its own, from @seed, with @n! in the
 * factorial unit and no interrupt raised.  The interrupt-on-factorial bit
 * (@irqfact) is set after the computation, which would raise one.
 */
static void edu_regs_set(struct __test_metadata *_metadata, int device,
			 __u32 seed, __u32 n, bool irqfact)
{
	__u64 irqs;

	bar0_write(_metadata, device, EDU_REG_STATUS, 0, 4);
	ASSERT_NE(~0ULL, edu_factorial(_metadata, device, n))
		TH_LOG("the factorial unit did not finish");
	irqs = bar0_read(device, EDU_REG_IRQ_STATUS, 4);
	if (irqs)
		bar0_write(_metadata, device, EDU_REG_IRQ_ACK, irqs, 4);
	bar0_write(_metadata, device, EDU_REG_LIVENESS, seed, 4);
	bar0_write(_metadata, device, EDU_REG_DMA_SRC, EDU_DMA_BUF, 8);
	bar0_write(_metadata, device, EDU_REG_DMA_DST,
		   (__u64)seed << 12, 8);
	bar0_write(_metadata, device, EDU_REG_DMA_COUNT, seed & 0xfff, 8);
	bar0_write(_metadata, device, EDU_REG_STATUS,
		   irqfact ? EDU_STATUS_IRQFACT : 0, 4);
}

static void stream_put_le32(__u8 *stream, size_t off, __u32 val)
{
	val = htole32(val);
	memcpy(stream + off, &val, sizeof(val));
}

/*
 * The mig2_* tests run with BAR0 trapped from open, as QEMU 10 has it.
 * Return: false when the test is skipped (no sample).
 */
static bool mig2_setup(struct __test_metadata *_metadata,
		       struct _test_data_vfio_dev *self)
{
	if (!expect_remap())
		SKIP(return false, "no migration without the sample");
	edu_open_trapped(_metadata, self, true);
	enable_memory(_metadata, self->device);
	return true;
}

TEST_F(vfio_dev, mig2_features)
{
	const __u64 want = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			   VFIO_MIGRATION_PRE_COPY;
	const __u32 full = sizeof(struct vfio_device_feature) +
			   sizeof(struct vfio_device_feature_migration);
	static const __u32 states[] = {
		V2_RUNNING_P2P, V2_STOP, V2_RESUMING, V2_STOP, V2_RUNNING,
		V2_PRE_COPY, V2_PRE_COPY_P2P, V2_STOP_COPY,
	};
	__u8 stream[MIG_STREAM_MAX];
	__u64 flags = 0, size = 0, size2;
	int fd, save = -1, resume = -1;
	ssize_t len;
	size_t i;

	if (!expect_remap()) {
		/* Plain vfio-pci migrates nothing and logs nothing */
		EXPECT_EQ(ENOTTY, mig2_flags(self->device, full, &flags));
		EXPECT_EQ(ENOTTY, mig2_data_size(self->device, &size));
		EXPECT_EQ(ENOTTY, feature_probe(self->device,
						VFIO_DEVICE_FEATURE_SET |
						VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE));
		EXPECT_EQ(ENOTTY, feature_probe(self->device,
						VFIO_DEVICE_FEATURE_SET |
						VFIO_DEVICE_FEATURE_DMA_LOGGING_START));
		/* Nor does it have the remap interrupt to acknowledge */
		EXPECT_EQ(ENOTTY, feature_probe(self->device,
						VFIO_DEVICE_FEATURE_SET |
						VFIO_DEVICE_FEATURE_REMAP_BAR_ACK));
		return;
	}
	EXPECT_EQ(0, feature_probe(self->device, VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_REMAP_BAR_ACK));
	if (!mig2_setup(_metadata, self))
		return;

	ASSERT_EQ(0, mig2_flags(self->device, full, &flags))
		TH_LOG("GET MIGRATION: %s", strerror(errno));
	EXPECT_EQ(want, flags)
		TH_LOG("migration flags %#llx", (unsigned long long)flags);
	EXPECT_EQ(EINVAL, mig2_flags(self->device, full - 1, &flags));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));

	/* DMA logging, and each feature with the ways it is used */
	EXPECT_EQ(0, feature_probe(self->device, VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_DMA_LOGGING_START))
		TH_LOG("no device DMA logging: QEMU 10 would block migration");
	EXPECT_EQ(0, feature_probe(self->device, VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP));
	EXPECT_EQ(0, feature_probe(self->device, VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT));
	EXPECT_EQ(EINVAL, feature_probe(self->device, VFIO_DEVICE_FEATURE_GET |
					VFIO_DEVICE_FEATURE_DMA_LOGGING_START));
	EXPECT_EQ(0, feature_probe(self->device, VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE));
	EXPECT_EQ(0, feature_probe(self->device, VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_MIG_DATA_SIZE));

	/* The data size: not 0 (QEMU could not migrate), the same in each state */
	ASSERT_EQ(0, mig2_data_size(self->device, &size));
	EXPECT_LT(0ULL, size);
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		fd = mig2_step(_metadata, self->device, states[i],
			       states[i] == V2_RESUMING ||
			       states[i] == V2_PRE_COPY);
		if (states[i] == V2_PRE_COPY)
			save = fd;
		else if (states[i] == V2_RESUMING)
			resume = fd;	/* then RESUMING -> STOP, no data */
		size2 = 0;
		EXPECT_EQ(0, mig2_data_size(self->device, &size2))
			TH_LOG("MIG_DATA_SIZE in %s", mig2_name(states[i]));
		EXPECT_EQ(size, size2)
			TH_LOG("MIG_DATA_SIZE in %s", mig2_name(states[i]));
	}

	/* The stream is no longer than that */
	ASSERT_LE(0, save);
	len = mig2_read_stream(save, stream, sizeof(stream), mig2_whole, 1);
	ASSERT_LT(0, len) TH_LOG("read: %s", strerror(-len));
	EXPECT_LE((__u64)len, size);
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	close(save);
	if (resume >= 0)
		close(resume);
}

/*
 * Save and restore on one device with the v2 protocol: the state comes
 * back, the factorial result too, whatever the pieces the stream is read
 * and written in; and again on the same open device.
 */
TEST_F(vfio_dev, mig2_round_trip)
{
	static const size_t rd[] = { 1, 7, 13 };
	static const size_t wr[] = { 3, 5, 11, 2 };
	__u8 stream[MIG_STREAM_MAX], again[MIG_STREAM_MAX];
	struct edu_regs saved, now;
	ssize_t len, n;
	__u64 size = 0;
	int fd, fd2;

	if (!mig2_setup(_metadata, self))
		return;
	edu_regs_set(_metadata, self->device, 0x5a5a1234, 5, true);
	edu_regs_read(self->device, &saved);
	ASSERT_EQ(120ULL, saved.fact);
	ASSERT_EQ(0ULL, saved.irq_status);
	ASSERT_EQ(0, mig2_data_size(self->device, &size));

	/* RUNNING -> STOP_COPY: read in odd pieces to the end, which stays */
	fd = mig2_step(_metadata, self->device, V2_STOP_COPY, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(EBADF, fd_errno(fd, true))
		TH_LOG("the save fd is writable");
	len = mig2_read_stream(fd, stream, sizeof(stream), rd, ARRAY_SIZE(rd));
	ASSERT_LT(0, len) TH_LOG("read: %s", strerror(-len));
	EXPECT_LE((__u64)len, size);
	EXPECT_EQ(0, read(fd, again, sizeof(again)));
	EXPECT_EQ(0, read(fd, again, 1));
	EXPECT_EQ(EDU_STREAM_MAGIC, le32_at(stream, 0));
	EXPECT_EQ(EDU_STREAM_VERSION,
		  stream[EDU_STREAM_OFF_VERSION] |
		  stream[EDU_STREAM_OFF_VERSION + 1] << 8);
	EXPECT_EQ((__u32)len, le32_at(stream, EDU_STREAM_OFF_LENGTH));
	EXPECT_EQ(120U, le32_at(stream, EDU_STREAM_OFF_FACT))
		TH_LOG("the stream does not carry the factorial result");

	/* STOP_COPY -> STOP ends the session */
	mig2_step(_metadata, self->device, V2_STOP, false);
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);

	/* Running again, with other values */
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	edu_regs_set(_metadata, self->device, 0x0f0f0f0f, 3, false);
	edu_regs_read(self->device, &now);
	ASSERT_EQ(6ULL, now.fact);
	mig2_step(_metadata, self->device, V2_STOP, false);

	/* STOP -> RESUMING: written in other odd pieces; RESUMING -> RUNNING */
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(EBADF, fd_errno(fd, false))
		TH_LOG("the resume fd is readable");
	ASSERT_EQ(0, mig2_write_stream(fd, stream, len, wr, ARRAY_SIZE(wr)));
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	EXPECT_EQ(ENODEV, fd_errno(fd, true));
	close(fd);
	edu_regs_read(self->device, &now);
	edu_regs_expect(_metadata, &saved, &now);

	/*
	 * A second session on the same open device, through combined arcs:
	 * the restored device saves the same stream, STOP_COPY -> RESUMING
	 * ends the save session and starts a resume session.
	 */
	fd = mig2_step(_metadata, self->device, V2_STOP_COPY, true);
	ASSERT_LE(0, fd);
	n = mig2_read_stream(fd, again, sizeof(again), mig2_whole, 1);
	ASSERT_EQ(len, n);
	EXPECT_EQ(0, memcmp(stream, again, len))
		TH_LOG("the restored device saves another state");
	fd2 = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);
	ASSERT_EQ(0, mig2_write_stream(fd2, again, n, mig2_whole, 1));
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	close(fd2);
	edu_regs_read(self->device, &now);
	edu_regs_expect(_metadata, &saved, &now);

	/* A version 1 stream: the factorial stays as the device has it */
	edu_regs_set(_metadata, self->device, 0x0f0f0f0f, 4, false);
	memcpy(again, stream, len);
	again[EDU_STREAM_OFF_VERSION] = 1;
	again[EDU_STREAM_OFF_VERSION + 1] = 0;
	stream_put_le32(again, EDU_STREAM_OFF_FACT, 0);
	EXPECT_EQ(0, mig2_restore(self->device, again, len))
		TH_LOG("a version 1 stream was refused");
	edu_regs_read(self->device, &now);
	saved.fact = 24;
	edu_regs_expect(_metadata, &saved, &now);
}

/* Every arc QEMU 10 takes, each checked with GET */
TEST_F(vfio_dev, mig2_arcs)
{
	__u8 stream[MIG_STREAM_MAX], buf[MIG_STREAM_MAX];
	ssize_t len, n;
	__u64 live;
	int fd;

	if (!mig2_setup(_metadata, self))
		return;
	live = bar0_read(self->device, EDU_REG_LIVENESS, 4);

	/* P2P: RUNNING <-> RUNNING_P2P <-> STOP */
	mig2_step(_metadata, self->device, V2_RUNNING_P2P, false);
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	mig2_step(_metadata, self->device, V2_RUNNING_P2P, false);
	mig2_step(_metadata, self->device, V2_STOP, false);
	mig2_step(_metadata, self->device, V2_RUNNING_P2P, false);
	mig2_step(_metadata, self->device, V2_STOP, false);

	/* STOP -> STOP_COPY -> STOP; no way from STOP_COPY to pre-copy */
	fd = mig2_step(_metadata, self->device, V2_STOP_COPY, true);
	ASSERT_LE(0, fd);
	len = mig2_read_stream(fd, stream, sizeof(stream), mig2_whole, 1);
	ASSERT_LT(0, len) TH_LOG("read: %s", strerror(-len));
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_PRE_COPY, NULL));
	EXPECT_EQ(V2_STOP_COPY, mig2_get(self->device));
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_PRE_COPY_P2P, NULL));
	EXPECT_EQ(V2_STOP_COPY, mig2_get(self->device));
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	mig2_step(_metadata, self->device, V2_STOP, false);
	close(fd);

	/* STOP -> RESUMING -> STOP, with no data (allowed) and with the stream */
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	mig2_step(_metadata, self->device, V2_STOP, false);
	if (fd >= 0)
		close(fd);
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mig2_write_stream(fd, stream, len, mig2_whole, 1));
	mig2_step(_metadata, self->device, V2_STOP, false);
	close(fd);
	mig2_step(_metadata, self->device, V2_RUNNING_P2P, false);
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	EXPECT_EQ(live, bar0_read(self->device, EDU_REG_LIVENESS, 4));

	/*
	 * Pre-copy with P2P, as QEMU does it, one fd throughout:
	 * RUNNING -> PRE_COPY -> PRE_COPY_P2P (the VM stops; it may also
	 * start again: -> PRE_COPY) -> STOP_COPY, which streams the state.
	 */
	fd = mig2_step(_metadata, self->device, V2_PRE_COPY, true);
	ASSERT_LE(0, fd);
	mig2_step(_metadata, self->device, V2_PRE_COPY_P2P, false);
	mig2_step(_metadata, self->device, V2_PRE_COPY, false);
	mig2_step(_metadata, self->device, V2_PRE_COPY_P2P, false);
	mig2_step(_metadata, self->device, V2_STOP_COPY, false);
	n = mig2_read_stream(fd, buf, sizeof(buf), mig2_whole, 1);
	EXPECT_EQ(len, n) TH_LOG("read after pre-copy: %s",
				 n < 0 ? strerror(-n) : "short");
	if (n == len)
		EXPECT_EQ(0, memcmp(stream, buf, len));
	mig2_step(_metadata, self->device, V2_STOP, false);
	close(fd);
	mig2_step(_metadata, self->device, V2_RUNNING, false);

	/* PRE_COPY -> STOP_COPY in one SET keeps the fd too */
	fd = mig2_step(_metadata, self->device, V2_PRE_COPY, true);
	ASSERT_LE(0, fd);
	mig2_step(_metadata, self->device, V2_STOP_COPY, false);
	EXPECT_EQ(len, mig2_read_stream(fd, buf, sizeof(buf), mig2_whole, 1));
	mig2_step(_metadata, self->device, V2_STOP, false);
	close(fd);
	mig2_step(_metadata, self->device, V2_RUNNING, false);

	/* A cancelled migration: PRE_COPY -> RUNNING ends the session */
	fd = mig2_step(_metadata, self->device, V2_PRE_COPY, true);
	ASSERT_LE(0, fd);
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);

	/* ... and PRE_COPY_P2P -> RUNNING_P2P */
	fd = mig2_step(_metadata, self->device, V2_PRE_COPY, true);
	ASSERT_LE(0, fd);
	mig2_step(_metadata, self->device, V2_PRE_COPY_P2P, false);
	mig2_step(_metadata, self->device, V2_RUNNING_P2P, false);
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);

	/* RUNNING_P2P -> PRE_COPY_P2P starts one too */
	fd = mig2_step(_metadata, self->device, V2_PRE_COPY_P2P, true);
	ASSERT_LE(0, fd);
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);

	/* QEMU's destination: RUNNING -> RESUMING, RESUMING -> RUNNING */
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mig2_write_stream(fd, stream, len, mig2_whole, 1));
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	close(fd);
	EXPECT_EQ(live, bar0_read(self->device, EDU_REG_LIVENESS, 4));
}

/*
 * Pre-copy has no data: read() says so with ENOMSG, and the pre-copy
 * ioctl reports nothing to come; both end with STOP_COPY.  The fd does not
 * seek.
 */
TEST_F(vfio_dev, mig2_precopy)
{
	struct vfio_precopy_info info;
	__u8 buf[MIG_STREAM_MAX];
	ssize_t len;
	int fd;

	if (!mig2_setup(_metadata, self))
		return;

	fd = mig2_step(_metadata, self->device, V2_PRE_COPY, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(EBADF, fd_errno(fd, true));

	errno = 0;
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENOMSG, errno) TH_LOG("read in PRE_COPY: %s", strerror(errno));
	ASSERT_EQ(0, precopy_info(fd, sizeof(info), &info))
		TH_LOG("VFIO_MIG_GET_PRECOPY_INFO: %s", strerror(errno));
	EXPECT_EQ(0ULL, info.initial_bytes);
	EXPECT_EQ(0ULL, info.dirty_bytes);
	EXPECT_EQ(EINVAL, precopy_info(fd, offsetof(struct vfio_precopy_info,
						    dirty_bytes), &info));
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, 8, 0));
	EXPECT_EQ(ESPIPE, errno);

	/* The same in PRE_COPY_P2P */
	mig2_step(_metadata, self->device, V2_PRE_COPY_P2P, false);
	errno = 0;
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENOMSG, errno);
	ASSERT_EQ(0, precopy_info(fd, sizeof(info), &info));
	EXPECT_EQ(0ULL, info.initial_bytes);
	EXPECT_EQ(0ULL, info.dirty_bytes);

	/* STOP_COPY: no pre-copy ioctl; no pread, no seek; then the stream */
	mig2_step(_metadata, self->device, V2_STOP_COPY, false);
	EXPECT_EQ(EINVAL, precopy_info(fd, sizeof(info), &info));
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, 8, 0));
	EXPECT_EQ(ESPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	len = mig2_read_stream(fd, buf, sizeof(buf), mig2_whole, 1);
	ASSERT_LT(0, len) TH_LOG("read: %s", strerror(-len));
	EXPECT_EQ(EDU_STREAM_MAGIC, le32_at(buf, 0));
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, precopy_info(fd, sizeof(info), &info));

	mig2_step(_metadata, self->device, V2_STOP, false);
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);
	mig2_step(_metadata, self->device, V2_RUNNING, false);
}

/*
 * Refused arcs and streams.  A stream RESUMING cannot end with leaves the
 * device in ERROR, which only a reset ends: this needs a device vfio-pci
 * can reset, such as an edu alone behind a PCI bridge.
 */
TEST_F_TIMEOUT(vfio_dev, mig2_bad_arcs, 120)
{
	static const __u32 bad[] = {
		V2_ERROR, V2_PRE_COPY_P2P + 1, ~0U,
	};
	__u8 stream[MIG_STREAM_MAX], bad_stream[MIG_STREAM_MAX + 8];
	ssize_t len;
	size_t i;
	int fd;

	if (!mig2_setup(_metadata, self))
		return;
	if (!(self->info.flags & VFIO_DEVICE_FLAGS_RESET))
		SKIP(return, "%s cannot be reset", bdf);

	/* ERROR cannot be asked for, nor a state past the last */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fd = -2;
		EXPECT_EQ(EINVAL, mig2_set(self->device, bad[i], &fd))
			TH_LOG("SET %u", bad[i]);
		EXPECT_EQ(-1, fd);
		EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	}
	mig2_step(_metadata, self->device, V2_STOP, false);
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_ERROR, NULL));
	EXPECT_EQ(V2_STOP, mig2_get(self->device));
	mig2_step(_metadata, self->device, V2_RUNNING, false);

	len = mig2_save(self->device, stream, sizeof(stream));
	ASSERT_LT(8, len) TH_LOG("save: %s", strerror(-len));

	/* Garbage fails write(), and then RESUMING cannot end: ERROR */
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd);
	memset(bad_stream, 0xa5, len);
	errno = 0;
	EXPECT_EQ(-1, write(fd, bad_stream, len));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, write(fd, stream, len))
		TH_LOG("a stream was taken after a refused piece");
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_STOP, NULL));
	EXPECT_EQ(V2_ERROR, mig2_get(self->device));
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_RUNNING, NULL));
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_RESUMING, NULL));
	EXPECT_EQ(V2_ERROR, mig2_get(self->device));
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET))
		TH_LOG("VFIO_DEVICE_RESET: %s", strerror(errno));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	EXPECT_EQ(ENODEV, fd_errno(fd, true));
	close(fd);

	/* Truncated: accepted so far, but RESUMING cannot end with it */
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(len - 8, write(fd, stream, len - 8));
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_STOP, NULL));
	EXPECT_EQ(V2_ERROR, mig2_get(self->device));
	EXPECT_EQ(EINVAL, mig2_set(self->device, V2_RUNNING, NULL));
	EXPECT_EQ(V2_ERROR, mig2_get(self->device));
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	EXPECT_EQ(ENODEV, fd_errno(fd, true));
	close(fd);

	/*
	 * Refused by write(): another version, flags, a factorial value that
	 * no n! has, another device version, another length; and longer than
	 * the stream can be.  A reset gets out of RESUMING.
	 */
	for (i = 0; i < 6; i++) {
		size_t blen = len;
		int want = EINVAL;

		memcpy(bad_stream, stream, len);
		if (i == 0) {
			bad_stream[EDU_STREAM_OFF_VERSION] = 3;
		} else if (i == 1) {
			bad_stream[EDU_STREAM_OFF_FLAGS] = 1;
		} else if (i == 2) {
			stream_put_le32(bad_stream, EDU_STREAM_OFF_FACT, 7);
		} else if (i == 3) {
			bad_stream[EDU_STREAM_OFF_ID + 2] ^= 1;
		} else if (i == 4) {
			bad_stream[EDU_STREAM_OFF_LENGTH] ^= 4;
		} else {
			memset(bad_stream + len, 0, 8);
			blen = len + 8;
			want = EFBIG;
		}
		fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, write(fd, bad_stream, blen))
			TH_LOG("bad stream %zu accepted", i);
		EXPECT_EQ(want, errno)
			TH_LOG("bad stream %zu: %s", i, strerror(errno));
		ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET));
		EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
		close(fd);
	}

	/* Data after a complete stream */
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(len, write(fd, stream, len));
	errno = 0;
	EXPECT_EQ(-1, write(fd, stream, 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	close(fd);

	/* The device still restores its own state */
	EXPECT_EQ(0, mig2_restore(self->device, stream, len));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
}

/*
 * Every reset ends a v2 session: the device runs, and the data fd fails
 * from then on.  Needs a device vfio-pci can reset, like mig_reset.
 */
TEST_F_TIMEOUT(vfio_dev, mig2_reset_mid_session, 120)
{
	__u8 buf[sizeof(struct vfio_pci_hot_reset) + sizeof(__s32)];
	struct vfio_pci_hot_reset *hot = (void *)buf;
	__u8 stream[MIG_STREAM_MAX];
	struct vfio_precopy_info info;
	char path[PATH_MAX];
	__u8 part[7];
	ssize_t len;
	int fd;

	if (!mig2_setup(_metadata, self))
		return;
	if (!(self->info.flags & VFIO_DEVICE_FLAGS_RESET))
		SKIP(return, "%s cannot be reset", bdf);
	len = mig2_save(self->device, stream, sizeof(stream));
	ASSERT_LT(8, len) TH_LOG("save: %s", strerror(-len));

	/* VFIO_DEVICE_RESET in STOP_COPY, part of the stream read */
	fd = mig2_step(_metadata, self->device, V2_STOP_COPY, true);
	ASSERT_LE(0, fd);
	ASSERT_EQ(7, read(fd, part, sizeof(part)));
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET))
		TH_LOG("VFIO_DEVICE_RESET: %s", strerror(errno));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);

	/* ... and in PRE_COPY, where the fd's ioctl fails too */
	fd = mig2_step(_metadata, self->device, V2_PRE_COPY, true);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_RESET));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	EXPECT_EQ(ENODEV, precopy_info(fd, sizeof(info), &info));
	close(fd);

	/* A hot reset of the bus while part of a stream is restored */
	len = mig2_save(self->device, stream, sizeof(stream));
	ASSERT_LT(8, len) TH_LOG("save: %s", strerror(-len));
	fd = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, fd);
	ASSERT_EQ(len - 8, write(fd, stream, len - 8));
	hot->argsz = sizeof(buf);
	hot->flags = 0;
	hot->count = 1;
	hot->group_fds[0] = self->group;
	ASSERT_EQ(0, ioctl(self->device, VFIO_DEVICE_PCI_HOT_RESET, hot))
		TH_LOG("VFIO_DEVICE_PCI_HOT_RESET: %s", strerror(errno));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	EXPECT_EQ(ENODEV, fd_errno(fd, true));
	close(fd);

	/* A reset through sysfs, which no vfio ioctl sees */
	fd = mig2_step(_metadata, self->device, V2_STOP_COPY, true);
	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/reset", bdf);
	ASSERT_EQ(0, write_param(path, "1"))
		TH_LOG("sysfs reset of %s failed", bdf);
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device))
		TH_LOG("a sysfs reset left the device in STOP_COPY");
	EXPECT_EQ(ENODEV, fd_errno(fd, false));
	close(fd);

	/* The device still saves and restores its own state */
	EXPECT_EQ(len, mig2_save(self->device, stream, sizeof(stream)));
	EXPECT_EQ(0, mig2_restore(self->device, stream, len));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
}

/*
 * A data fd holds no reference on the device: closing the device ends
 * the session, the fd fails from then on, and the device opened again
 * runs.
 */
TEST_F(vfio_dev, mig2_close_mid_session)
{
	__u8 stream[MIG_STREAM_MAX];
	int save, resume;

	if (!mig2_setup(_metadata, self))
		return;

	save = mig2_step(_metadata, self->device, V2_STOP_COPY, true);
	ASSERT_LE(0, save);
	ASSERT_EQ(1, read(save, stream, 1));
	close(self->device);
	self->device = -1;
	EXPECT_EQ(ENODEV, fd_errno(save, false))
		TH_LOG("the save fd works after the device was closed");
	dev_reopen(_metadata, self);
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	EXPECT_EQ(ENODEV, fd_errno(save, false))
		TH_LOG("the save fd works again after the device was opened");

	resume = mig2_step(_metadata, self->device, V2_RESUMING, true);
	ASSERT_LE(0, resume);
	close(self->device);
	self->device = -1;
	EXPECT_EQ(ENODEV, fd_errno(resume, true))
		TH_LOG("the resume fd works after the device was closed");
	dev_reopen(_metadata, self);
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
	EXPECT_EQ(ENODEV, fd_errno(resume, true));

	/* A new session works; the old fds close after */
	EXPECT_LT(0, mig2_save(self->device, stream, sizeof(stream)));
	close(save);
	close(resume);
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
}

/*
 * One state for both protocols: while one has the device out of RUNNING,
 * the other may only look (v1: read device_state), and it saves the same
 * stream either way.
 */
TEST_F(vfio_dev, mig2_v1_v2_exclusive)
{
	__u8 stream1[MIG_STREAM_MAX], stream2[MIG_STREAM_MAX];
	ssize_t len1, len2;
	struct mig_region mr;
	int fd = -2;
	__u64 val;

	if (!mig2_setup(_metadata, self))
		return;
	ASSERT_LE(0, mig_find(self->device, self->info.num_regions, &mr));

	/* v2 STOP: the v1 region refuses all but reading device_state */
	mig2_step(_metadata, self->device, V2_STOP, false);
	EXPECT_EQ(EBUSY, mig_set(self->device, &mr, MIG_RUNNING));
	EXPECT_EQ(EBUSY, mig_set(self->device, &mr, MIG_SAVING));
	EXPECT_EQ(EBUSY, mig_read64(self->device, &mr,
				    MIG_INFO(pending_bytes), &val));
	EXPECT_EQ(0U, mig_get(self->device, &mr));
	EXPECT_EQ(V2_STOP, mig2_get(self->device));

	/* and in a v2 session: STOP_COPY is v1's SAVING */
	fd = mig2_step(_metadata, self->device, V2_STOP_COPY, true);
	EXPECT_EQ(EBUSY, mig_set(self->device, &mr, MIG_RUNNING));
	EXPECT_EQ(MIG_SAVING, mig_get(self->device, &mr));
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));

	/* v1 STOP: v2 cannot change the state, v1 goes on */
	ASSERT_EQ(0, mig_set(self->device, &mr, 0));
	fd = -2;
	EXPECT_EQ(EBUSY, mig2_set(self->device, V2_STOP, &fd));
	EXPECT_EQ(-1, fd);
	TH_LOG("v2 GET in a v1 session: %s",
	       mig2_name(mig2_get(self->device)));
	ASSERT_EQ(0, mig_set(self->device, &mr, MIG_SAVING));
	EXPECT_EQ(EBUSY, mig2_set(self->device, V2_STOP_COPY, NULL));
	EXPECT_EQ(MIG_SAVING, mig_get(self->device, &mr));
	ASSERT_EQ(0, mig_set(self->device, &mr, MIG_RUNNING));

	/* Back in RUNNING, each protocol works again, with the same stream */
	mig2_step(_metadata, self->device, V2_STOP, false);
	mig2_step(_metadata, self->device, V2_RUNNING, false);
	len1 = mig_save(self->device, &mr, stream1, sizeof(stream1));
	ASSERT_LT(0, len1) TH_LOG("v1 save: %s", strerror(-len1));
	len2 = mig2_save(self->device, stream2, sizeof(stream2));
	ASSERT_EQ(len1, len2) TH_LOG("v2 save: %s",
				     len2 < 0 ? strerror(-len2) : "length");
	EXPECT_EQ(0, memcmp(stream1, stream2, len1));
	EXPECT_EQ(MIG_RUNNING, mig_get(self->device, &mr));
	EXPECT_EQ(V2_RUNNING, mig2_get(self->device));
}

/* Device DMA logging */
#define LOG_PAGE		4096ULL
#define LOG_RANGES_MAX		64	/* the sample's limit */
#define LOG_OVERFLOW_PAGES	128
#define PAGE_BIT(n)		(1ULL << (n))

/*
 * DMA_LOGGING_START of @n ranges at @page_size; the page size the driver
 * chose goes to @chosen.  Return: 0 or errno.
 */
static int dma_log_start(int device, __u64 page_size,
			 const struct vfio_device_feature_dma_logging_range *r,
			 __u32 n, __u64 *chosen)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_dma_logging_control control;
	} req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_SET |
				 VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		},
		.control = {
			.page_size = page_size,
			.num_ranges = n,
			.ranges = (__u64)(unsigned long)r,
		},
	};

	if (ioctl(device, VFIO_DEVICE_FEATURE, &req))
		return errno;
	if (chosen)
		*chosen = req.control.page_size;
	return 0;
}

static int dma_log_stop(int device)
{
	struct vfio_device_feature stop = {
		.argsz = sizeof(stop),
		.flags = VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
	};

	return ioctl(device, VFIO_DEVICE_FEATURE, &stop) ? errno : 0;
}

/*
 * DMA_LOGGING_REPORT of @length bytes from @iova at @page_size into
 * @bitmap, @words long, emptied first.  Return: 0 or errno.
 */
static int dma_log_report(int device, __u64 iova, __u64 length,
			  __u64 page_size, __u64 *bitmap, size_t words)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_dma_logging_report report;
	} req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
		},
		.report = {
			.iova = iova,
			.length = length,
			.page_size = page_size,
			.bitmap = (__u64)(unsigned long)bitmap,
		},
	};

	memset(bitmap, 0, words * sizeof(*bitmap));
	return ioctl(device, VFIO_DEVICE_FEATURE, &req) ? errno : 0;
}

/* Return: the errno of reading the sample's debugfs DMA log, or 0. */
static int dma_log_debugfs_errno(void)
{
	char log[4096];

	errno = 0;
	return read_dma_log(log, sizeof(log)) < 0 ? errno : 0;
}

/* "Guest memory" for the DMA logging tests, at DIRTY_IOVA */
struct log_ctx {
	__u8	*mem;
	size_t	size;
};

/*
 * Map @pages pages at DIRTY_IOVA, with bus mastering on and BAR0 trapped
 * from open (@trap) or not.  Return: false when the test is skipped.
 */
static bool log_setup(struct __test_metadata *_metadata,
		      struct _test_data_vfio_dev *self, struct log_ctx *l,
		      unsigned int pages, bool trap)
{
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };

	if (!expect_remap())
		SKIP(return false, "no DMA logging without the sample");
	edu_open_trapped(_metadata, self, trap);
	enable_memory(_metadata, self->device);
	enable_master(_metadata, self->device);

	l->size = pages * LOG_PAGE;
	l->mem = mmap(NULL, l->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, l->mem);
	memset(l->mem, 0, l->size);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (__u64)(unsigned long)l->mem;
	map.iova = DIRTY_IOVA;
	map.size = l->size;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map))
		TH_LOG("VFIO_IOMMU_MAP_DMA: %s", strerror(errno));
	return true;
}

static void log_cleanup(struct _test_data_vfio_dev *self, struct log_ctx *l)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };

	unmap.iova = DIRTY_IOVA;
	unmap.size = l->size;
	ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	munmap(l->mem, l->size);
}

/* A pattern from page 0 into the device's buffer, for the DMAs to memory */
static void log_fill_device(struct __test_metadata *_metadata,
			    struct _test_data_vfio_dev *self,
			    struct log_ctx *l)
{
	memcpy(l->mem, "edu device dma logging", 22);
	ASSERT_EQ(0, edu_dma(_metadata, self->device, DIRTY_IOVA, EDU_DMA_BUF,
			     64, 0)) TH_LOG("DMA to the device did not end");
}

/* A DMA of @count bytes to @dst. */
static void log_dma(struct __test_metadata *_metadata,
		    struct _test_data_vfio_dev *self, struct log_ctx *l,
		    __u64 dst, __u64 count)
{
	ASSERT_EQ(0, edu_dma(_metadata, self->device, EDU_DMA_BUF, dst, count,
			     EDU_DMA_TO_RAM))
		TH_LOG("DMA to %#llx did not end", (unsigned long long)dst);
	EXPECT_EQ(0, memcmp(l->mem + (dst - DIRTY_IOVA), "edu device dma",
			    count < 14 ? count : 14))
		TH_LOG("the DMA did not reach %#llx", (unsigned long long)dst);
}

/*
 * The log has exactly the pages the device wrote since the last report of
 * them, at the reporting page size; only the range reported is cleared.
 */
TEST_F(vfio_dev, dma_logging_report)
{
	struct vfio_device_feature_dma_logging_range range = {
		.iova = DIRTY_IOVA,
	};
	struct log_ctx l;
	__u64 bits, chosen = 0;
	int ret;

	if (!log_setup(_metadata, self, &l, DIRTY_PAGES, true))
		return;
	range.length = l.size;
	ASSERT_EQ(0, dma_log_start(self->device, LOG_PAGE, &range, 1,
				   &chosen))
		TH_LOG("DMA_LOGGING_START: %s", strerror(errno));
	EXPECT_EQ(LOG_PAGE, chosen);
	ret = dma_log_report(self->device, DIRTY_IOVA, l.size, LOG_PAGE,
			     &bits, 1);
	ASSERT_EQ(0, ret) TH_LOG("DMA_LOGGING_REPORT: %s%s", strerror(ret),
				 ret == EOPNOTSUPP ?
				 " (no CONFIG_IOMMUFD_DRIVER?)" : "");
	EXPECT_EQ(0ULL, bits);
	EXPECT_EQ(EBUSY, dma_log_debugfs_errno())
		TH_LOG("the debugfs log can be read while logging runs");

	/* From memory into the device: not a write to memory */
	log_fill_device(_metadata, self, &l);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(0ULL, bits) TH_LOG("a DMA from memory was logged");

	/* To page 3, and across pages 9 and 10 */
	log_dma(_metadata, self, &l, DIRTY_IOVA + 3 * LOG_PAGE + 16, 64);
	log_dma(_metadata, self, &l, DIRTY_IOVA + 10 * LOG_PAGE - 32, 64);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(PAGE_BIT(3) | PAGE_BIT(9) | PAGE_BIT(10), bits)
		TH_LOG("dirty %#llx", (unsigned long long)bits);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(0ULL, bits) TH_LOG("not cleared: %#llx",
				     (unsigned long long)bits);

	/* A report of the upper half has and clears only its pages */
	log_dma(_metadata, self, &l, DIRTY_IOVA + 2 * LOG_PAGE, 64);
	log_dma(_metadata, self, &l, DIRTY_IOVA + 12 * LOG_PAGE, 64);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA + 8 * LOG_PAGE,
				    8 * LOG_PAGE, LOG_PAGE, &bits, 1));
	/*
	 * The command to page 2 logged the transfer to pages 9 and 10 again,
	 * since a report could have come before that transfer landed.
	 */
	EXPECT_EQ(PAGE_BIT(9 - 8) | PAGE_BIT(10 - 8) | PAGE_BIT(12 - 8), bits)
		TH_LOG("upper half dirty %#llx", (unsigned long long)bits);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(PAGE_BIT(2), bits)
		TH_LOG("dirty %#llx after the upper half was reported",
		       (unsigned long long)bits);

	/* At 8 KiB: pages 8 and 9 are one bit, 12 and 13 another */
	log_dma(_metadata, self, &l, DIRTY_IOVA + 9 * LOG_PAGE - 32, 64);
	log_dma(_metadata, self, &l, DIRTY_IOVA + 13 * LOG_PAGE, 64);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    2 * LOG_PAGE, &bits, 1));
	EXPECT_EQ(PAGE_BIT(4) | PAGE_BIT(6), bits)
		TH_LOG("dirty 8 KiB pages %#llx", (unsigned long long)bits);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(0ULL, bits);

	/* One start at a time; the log goes on */
	EXPECT_EQ(EBUSY, dma_log_start(self->device, LOG_PAGE, &range, 1,
				       NULL));
	log_dma(_metadata, self, &l, DIRTY_IOVA + 13 * LOG_PAGE + 64, 64);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(PAGE_BIT(13), bits);

	/* Stopped: nothing to report, the debugfs log reads again */
	EXPECT_EQ(0, dma_log_stop(self->device));
	EXPECT_EQ(EINVAL, dma_log_report(self->device, DIRTY_IOVA, l.size,
					 LOG_PAGE, &bits, 1));
	EXPECT_EQ(0, dma_log_debugfs_errno());

	/* And it starts again */
	ASSERT_EQ(0, dma_log_start(self->device, LOG_PAGE, &range, 1, NULL));
	log_dma(_metadata, self, &l, DIRTY_IOVA + 13 * LOG_PAGE + 128, 64);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(PAGE_BIT(13), bits);
	EXPECT_EQ(0, dma_log_stop(self->device));
	log_cleanup(self, &l);
}

/* Bad starts and reports are refused, and start nothing */
TEST_F(vfio_dev, dma_logging_bad)
{
	struct vfio_device_feature_dma_logging_range r[LOG_RANGES_MAX + 1];
	__u64 bits[2], chosen = 0;
	unsigned int i;

	if (!expect_remap())
		SKIP(return, "no DMA logging without the sample");
	edu_open_trapped(_metadata, self, true);

	/* Page sizes: none, not a power of two */
	r[0].iova = DIRTY_IOVA;
	r[0].length = 4 * LOG_PAGE;
	EXPECT_EQ(EINVAL, dma_log_start(self->device, 0, r, 1, NULL));
	EXPECT_EQ(EINVAL, dma_log_start(self->device, 3 * LOG_PAGE, r, 1,
					NULL));

	/* A range not aligned to the page size, at either end */
	r[0].iova = DIRTY_IOVA + 512;
	EXPECT_EQ(EINVAL, dma_log_start(self->device, LOG_PAGE, r, 1, NULL));
	r[0].iova = DIRTY_IOVA;
	r[0].length = 4 * LOG_PAGE + 512;
	EXPECT_EQ(EINVAL, dma_log_start(self->device, LOG_PAGE, r, 1, NULL));

	/* Overlapping ranges; no range */
	r[0].length = 2 * LOG_PAGE;
	r[1].iova = DIRTY_IOVA + LOG_PAGE;
	r[1].length = 2 * LOG_PAGE;
	EXPECT_EQ(EINVAL, dma_log_start(self->device, LOG_PAGE, r, 2, NULL));
	EXPECT_EQ(EINVAL, dma_log_start(self->device, LOG_PAGE, r, 0, NULL));

	/* None of that started the log */
	EXPECT_EQ(EINVAL, dma_log_report(self->device, DIRTY_IOVA,
					 4 * LOG_PAGE, LOG_PAGE, bits, 1));

	/*
	 * More ranges than the sample tracks: the uAPI promises a page of
	 * them, so they are merged, not refused
	 */
	for (i = 0; i <= LOG_RANGES_MAX; i++) {
		r[i].iova = DIRTY_IOVA + 2 * i * LOG_PAGE;
		r[i].length = LOG_PAGE;
	}
	EXPECT_EQ(0, dma_log_start(self->device, LOG_PAGE, r,
				   LOG_RANGES_MAX + 1, NULL));
	EXPECT_EQ(0, dma_log_stop(self->device));

	/* As many ranges as it tracks */
	ASSERT_EQ(0, dma_log_start(self->device, LOG_PAGE, r, LOG_RANGES_MAX,
				   &chosen))
		TH_LOG("%d ranges: %s", LOG_RANGES_MAX, strerror(errno));
	EXPECT_EQ(LOG_PAGE, chosen);

	/* Reports at page sizes below 4 KiB or not a power of two */
	EXPECT_EQ(EINVAL, dma_log_report(self->device, DIRTY_IOVA,
					 4 * LOG_PAGE, LOG_PAGE / 2, bits, 1));
	EXPECT_EQ(EINVAL, dma_log_report(self->device, DIRTY_IOVA,
					 12 * LOG_PAGE, 3 * LOG_PAGE, bits, 1));
	EXPECT_EQ(0, dma_log_report(self->device, DIRTY_IOVA,
				    2 * LOG_RANGES_MAX * LOG_PAGE, LOG_PAGE,
				    bits, 2));
	EXPECT_EQ(0ULL, bits[0]);
	EXPECT_EQ(0ULL, bits[1]);
	EXPECT_EQ(0, dma_log_stop(self->device));
}

/*
 * More transfers between two reports than the sample logs: every tracked
 * page is reported dirty, once.
 */
TEST_F_TIMEOUT(vfio_dev, dma_logging_overflow, 120)
{
	struct vfio_device_feature_dma_logging_range range = {
		.iova = DIRTY_IOVA,
	};
	__u64 bits[LOG_OVERFLOW_PAGES / 64];
	struct log_ctx l;
	unsigned int i;

	if (!log_setup(_metadata, self, &l, LOG_OVERFLOW_PAGES, true))
		return;
	range.length = l.size;
	ASSERT_EQ(0, dma_log_start(self->device, LOG_PAGE, &range, 1, NULL))
		TH_LOG("DMA_LOGGING_START: %s", strerror(errno));
	log_fill_device(_metadata, self, &l);

	for (i = 1; i <= LOG_RANGES_MAX + 1; i++)
		log_dma(_metadata, self, &l, DIRTY_IOVA + i * LOG_PAGE, 8);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, bits, ARRAY_SIZE(bits)));
	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		EXPECT_EQ(~0ULL, bits[i])
			TH_LOG("word %u: %#llx", i, (unsigned long long)bits[i]);
	}
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, bits, ARRAY_SIZE(bits)));
	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		EXPECT_EQ(0ULL, bits[i])
			TH_LOG("word %u: %#llx", i, (unsigned long long)bits[i]);
	}
	EXPECT_EQ(0, dma_log_stop(self->device));
	log_cleanup(self, &l);
}

/*
 * With BAR0 mmap-able (trap_bar0=0), the start asks userspace through the
 * REMAP_BAR_REGION interrupt: refused when nobody listens, done once the
 * request is acknowledged, and the log then works.
 */
TEST_F(vfio_dev, dma_logging_remap)
{
	struct vfio_device_feature_dma_logging_range range = {
		.iova = DIRTY_IOVA,
	};
	__u32 pending, trapped;
	struct log_ctx l;
	int index, efd;
	__u64 bits;
	pid_t pid;

	if (!log_setup(_metadata, self, &l, DIRTY_PAGES, false))
		return;
	range.length = l.size;
	index = remap_index(self->device, self->info.num_irqs);
	ASSERT_LE(0, index);
	ASSERT_EQ(0, write_param(REMAP_TIMEOUT_PARAM, REMAP_TIMEOUT_DEFAULT));
	EXPECT_TRUE(!!(bar0_flags(self->device) & VFIO_REGION_INFO_FLAG_MMAP));

	/* Nobody listens */
	EXPECT_EQ(ENOTCONN, dma_log_start(self->device, LOG_PAGE, &range, 1,
					  NULL));
	EXPECT_EQ(EINVAL, dma_log_report(self->device, DIRTY_IOVA, l.size,
					 LOG_PAGE, &bits, 1));

	/* Listening: the start waits for the acknowledgment */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, efd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(dma_log_start(self->device, LOG_PAGE, &range, 1, NULL));
	ASSERT_NE(0U, wait_eventfd(efd, SIGNAL_WAIT_MS))
		TH_LOG("DMA_LOGGING_START asked for no BAR remap");
	ASSERT_TRUE(remap_state(self->device, index, &pending, &trapped));
	EXPECT_EQ(1U, pending);
	EXPECT_EQ(1U, trapped);
	usleep(100000);
	EXPECT_TRUE(child_running(pid))
		TH_LOG("DMA_LOGGING_START did not wait for the acknowledgment");
	EXPECT_EQ(0, ack_remap(self->device, index));
	EXPECT_EQ(0, child_status(pid));
	EXPECT_FALSE(!!(bar0_flags(self->device) & VFIO_REGION_INFO_FLAG_MMAP));

	log_fill_device(_metadata, self, &l);
	log_dma(_metadata, self, &l, DIRTY_IOVA + 4 * LOG_PAGE, 64);
	ASSERT_EQ(0, dma_log_report(self->device, DIRTY_IOVA, l.size,
				    LOG_PAGE, &bits, 1));
	EXPECT_EQ(PAGE_BIT(4), bits);
	EXPECT_EQ(0, dma_log_stop(self->device));

	EXPECT_EQ(0, set_irq_eventfd(self->device, index,
				     VFIO_IRQ_SET_ACTION_TRIGGER, -1));
	close(efd);
	log_cleanup(self, &l);
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
