// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-state: set or show, through VFIO, the edu registers that the sample
 * vendor driver migrates.  The migration tests set them on the source
 * device before QEMU takes it and read them on the destination after.
 *
 *   edu-state BDF set LIVENESS DMA_DST DMA_COUNT
 *   edu-state BDF fact N
 *   edu-state BDF get
 *
 * "set" defines the whole state the sample carries but the factorial:
 * besides the three values it clears the interrupt-on-factorial bit,
 * acknowledges every raised interrupt and zeroes DMA_SRC, so that what an
 * earlier test left there (an interrupt raised with no driver to take it)
 * does not come along.  "fact" writes N to the factorial register, waits
 * for the device to finish (status bit 0x01 clear) and prints
 * "factorial=<N! mod 2^32>" as the register then reads.  "get" prints one
 * line: liveness=... status=... irq_status=... factorial=... dma_src=...
 * dma_dst=... dma_count=...  (liveness is what the register reads: the
 * complement of what was written; status only its interrupt-on-factorial
 * bit 0x80; factorial in decimal).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

static void die(const char *what)
{
	fprintf(stderr, "edu-state: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t region_offset(int dev, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("VFIO_DEVICE_GET_REGION_INFO");
	return ri.offset;
}

static void rw(int dev, uint64_t off, void *val, size_t size, int write)
{
	ssize_t n = write ? pwrite(dev, val, size, off) :
			    pread(dev, val, size, off);

	if (n != (ssize_t)size)
		die(write ? "BAR0 write" : "BAR0 read");
}

#define EDU_REG_FACT		0x08
#define EDU_REG_STATUS		0x20
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64
#define EDU_STATUS_COMPUTING	0x01

/* Wait (up to 5 s) until the factorial unit is idle. */
static void fact_wait(int dev, uint64_t bar0)
{
	struct timespec ts = { .tv_nsec = 1000000 };
	uint32_t status;
	int i;

	for (i = 0; i < 5000; i++) {
		rw(dev, bar0 + EDU_REG_STATUS, &status, 4, 0);
		if (!(status & EDU_STATUS_COMPUTING))
			return;
		nanosleep(&ts, NULL);
	}
	errno = ETIMEDOUT;
	die("factorial still computing after 5 s");
}

int main(int argc, char **argv)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	char path[PATH_MAX], link[PATH_MAX];
	uint64_t bar0, cfg, dst, count, v64;
	int container, group, dev;
	uint32_t live, v32;
	uint16_t cmd;
	ssize_t n;

	if (argc < 3 ||
	    !((!strcmp(argv[2], "get") && argc == 3) ||
	      (!strcmp(argv[2], "set") && argc == 6) ||
	      (!strcmp(argv[2], "fact") && argc == 4))) {
		fprintf(stderr, "usage: edu-state BDF get | edu-state BDF set LIVENESS DMA_DST DMA_COUNT | edu-state BDF fact N\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", argv[1]);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path);
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));

	container = open("/dev/vfio/vfio", O_RDWR);
	group = open(path, O_RDWR);
	if (container < 0 || group < 0)
		die("open container/group");
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group not viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("container setup");
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (dev < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");

	cfg = region_offset(dev, VFIO_PCI_CONFIG_REGION_INDEX);
	bar0 = region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX);
	if (pread(dev, &cmd, 2, cfg + PCI_COMMAND) != 2)
		die("config read");
	cmd |= PCI_COMMAND_MEMORY;
	if (pwrite(dev, &cmd, 2, cfg + PCI_COMMAND) != 2)
		die("config write");

	if (!strcmp(argv[2], "set")) {
		live = strtoul(argv[3], NULL, 0);
		dst = strtoull(argv[4], NULL, 0);
		count = strtoull(argv[5], NULL, 0);
		rw(dev, bar0 + 0x04, &live, 4, 1);
		v32 = 0;
		rw(dev, bar0 + EDU_REG_STATUS, &v32, 4, 1);
		rw(dev, bar0 + EDU_REG_IRQ_STATUS, &v32, 4, 0);
		rw(dev, bar0 + EDU_REG_IRQ_ACK, &v32, 4, 1);
		v64 = 0;
		rw(dev, bar0 + 0x80, &v64, 8, 1);
		rw(dev, bar0 + 0x88, &dst, 8, 1);
		rw(dev, bar0 + 0x90, &count, 8, 1);
	} else if (!strcmp(argv[2], "fact")) {
		v32 = strtoul(argv[3], NULL, 0);
		fact_wait(dev, bar0);
		rw(dev, bar0 + EDU_REG_FACT, &v32, 4, 1);
		fact_wait(dev, bar0);
		rw(dev, bar0 + EDU_REG_FACT, &v32, 4, 0);
		printf("factorial=%u\n", v32);
	} else {
		rw(dev, bar0 + 0x04, &v32, 4, 0);
		printf("liveness=%#x", v32);
		rw(dev, bar0 + EDU_REG_STATUS, &v32, 4, 0);
		printf(" status=%#x", v32 & 0x80);
		rw(dev, bar0 + EDU_REG_IRQ_STATUS, &v32, 4, 0);
		printf(" irq_status=%#x", v32);
		fact_wait(dev, bar0);
		rw(dev, bar0 + EDU_REG_FACT, &v32, 4, 0);
		printf(" factorial=%u", v32);
		rw(dev, bar0 + 0x80, &v64, 8, 0);
		printf(" dma_src=%#llx", (unsigned long long)v64);
		rw(dev, bar0 + 0x88, &v64, 8, 0);
		printf(" dma_dst=%#llx", (unsigned long long)v64);
		rw(dev, bar0 + 0x90, &v64, 8, 0);
		printf(" dma_count=%#llx\n", (unsigned long long)v64);
	}
	close(dev);
	close(group);
	close(container);
	return 0;
}
