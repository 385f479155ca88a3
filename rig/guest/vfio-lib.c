// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-lib: the code the rig's in-VM VFIO tools share; see vfio-lib.h.
 * Built into each tool (rig/initramfs.sh):
 *
 *   gcc -static ... -o vfio-bench vfio-bench.c vfio-lib.c
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "vfio-lib.h"

const char *vl_prog = "vfio";
int vl_fatal = 1;
char vl_msg[512];
int vl_errno;

static void report(int err, const char *fmt, va_list ap)
{
	size_t n;

	vsnprintf(vl_msg, sizeof(vl_msg), fmt, ap);
	if (err >= 0) {
		n = strlen(vl_msg);
		snprintf(vl_msg + n, sizeof(vl_msg) - n, ": %s", strerror(err));
	}
}

void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	report(err, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", vl_prog, vl_msg);
	exit(1);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(-1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", vl_prog, vl_msg);
	exit(1);
}

int vl_die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	report(err, fmt, ap);
	va_end(ap);
	if (vl_fatal) {
		fprintf(stderr, "%s: %s\n", vl_prog, vl_msg);
		exit(1);
	}
	vl_errno = err;
	return err ? -err : -EIO;
}

int vl_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(-1, fmt, ap);
	va_end(ap);
	if (vl_fatal) {
		fprintf(stderr, "%s: %s\n", vl_prog, vl_msg);
		exit(1);
	}
	vl_errno = 0;
	return err;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		die("clock_gettime(CLOCK_MONOTONIC)");
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int sysfs_write(const char *path, const char *val)
{
	char buf[256];
	ssize_t n;
	size_t len;
	int fd, ret = 0;

	/* What echo writes: the kernel takes the newline everywhere used */
	len = snprintf(buf, sizeof(buf), "%s\n", val);
	if (len >= sizeof(buf))
		return vl_fail(-EINVAL, "write of '%s' to %s: too long", val,
			       path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vl_die("open of %s", path);
	n = write(fd, buf, len);
	if (n < 0)
		ret = vl_die("write of '%s' to %s", val, path);
	else if ((size_t)n != len)
		ret = vl_fail(-EIO, "write of '%s' to %s took %zd bytes", val,
			      path, n);
	close(fd);
	return ret;
}

int sysfs_read(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vl_die("open of %s", path);
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = vl_die("read of %s", path);
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int sysfs_link_name(const char *path, char *buf, size_t size)
{
	char link[PATH_MAX];
	ssize_t n;

	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return vl_die("%s", path);
	link[n] = 0;
	snprintf(buf, size, "%s", basename(link));
	return 0;
}

int get_info_buf(struct dev *d, unsigned long req, uint32_t index, void *buf,
		 uint32_t size)
{
	/* argsz leads all three structs; an index follows flags */
	uint32_t *head = buf;

	memset(buf, 0, size);
	head[0] = size;
	if (req == VFIO_DEVICE_GET_REGION_INFO ||
	    req == VFIO_DEVICE_GET_IRQ_INFO)
		head[2] = index;
	if (ioctl(d->fd, req, buf))
		return -errno;
	return head[0] > INT_MAX ? INT_MAX : (int)head[0];
}

static const char *info_name(unsigned long req)
{
	if (req == VFIO_DEVICE_GET_INFO)
		return "VFIO_DEVICE_GET_INFO";
	if (req == VFIO_DEVICE_GET_REGION_INFO)
		return "VFIO_DEVICE_GET_REGION_INFO";
	return "VFIO_DEVICE_GET_IRQ_INFO";
}

void *get_info(struct dev *d, unsigned long req, uint32_t index, int fatal)
{
	uint32_t size = 1024;
	void *buf;
	int ret;

	for (;;) {
		buf = calloc(1, size);
		if (!buf) {
			vl_die("calloc");
			return NULL;
		}
		ret = get_info_buf(d, req, index, buf, size);
		if (ret < 0) {
			free(buf);
			if (fatal) {
				errno = -ret;
				vl_die("%s: %s %u", d->bdf, info_name(req),
				       index);
			}
			errno = -ret;
			return NULL;
		}
		if ((uint32_t)ret <= size)
			return buf;
		size = ret;
		free(buf);
	}
}

struct vfio_info_cap_header *find_cap(void *buf, uint32_t size, uint32_t off,
				      uint16_t id)
{
	struct vfio_info_cap_header *hdr;
	int n;

	for (n = 0; off && n < 64; n++) {
		if (off < sizeof(uint32_t) || off > size - sizeof(*hdr))
			return NULL;
		hdr = (void *)((char *)buf + off);
		if (hdr->id == id)
			return hdr;
		off = hdr->next;
	}
	return NULL;
}

struct vfio_region_info *region(struct dev *d, uint32_t index)
{
	return get_info(d, VFIO_DEVICE_GET_REGION_INFO, index, 1);
}

int dev_group_path(const char *bdf, char *path, size_t size)
{
	char link[PATH_MAX], sys[PATH_MAX];
	ssize_t n;

	snprintf(sys, sizeof(sys), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(sys, link, sizeof(link) - 1);
	if (n < 0)
		return vl_die("%s", sys);
	link[n] = 0;
	snprintf(path, size, "/dev/vfio/%s", basename(link));
	return 0;
}

static void dev_init(struct dev *d, const char *bdf)
{
	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	d->container = -1;
	d->group = -1;
	d->fd = -1;
	snprintf(d->vendor, sizeof(d->vendor), "none");
}

int dev_open_fds(struct dev *d, const char *bdf, const char *gpath)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	int ret;

	dev_init(d, bdf);
	d->container = open("/dev/vfio/vfio", O_RDWR);
	if (d->container < 0)
		return vl_die("/dev/vfio/vfio");
	d->group = open(gpath, O_RDWR);
	if (d->group < 0) {
		ret = vl_die("%s: %s", bdf, gpath);
		goto out;
	}
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &gs)) {
		ret = vl_die("%s: VFIO_GROUP_GET_STATUS", bdf);
		goto out;
	}
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ret = vl_fail(-ENODEV, "%s: group %s is not viable (a device in it is not bound to vfio-pci)",
			      bdf, gpath);
		goto out;
	}
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container)) {
		ret = vl_die("%s: VFIO_GROUP_SET_CONTAINER", bdf);
		goto out;
	}
	if (ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		ret = vl_die("%s: VFIO_SET_IOMMU", bdf);
		goto out;
	}
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d->fd < 0) {
		ret = vl_die("%s: VFIO_GROUP_GET_DEVICE_FD", bdf);
		goto out;
	}
	return 0;
out:
	d->fd = -1;
	if (d->group >= 0)
		close(d->group);
	close(d->container);
	d->group = -1;
	d->container = -1;
	return ret;
}

int dev_query(struct dev *d)
{
	struct vfio_device_info_cap_vendor_driver *vd;
	struct vfio_device_info *info;

	info = get_info(d, VFIO_DEVICE_GET_INFO, 0, 1);
	if (!info)
		return -(vl_errno ? vl_errno : EIO);
	if (!(info->flags & VFIO_DEVICE_FLAGS_PCI)) {
		free(info);
		return vl_fail(-ENODEV, "%s: not a vfio-pci device", d->bdf);
	}
	d->flags = info->flags;
	d->num_regions = info->num_regions;
	d->num_irqs = info->num_irqs;
	snprintf(d->vendor, sizeof(d->vendor), "none");
	vd = NULL;
	if (info->flags & VFIO_DEVICE_FLAGS_CAPS)
		vd = (void *)find_cap(info, info->argsz, info->cap_offset,
				      VFIO_DEVICE_INFO_CAP_VENDOR_DRIVER);
	if (vd && (char *)vd + sizeof(*vd) <= (char *)info + info->argsz)
		snprintf(d->vendor, sizeof(d->vendor), "%.*s",
			 (int)sizeof(vd->name), vd->name);
	free(info);
	return 0;
}

int dev_open(struct dev *d, const char *bdf)
{
	char path[PATH_MAX];
	int ret;

	dev_init(d, bdf);
	ret = dev_group_path(bdf, path, sizeof(path));
	if (ret)
		return ret;
	ret = dev_open_fds(d, bdf, path);
	if (ret)
		return ret;
	ret = dev_query(d);
	if (ret) {
		/* Not fatal here: the failure to report is the query's */
		char msg[sizeof(vl_msg)];
		int fatal = vl_fatal, err = vl_errno;

		memcpy(msg, vl_msg, sizeof(msg));
		vl_fatal = 0;
		dev_close(d);
		vl_fatal = fatal;
		vl_errno = err;
		memcpy(vl_msg, msg, sizeof(msg));
	}
	return ret;
}

int dev_reopen(struct dev *d)
{
	if (d->fd >= 0 && close(d->fd)) {
		d->fd = -1;
		return vl_die("%s: close of the device fd", d->bdf);
	}
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (d->fd < 0)
		return vl_die("%s: VFIO_GROUP_GET_DEVICE_FD", d->bdf);
	return 0;
}

int dev_close(struct dev *d)
{
	int *fds[] = { &d->fd, &d->group, &d->container };
	int ret = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] < 0)
			continue;
		if (close(*fds[i]) && !ret)
			ret = vl_die("%s: close", d->bdf);
		*fds[i] = -1;
	}
	return ret;
}

int dev_pread(struct dev *d, void *buf, size_t size, uint64_t off,
	      const char *what)
{
	ssize_t n = pread(d->fd, buf, size, off);

	if (n < 0)
		return vl_die("%s: %s: pread of %zu bytes", d->bdf, what, size);
	if ((size_t)n != size)
		return vl_fail(-EIO, "%s: %s: pread of %zu bytes returned %zd",
			       d->bdf, what, size, n);
	return 0;
}

int dev_pwrite(struct dev *d, const void *buf, size_t size, uint64_t off,
	       const char *what)
{
	ssize_t n = pwrite(d->fd, buf, size, off);

	if (n < 0)
		return vl_die("%s: %s: pwrite of %zu bytes", d->bdf, what, size);
	if ((size_t)n != size)
		return vl_fail(-EIO, "%s: %s: pwrite of %zu bytes returned %zd",
			       d->bdf, what, size, n);
	return 0;
}

int dev_mem_enable(struct dev *d, uint64_t cfg, uint16_t *cmd)
{
	int ret;

	ret = dev_pread(d, cmd, sizeof(*cmd), cfg + PCI_COMMAND, "PCI_COMMAND");
	if (ret || (*cmd & PCI_COMMAND_MEMORY))
		return ret;
	*cmd |= PCI_COMMAND_MEMORY;
	ret = dev_pwrite(d, cmd, sizeof(*cmd), cfg + PCI_COMMAND,
			 "PCI_COMMAND memory enable");
	if (ret)
		return ret;
	return dev_pread(d, cmd, sizeof(*cmd), cfg + PCI_COMMAND, "PCI_COMMAND");
}

int stream_reserve(struct stream *s, size_t need)
{
	size_t cap = s->cap ? s->cap : (size_t)V2_CHUNK * 2;
	char *buf;

	if (need <= s->cap)
		return 0;
	if (need > STREAM_LIMIT)
		return vl_fail(-EFBIG, "the stream is longer than %llu bytes",
			       STREAM_LIMIT);
	if (s->fixed)
		return vl_fail(-EFBIG, "the stream grew beyond the %zu bytes of the first pass",
			       s->len);
	while (cap < need)
		cap *= 2;
	buf = realloc(s->buf, cap);
	if (!buf)
		return vl_die("realloc of %zu bytes", cap);
	s->buf = buf;
	s->cap = cap;
	return 0;
}

static int v1_rw(struct mdev *m, uint64_t pos, void *val, size_t size,
		 int write, const char *what)
{
	if (write)
		return dev_pwrite(&m->d, val, size, m->off + pos, what);
	return dev_pread(&m->d, val, size, m->off + pos, what);
}

int v1_set(struct mdev *m, uint32_t state)
{
	char what[64];

	snprintf(what, sizeof(what), "v1 device_state = %#x", state);
	return v1_rw(m, MIG_INFO(device_state), &state, sizeof(state), 1, what);
}

int v1_get(struct mdev *m, uint32_t *state)
{
	return v1_rw(m, MIG_INFO(device_state), state, sizeof(*state), 0,
		     "v1 device_state read");
}

static int v1_read64(struct mdev *m, uint64_t field, uint64_t *val,
		     const char *what)
{
	return v1_rw(m, field, val, sizeof(*val), 0, what);
}

int v1_find(struct mdev *m, int use_mmap)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_region_info_cap_type *type;
	struct vfio_region_info *ri = NULL;
	uint32_t index, state = 0;
	int ret;

	m->off = m->size = m->area_off = m->area_size = 0;
	m->map = NULL;
	for (index = VFIO_PCI_NUM_REGIONS; index < m->d.num_regions; index++) {
		/* An index without a region is no migration region either */
		ri = get_info(&m->d, VFIO_DEVICE_GET_REGION_INFO, index, 0);
		if (!ri)
			continue;
		type = NULL;
		if (ri->flags & VFIO_REGION_INFO_FLAG_CAPS)
			type = (void *)find_cap(ri, ri->argsz, ri->cap_offset,
						VFIO_REGION_INFO_CAP_TYPE);
		if (type && type->type == VFIO_REGION_TYPE_MIGRATION_DEPRECATED &&
		    type->subtype == VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED)
			break;
		free(ri);
		ri = NULL;
	}
	if (!ri)
		return vl_fail(-ENOENT, "%s (vendor driver %s): no v1 migration region (type %d, subtype %d) among its %u regions",
			       m->d.bdf, m->d.vendor,
			       VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
			       VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED,
			       m->d.num_regions);
	if ((ri->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
	    (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE) ||
	    ri->size < sizeof(struct vfio_device_migration_info)) {
		free(ri);
		return vl_fail(-EINVAL, "%s: migration region %u is not readable and writable, or too small",
			       m->d.bdf, index);
	}
	m->off = ri->offset;
	m->size = ri->size;

	sparse = (void *)find_cap(ri, ri->argsz, ri->cap_offset,
				  VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	if (sparse && sparse->nr_areas &&
	    (char *)&sparse->areas[1] <= (char *)ri + ri->argsz) {
		m->area_off = sparse->areas[0].offset;
		m->area_size = sparse->areas[0].size;
	}
	if (use_mmap) {
		ret = 0;
		if (!(ri->flags & VFIO_REGION_INFO_FLAG_MMAP) || !m->area_size)
			ret = vl_fail(-EINVAL, "%s: migration region %u has no mmap-able area",
				      m->d.bdf, index);
		else if (m->area_off > m->size ||
			 m->area_size > m->size - m->area_off)
			ret = vl_fail(-EINVAL, "%s: migration region %u: area %#llx+%#llx lies outside it",
				      m->d.bdf, index,
				      (unsigned long long)m->area_off,
				      (unsigned long long)m->area_size);
		if (ret) {
			free(ri);
			return ret;
		}
		m->map = mmap(NULL, m->area_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, m->d.fd, m->off + m->area_off);
		if (m->map == MAP_FAILED) {
			m->map = NULL;
			ret = vl_die("%s: mmap of the migration region's data section (%llu bytes)",
				     m->d.bdf, (unsigned long long)m->area_size);
			free(ri);
			return ret;
		}
	}
	free(ri);
	ret = v1_get(m, &state);
	if (ret)
		return ret;
	if (state != VFIO_DEVICE_STATE_V1_RUNNING)
		return vl_fail(-EBUSY, "%s: v1 device_state is %#x, not RUNNING",
			       m->d.bdf, state);
	return 0;
}

/* The data section at @data_offset holds @size bytes: check */
static int v1_check_piece(struct mdev *m, uint64_t data_offset,
			  uint64_t size, int use_mmap)
{
	uint64_t lo = use_mmap ? m->area_off : sizeof(struct vfio_device_migration_info);
	uint64_t hi = use_mmap ? m->area_off + m->area_size : m->size;

	if (data_offset < lo || data_offset > hi || size > hi - data_offset)
		return vl_fail(-ERANGE, "%s: data_offset %#llx and data_size %llu lie outside the %s [%#llx, %#llx)",
			       m->d.bdf, (unsigned long long)data_offset,
			       (unsigned long long)size,
			       use_mmap ? "mmap-able area" : "region",
			       (unsigned long long)lo, (unsigned long long)hi);
	return 0;
}

int v1_read_stream(struct mdev *m, struct stream *s, int use_mmap)
{
	uint64_t pending, data_offset, size;
	int ret;

	for (;;) {
		ret = v1_read64(m, MIG_INFO(pending_bytes), &pending,
				"pending_bytes");
		if (ret)
			return ret;
		if (!pending)
			return 0;
		ret = v1_read64(m, MIG_INFO(data_offset), &data_offset,
				"data_offset");
		if (ret)
			return ret;
		ret = v1_read64(m, MIG_INFO(data_size), &size, "data_size");
		if (ret)
			return ret;
		if (!size || size > pending)
			return vl_fail(-EPROTO, "%s: data_size %llu with %llu bytes pending",
				       m->d.bdf, (unsigned long long)size,
				       (unsigned long long)pending);
		ret = v1_check_piece(m, data_offset, size, use_mmap);
		if (!ret)
			ret = stream_reserve(s, s->len + size);
		if (ret)
			return ret;
		if (use_mmap)
			memcpy(s->buf + s->len, m->map + (data_offset - m->area_off),
			       size);
		else
			ret = v1_rw(m, data_offset, s->buf + s->len, size, 0,
				    "data section read");
		if (ret)
			return ret;
		s->len += size;
		if (size > s->chunk)
			s->chunk = size;
	}
}

int v1_save_stream(struct mdev *m, struct stream *s, int use_mmap)
{
	uint64_t t0, t1, t2;
	int ret;

	s->len = 0;
	t0 = now_ns();
	ret = v1_set(m, VFIO_DEVICE_STATE_V1_SAVING);
	if (ret)
		return ret;
	t1 = now_ns();
	ret = v1_read_stream(m, s, use_mmap);
	if (ret)
		return ret;
	t2 = now_ns();
	s->save_ns = t2 - t0;
	s->save_copy_ns = t2 - t1;
	if (!s->len)
		return vl_fail(-ENODATA, "%s: saved an empty stream", m->d.bdf);
	return 0;
}

int v1_save(struct mdev *m, struct stream *s, int use_mmap)
{
	int ret;

	ret = v1_save_stream(m, s, use_mmap);
	if (!ret)
		ret = v1_set(m, VFIO_DEVICE_STATE_V1_STOP);
	if (!ret)
		ret = v1_set(m, VFIO_DEVICE_STATE_V1_RUNNING);
	return ret;
}

int v1_restore(struct mdev *m, struct stream *s, int use_mmap)
{
	uint64_t t0, t1, t2, data_offset, size;
	size_t done, chunk = s->chunk;
	uint32_t state = 0;
	int ret;

	if (use_mmap && chunk > m->area_size)
		chunk = m->area_size;
	if (!chunk && s->len)
		return vl_fail(-EINVAL, "%s: v1 restore in pieces of 0 bytes",
			       m->d.bdf);
	t0 = now_ns();
	ret = v1_set(m, VFIO_DEVICE_STATE_V1_RESUMING);
	if (ret)
		return ret;
	t1 = now_ns();
	for (done = 0; done < s->len; done += size) {
		size = s->len - done < chunk ? s->len - done : chunk;
		ret = v1_read64(m, MIG_INFO(data_offset), &data_offset,
				"data_offset");
		if (!ret)
			ret = v1_check_piece(m, data_offset, size, use_mmap);
		if (ret)
			return ret;
		if (use_mmap)
			memcpy(m->map + (data_offset - m->area_off), s->buf + done,
			       size);
		else
			ret = v1_rw(m, data_offset, s->buf + done, size, 1,
				    "data section write");
		if (ret)
			return ret;
		ret = v1_rw(m, MIG_INFO(data_size), &size, sizeof(size), 1,
			    "data_size write (the device refused the piece)");
		if (ret)
			return ret;
	}
	t2 = now_ns();
	ret = v1_set(m, VFIO_DEVICE_STATE_V1_RUNNING);
	if (ret)
		return ret;
	s->restore_ns = now_ns() - t0;
	s->restore_copy_ns = t2 - t1;
	ret = v1_get(m, &state);
	if (ret)
		return ret;
	if (state != VFIO_DEVICE_STATE_V1_RUNNING)
		return vl_fail(-EPROTO, "%s: v1 device_state is %#x after the restore, not RUNNING",
			       m->d.bdf, state);
	return 0;
}

const char *v2_name(uint32_t state)
{
	static const char * const names[] = {
		"ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING",
		"RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "?";
}

struct v2_state_req {
	struct vfio_device_feature feature;
	struct vfio_device_feature_mig_state mig;
};

int v2_get(struct mdev *m, uint32_t *state)
{
	struct v2_state_req req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		},
	};

	if (ioctl(m->d.fd, VFIO_DEVICE_FEATURE, &req))
		return vl_die("%s: VFIO_DEVICE_FEATURE GET MIG_DEVICE_STATE",
			      m->d.bdf);
	*state = req.mig.device_state;
	return 0;
}

int v2_set(struct mdev *m, uint32_t state, int want_fd)
{
	struct v2_state_req req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_SET |
				 VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		},
		.mig = { .device_state = state, .data_fd = -1 },
	};

	if (ioctl(m->d.fd, VFIO_DEVICE_FEATURE, &req))
		return vl_die("%s: VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE %s",
			      m->d.bdf, v2_name(state));
	if (want_fd && req.mig.data_fd < 0)
		return vl_fail(-EPROTO, "%s: SET %s returned no data_fd",
			       m->d.bdf, v2_name(state));
	if (!want_fd && req.mig.data_fd >= 0) {
		close(req.mig.data_fd);
		return vl_fail(-EPROTO, "%s: SET %s returned data_fd %d, expected none",
			       m->d.bdf, v2_name(state), req.mig.data_fd);
	}
	return want_fd ? req.mig.data_fd : 0;
}

int v2_find(struct mdev *m)
{
	struct {
		struct vfio_device_feature feature;
		struct vfio_device_feature_migration mig;
	} req = {
		.feature = {
			.argsz = sizeof(req),
			.flags = VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIGRATION,
		},
	};
	struct vfio_device_feature probe = {
		.argsz = sizeof(probe),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_MIGRATION,
	};
	uint32_t state = 0;
	int ret;

	if (ioctl(m->d.fd, VFIO_DEVICE_FEATURE, &probe))
		return vl_die("%s (vendor driver %s): VFIO_DEVICE_FEATURE PROBE MIGRATION (no migration uAPI v2)",
			      m->d.bdf, m->d.vendor);
	probe.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	if (ioctl(m->d.fd, VFIO_DEVICE_FEATURE, &probe))
		return vl_die("%s: VFIO_DEVICE_FEATURE PROBE MIG_DEVICE_STATE",
			      m->d.bdf);
	if (ioctl(m->d.fd, VFIO_DEVICE_FEATURE, &req))
		return vl_die("%s: VFIO_DEVICE_FEATURE GET MIGRATION", m->d.bdf);
	if (!(req.mig.flags & VFIO_MIGRATION_STOP_COPY))
		return vl_fail(-EOPNOTSUPP, "%s: migration flags %#llx lack VFIO_MIGRATION_STOP_COPY",
			       m->d.bdf, (unsigned long long)req.mig.flags);
	ret = v2_get(m, &state);
	if (ret)
		return ret;
	if (state != VFIO_DEVICE_STATE_RUNNING)
		return vl_fail(-EBUSY, "%s: device state %s, not RUNNING",
			       m->d.bdf, v2_name(state));
	return 0;
}

int v2_save_stream(struct mdev *m, struct stream *s)
{
	uint64_t t0, t1, t2;
	int fd, ret;
	ssize_t n;

	s->len = 0;
	s->chunk = V2_CHUNK;
	ret = v2_set(m, VFIO_DEVICE_STATE_STOP, 0);
	if (ret)
		return ret;
	t0 = now_ns();
	fd = v2_set(m, VFIO_DEVICE_STATE_STOP_COPY, 1);
	if (fd < 0)
		return fd;
	t1 = now_ns();
	for (;;) {
		ret = stream_reserve(s, s->len + V2_CHUNK);
		if (ret)
			goto out;
		n = read(fd, s->buf + s->len, V2_CHUNK);
		if (n < 0) {
			ret = vl_die("%s: read of the data_fd at byte %zu",
				     m->d.bdf, s->len);
			goto out;
		}
		if (!n)
			break;
		if ((size_t)n > V2_CHUNK) {
			ret = vl_fail(-EPROTO, "%s: read() of the data_fd returned %zd",
				      m->d.bdf, n);
			goto out;
		}
		s->len += n;
	}
	t2 = now_ns();
	s->save_ns = t2 - t0;
	s->save_copy_ns = t2 - t1;
	if (!s->len) {
		ret = vl_fail(-ENODATA, "%s: saved an empty stream", m->d.bdf);
		goto out;
	}

	if (close(fd))
		return vl_die("%s: close of the save data_fd", m->d.bdf);
	return 0;
out:
	close(fd);
	return ret;
}

int v2_save(struct mdev *m, struct stream *s)
{
	int ret;

	ret = v2_save_stream(m, s);
	if (!ret)
		ret = v2_set(m, VFIO_DEVICE_STATE_STOP, 0);
	if (!ret)
		ret = v2_set(m, VFIO_DEVICE_STATE_RUNNING, 0);
	return ret;
}

int v2_restore(struct mdev *m, struct stream *s)
{
	uint64_t t0, t1, t2;
	size_t done, size;
	uint32_t state = 0;
	int fd, ret;
	ssize_t n;

	ret = v2_set(m, VFIO_DEVICE_STATE_STOP, 0);
	if (ret)
		return ret;
	t0 = now_ns();
	fd = v2_set(m, VFIO_DEVICE_STATE_RESUMING, 1);
	if (fd < 0)
		return fd;
	t1 = now_ns();
	for (done = 0; done < s->len; done += n) {
		size = s->len - done < V2_CHUNK ? s->len - done : V2_CHUNK;
		n = write(fd, s->buf + done, size);
		if (n < 0) {
			ret = vl_die("%s: write of the data_fd at byte %zu (the device refused the stream?)",
				     m->d.bdf, done);
			goto out;
		}
		if (!n || (size_t)n > size) {
			ret = vl_fail(-EPROTO, "%s: write() of %zu bytes to the data_fd returned %zd at byte %zu",
				      m->d.bdf, size, n, done);
			goto out;
		}
	}
	t2 = now_ns();
	ret = v2_set(m, VFIO_DEVICE_STATE_STOP, 0);
	if (!ret)
		ret = v2_set(m, VFIO_DEVICE_STATE_RUNNING, 0);
	if (ret)
		goto out;
	s->restore_ns = now_ns() - t0;
	s->restore_copy_ns = t2 - t1;
	if (close(fd))
		return vl_die("%s: close of the resume data_fd", m->d.bdf);
	ret = v2_get(m, &state);
	if (ret)
		return ret;
	if (state != VFIO_DEVICE_STATE_RUNNING)
		return vl_fail(-EPROTO, "%s: device state %s after the restore, not RUNNING",
			       m->d.bdf, v2_name(state));
	return 0;
out:
	close(fd);
	return ret;
}
