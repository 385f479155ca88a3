// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-bench: the timings behind "make bench", taken inside the test VM
 * through VFIO device fds (each device's group in a type1 container of its
 * own, as vfio-peek opens it).  Every figure is printed as a line
 * "RIG-BENCH: <key> <value>" for rig/guest/bench.sh, then once for people.
 *
 *   vfio-bench now
 *	prints CLOCK_MONOTONIC in ns, a bare number, for the shell's own
 *	timings (busybox's date has no %N)
 *
 *   vfio-bench access BDF N
 *	N pread()s of 4 bytes at BAR0 0x00 (edu identification), N pwrite()s
 *	of 4 bytes at BAR0 0x04 (edu liveness), N pread()s of 4 bytes at
 *	config 0x00 and N pwrite()s of 2 bytes at PCI_COMMAND of the value
 *	read there first (memory decoding is switched on first if it was
 *	off: BAR0 answers nothing without it); keys bar0_read_ns,
 *	bar0_write_ns, cfg_read_ns, cfg_write_ns (ns per access) and
 *	vendor_driver (the device info capability's name, or "none")
 *
 *   vfio-bench migrate SRC_BDF DST_BDF v1rw|v1mmap|v2
 *	Saves SRC's migration state into a buffer and restores it into DST:
 *	v1rw and v1mmap through the v1 migration region (its data section
 *	read and written with pread()/pwrite(), or through an mmap of the
 *	region's sparse mmap area and memcpy()), v2 through the data_fd of
 *	VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE in 1 MiB read()s and write()s.
 *	  v1 save:    SAVING (stop-and-copy), then pending_bytes, data_offset,
 *		      data_size and the data until pending_bytes is 0; then
 *		      STOP and RUNNING
 *	  v1 restore: RESUMING, then per piece data_offset, the data and
 *		      data_size; then RUNNING
 *	  v2 save:    RUNNING -> STOP, STOP -> STOP_COPY, read() to EOF;
 *		      then STOP and RUNNING
 *	  v2 restore: RUNNING -> STOP, STOP -> RESUMING, write()s,
 *		      RESUMING -> STOP -> RUNNING
 *	The whole round trip runs twice: once to learn the stream's length
 *	and fault the buffer in, then timed.  Keys: bytes, chunk (the piece
 *	size: the largest data_size of the v1 save, 1 MiB for v2), save_ns
 *	(from the state write that starts stop-and-copy to the read that
 *	ends the stream), save_copy_ns (the reads alone), restore_ns (from
 *	the state write that starts resuming to the device RUNNING again),
 *	restore_copy_ns (the writes alone), memcpy_ns (best of 3 memcpy()s of
 *	as many bytes in pieces of the same size into a separate buffer,
 *	touched beforehand), then mig_<proto>_save_pct,
 *	mig_<proto>_save_copy_pct, mig_<proto>_restore_pct and
 *	mig_<proto>_restore_copy_pct: 100 * memcpy_ns over each.
 *
 * Any failed call ends the tool with status 1 and says what failed; a
 * device left out of RUNNING goes back to it when its fd is closed.  The
 * device, region and migration code is vfio-lib.c's, shared with
 * vfio-reliab.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "vfio-lib.h"

static void print_ns(const char *key, uint64_t ns, unsigned long n)
{
	printf("RIG-BENCH: %s %.1f\n", key, (double)ns / n);
}

static int cmd_access(const char *bdf, const char *count)
{
	uint64_t cfg, bar0, t0, t_bar0_rd, t_bar0_wr, t_cfg_rd, t_cfg_wr;
	struct vfio_region_info *ri;
	unsigned long i, n;
	uint32_t val, id;
	uint16_t ids[2], cmd;
	struct dev d;
	char *end;

	errno = 0;
	n = strtoul(count, &end, 0);
	if (errno || *end || !n || n > 100000000UL)
		fail("access: N must be a count from 1 to 100000000, not '%s'",
		     count);
	dev_open(&d, bdf);

	ri = region(&d, VFIO_PCI_CONFIG_REGION_INDEX);
	cfg = ri->offset;
	if ((ri->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
	    (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))
		fail("%s: config space is not readable and writable", bdf);
	free(ri);
	ri = region(&d, VFIO_PCI_BAR0_REGION_INDEX);
	bar0 = ri->offset;
	if (ri->size < 8 ||
	    (ri->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
	    (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))
		fail("%s: BAR0 is not a readable and writable region of 8 bytes or more",
		     bdf);
	free(ri);

	dev_pread(&d, ids, sizeof(ids), cfg, "config vendor/device ID");
	if (ids[0] != 0x1234 || ids[1] != 0x11e8)
		fail("%s: %04x:%04x is not an edu (1234:11e8)", bdf, ids[0],
		     ids[1]);
	dev_mem_enable(&d, cfg, &cmd);
	dev_pread(&d, &id, sizeof(id), bar0, "BAR0 identification");
	if ((id & 0xff) != 0xed)
		fail("%s: BAR0 0x00 reads %#x, not an edu identification (0x??0000ed)",
		     bdf, id);

	/* A few of each first, outside the clock */
	for (i = 0; i < 16; i++) {
		dev_pread(&d, &val, 4, bar0, "BAR0 read");
		val = i;
		dev_pwrite(&d, &val, 4, bar0 + 4, "BAR0 write");
		dev_pread(&d, &val, 4, cfg, "config read");
		dev_pwrite(&d, &cmd, 2, cfg + PCI_COMMAND, "config write");
	}

	t0 = now_ns();
	for (i = 0; i < n; i++)
		dev_pread(&d, &val, 4, bar0, "BAR0 read");
	t_bar0_rd = now_ns() - t0;
	if (val != id)
		fail("%s: BAR0 0x00 read %#x, then %#x", bdf, id, val);

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		val = i;
		dev_pwrite(&d, &val, 4, bar0 + 4, "BAR0 write");
	}
	t_bar0_wr = now_ns() - t0;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		dev_pread(&d, &val, 4, cfg, "config read");
	t_cfg_rd = now_ns() - t0;
	if (val != (ids[0] | (uint32_t)ids[1] << 16))
		fail("%s: config 0x00 read %#x, expected %#x", bdf, val,
		     ids[0] | (uint32_t)ids[1] << 16);

	t0 = now_ns();
	for (i = 0; i < n; i++)
		dev_pwrite(&d, &cmd, 2, cfg + PCI_COMMAND, "config write");
	t_cfg_wr = now_ns() - t0;

	printf("RIG-BENCH: vendor_driver %s\n", d.vendor);
	print_ns("bar0_read_ns", t_bar0_rd, n);
	print_ns("bar0_write_ns", t_bar0_wr, n);
	print_ns("cfg_read_ns", t_cfg_rd, n);
	print_ns("cfg_write_ns", t_cfg_wr, n);
	printf("vfio-bench: %s (vendor driver %s), %lu of each: BAR0 read %.1f ns, BAR0 write %.1f ns, config read %.1f ns, config write %.1f ns\n",
	       bdf, d.vendor, n, (double)t_bar0_rd / n, (double)t_bar0_wr / n,
	       (double)t_cfg_rd / n, (double)t_cfg_wr / n);
	dev_close(&d);
	return 0;
}

/* memcpy() of @s's stream into @dst in pieces of its chunk: best of 3 */
static uint64_t memcpy_best(const struct stream *s, char *dst)
{
	uint64_t best = UINT64_MAX, t;
	size_t off, size;
	int i;

	for (i = 0; i < 3; i++) {
		t = now_ns();
		for (off = 0; off < s->len; off += size) {
			size = s->len - off < s->chunk ? s->len - off : s->chunk;
			memcpy(dst + off, s->buf + off, size);
		}
		/* The copies must happen, and inside the clock */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		t = now_ns() - t;
		if (t < best)
			best = t;
	}
	if (memcmp(dst, s->buf, s->len))
		fail("memcpy() copied something else");
	return best ? best : 1;
}

static void print_pct(const char *proto, const char *what, uint64_t base,
		      uint64_t ns)
{
	printf("RIG-BENCH: mig_%s_%s_pct %.1f\n", proto, what,
	       100.0 * base / (ns ? ns : 1));
}

static int cmd_migrate(const char *src_bdf, const char *dst_bdf,
		       const char *proto)
{
	struct stream s = { 0 };
	struct mdev src = { 0 }, dst = { 0 };
	int v1, use_mmap, pass;
	uint64_t mc;
	char *copy;

	if (!strcmp(proto, "v1rw")) {
		v1 = 1;
		use_mmap = 0;
	} else if (!strcmp(proto, "v1mmap")) {
		v1 = 1;
		use_mmap = 1;
	} else if (!strcmp(proto, "v2")) {
		v1 = 0;
		use_mmap = 0;
	} else {
		fail("migrate: protocol '%s': v1rw, v1mmap or v2", proto);
	}
	if (!strcmp(src_bdf, dst_bdf))
		fail("migrate: the source and the destination are both %s",
		     src_bdf);

	dev_open(&src.d, src_bdf);
	dev_open(&dst.d, dst_bdf);
	if (v1) {
		v1_find(&src, use_mmap);
		v1_find(&dst, use_mmap);
	} else {
		v2_find(&src);
		v2_find(&dst);
	}

	/* Pass 0 sizes and faults in the buffer; pass 1 is timed */
	for (pass = 0; pass < 2; pass++) {
		if (pass) {
			memset(s.buf, 0, s.len);
			s.fixed = 1;
		}
		if (v1) {
			v1_save(&src, &s, use_mmap);
			v1_restore(&dst, &s, use_mmap);
		} else {
			v2_save(&src, &s);
			v2_restore(&dst, &s);
		}
	}

	copy = malloc(s.len);
	if (!copy)
		die("malloc of %zu bytes", s.len);
	memset(copy, 0x5a, s.len);
	mc = memcpy_best(&s, copy);

	printf("RIG-BENCH: bytes %zu\n", s.len);
	printf("RIG-BENCH: chunk %zu\n", s.chunk);
	printf("RIG-BENCH: save_ns %llu\n", (unsigned long long)s.save_ns);
	printf("RIG-BENCH: save_copy_ns %llu\n",
	       (unsigned long long)s.save_copy_ns);
	printf("RIG-BENCH: restore_ns %llu\n", (unsigned long long)s.restore_ns);
	printf("RIG-BENCH: restore_copy_ns %llu\n",
	       (unsigned long long)s.restore_copy_ns);
	printf("RIG-BENCH: memcpy_ns %llu\n", (unsigned long long)mc);
	print_pct(proto, "save", mc, s.save_ns);
	print_pct(proto, "save_copy", mc, s.save_copy_ns);
	print_pct(proto, "restore", mc, s.restore_ns);
	print_pct(proto, "restore_copy", mc, s.restore_copy_ns);
	printf("vfio-bench: %s -> %s over %s: %zu bytes in %zu-byte pieces; save %.3f ms (copy %.3f ms), restore %.3f ms (copy %.3f ms), memcpy %.3f ms: save at %.1f%%, restore at %.1f%% of memcpy\n",
	       src_bdf, dst_bdf, proto, s.len, s.chunk, s.save_ns / 1e6,
	       s.save_copy_ns / 1e6, s.restore_ns / 1e6,
	       s.restore_copy_ns / 1e6, mc / 1e6,
	       100.0 * mc / (s.save_ns ? s.save_ns : 1),
	       100.0 * mc / (s.restore_ns ? s.restore_ns : 1));

	if (src.map && munmap(src.map, src.area_size))
		die("munmap");
	if (dst.map && munmap(dst.map, dst.area_size))
		die("munmap");
	free(copy);
	free(s.buf);
	dev_close(&src.d);
	dev_close(&dst.d);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: vfio-bench now\n"
		"       vfio-bench access BDF N\n"
		"       vfio-bench migrate SRC_BDF DST_BDF v1rw|v1mmap|v2\n");
	return 2;
}

int main(int argc, char **argv)
{
	vl_prog = "vfio-bench";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "access"))
		return cmd_access(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "migrate"))
		return cmd_migrate(argv[2], argv[3], argv[4]);
	return usage();
}
