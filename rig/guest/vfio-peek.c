// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-peek: the demo's look at a device through its VFIO device fd.
 * Opens the device's group in a type1 container, prints what
 * VFIO_DEVICE_GET_INFO says (and the vendor driver capability, if any),
 * the IDs from config space and, for an edu, BAR0's identification and
 * liveness registers.
 *
 *   vfio-peek 0000:00:04.0
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
#include <unistd.h>
#include <linux/vfio.h>

static void die(const char *what)
{
	fprintf(stderr, "vfio-peek: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t region_offset(int dev, unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("VFIO_DEVICE_GET_REGION_INFO");
	return ri.offset;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], link[PATH_MAX], buf[4096];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info *info = (void *)buf;
	struct vfio_info_cap_header *hdr;
	uint32_t id, live, probe = 0x12345678;
	uint16_t ids[2];
	int container, group, dev;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: vfio-peek BDF\n");
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

	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(buf);
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, info))
		die("VFIO_DEVICE_GET_INFO");
	printf("  device fd: %u regions, %u irqs\n", info->num_regions, info->num_irqs);
	printf("  vendor driver (device info capability): ");
	hdr = NULL;
	if (info->flags & VFIO_DEVICE_FLAGS_CAPS && info->cap_offset)
		hdr = (void *)(buf + info->cap_offset);
	while (hdr && (char *)hdr < buf + sizeof(buf) - sizeof(*hdr)) {
		if (hdr->id == VFIO_DEVICE_INFO_CAP_VENDOR_DRIVER) {
			struct vfio_device_info_cap_vendor_driver *cap = (void *)hdr;

			printf("%.*s", (int)sizeof(cap->name), cap->name);
			break;
		}
		hdr = hdr->next ? (void *)(buf + hdr->next) : NULL;
	}
	printf("%s\n", hdr ? "" : "none");

	if (pread(dev, ids, sizeof(ids),
		  region_offset(dev, VFIO_PCI_CONFIG_REGION_INDEX)) != sizeof(ids))
		die("config read");
	printf("  config space: vendor %04x device %04x\n", ids[0], ids[1]);
	if (ids[0] == 0x1234 && ids[1] == 0x11e8) {
		uint64_t bar0 = region_offset(dev, VFIO_PCI_BAR0_REGION_INDEX);

		if (pread(dev, &id, 4, bar0) != 4 ||
		    pwrite(dev, &probe, 4, bar0 + 4) != 4 ||
		    pread(dev, &live, 4, bar0 + 4) != 4)
			die("BAR0 access");
		printf("  BAR0 0x00 identification: %#010x\n", id);
		printf("  BAR0 0x04 liveness: wrote %#010x, read %#010x (inverted)\n",
		       probe, live);
	}
	close(dev);
	close(group);
	close(container);
	return 0;
}
