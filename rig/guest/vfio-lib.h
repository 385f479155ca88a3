/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-lib: what the rig's in-VM VFIO tools share (vfio-bench,
 * vfio-reliab): failure reporting, a monotonic clock, a device opened
 * through its group in a type1 container of its own, region and irq info
 * with their capabilities, pread()/pwrite() of the device fd, migration
 * save and restore through the v1 region and through uAPI v2's data_fd
 * into a growable stream buffer, and small sysfs helpers.
 *
 * Failures: every function that can fail returns 0 (or a count, or an fd)
 * on success and a negative errno on failure, after describing the
 * failure with vl_die() (errno says what failed) or vl_fail() (something
 * errno does not describe).  While vl_fatal is set (the default) those
 * print "<vl_prog>: <what>[: <strerror>]" on stderr and end the tool with
 * status 1, so a caller may ignore the return values; with vl_fatal
 * cleared they keep the message in vl_msg and return, and the caller
 * decides.
 */
#ifndef VFIO_LIB_H
#define VFIO_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#define V2_CHUNK	(1U << 20)
#define STREAM_LIMIT	(1ULL << 30)	/* a runaway stream, not a device */
#define MIG_INFO(field)	offsetof(struct vfio_device_migration_info, field)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Failure reporting, see above */
extern const char *vl_prog;
extern int vl_fatal;
extern char vl_msg[512];
extern int vl_errno;	/* errno of the last failure, 0 for a vl_fail() */

/* Print "<vl_prog>: <what>: <strerror(errno)>" and exit(1), always */
void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Print "<vl_prog>: <what>" and exit(1), always */
void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Like die() while vl_fatal; else Return: -errno (-EIO if errno is 0) */
int vl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like fail() while vl_fatal; else Return: @err, a negative errno */
int vl_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

uint64_t now_ns(void);

/* sysfs and friends: Return: 0 or -errno (vl_die()) */
int sysfs_write(const char *path, const char *val);
/* The first line of @path without its newline, into @buf */
int sysfs_read(const char *path, char *buf, size_t size);
/* The last component of the link @path (a device's driver, say) */
int sysfs_link_name(const char *path, char *buf, size_t size);

struct dev {
	const char *bdf;
	int container;
	int group;
	int fd;
	uint32_t flags;		/* VFIO_DEVICE_GET_INFO */
	uint32_t num_regions;
	uint32_t num_irqs;
	char vendor[65];	/* the vendor driver capability, or "none" */
};

/* /dev/vfio/<group> of @bdf into @path */
int dev_group_path(const char *bdf, char *path, size_t size);
/*
 * Container, group (viable), type1 and device fd of @bdf in group @gpath;
 * d->fd etc. are -1 and nothing stays open on failure
 */
int dev_open_fds(struct dev *d, const char *bdf, const char *gpath);
/* VFIO_DEVICE_GET_INFO: flags, counts and vendor driver of an open device */
int dev_query(struct dev *d);
/* All three */
int dev_open(struct dev *d, const char *bdf);
/* Close the device fd, which closes the device, and get a new one */
int dev_reopen(struct dev *d);
/* Close what is open (the fds that are not -1); Return: 0 or -errno */
int dev_close(struct dev *d);

/*
 * VFIO_DEVICE_GET_INFO, _GET_REGION_INFO or _GET_IRQ_INFO of @index into
 * @buf (@size bytes, argsz @size).  Return: the size the reply needs
 * (more than @size: its caps were left out), or -errno.
 */
int get_info_buf(struct dev *d, unsigned long req, uint32_t index, void *buf,
		 uint32_t size);
/*
 * The same in a calloc()ed buffer with all its caps; on failure NULL, and
 * with @fatal also a vl_die()
 */
void *get_info(struct dev *d, unsigned long req, uint32_t index, int fatal);
/* The capability @id in the chain of @buf (@size bytes) from @off, or NULL */
struct vfio_info_cap_header *find_cap(void *buf, uint32_t size, uint32_t off,
				      uint16_t id);
/* GET_REGION_INFO of @index with its caps, or NULL after a vl_die() */
struct vfio_region_info *region(struct dev *d, uint32_t index);

/* pread()/pwrite() of exactly @size bytes of the device fd */
int dev_pread(struct dev *d, void *buf, size_t size, uint64_t off,
	      const char *what);
int dev_pwrite(struct dev *d, const void *buf, size_t size, uint64_t off,
	       const char *what);
/*
 * Memory decoding on (config space at @cfg): BAR accesses answer nothing
 * without it; PCI_COMMAND as it is then in *@cmd
 */
int dev_mem_enable(struct dev *d, uint64_t cfg, uint16_t *cmd);

/* Migration: one device's side */
struct mdev {
	struct dev d;
	/* v1: the migration region and its sparse mmap area */
	uint64_t off;
	uint64_t size;
	uint64_t area_off;
	uint64_t area_size;
	char *map;	/* the area, for v1 through mmap */
};

/* A stream and what its save and restore took */
struct stream {
	char *buf;
	size_t cap;
	size_t len;
	size_t chunk;	/* v1: piece size (largest saved, or to restore in) */
	int fixed;	/* the buffer must not move (grow it beforehand) */
	uint64_t save_ns;
	uint64_t save_copy_ns;
	uint64_t restore_ns;
	uint64_t restore_copy_ns;
};

/* Room for @need bytes in @s, unless it is fixed */
int stream_reserve(struct stream *s, size_t need);

/* v1: the migration region */
int v1_set(struct mdev *m, uint32_t state);
int v1_get(struct mdev *m, uint32_t *state);
/* Find the region and its area (mmap()ed when @use_mmap); device RUNNING */
int v1_find(struct mdev *m, int use_mmap);
/* In SAVING: read pieces until pending_bytes is 0, into @s from s->len */
int v1_read_stream(struct mdev *m, struct stream *s, int use_mmap);
/* SAVING (stop-and-copy) and the whole stream; the device stays SAVING */
int v1_save_stream(struct mdev *m, struct stream *s, int use_mmap);
/* The same, then STOP and RUNNING */
int v1_save(struct mdev *m, struct stream *s, int use_mmap);
/* RESUMING, @s in pieces of s->chunk bytes, RUNNING */
int v1_restore(struct mdev *m, struct stream *s, int use_mmap);

/* v2: VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE and the data_fd */
const char *v2_name(uint32_t state);
int v2_get(struct mdev *m, uint32_t *state);
/*
 * SET @state.  Return: the data_fd, which must come when @want_fd (and
 * must not otherwise: then 0), or -errno
 */
int v2_set(struct mdev *m, uint32_t state, int want_fd);
/* The device speaks uAPI v2 with STOP_COPY, and is RUNNING */
int v2_find(struct mdev *m);
/* RUNNING -> STOP -> STOP_COPY, read to EOF, close the data_fd */
int v2_save_stream(struct mdev *m, struct stream *s);
/* The same, then STOP and RUNNING */
int v2_save(struct mdev *m, struct stream *s);
/* RUNNING -> STOP -> RESUMING, write()s, RESUMING -> STOP -> RUNNING */
int v2_restore(struct mdev *m, struct stream *s);

#endif /* VFIO_LIB_H */
