// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-reliab: the reliability suite's tool (rig/guest/reliability.sh),
 * run inside the test VM on the edu devices that vfio-pci drives with the
 * sample vendor driver vfio_pci_edu.  Results are printed as
 * "RIG-RELIAB: ..." lines, diagnostics as "# ..." lines; any failure ends
 * the tool with status 1 after saying what failed.
 *
 *   vfio-reliab faults PATH BDF [BDF2] [--from M] [--max N] [--step K]
 *		       [--funcs f1,...] [--verbose]
 *	Walks the fault injection points of one operation on BDF with
 *	/proc/thread-self/fail-nth: for n = M, M + K, M + 2K, ... (M and K
 *	are 1 unless --from and --step say otherwise: every point) the n-th
 *	slab, page or fail_function check that this thread's syscalls make
 *	fails, until the operation runs to its end without reaching n (the
 *	walk is complete; it must then succeed) or n passes N (default
 *	1000).  --verbose has the kernel log each injected failure with its
 *	stack (FAULT_INJECTION: forcing a failure), to find a point's call
 *	site.  PATH:
 *	  bind      the write of BDF to /sys/bus/pci/drivers_probe, with
 *		    driver_override vfio-pci and the device unbound before
 *	  open      container, group, type1 and VFIO_GROUP_GET_DEVICE_FD
 *	  info      VFIO_DEVICE_GET_INFO, _GET_REGION_INFO of every region
 *		    and _GET_IRQ_INFO of every irq index, with their caps
 *	  v1save    v1 SAVING (stop-and-copy) and the whole stream read
 *	  v1resume  v1 RESUMING, a valid stream written, RUNNING
 *	  v2save    STOP, STOP_COPY, the data_fd read to EOF and closed
 *	  v2resume  STOP, RESUMING, a valid stream written, STOP, RUNNING
 *	  trap      with vfio_pci_edu's trap_bar0=N: 1 written to the
 *		    device's debugfs bar0_trapped while nobody listens to
 *		    the REMAP_BAR_REGION irq (ENOTCONN), then 0 (success)
 *	  close     the close() of the device fd (its group's and
 *		    container's fds are closed after, without injection:
 *		    see op_close())
 *	  unbind    the write of BDF to its driver's unbind
 *	  unload    delete_module(vfio_pci_edu, O_NONBLOCK), with every
 *		    device it drives unbound before
 *	Only the operation's own syscalls run between arming fail-nth and
 *	reading it back; the set-up before and everything after is done
 *	without injection.  After each, the device is brought back (bound to
 *	vfio-pci with vfio_pci_edu, the module loaded) and checked as
 *	"verify" does, with a v2 round trip from BDF to BDF2 (to BDF itself
 *	without BDF2).  Each step has 60 s (alarm()); a step that hangs
 *	ends the tool.  The fail_function names (default: the series' four
 *	injectable functions) are added to fail_function/inject if
 *	fail_function/injectable lists them, skipped with a note otherwise,
 *	and removed again at the end.  "# reliability: faults begin" and
 *	"... end" go to /dev/kmsg around the walk: injected page
 *	allocation failures make the kernel warn with a stack dump there.
 *	A /dev node of BDF's group or cdev that devtmpfs did not make after
 *	an injected failure is made from sysfs for the check, counted, and
 *	removed after it, BDF then bound afresh (fix_devnodes()).
 *	Prints "RIG-RELIAB: faults PATH points=<injected> of=<the
 *	operation's points, at most; 0 if the walk stopped at N>
 *	errors=<operations that failed> ok=<that succeeded anyway>
 *	nodes=</dev nodes made>"; status
 *	0 when every check passed and at least one point was reached.
 *
 *   vfio-reliab fuzz SRC DST v1|v2 COUNT SEED
 *	Saves a valid stream from edu SRC (its liveness, factorial, DMA and
 *	interrupt registers set first, through pwrite() on BAR0, which the
 *	sample traps by default) and resumes COUNT mutated copies of it
 *	(xorshift64 from SEED: bit flips, a byte, truncation at every
 *	length, extension, the length field, flags, version, id, magic,
 *	random garbage, random register state) into edu DST through the v1
 *	region or the v2 data_fd.  A refused stream must leave DST working:
 *	the valid stream is then taken and DST's registers read it back.  A
 *	taken stream must be DST's state: DST saves again a valid stream
 *	with its fields.  Raised edu interrupts are acknowledged after each
 *	restore; the kernel log is checked for splats every 100 streams.
 *	Prints "RIG-RELIAB: fuzz PROTO streams=<n> refused=<n> taken=<n>
 *	seed=<s>"; on a failure the seed, round and mutation.
 *
 *   vfio-reliab hammer BDF SECONDS
 *	Open, GET_INFO, GET_REGION_INFO, a v2 save and close, again and
 *	again for SECONDS; ENODEV, EBUSY, ENOENT, EAGAIN and ENXIO (the
 *	device going or being bound again) are counted, any other failure
 *	ends it.  Prints "RIG-RELIAB: hammer ops=<n> errors=<n>"; status 1
 *	also when no cycle went through without an error.
 *
 *   vfio-reliab hold BDF v1save|v2read|remapwait
 *	Opens BDF and stops at the stage, prints "READY" and waits for
 *	SIGUSR1 (or to be killed), then goes on and exits 0 whatever the
 *	rest of the operation returned: v1save is in v1 SAVING with the
 *	stream unread, and reads it; v2read is in STOP_COPY with the
 *	data_fd unread, and reads it; remapwait (trap_bar0=N) has a child
 *	writing 1 to bar0_trapped, waiting for the acknowledgment of a
 *	REMAP_BAR_REGION request the holder never gives (its pid is printed
 *	as "# writer pid N" before READY), and closes the device to end it.
 *
 *   vfio-reliab verify BDF [BDF2]
 *	BDF (and BDF2) bound to vfio-pci and driven by vfio_pci_edu, BDF
 *	opens, and a v2 round trip from BDF to BDF2 (or itself) works.
 *
 *   vfio-reliab klog
 *	Follows the kernel log from now on, one "[seconds] text" line per
 *	record, until killed; records the kernel overwrote before they were
 *	read are reported as a "vfio-reliab: klog: N records lost" line.
 *
 *   vfio-reliab now
 *	CLOCK_MONOTONIC in ns, a bare number
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "vfio-lib.h"

#define EDU_MOD		"vfio_pci_edu"
#define PCI_SYS		"/sys/bus/pci"
#define DBG		"/sys/kernel/debug"
#define FF		DBG "/fail_function"
#define EDU_DEBUGFS	DBG "/vfio_pci_edu"
#define TRAP_PARAM	"/sys/module/" EDU_MOD "/parameters/trap_bar0"
#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define FAULTS_BEGIN	"# reliability: faults begin\n"
#define FAULTS_END	"# reliability: faults end\n"
#define STEP_SECS	60
#define STREAM_CAP	(2U << 20)
#define DEFAULT_FUNCS	"vfio_pci_core_init_migration,vfio_pci_core_trap_bars," \
			"__vfio_pci_register_vendor_driver,vfio_pci_vendor_choose"

/* The kernel log lines that mean trouble: rig/check-log.sh's, and more */
#define SPLAT_RE	"BUG:|WARNING:|Oops|general protection fault|Kernel panic|" \
			"KASAN|UBSAN:|INFO: possible|INFO: task .* blocked|" \
			"circular|inconsistent lock state|unreferenced object|" \
			"leak|Call Trace:|kernel BUG"

/* QEMU's edu, BAR0 */
#define EDU_LIVENESS	0x04
#define EDU_FACT	0x08
#define EDU_STATUS	0x20
#define EDU_STATUS_COMPUTING	0x01
#define EDU_STATUS_IRQFACT	0x80
#define EDU_IRQ_STATUS	0x24
#define EDU_IRQ_FACT	0x01	/* raised when a factorial ends with IRQFACT */
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90

/* The sample's migration stream (samples/vfio-pci/edu.c), little endian */
#define EDU_MAGIC	0x6d554445	/* "EDUm" */
#define EDU_VERSION	2
struct edu_stream {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;
	uint32_t length;
	uint32_t id;
	uint32_t liveness;
	uint32_t status;
	uint32_t irq_status;
	uint32_t factorial;
	uint64_t dma_src;
	uint64_t dma_dst;
	uint64_t dma_count;
};
_Static_assert(sizeof(struct edu_stream) == 56, "struct edu_stream is 56 bytes");

/* What a stream restores: the registers as they read back */
struct edu_state {
	uint32_t liveness;
	uint32_t factorial;
	uint32_t status;	/* IRQFACT only */
	uint32_t irq_status;
	uint64_t dma_src;
	uint64_t dma_dst;
	uint64_t dma_count;
};

static void __attribute__((noreturn)) bail(const char *what)
{
	fflush(stdout);
	fprintf(stderr, "vfio-reliab: %s: %s\n", what, vl_msg);
	exit(1);
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static const char *errname(int err)
{
	const char *name = err ? strerrorname_np(err) : NULL;

	return name ? name : "E?";
}

/* Close @d keeping the failure being reported in vl_msg */
static void quiet_close(struct dev *d)
{
	char msg[sizeof(vl_msg)];
	int err = vl_errno;

	memcpy(msg, vl_msg, sizeof(msg));
	dev_close(d);
	memcpy(vl_msg, msg, sizeof(msg));
	vl_errno = err;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "vfio-reliab: %s must be a number, not '%s'\n",
			what, s);
		exit(2);
	}
	return v;
}

/* --- alarms --- */

static char alarm_msg[512];
static int kmsg_wfd = -1;		/* /dev/kmsg, during a walk */

/* Async-signal-safe: write() and _exit() only */
static void on_alarm(int sig)
{
	ssize_t n;

	(void)sig;
	n = write(STDOUT_FILENO, alarm_msg, strlen(alarm_msg));
	n = write(STDERR_FILENO, alarm_msg, strlen(alarm_msg));
	if (kmsg_wfd >= 0)
		n = write(kmsg_wfd, FAULTS_END, strlen(FAULTS_END));
	(void)n;
	_exit(1);
}

/* alarm(@secs) that ends the tool saying it timed out in what @fmt says */
static void __attribute__((format(printf, 2, 3)))
watchdog(unsigned int secs, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	n = snprintf(alarm_msg, sizeof(alarm_msg), "# TIMEOUT after %u s: ",
		     secs);
	va_start(ap, fmt);
	vsnprintf(alarm_msg + n, sizeof(alarm_msg) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(alarm_msg);
	snprintf(alarm_msg + n, sizeof(alarm_msg) - n, "\n");
	alarm(secs);
}

/* --- processes, modules and binding --- */

/* Run @argv; Return: its exit status, 128 + signal, or -errno */
static int run(const char *const argv[])
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return vl_die("fork");
	if (!pid) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return vl_die("waitpid");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int mod_loaded(void)
{
	char buf[32];
	int fatal = vl_fatal, ret;

	vl_fatal = 0;
	ret = sysfs_read("/sys/module/" EDU_MOD "/initstate", buf, sizeof(buf));
	vl_fatal = fatal;
	return !ret && !strcmp(buf, "live");
}

static int mod_load(void)
{
	static const char *const argv[] = { "modprobe", EDU_MOD, NULL };
	int i, ret;

	if (mod_loaded())
		return 0;
	ret = run(argv);
	if (ret)
		return vl_fail(-EIO, "modprobe %s: status %d", EDU_MOD, ret);
	for (i = 0; i < 100 && !mod_loaded(); i++)
		usleep(100000);
	if (!mod_loaded())
		return vl_fail(-EIO, "%s is not live after modprobe", EDU_MOD);
	return 0;
}

static void dev_sys(char *buf, size_t size, const char *bdf, const char *file)
{
	snprintf(buf, size, PCI_SYS "/devices/%s/%s", bdf, file);
}

/* The driver @bdf is bound to, "-" for none */
static int driver_of(const char *bdf, char *buf, size_t size)
{
	char path[PATH_MAX];

	dev_sys(path, sizeof(path), bdf, "driver");
	if (access(path, F_OK)) {
		snprintf(buf, size, "-");
		return 0;
	}
	return sysfs_link_name(path, buf, size);
}

static void vendor_of(const char *bdf, char *buf, size_t size)
{
	char path[PATH_MAX];

	dev_sys(path, sizeof(path), bdf, "vfio_vendor_driver");
	if (sysfs_read(path, buf, size))
		snprintf(buf, size, "(no vfio_vendor_driver)");
}

static int unbind_dev(const char *bdf)
{
	char path[PATH_MAX], drv[64];
	int ret;

	ret = driver_of(bdf, drv, sizeof(drv));
	if (ret || !strcmp(drv, "-"))
		return ret;
	dev_sys(path, sizeof(path), bdf, "driver/unbind");
	ret = sysfs_write(path, bdf);
	if (ret)
		return ret;
	ret = driver_of(bdf, drv, sizeof(drv));
	if (!ret && strcmp(drv, "-"))
		return vl_fail(-EBUSY, "%s is still bound to %s after unbind",
			       bdf, drv);
	return ret;
}

/* Bind @bdf to vfio-pci afresh, as the selftests' bind() does */
static int bind_vfio(const char *bdf)
{
	char path[PATH_MAX], drv[64];
	int ret;

	ret = unbind_dev(bdf);
	if (ret)
		return ret;
	dev_sys(path, sizeof(path), bdf, "driver_override");
	ret = sysfs_write(path, "vfio-pci");
	if (!ret)
		ret = sysfs_write(PCI_SYS "/drivers_probe", bdf);
	if (!ret)
		ret = driver_of(bdf, drv, sizeof(drv));
	if (!ret && strcmp(drv, "vfio-pci"))
		ret = vl_fail(-ENODEV, "%s is bound to %s after drivers_probe, not vfio-pci",
			      bdf, drv);
	return ret;
}

/* @bdf is bound to vfio-pci and driven by vfio_pci_edu */
static int check_edu(const char *bdf)
{
	char drv[64], vendor[80];
	int ret;

	ret = driver_of(bdf, drv, sizeof(drv));
	if (ret)
		return ret;
	if (strcmp(drv, "vfio-pci"))
		return vl_fail(-ENODEV, "%s is bound to %s, not vfio-pci", bdf,
			       drv);
	vendor_of(bdf, vendor, sizeof(vendor));
	if (strcmp(vendor, EDU_MOD))
		return vl_fail(-ENODEV, "%s: vfio_vendor_driver says %s, not %s",
			       bdf, vendor, EDU_MOD);
	return 0;
}

/* Bind @bdf to vfio-pci with vfio_pci_edu unless it already is */
static int ensure_edu(const char *bdf)
{
	int fatal = vl_fatal, ret;

	vl_fatal = 0;
	ret = check_edu(bdf);
	vl_fatal = fatal;
	if (!ret)
		return 0;
	ret = bind_vfio(bdf);
	return ret ? ret : check_edu(bdf);
}

/* --- verify --- */

static struct stream vstream;

static int verify(const char *bdf, const char *bdf2)
{
	struct mdev a = { 0 }, b = { 0 }, *dst = &a;
	int ret;

	ret = check_edu(bdf);
	if (!ret && bdf2)
		ret = check_edu(bdf2);
	if (ret)
		return ret;
	ret = dev_open(&a.d, bdf);
	if (ret)
		return ret;
	if (strcmp(a.d.vendor, EDU_MOD))
		ret = vl_fail(-ENODEV, "%s: the device info's vendor driver is %s, not %s",
			      bdf, a.d.vendor, EDU_MOD);
	if (!ret)
		ret = v2_find(&a);
	if (!ret && bdf2 && strcmp(bdf, bdf2)) {
		ret = dev_open(&b.d, bdf2);
		if (!ret) {
			dst = &b;
			ret = v2_find(&b);
		}
	}
	if (!ret)
		ret = v2_save(&a, &vstream);
	if (!ret)
		ret = v2_restore(dst, &vstream);
	if (dst == &b)
		quiet_close(&b.d);
	quiet_close(&a.d);
	return ret;
}

static int cmd_verify(int argc, char **argv)
{
	if (verify(argv[0], argc > 1 ? argv[1] : NULL))
		bail("verify");
	printf("RIG-RELIAB: verify %s%s%s ok\n", argv[0], argc > 1 ? " -> " : "",
	       argc > 1 ? argv[1] : "");
	return 0;
}

/* --- the kernel log --- */

struct kmsg {
	int fd;
	unsigned long lost;
	regex_t re;
};

static int kmsg_open(struct kmsg *k, int nonblock)
{
	k->lost = 0;
	k->fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
	if (k->fd < 0)
		return vl_die("/dev/kmsg");
	/* From now on */
	if (lseek(k->fd, 0, SEEK_END) < 0)
		return vl_die("lseek of /dev/kmsg");
	if (regcomp(&k->re, SPLAT_RE, REG_EXTENDED | REG_NOSUB))
		return vl_fail(-EINVAL, "regcomp");
	return 0;
}

/*
 * The next record's text into @text and its time in µs.  Return: 1, 0
 * when there is none yet (non-blocking), or -errno.
 */
static int kmsg_next(struct kmsg *k, char *text, size_t size,
		     unsigned long long *usec)
{
	char rec[8192], *semi, *end;
	ssize_t n;

	for (;;) {
		n = read(k->fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EPIPE) {
				/* Overwritten before we read it */
				k->lost++;
				continue;
			}
			if (errno == EINTR)
				continue;
			return vl_die("read of /dev/kmsg");
		}
		rec[n] = 0;
		/* "prio,seq,usec,flags;text\n" then " KEY=value\n" lines */
		semi = strchr(rec, ';');
		if (!semi)
			continue;
		if (sscanf(rec, "%*u,%*u,%llu", usec) != 1)
			*usec = 0;
		end = strchr(semi + 1, '\n');
		if (end)
			*end = 0;
		snprintf(text, size, "%s", semi + 1);
		return 1;
	}
}

/*
 * Read what the kernel logged since the last call (non-blocking @k);
 * Return: the splat lines found (each printed with what follows it)
 */
static int kmsg_check(struct kmsg *k, const char *who)
{
	unsigned long long usec;
	unsigned long lost = k->lost;
	int found = 0, context = 0, ret;
	char text[1024];

	while ((ret = kmsg_next(k, text, sizeof(text), &usec)) > 0) {
		if (!regexec(&k->re, text, 0, NULL, 0)) {
			found++;
			context = 30;
		}
		if (context) {
			context--;
			printf("# %s: kernel: [%llu.%06llu] %s\n", who,
			       usec / 1000000, usec % 1000000, text);
		}
	}
	if (ret < 0)
		note("%s: %s", who, vl_msg);
	if (k->lost != lost)
		note("%s: %lu kernel log records were overwritten before they were read",
		     who, k->lost - lost);
	return found;
}

static int cmd_klog(void)
{
	unsigned long long usec;
	unsigned long lost = 0;
	char text[1024];
	struct kmsg k;

	if (kmsg_open(&k, 0))
		bail("klog");
	for (;;) {
		if (kmsg_next(&k, text, sizeof(text), &usec) < 0)
			bail("klog");
		if (k.lost != lost) {
			printf("vfio-reliab: klog: %lu records lost\n", k.lost - lost);
			lost = k.lost;
		}
		printf("[%5llu.%06llu] %s\n", usec / 1000000, usec % 1000000,
		       text);
	}
}

/* --- faults --- */

struct fctx {
	const char *bdf;
	const char *bdf2;
	char gpath[PATH_MAX];
	int sysfd;
	struct mdev m;
	struct stream saved;	/* a valid stream of bdf, to resume */
	struct stream s;	/* saves go here: fixed, never reallocated */
	int r1, r2;		/* trap: the two writes' errno, 0 for none */
	int reg_rc[64], irq_rc[64];	/* info: the uninjected results */
	uint32_t nregions, nirqs;
	char unbound[16][32];	/* unload: the devices it unbound */
	int nunbound;
};

struct fpath {
	const char *name;
	/* Without injection, before arming; a failure ends the walk */
	int (*prep)(struct fctx *c);
	/* Armed: only the operation's syscalls, nothing that allocates */
	int (*op)(struct fctx *c);
	/* Without injection: close what prep and op left open */
	void (*undo)(struct fctx *c);
	/* Without injection: the device bound with its vendor, module loaded */
	int (*recover)(struct fctx *c);
};

static int open_sysfd(struct fctx *c, const char *path)
{
	c->sysfd = open(path, O_WRONLY | O_CLOEXEC);
	if (c->sysfd < 0)
		return vl_die("open of %s", path);
	return 0;
}

/* write() of @val to the pre-opened sysfs file */
static int op_sysfd_write(struct fctx *c, const char *val)
{
	size_t len = strlen(val);
	ssize_t n = write(c->sysfd, val, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static void undo_sysfd(struct fctx *c)
{
	if (c->sysfd >= 0)
		close(c->sysfd);
	c->sysfd = -1;
}

static void undo_dev(struct fctx *c)
{
	dev_close(&c->m.d);
}

static int recover_edu(struct fctx *c)
{
	return ensure_edu(c->bdf);
}

static int prep_bind(struct fctx *c)
{
	char path[PATH_MAX];
	int ret;

	ret = unbind_dev(c->bdf);
	if (ret)
		return ret;
	dev_sys(path, sizeof(path), c->bdf, "driver_override");
	ret = sysfs_write(path, "vfio-pci");
	return ret ? ret : open_sysfd(c, PCI_SYS "/drivers_probe");
}

/* bind and unbind: the device's name to the pre-opened file */
static int op_write_bdf(struct fctx *c)
{
	return op_sysfd_write(c, c->bdf);
}

static int prep_unbind(struct fctx *c)
{
	char path[PATH_MAX];
	int ret;

	ret = ensure_edu(c->bdf);
	if (ret)
		return ret;
	dev_sys(path, sizeof(path), c->bdf, "driver/unbind");
	return open_sysfd(c, path);
}

static int prep_open(struct fctx *c)
{
	return dev_group_path(c->bdf, c->gpath, sizeof(c->gpath));
}

static int op_open(struct fctx *c)
{
	return dev_open_fds(&c->m.d, c->bdf, c->gpath);
}

static int prep_dev(struct fctx *c)
{
	memset(&c->m, 0, sizeof(c->m));
	return dev_open(&c->m.d, c->bdf);
}

/* info: 64 KiB holds any answer; static, so nothing is allocated armed */
static uint64_t ibuf[65536 / sizeof(uint64_t)];

static int info_walk(struct fctx *c, int baseline)
{
	struct vfio_device_info *di = (void *)ibuf;
	struct dev *d = &c->m.d;
	uint32_t i, nr, ni;
	int ret, first = 0;

	ret = get_info_buf(d, VFIO_DEVICE_GET_INFO, 0, ibuf, sizeof(ibuf));
	if (ret < 0)
		return ret;
	if ((size_t)ret > sizeof(ibuf))
		return -E2BIG;
	nr = di->num_regions < 64 ? di->num_regions : 64;
	ni = di->num_irqs < 64 ? di->num_irqs : 64;
	if (baseline) {
		c->nregions = nr;
		c->nirqs = ni;
	} else if (nr != c->nregions || ni != c->nirqs) {
		/* An answer that differs from the uninjected one */
		return -EPROTO;
	}
	for (i = 0; i < nr; i++) {
		ret = get_info_buf(d, VFIO_DEVICE_GET_REGION_INFO, i, ibuf,
				   sizeof(ibuf));
		ret = ret < 0 ? ret : 0;
		if (baseline)
			c->reg_rc[i] = ret;
		else if (ret != c->reg_rc[i] && !first)
			first = ret ? ret : -EPROTO;
	}
	for (i = 0; i < ni; i++) {
		ret = get_info_buf(d, VFIO_DEVICE_GET_IRQ_INFO, i, ibuf,
				   sizeof(ibuf));
		ret = ret < 0 ? ret : 0;
		if (baseline)
			c->irq_rc[i] = ret;
		else if (ret != c->irq_rc[i] && !first)
			first = ret ? ret : -EPROTO;
	}
	return first;
}

static int prep_info(struct fctx *c)
{
	int ret = prep_dev(c);

	return ret ? ret : info_walk(c, 1);
}

static int op_info(struct fctx *c)
{
	return info_walk(c, 0);
}

static int prep_v1(struct fctx *c)
{
	int ret = prep_dev(c);

	c->s.len = 0;
	return ret ? ret : v1_find(&c->m, 0);
}

static int op_v1save(struct fctx *c)
{
	return v1_save_stream(&c->m, &c->s, 0);
}

static int op_v1resume(struct fctx *c)
{
	c->saved.chunk = c->m.area_size ? c->m.area_size : c->saved.len;
	return v1_restore(&c->m, &c->saved, 0);
}

static int prep_v2(struct fctx *c)
{
	int ret = prep_dev(c);

	c->s.len = 0;
	return ret ? ret : v2_find(&c->m);
}

static int op_v2save(struct fctx *c)
{
	return v2_save_stream(&c->m, &c->s);
}

static int op_v2resume(struct fctx *c)
{
	return v2_restore(&c->m, &c->saved);
}

static int prep_trap(struct fctx *c)
{
	char path[PATH_MAX], val[8];
	int ret;

	ret = sysfs_read(TRAP_PARAM, val, sizeof(val));
	if (ret)
		return ret;
	if (strcmp(val, "N"))
		return vl_fail(-EINVAL, "%s is %s: the trap path needs trap_bar0=N (BAR0 mmap-able until trapped)",
			       TRAP_PARAM, val);
	ret = prep_dev(c);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), EDU_DEBUGFS "/%s/bar0_trapped", c->bdf);
	return open_sysfd(c, path);
}

static int op_trap(struct fctx *c)
{
	c->r1 = write(c->sysfd, "1", 1) < 0 ? errno : 0;
	c->r2 = write(c->sysfd, "0", 1) < 0 ? errno : 0;
	if (c->r1 != ENOTCONN)
		return c->r1 ? -c->r1 : -EPROTO;
	return -c->r2;
}

static void undo_trap(struct fctx *c)
{
	undo_sysfd(c);
	undo_dev(c);
}

/*
 * The device fd's close: the device's release (the vendor's close_device
 * and vfio-pci's) runs in this task, at the syscall's end.  The group's
 * and the container's fds are closed afterwards by undo_dev(), not under
 * injection: detaching the group from type1 gives the device its default
 * IOMMU domain back through the IOMMU core's must-succeed path, which
 * WARNs by design when an allocation in it fails (seen with the intel
 * IOMMU: __iommu_release_dma_ownership()), outside the series.
 */
static int op_close(struct fctx *c)
{
	int ret = close(c->m.d.fd) ? -errno : 0;

	c->m.d.fd = -1;
	return ret;
}

/* unload: every device vfio_pci_edu drives is unbound first */
static int prep_unload(struct fctx *c)
{
	char path[PATH_MAX], vendor[80], refcnt[16];
	struct dirent *de;
	DIR *dir;
	int ret;

	ret = mod_load();
	if (ret)
		return ret;
	c->nunbound = 0;
	dir = opendir(PCI_SYS "/devices");
	if (!dir)
		return vl_die(PCI_SYS "/devices");
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		vendor_of(de->d_name, vendor, sizeof(vendor));
		if (strcmp(vendor, EDU_MOD))
			continue;
		if (c->nunbound == (int)ARRAY_SIZE(c->unbound)) {
			closedir(dir);
			return vl_fail(-E2BIG, "more than %zu devices driven by %s",
				       ARRAY_SIZE(c->unbound), EDU_MOD);
		}
		snprintf(c->unbound[c->nunbound++], sizeof(c->unbound[0]),
			 "%.31s", de->d_name);
	}
	closedir(dir);
	for (ret = 0; ret < c->nunbound; ret++)
		if (unbind_dev(c->unbound[ret]))
			return -EBUSY;
	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", EDU_MOD);
	ret = sysfs_read(path, refcnt, sizeof(refcnt));
	if (!ret && strcmp(refcnt, "0"))
		ret = vl_fail(-EBUSY, "%s has refcnt %s with no device bound",
			      EDU_MOD, refcnt);
	return ret;
}

static int op_unload(struct fctx *c)
{
	(void)c;
	return syscall(SYS_delete_module, EDU_MOD, O_NONBLOCK) ? -errno : 0;
}

static int recover_unload(struct fctx *c)
{
	int i, ret;

	ret = mod_load();
	for (i = 0; !ret && i < c->nunbound; i++)
		ret = ensure_edu(c->unbound[i]);
	if (!ret)
		ret = ensure_edu(c->bdf);
	if (!ret && c->bdf2)
		ret = ensure_edu(c->bdf2);
	return ret;
}

static const struct fpath fpaths[] = {
	{ "bind", prep_bind, op_write_bdf, undo_sysfd, recover_edu },
	{ "open", prep_open, op_open, undo_dev, NULL },
	{ "info", prep_info, op_info, undo_dev, NULL },
	{ "v1save", prep_v1, op_v1save, undo_dev, NULL },
	{ "v1resume", prep_v1, op_v1resume, undo_dev, NULL },
	{ "v2save", prep_v2, op_v2save, undo_dev, NULL },
	{ "v2resume", prep_v2, op_v2resume, undo_dev, NULL },
	{ "trap", prep_trap, op_trap, undo_trap, NULL },
	{ "close", prep_dev, op_close, undo_dev, NULL },
	{ "unbind", prep_unbind, op_write_bdf, undo_sysfd, recover_edu },
	{ "unload", prep_unload, op_unload, NULL, recover_unload },
};

static const char *const fault_attrs[][2] = {
	{ DBG "/failslab/ignore-gfp-wait", "N" },
	{ DBG "/failslab/verbose", "0" },
	{ DBG "/failslab/probability", "0" },
	{ DBG "/fail_page_alloc/ignore-gfp-wait", "N" },
	{ DBG "/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ DBG "/fail_page_alloc/min-order", "0" },
	{ DBG "/fail_page_alloc/verbose", "0" },
	{ DBG "/fail_page_alloc/probability", "0" },
	{ FF "/verbose", "0" },
	{ FF "/probability", "0" },
};

static const char *const fault_verbose[] = {
	DBG "/failslab/verbose", DBG "/fail_page_alloc/verbose", FF "/verbose",
};

struct ffunc {
	char name[128];
	int added;	/* by us: removed at the end */
};

/* The whole of a small file, NUL-terminated, or NULL */
static char *read_all(const char *path)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *p;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p)
				break;
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (buf)
		buf[len] = 0;
	return buf;
}

/* The /dev nodes fix_devnodes() made, to unlink once checked */
static char made_nodes[8][PATH_MAX];
static int nmade;

/*
 * Make @node from the "MAJOR:MINOR" in @devattr if the device has one and
 * the node is missing: 1 when made, 0 when there was nothing to make, < 0
 * on error.
 */
static int make_node(const char *node, const char *devattr)
{
	unsigned int maj, min;
	char *dev;
	int ok;

	if (!access(node, F_OK))
		return 0;
	dev = read_all(devattr);
	if (!dev)
		return 0;
	ok = sscanf(dev, "%u:%u", &maj, &min) == 2;
	free(dev);
	if (!ok)
		return 0;
	if (nmade == (int)ARRAY_SIZE(made_nodes))
		return vl_fail(-E2BIG, "more than %zu /dev nodes to make",
			       ARRAY_SIZE(made_nodes));
	if (mknod(node, S_IFCHR | 0600, makedev(maj, min)))
		return vl_die("mknod %s", node);
	snprintf(made_nodes[nmade++], sizeof(made_nodes[0]), "%s", node);
	return 1;
}

/*
 * An allocation failure injected into a char device class's devnode
 * callback (vfio_devnode()'s kasprintf() for a group, vfio_device_devnode()'s
 * for a device cdev) fails devtmpfs_create_node(), whose result
 * device_add() does not check: the device is registered, its /dev node is
 * never made.  That is the driver core's, outside the series; udev does
 * not make nodes either (it relies on devtmpfs).  Make the nodes of @bdf's
 * group and cdev that are missing, so that the device can be checked as it
 * is, and return how many were made (< 0 on error).  drop_devnodes()
 * removes them again afterwards: devtmpfs never removes a node it did not
 * make, and one left behind would name whatever gets its minor next.
 */
static int fix_devnodes(const char *bdf)
{
	char link[PATH_MAX], sys[PATH_MAX], node[PATH_MAX], attr[PATH_MAX + 300];
	int made = 0, ret;
	struct dirent *e;
	const char *grp;
	ssize_t n;
	DIR *dir;

	snprintf(sys, sizeof(sys), PCI_SYS "/devices/%s/iommu_group", bdf);
	n = readlink(sys, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		grp = strrchr(link, '/');
		grp = grp ? grp + 1 : link;
		snprintf(node, sizeof(node), "/dev/vfio/%.64s", grp);
		snprintf(sys, sizeof(sys), "/sys/class/vfio/%.64s/dev", grp);
		ret = make_node(node, sys);
		if (ret < 0)
			return ret;
		made += ret;
	}
	snprintf(sys, sizeof(sys), PCI_SYS "/devices/%s/vfio-dev", bdf);
	dir = opendir(sys);
	if (!dir)
		return made;
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, "vfio", 4))
			continue;
		snprintf(node, sizeof(node), "/dev/vfio/devices/%.64s", e->d_name);
		snprintf(attr, sizeof(attr), "%s/%.64s/dev", sys, e->d_name);
		ret = make_node(node, attr);
		if (ret < 0) {
			made = ret;
			break;
		}
		made += ret;
	}
	closedir(dir);
	return made;
}

/*
 * Unlink the nodes fix_devnodes() made; with @rebind, bind @bdf afresh
 * (without injection) so that devtmpfs makes them, and check it did.
 */
static int drop_devnodes(const char *bdf, int rebind)
{
	int i, ret;

	for (i = 0; i < nmade; i++)
		unlink(made_nodes[i]);
	nmade = 0;
	if (!rebind)
		return 0;
	ret = unbind_dev(bdf);
	if (!ret)
		ret = ensure_edu(bdf);
	if (!ret && fix_devnodes(bdf)) {
		drop_devnodes(bdf, 0);
		ret = vl_fail(-ENOENT, "%s: /dev nodes missing after a bind without injection",
			      bdf);
	}
	return ret;
}

/*
 * Add the functions of the comma-separated @list that injectable lists
 * to fail_function/inject; Return: how many are in it, in @ff
 */
static int setup_funcs(const char *list, struct ffunc *ff, int max)
{
	char *names, *name, *save, *inj, *line, *lsave, *tok, path[PATH_MAX];
	char retval[64];
	int n = 0, ret, found;

	if (!*list)
		return 0;
	inj = read_all(FF "/injectable");
	if (!inj) {
		note("fail_function: cannot read %s: no function is injected", FF "/injectable");
		return 0;
	}
	names = strdup(list);
	for (name = strtok_r(names, ",", &save); name && n < max;
	     name = strtok_r(NULL, ",", &save)) {
		/* Lines "name [module]\tTYPE" */
		char *copy = strdup(inj), *type = NULL;

		found = 0;
		for (line = strtok_r(copy, "\n", &lsave); line;
		     line = strtok_r(NULL, "\n", &lsave)) {
			tok = line + strcspn(line, " \t");
			if ((size_t)(tok - line) != strlen(name) ||
			    strncmp(line, name, tok - line))
				continue;
			found = 1;
			type = strrchr(line, '\t');
			type = type ? type + 1 : tok;
			break;
		}
		if (!found) {
			note("fail_function: %s is not in %s/injectable: skipped", name, FF);
			free(copy);
			continue;
		}
		ret = sysfs_write(FF "/inject", name);
		if (ret && ret != -EBUSY) {
			note("fail_function: %s (%s) refused: %s: skipped", name,
			     type, vl_msg);
			free(copy);
			continue;
		}
		snprintf(ff[n].name, sizeof(ff[n].name), "%s", name);
		ff[n].added = !ret;
		snprintf(path, sizeof(path), FF "/%s/retval", name);
		if (sysfs_read(path, retval, sizeof(retval)))
			snprintf(retval, sizeof(retval), "?");
		note("fail_function: %s (%s), retval %s%s", name, type, retval,
		     ret ? ", injected already" : "");
		free(copy);
		n++;
	}
	free(names);
	free(inj);
	return n;
}

static void clear_funcs(struct ffunc *ff, int n)
{
	char buf[160];
	int i;

	for (i = 0; i < n; i++) {
		if (!ff[i].added)
			continue;
		snprintf(buf, sizeof(buf), "!%.127s", ff[i].name);
		if (sysfs_write(FF "/inject", buf))
			note("fail_function: %s", vl_msg);
	}
}

static int fnth_fd = -1;

/* fail-nth as read back: 0 once the fault was injected, else what is left */
static long fnth_left(void)
{
	char buf[32];
	ssize_t n = pread(fnth_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/*
 * The stack the walk will use, faulted in before mlockall(): a page
 * fault while armed would be an injection point of ours, not the
 * kernel's
 */
static void __attribute__((noinline)) prefault_stack(void)
{
	volatile char stack[512 * 1024];
	size_t i;

	for (i = 0; i < sizeof(stack); i += 4096)
		stack[i] = 0;
}

static int cmd_faults(int argc, char **argv)
{
	int points = 0, errors = 0, ok = 0, broken = 0, complete = 0, nodes = 0;
	int errcount[256] = { 0 }, nff, final_failed = 0, i, ret, rec;
	struct fctx c = { .sysfd = -1 };
	const char *funcs = DEFAULT_FUNCS;
	const struct fpath *p = NULL;
	char arm[24], opmsg[sizeof(vl_msg)];
	struct ffunc ff[16];
	long max = 1000, step = 1, from = 1, n, left;
	size_t arm_len;
	int verbose = 0;

	for (i = 0; i < (int)ARRAY_SIZE(fpaths); i++)
		if (!strcmp(argv[0], fpaths[i].name))
			p = &fpaths[i];
	if (!p) {
		fprintf(stderr, "vfio-reliab: faults: unknown path '%s'\n", argv[0]);
		return 2;
	}
	c.bdf = argv[1];
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--max") && i + 1 < argc) {
			max = parse_u64(argv[++i], "--max");
		} else if (!strcmp(argv[i], "--step") && i + 1 < argc) {
			step = parse_u64(argv[++i], "--step");
			if (step < 1)
				step = 1;
		} else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			from = parse_u64(argv[++i], "--from");
			if (from < 1)
				from = 1;
		} else if (!strcmp(argv[i], "--verbose")) {
			verbose = 1;
		} else if (!strcmp(argv[i], "--funcs") && i + 1 < argc) {
			funcs = argv[++i];
		} else if (argv[i][0] != '-' && !c.bdf2) {
			c.bdf2 = argv[i];
		} else {
			fprintf(stderr, "vfio-reliab: faults: unknown argument '%s'\n",
				argv[i]);
			return 2;
		}
	}
	c.m.d.fd = c.m.d.group = c.m.d.container = -1;

	for (i = 0; i < (int)ARRAY_SIZE(fault_attrs); i++)
		if (sysfs_write(fault_attrs[i][0], fault_attrs[i][1]))
			bail("faults: setting up fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs mounted?)");
	/* The kernel logs each injected failure with its stack */
	for (i = 0; verbose && i < (int)ARRAY_SIZE(fault_verbose); i++)
		if (sysfs_write(fault_verbose[i], "2"))
			bail("faults: --verbose");
	nff = setup_funcs(funcs, ff, ARRAY_SIZE(ff));
	fnth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	if (fnth_fd < 0) {
		vl_die("%s", FAIL_NTH);
		bail("faults");
	}

	/* Buffers first: nothing may be allocated while armed */
	if (stream_reserve(&c.s, STREAM_CAP) || stream_reserve(&vstream, STREAM_CAP))
		bail("faults");
	c.s.fixed = 1;

	/* Where every step starts from, and the stream to resume */
	watchdog(2 * STEP_SECS, "faults %s: setting up", p->name);
	ret = p->recover ? p->recover(&c) : ensure_edu(c.bdf);
	if (!ret && c.bdf2)
		ret = ensure_edu(c.bdf2);
	if (!ret)
		ret = verify(c.bdf, c.bdf2);
	if (!ret) {
		ret = dev_open(&c.m.d, c.bdf);
		if (!ret)
			ret = v2_find(&c.m);
		if (!ret)
			ret = v2_save(&c.m, &c.saved);
		quiet_close(&c.m.d);
	}
	alarm(0);
	if (ret)
		bail("faults: before any fault was injected");
	note("faults %s: %s%s%s, a valid stream of %zu bytes, at most %ld points",
	     p->name, c.bdf, c.bdf2 ? " and " : "", c.bdf2 ? c.bdf2 : "",
	     c.saved.len, max);

	prefault_stack();
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		note("mlockall: %s: page faults may take injection points", strerror(errno));
	kmsg_wfd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg_wfd < 0 || write(kmsg_wfd, FAULTS_BEGIN, strlen(FAULTS_BEGIN)) < 0)
		note("cannot write to /dev/kmsg: %s", strerror(errno));

	for (n = from; n <= max; n += step) {
		watchdog(STEP_SECS, "faults %s: point %ld: setting up", p->name, n);
		ret = p->prep(&c);
		if (ret) {
			note("faults %s: point %ld: setting up (without injection) failed: %s",
			     p->name, n, vl_msg);
			broken = 1;
			if (p->undo)
				p->undo(&c);
			break;
		}
		arm_len = snprintf(arm, sizeof(arm), "%ld", n);
		vl_msg[0] = 0;
		watchdog(STEP_SECS, "faults %s: point %ld: the operation hangs",
			 p->name, n);

		/* Armed: only the operation's syscalls from here... */
		if (write(fnth_fd, arm, arm_len) != (ssize_t)arm_len) {
			vl_die("arming %s", FAIL_NTH);
			bail("faults");
		}
		ret = p->op(&c);
		left = fnth_left();
		if (write(fnth_fd, "0", 1) != 1) {
			vl_die("disarming %s", FAIL_NTH);
			bail("faults");
		}
		/* ...to here */

		alarm(0);
		if (ret && !vl_msg[0])
			snprintf(vl_msg, sizeof(vl_msg), "%s", strerror(-ret));
		memcpy(opmsg, vl_msg, sizeof(opmsg));
		watchdog(STEP_SECS, "faults %s: point %ld: cleaning up", p->name, n);
		if (p->undo)
			p->undo(&c);
		if (left < 0) {
			vl_die("reading %s", FAIL_NTH);
			bail("faults");
		}
		if (!left) {
			points++;
			if (ret) {
				errors++;
				errcount[-ret < 256 ? -ret : 0]++;
			} else {
				ok++;
			}
		} else {
			/* The operation has fewer than n points: all walked */
			complete = 1;
			if (ret) {
				final_failed = 1;
				note("faults %s: fails with no fault injected: %s",
				     p->name, opmsg);
				if (p->op == op_trap)
					note("faults trap: the write of 1 gave %s (expected ENOTCONN), of 0 %s (expected success)",
					     c.r1 ? errname(c.r1) : "success",
					     c.r2 ? errname(c.r2) : "success");
			}
		}

		watchdog(2 * STEP_SECS, "faults %s: point %ld: bringing the device back",
			 p->name, n);
		rec = p->recover ? p->recover(&c) : 0;
		if (!rec && !left) {
			rec = fix_devnodes(c.bdf);
			if (rec > 0) {
				note("faults %s: point %ld: made %d /dev node(s) that devtmpfs did not (see fix_devnodes())",
				     p->name, n, rec);
				nodes += rec;
			}
			rec = rec < 0 ? rec : 0;
		}
		if (!rec)
			rec = verify(c.bdf, c.bdf2);
		if (nmade) {
			ret = drop_devnodes(c.bdf, !rec);
			rec = rec ? rec : ret;
		}
		alarm(0);
		if (rec) {
			note("faults %s: point %ld (%s): the device does not work afterwards: %s",
			     p->name, n,
			     left ? "no fault" : ret ? opmsg : "operation succeeded",
			     vl_msg);
			broken = 1;
			break;
		}
		if (complete)
			break;
	}

	/*
	 * An operation whose walk reached no point: fail the first call of
	 * an injectable function with fail_function's own attributes
	 * instead, task-filtered (make-it-fail on this thread only) and
	 * times=1.  Both this and fail-nth need fail_function's kprobes on
	 * ftrace (rig/kernel.config): an int3 kprobe's handler runs in NMI
	 * context, where neither counts the thread.
	 */
	if (complete && !broken && !final_failed && !points && nff) {
		char times[16] = "";

		watchdog(STEP_SECS, "faults %s: fail_function: setting up", p->name);
		ret = p->prep(&c);
		if (!ret && (sysfs_write(FF "/task-filter", "Y") ||
			     sysfs_write(FF "/interval", "1") ||
			     sysfs_write(FF "/times", "1") ||
			     sysfs_write(FF "/probability", "100")))
			ret = -EIO;
		if (ret) {
			note("faults %s: fail_function: setting up failed: %s",
			     p->name, vl_msg);
			broken = 1;
		} else {
			vl_msg[0] = 0;
			watchdog(STEP_SECS, "faults %s: fail_function: the operation hangs",
				 p->name);
			if (sysfs_write("/proc/thread-self/make-it-fail", "1"))
				bail("faults: make-it-fail");
			ret = p->op(&c);
			if (sysfs_write("/proc/thread-self/make-it-fail", "0"))
				bail("faults: make-it-fail");
			alarm(0);
			sysfs_write(FF "/probability", "0");
			if (sysfs_read(FF "/times", times, sizeof(times)))
				bail("faults: fail_function/times");
			sysfs_write(FF "/task-filter", "N");
			if (ret && !vl_msg[0])
				snprintf(vl_msg, sizeof(vl_msg), "%s", strerror(-ret));
			memcpy(opmsg, vl_msg, sizeof(opmsg));
			if (p->undo)
				p->undo(&c);
			/* times counts down as faults are injected */
			if (!strcmp(times, "0")) {
				points++;
				if (ret) {
					errors++;
					errcount[-ret < 256 ? -ret : 0]++;
				} else {
					ok++;
				}
				note("faults %s: fail_function failed a call: %s",
				     p->name, ret ? opmsg : "the operation succeeded");
			}
			watchdog(2 * STEP_SECS, "faults %s: fail_function: bringing the device back",
				 p->name);
			rec = p->recover ? p->recover(&c) : 0;
			if (!rec)
				rec = verify(c.bdf, c.bdf2);
			alarm(0);
			if (rec) {
				note("faults %s: fail_function: the device does not work afterwards: %s",
				     p->name, vl_msg);
				broken = 1;
			}
		}
	}

	if (kmsg_wfd >= 0) {
		if (write(kmsg_wfd, FAULTS_END, strlen(FAULTS_END)) < 0)
			note("cannot write to /dev/kmsg: %s", strerror(errno));
		close(kmsg_wfd);
		kmsg_wfd = -1;
	}
	clear_funcs(ff, nff);

	if (errors) {
		char line[1024];
		size_t len = 0;

		for (i = 0; i < 256; i++)
			if (errcount[i])
				len += snprintf(line + len, sizeof(line) - len,
						" %s x%d", i ? errname(i) : "other",
						errcount[i]);
		note("faults %s: the operation's errors:%s", p->name, line);
	}
	if (!complete && !broken)
		note("faults %s: stopped at --max %ld before the operation's last point",
		     p->name, max);
	if (!points)
		note("faults %s: no injection point was reached", p->name);
	printf("RIG-RELIAB: faults %s points=%d of=%ld errors=%d ok=%d nodes=%d\n",
	       p->name, points, complete ? n - 1 : 0, errors, ok, nodes);
	return broken || final_failed || !points ? 1 : 0;
}

/* --- fuzz --- */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

enum fz_kind {
	K_TRUNC, K_LENGTH, K_VERSION, K_FLAGS, K_MAGIC, K_ID, K_EXTEND,
	K_BITFLIP, K_BYTE, K_GARBAGE, K_STATE, NR_KINDS
};

static const char *const kind_names[NR_KINDS] = {
	"truncate", "length", "version", "flags", "magic", "id", "extend",
	"bitflip", "byte", "garbage", "state",
};

static const uint32_t length_vals[] = { 0, 1, 55, 56, 57, 0xffffffff };
static const uint16_t version_vals[] = { 0, 1, 3, 0xffff };
static const uint16_t flags_vals[] = { 1, 2, 0x8000 };
/*
 * The fixed mutations after the truncations: the values listed above,
 * version 1 without a factorial, magic, id, and extension by 1 and 64
 */
#define FIXED_MUTATIONS	(ARRAY_SIZE(length_vals) + ARRAY_SIZE(version_vals) + 1 + \
			 ARRAY_SIZE(flags_vals) + 4)

struct fz {
	const char *proto;
	int v1;
	struct mdev src;
	struct mdev dst;
	uint64_t bar0;		/* BAR0 and config space in the device fd */
	uint64_t cfg;
	struct stream valid;
	struct stream mut;
	struct stream out;
	struct edu_stream vst;	/* the valid stream */
	struct edu_state prev;	/* DST's registers now */
	uint32_t fact[35];	/* n! modulo 2^32, n = 0..34 */
	uint64_t seed;
	long round;
	char desc[256];		/* the mutation */
	unsigned long streams, refused, taken;
	unsigned long kinds[NR_KINDS], kinds_taken[NR_KINDS];
};

static void state_from(const struct edu_stream *st, struct edu_state *s)
{
	s->liveness = st->liveness;
	s->factorial = st->factorial;
	s->status = st->status & EDU_STATUS_IRQFACT;
	s->irq_status = st->irq_status;
	s->dma_src = st->dma_src;
	s->dma_dst = st->dma_dst;
	s->dma_count = st->dma_count;
}

static int bar_rd(struct fz *f, struct mdev *m, uint32_t reg, void *val,
		  size_t size)
{
	return dev_pread(&m->d, val, size, f->bar0 + reg, "BAR0 read");
}

static int bar_wr(struct fz *f, struct mdev *m, uint32_t reg, uint64_t val,
		  size_t size)
{
	return dev_pwrite(&m->d, &val, size, f->bar0 + reg, "BAR0 write");
}

/* The registers a stream carries, as @m's BAR0 reads them */
static int read_regs(struct fz *f, struct mdev *m, struct edu_state *s)
{
	int ret;

	ret = bar_rd(f, m, EDU_LIVENESS, &s->liveness, 4);
	if (!ret)
		ret = bar_rd(f, m, EDU_FACT, &s->factorial, 4);
	if (!ret)
		ret = bar_rd(f, m, EDU_STATUS, &s->status, 4);
	if (!ret)
		ret = bar_rd(f, m, EDU_IRQ_STATUS, &s->irq_status, 4);
	if (!ret)
		ret = bar_rd(f, m, EDU_DMA_SRC, &s->dma_src, 8);
	if (!ret)
		ret = bar_rd(f, m, EDU_DMA_DST, &s->dma_dst, 8);
	if (!ret)
		ret = bar_rd(f, m, EDU_DMA_COUNT, &s->dma_count, 8);
	s->status &= EDU_STATUS_IRQFACT;
	return ret;
}

/* 0 when @got is @want; else 1 and what differs in @why */
static int state_cmp(const struct edu_state *want, const struct edu_state *got,
		     char *why, size_t size)
{
	/*
	 * QEMU's edu checks IRQFACT just after it ends a factorial, so one
	 * the restore computed may raise the factorial interrupt when IRQFACT
	 * is restored right after: that bit is QEMU's, not the stream's.
	 */
	int irq_ok = got->irq_status == want->irq_status ||
		     ((want->status & EDU_STATUS_IRQFACT) &&
		      got->irq_status == (want->irq_status | EDU_IRQ_FACT));

	if (got->liveness != want->liveness)
		snprintf(why, size, "liveness %#x, expected %#x", got->liveness,
			 want->liveness);
	else if (got->factorial != want->factorial)
		snprintf(why, size, "factorial %#x, expected %#x",
			 got->factorial, want->factorial);
	else if (got->status != want->status)
		snprintf(why, size, "status IRQFACT %#x, expected %#x",
			 got->status, want->status);
	else if (!irq_ok)
		snprintf(why, size, "irq_status %#x, expected %#x",
			 got->irq_status, want->irq_status);
	else if (got->dma_src != want->dma_src)
		snprintf(why, size, "dma_src %#llx, expected %#llx",
			 (unsigned long long)got->dma_src,
			 (unsigned long long)want->dma_src);
	else if (got->dma_dst != want->dma_dst)
		snprintf(why, size, "dma_dst %#llx, expected %#llx",
			 (unsigned long long)got->dma_dst,
			 (unsigned long long)want->dma_dst);
	else if (got->dma_count != want->dma_count)
		snprintf(why, size, "dma_count %#llx, expected %#llx",
			 (unsigned long long)got->dma_count,
			 (unsigned long long)want->dma_count);
	else
		return 0;
	return 1;
}

/* A stream the device saved: a valid edu stream of this device */
static int parse_saved(struct fz *f, const struct stream *s,
		       struct edu_state *st, char *why, size_t size)
{
	struct edu_stream h;

	if (s->len != sizeof(h)) {
		snprintf(why, size, "a stream of %zu bytes, not %zu (synthetic_state must be 0)",
			 s->len, sizeof(h));
		return 1;
	}
	memcpy(&h, s->buf, sizeof(h));
	if (h.magic != EDU_MAGIC || h.version != EDU_VERSION || h.flags ||
	    h.length != sizeof(h) || (f->vst.magic && h.id != f->vst.id)) {
		snprintf(why, size, "not a valid edu stream: magic %#x version %u flags %#x length %u id %#x",
			 h.magic, h.version, h.flags, h.length, h.id);
		return 1;
	}
	state_from(&h, st);
	return 0;
}

static int fz_restore(struct fz *f, struct stream *s)
{
	s->chunk = f->dst.area_size ? f->dst.area_size : 4096;
	return f->v1 ? v1_restore(&f->dst, s, 0) : v2_restore(&f->dst, s);
}

static int fz_save(struct fz *f, struct mdev *m, struct stream *s)
{
	return f->v1 ? v1_save(m, s, 0) : v2_save(m, s);
}

static void hexdump(const struct stream *s)
{
	char line[3 * 32 + 1];
	size_t i, len = 0;

	note("the mutated stream, %zu bytes%s:", s->len,
	     s->len > 128 ? " (the first 128)" : "");
	for (i = 0; i < s->len && i < 128; i++) {
		len += snprintf(line + len, sizeof(line) - len, " %02x",
				(uint8_t)s->buf[i]);
		if (i % 32 == 31 || i + 1 == s->len || i == 127) {
			note("  %04zx:%s", i - i % 32, line);
			len = 0;
		}
	}
}

static void fz_summary(struct fz *f)
{
	char line[1024];
	size_t len = 0;
	int k;

	for (k = 0; k < NR_KINDS; k++)
		len += snprintf(line + len, sizeof(line) - len, " %s %lu/%lu",
				kind_names[k], f->kinds_taken[k], f->kinds[k]);
	note("fuzz %s: taken/streams by mutation:%s", f->proto, line);
	printf("RIG-RELIAB: fuzz %s streams=%lu refused=%lu taken=%lu seed=%llu\n",
	       f->proto, f->streams, f->refused, f->taken,
	       (unsigned long long)f->seed);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
fz_fail(struct fz *f, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	note("fuzz %s: FAILED with seed %llu at round %ld, mutation %s: %s",
	     f->proto, (unsigned long long)f->seed, f->round, f->desc, why);
	if (f->round >= 0)
		hexdump(&f->mut);
	fz_summary(f);
	fprintf(stderr, "vfio-reliab: fuzz %s: seed %llu round %ld mutation %s: %s\n",
		f->proto, (unsigned long long)f->seed, f->round, f->desc, why);
	exit(1);
}

/* Mutate the valid stream into f->mut for f->round; Return: its kind */
static int mutate(struct fz *f, uint64_t *rng)
{
	const size_t vlen = f->valid.len;
	struct edu_stream *st = (void *)f->mut.buf;
	uint8_t *out = (uint8_t *)f->mut.buf;
	long r = f->round;
	size_t i, k, len;
	int kind;

	memcpy(out, f->valid.buf, vlen);
	f->mut.len = vlen;

	/* The fixed ones first: every truncation and each listed value */
	if (r < (long)vlen) {
		f->mut.len = r;
		snprintf(f->desc, sizeof(f->desc), "truncate to %ld bytes", r);
		return K_TRUNC;
	}
	r -= vlen;
	if (r < (long)ARRAY_SIZE(length_vals)) {
		st->length = length_vals[r];
		snprintf(f->desc, sizeof(f->desc), "length %#x", st->length);
		return K_LENGTH;
	}
	r -= ARRAY_SIZE(length_vals);
	if (r < (long)ARRAY_SIZE(version_vals) + 1) {
		if (r == (long)ARRAY_SIZE(version_vals)) {
			/* Version 1 takes no factorial result: it must be 0 */
			st->version = 1;
			st->factorial = 0;
			snprintf(f->desc, sizeof(f->desc), "version 1, factorial 0");
		} else {
			st->version = version_vals[r];
			snprintf(f->desc, sizeof(f->desc), "version %#x",
				 st->version);
		}
		return K_VERSION;
	}
	r -= ARRAY_SIZE(version_vals) + 1;
	if (r < (long)ARRAY_SIZE(flags_vals)) {
		st->flags = flags_vals[r];
		snprintf(f->desc, sizeof(f->desc), "flags %#x", st->flags);
		return K_FLAGS;
	}
	r -= ARRAY_SIZE(flags_vals);
	if (r == 0) {
		st->magic = ~st->magic;
		snprintf(f->desc, sizeof(f->desc), "magic %#x", st->magic);
		return K_MAGIC;
	}
	if (r == 1) {
		st->id ^= 1U << 16;	/* the device's minor version */
		snprintf(f->desc, sizeof(f->desc), "id %#x", st->id);
		return K_ID;
	}
	if (r == 2 || r == 3) {
		k = r == 2 ? 1 : 64;
		for (i = 0; i < k; i++)
			out[vlen + i] = rng_next(rng);
		f->mut.len = vlen + k;
		snprintf(f->desc, sizeof(f->desc), "extend by %zu bytes", k);
		return K_EXTEND;
	}

	kind = rng_next(rng) % NR_KINDS;
	switch (kind) {
	case K_TRUNC:
		f->mut.len = rng_next(rng) % vlen;
		snprintf(f->desc, sizeof(f->desc), "truncate to %zu bytes",
			 f->mut.len);
		break;
	case K_LENGTH:
		st->length = length_vals[rng_next(rng) % ARRAY_SIZE(length_vals)];
		snprintf(f->desc, sizeof(f->desc), "length %#x", st->length);
		break;
	case K_VERSION:
		k = rng_next(rng) % (ARRAY_SIZE(version_vals) + 1);
		if (k == ARRAY_SIZE(version_vals)) {
			st->version = 1;
			st->factorial = 0;
			snprintf(f->desc, sizeof(f->desc), "version 1, factorial 0");
		} else {
			st->version = version_vals[k];
			snprintf(f->desc, sizeof(f->desc), "version %#x",
				 st->version);
		}
		break;
	case K_FLAGS:
		st->flags = rng_next(rng);
		snprintf(f->desc, sizeof(f->desc), "flags %#x", st->flags);
		break;
	case K_MAGIC:
		st->magic = rng_next(rng);
		if (st->magic == EDU_MAGIC)
			st->magic ^= 1;
		snprintf(f->desc, sizeof(f->desc), "magic %#x", st->magic);
		break;
	case K_ID:
		st->id = rng_next(rng);
		if (st->id == f->vst.id)
			st->id ^= 1;
		snprintf(f->desc, sizeof(f->desc), "id %#x", st->id);
		break;
	case K_EXTEND:
		k = 1 + rng_next(rng) % 64;
		for (i = 0; i < k; i++)
			out[vlen + i] = rng_next(rng);
		f->mut.len = vlen + k;
		snprintf(f->desc, sizeof(f->desc), "extend by %zu bytes", k);
		break;
	case K_BITFLIP:
		k = 1 + rng_next(rng) % 8;
		len = snprintf(f->desc, sizeof(f->desc), "%zu bit flips at", k);
		for (i = 0; i < k; i++) {
			size_t pos = rng_next(rng) % vlen;
			unsigned int bit = rng_next(rng) % 8;

			out[pos] ^= 1U << bit;
			len += snprintf(f->desc + len, sizeof(f->desc) - len,
					" %zu.%u", pos, bit);
		}
		break;
	case K_BYTE:
		i = rng_next(rng) % vlen;
		out[i] = rng_next(rng);
		snprintf(f->desc, sizeof(f->desc), "byte %zu = %#x", i, out[i]);
		break;
	case K_GARBAGE:
		/* Mostly short, now and then more than a v1 data section */
		len = rng_next(rng);
		len = len % 4 ? len % 129 : len % 8193;
		for (i = 0; i < len; i++)
			out[i] = rng_next(rng);
		f->mut.len = len;
		snprintf(f->desc, sizeof(f->desc), "%zu bytes of garbage", len);
		break;
	case K_STATE:
		/* A valid header with random registers: mostly taken */
		st->liveness = rng_next(rng);
		st->status = rng_next(rng);
		st->irq_status = rng_next(rng) % 2 ? 0 : (uint32_t)rng_next(rng);
		st->factorial = f->fact[rng_next(rng) % ARRAY_SIZE(f->fact)];
		st->dma_src = rng_next(rng);
		st->dma_dst = rng_next(rng);
		st->dma_count = rng_next(rng);
		snprintf(f->desc, sizeof(f->desc), "state liveness %#x status %#x irq_status %#x factorial %#x dma %#llx %#llx %#llx",
			 st->liveness, st->status, st->irq_status, st->factorial,
			 (unsigned long long)st->dma_src,
			 (unsigned long long)st->dma_dst,
			 (unsigned long long)st->dma_count);
		break;
	}
	return kind;
}

/* Acknowledge DST's raised interrupts: none may stay asserted */
static void fz_ack(struct fz *f)
{
	uint32_t irq;
	int i;

	if (bar_rd(f, &f->dst, EDU_IRQ_STATUS, &irq, 4))
		fz_fail(f, "reading DST's irq_status: %s", vl_msg);
	for (i = 0; irq && i < 3; i++) {
		if (bar_wr(f, &f->dst, EDU_IRQ_ACK, irq, 4) ||
		    bar_rd(f, &f->dst, EDU_IRQ_STATUS, &irq, 4))
			fz_fail(f, "acknowledging DST's interrupts: %s", vl_msg);
	}
	if (irq)
		fz_fail(f, "DST's interrupts %#x stay raised after acknowledging them",
			irq);
	f->prev.irq_status = 0;
}

/* After a refused stream: DST leaves RESUMING, takes the valid one */
static void fz_recover(struct fz *f, const char *refusal)
{
	struct edu_state want, got;
	uint32_t state = 0;
	uint16_t cmd;
	char why[256];
	int i;

	if (f->v1) {
		/* Leaving RESUMING with part of a stream is refused once */
		for (i = 0; i < 3; i++) {
			if (v1_get(&f->dst, &state))
				fz_fail(f, "refused (%s), then: %s", refusal, vl_msg);
			if (state == VFIO_DEVICE_STATE_V1_RUNNING)
				break;
			v1_set(&f->dst, VFIO_DEVICE_STATE_V1_RUNNING);
		}
		if (state != VFIO_DEVICE_STATE_V1_RUNNING)
			fz_fail(f, "refused (%s), then DST's v1 device_state stays %#x: it cannot leave RESUMING",
				refusal, state);
	} else {
		/*
		 * The device is in ERROR, or will be when it leaves RESUMING,
		 * until reset, which this edu cannot do: close and reopen
		 * it, which makes it RUNNING.
		 */
		if (dev_reopen(&f->dst.d) ||
		    dev_mem_enable(&f->dst.d, f->cfg, &cmd))
			fz_fail(f, "refused (%s), then reopening DST: %s", refusal,
				vl_msg);
	}
	if (fz_restore(f, &f->valid))
		fz_fail(f, "refused (%s), then DST refuses the valid stream: %s",
			refusal, vl_msg);
	if (read_regs(f, &f->dst, &got))
		fz_fail(f, "refused (%s), then reading DST's registers: %s",
			refusal, vl_msg);
	state_from(&f->vst, &want);
	if (state_cmp(&want, &got, why, sizeof(why)))
		fz_fail(f, "refused (%s), then after the valid stream DST reads %s",
			refusal, why);
	f->prev = got;
}

/*
 * Whether the stream format of the sample (edu.c's struct edu_stream)
 * takes f->mut: all of one stream, with its magic, version 2 and a
 * factorial result (one of n! modulo 2^32) or version 1 and factorial 0,
 * flags 0, its length and the device's id; or no data at all, which
 * leaves the device as it was.
 */
static int fz_allowed(const struct fz *f)
{
	struct edu_stream st;
	size_t i;

	if (!f->mut.len)
		return 1;
	if (f->mut.len != sizeof(st))
		return 0;
	memcpy(&st, f->mut.buf, sizeof(st));
	if (st.magic != EDU_MAGIC || st.flags || st.length != sizeof(st) ||
	    st.id != f->vst.id)
		return 0;
	if (st.version == 1)
		return !st.factorial;
	if (st.version != EDU_VERSION)
		return 0;
	for (i = 0; i < ARRAY_SIZE(f->fact); i++)
		if (f->fact[i] == st.factorial)
			return 1;
	return 0;
}

/* A stream DST took: DST's state is the stream's */
static void fz_check_taken(struct fz *f)
{
	struct edu_state want, got;
	struct edu_stream st;
	char why[256];

	if (!f->mut.len) {
		/* No data at all: resuming is abandoned, nothing changes */
		want = f->prev;
	} else if (f->mut.len < sizeof(st)) {
		fz_fail(f, "DST took a stream of %zu bytes, shorter than struct edu_stream",
			f->mut.len);
	} else {
		memcpy(&st, f->mut.buf, sizeof(st));
		state_from(&st, &want);
		/* A version 1 stream leaves the factorial register alone */
		if (st.version == 1)
			want.factorial = f->prev.factorial;
	}
	if (fz_save(f, &f->dst, &f->out))
		fz_fail(f, "DST took the stream, then saving DST failed: %s",
			vl_msg);
	if (parse_saved(f, &f->out, &got, why, sizeof(why)))
		fz_fail(f, "DST took the stream, then saved %s", why);
	if (state_cmp(&want, &got, why, sizeof(why)))
		fz_fail(f, "DST took the stream, but its state is not the stream's: %s",
			why);
	f->prev = got;
}

static int fz_open(struct fz *f, struct mdev *m, const char *bdf)
{
	struct vfio_region_info *ri;
	uint16_t cmd;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = dev_open(&m->d, bdf);
	if (ret)
		return ret;
	if (strcmp(m->d.vendor, EDU_MOD))
		return vl_fail(-ENODEV, "%s is driven by %s, not %s", bdf,
			       m->d.vendor, EDU_MOD);
	ri = get_info(&m->d, VFIO_DEVICE_GET_REGION_INFO,
		      VFIO_PCI_BAR0_REGION_INDEX, 1);
	if (!ri)
		return -EIO;
	f->bar0 = ri->offset;
	free(ri);
	ri = get_info(&m->d, VFIO_DEVICE_GET_REGION_INFO,
		      VFIO_PCI_CONFIG_REGION_INDEX, 1);
	if (!ri)
		return -EIO;
	f->cfg = ri->offset;
	free(ri);
	ret = dev_mem_enable(&m->d, f->cfg, &cmd);
	if (ret)
		return ret;
	return f->v1 ? v1_find(m, 0) : v2_find(m);
}

static int cmd_fuzz(char **argv)
{
	struct edu_state want, got;
	static struct fz fz;
	struct fz *f = &fz;
	uint64_t rng, count;
	uint32_t fact = 1, status;
	struct kmsg k;
	char why[256];
	int i, kind;

	f->proto = argv[2];
	if (!strcmp(f->proto, "v1")) {
		f->v1 = 1;
	} else if (strcmp(f->proto, "v2")) {
		fprintf(stderr, "vfio-reliab: fuzz: protocol '%s': v1 or v2\n",
			f->proto);
		return 2;
	}
	count = parse_u64(argv[3], "COUNT");
	f->seed = parse_u64(argv[4], "SEED");
	rng = f->seed ? f->seed : 0x9e3779b97f4a7c15ULL;
	f->round = -1;
	snprintf(f->desc, sizeof(f->desc), "none (setting up)");
	if (!strcmp(argv[0], argv[1]))
		fz_fail(f, "SRC and DST are both %s", argv[0]);
	for (i = 0; i < (int)ARRAY_SIZE(f->fact); i++) {
		f->fact[i] = fact;
		fact *= i + 1;
	}
	if (stream_reserve(&f->valid, STREAM_CAP) ||
	    stream_reserve(&f->mut, STREAM_CAP) ||
	    stream_reserve(&f->out, STREAM_CAP))
		fz_fail(f, "%s", vl_msg);

	if (fz_open(f, &f->src, argv[0]) || fz_open(f, &f->dst, argv[1]))
		fz_fail(f, "opening the devices: %s", vl_msg);

	/* SRC's registers, non-zero, written through BAR0 */
	if (bar_wr(f, &f->src, EDU_STATUS, 0, 4) ||
	    bar_wr(f, &f->src, EDU_LIVENESS, 0x5a5a1234, 4) ||
	    bar_wr(f, &f->src, EDU_FACT, 5, 4))
		fz_fail(f, "writing SRC's registers: %s", vl_msg);
	for (i = 0; i < 1000; i++) {
		if (bar_rd(f, &f->src, EDU_STATUS, &status, 4))
			fz_fail(f, "reading SRC's status: %s", vl_msg);
		if (!(status & EDU_STATUS_COMPUTING))
			break;
		usleep(1000);
	}
	if (bar_wr(f, &f->src, EDU_DMA_SRC, 0x40000, 8) ||
	    bar_wr(f, &f->src, EDU_DMA_DST, 0x12345000, 8) ||
	    bar_wr(f, &f->src, EDU_DMA_COUNT, 0x80, 8) ||
	    bar_wr(f, &f->src, EDU_IRQ_RAISE, 0x100, 4))
		fz_fail(f, "writing SRC's registers: %s", vl_msg);
	if (fz_save(f, &f->src, &f->valid))
		fz_fail(f, "saving SRC: %s", vl_msg);
	if (bar_wr(f, &f->src, EDU_IRQ_ACK, 0x100, 4))
		fz_fail(f, "acknowledging SRC's interrupt: %s", vl_msg);
	if (parse_saved(f, &f->valid, &want, why, sizeof(why)))
		fz_fail(f, "SRC saved %s", why);
	memcpy(&f->vst, f->valid.buf, sizeof(f->vst));
	if (want.liveness != ~0x5a5a1234U || want.factorial != 120 ||
	    want.dma_src != 0x40000 || want.dma_dst != 0x12345000 ||
	    want.dma_count != 0x80 || want.irq_status != 0x100)
		fz_fail(f, "SRC's stream does not hold the registers written: liveness %#x factorial %u dma %#llx %#llx %#llx irq_status %#x",
			want.liveness, want.factorial,
			(unsigned long long)want.dma_src,
			(unsigned long long)want.dma_dst,
			(unsigned long long)want.dma_count, want.irq_status);

	/* DST takes the valid stream, as after each refused one */
	if (fz_restore(f, &f->valid))
		fz_fail(f, "DST refuses the valid stream: %s", vl_msg);
	if (read_regs(f, &f->dst, &got))
		fz_fail(f, "reading DST's registers: %s", vl_msg);
	if (state_cmp(&want, &got, why, sizeof(why)))
		fz_fail(f, "after the valid stream DST reads %s", why);
	f->prev = got;
	fz_ack(f);

	if (kmsg_open(&k, 1))
		fz_fail(f, "%s", vl_msg);
	if (count < f->valid.len + FIXED_MUTATIONS)
		note("fuzz %s: %llu streams do not cover the %zu fixed mutations (every truncation, each listed value)",
		     f->proto, (unsigned long long)count,
		     f->valid.len + FIXED_MUTATIONS);
	note("fuzz %s: %s -> %s, %llu streams, seed %llu, a valid stream of %zu bytes",
	     f->proto, argv[0], argv[1], (unsigned long long)count,
	     (unsigned long long)f->seed, f->valid.len);

	for (f->round = 0; f->round < (long)count; f->round++) {
		kind = mutate(f, &rng);
		f->kinds[kind]++;
		f->streams++;
		if (!fz_restore(f, &f->mut)) {
			f->taken++;
			f->kinds_taken[kind]++;
			if (!fz_allowed(f))
				fz_fail(f, "DST took a stream that the stream format refuses");
			fz_check_taken(f);
		} else {
			char refusal[sizeof(vl_msg)];

			f->refused++;
			memcpy(refusal, vl_msg, sizeof(refusal));
			if (fz_allowed(f))
				fz_fail(f, "DST refused a stream that the stream format takes: %s",
					refusal);
			fz_recover(f, refusal);
		}
		fz_ack(f);
		if ((f->round + 1) % 100 == 0 || f->round + 1 == (long)count) {
			if (kmsg_check(&k, "fuzz"))
				fz_fail(f, "the kernel logged a splat (above) by this round");
		}
		if ((f->round + 1) % 1000 == 0)
			note("fuzz %s: %lu streams, %lu refused, %lu taken",
			     f->proto, f->streams, f->refused, f->taken);
	}
	fz_summary(f);
	dev_close(&f->src.d);
	dev_close(&f->dst.d);
	return 0;
}

/* --- hammer --- */

static int hammer_allowed(int err)
{
	return err == ENODEV || err == EBUSY || err == ENOENT ||
	       err == EAGAIN || err == ENXIO;
}

/* A failed op: counted when allowed, else the end */
static void hammer_err(int ret, const char *what, unsigned long *errors)
{
	if (!vl_msg[0])
		snprintf(vl_msg, sizeof(vl_msg), "%s", strerror(-ret));
	if (hammer_allowed(-ret)) {
		(*errors)++;
		return;
	}
	printf("# hammer: %s: %s\n", what, vl_msg);
	fprintf(stderr, "vfio-reliab: hammer: %s: %s\n", what, vl_msg);
	exit(1);
}

static int cmd_hammer(const char *bdf, const char *secs)
{
	unsigned long ops = 0, errors = 0, cycles = 0, plain = 0, whole = 0;
	unsigned long errors_before;
	struct stream s = { 0 };
	struct mdev m = { 0 };
	uint64_t end;
	uint32_t i;
	int ret;

	end = now_ns() + parse_u64(secs, "SECONDS") * 1000000000ULL;
	if (stream_reserve(&s, STREAM_CAP))
		bail("hammer");
	while (now_ns() < end) {
		cycles++;
		errors_before = errors;
		vl_msg[0] = 0;
		ops++;
		ret = dev_open(&m.d, bdf);
		if (ret) {
			hammer_err(ret, "open", &errors);
			usleep(1000);
			continue;
		}
		ops++;
		ret = get_info_buf(&m.d, VFIO_DEVICE_GET_INFO, 0, ibuf, sizeof(ibuf));
		if (ret < 0) {
			hammer_err(ret, "VFIO_DEVICE_GET_INFO", &errors);
			goto close;
		}
		for (i = 0; i < m.d.num_regions && i < 64; i++) {
			/* A device without VGA has no VGA region */
			if (i == VFIO_PCI_VGA_REGION_INDEX)
				continue;
			ops++;
			ret = get_info_buf(&m.d, VFIO_DEVICE_GET_REGION_INFO, i,
					   ibuf, sizeof(ibuf));
			if (ret < 0) {
				hammer_err(ret, "VFIO_DEVICE_GET_REGION_INFO", &errors);
				goto close;
			}
		}
		if (strcmp(m.d.vendor, EDU_MOD)) {
			/* Bound again without the sample: no migration */
			plain++;
			goto close;
		}
		ops++;
		ret = v2_find(&m);
		if (!ret)
			ret = v2_save(&m, &s);
		if (ret)
			hammer_err(ret, "v2 save", &errors);
close:
		ops++;
		ret = dev_close(&m.d);
		if (ret)
			hammer_err(ret, "close", &errors);
		if (errors == errors_before)
			whole++;
	}
	note("hammer %s: %lu cycles, %lu without an error, %lu on a device without %s",
	     bdf, cycles, whole, plain, EDU_MOD);
	printf("RIG-RELIAB: hammer ops=%lu errors=%lu\n", ops, errors);
	if (!whole) {
		note("hammer %s: no cycle went through without an error", bdf);
		return 1;
	}
	return 0;
}

/* --- hold --- */

/* The index of the REMAP_BAR_REGION irq, or -1 */
static int remap_index(struct dev *d)
{
	struct vfio_irq_info *info = (void *)ibuf;
	struct vfio_irq_info_cap_type *type;
	uint32_t index;
	int ret;

	for (index = VFIO_PCI_NUM_IRQS; index < d->num_irqs; index++) {
		ret = get_info_buf(d, VFIO_DEVICE_GET_IRQ_INFO, index, ibuf,
				   sizeof(ibuf));
		if (ret < 0 || (size_t)ret > sizeof(ibuf) ||
		    !(info->flags & VFIO_IRQ_INFO_FLAG_CAPS))
			continue;
		type = (void *)find_cap(ibuf, ret, info->cap_offset,
					VFIO_IRQ_INFO_CAP_TYPE);
		if (type && type->type == VFIO_IRQ_TYPE_REMAP_BAR_REGION &&
		    type->subtype == VFIO_IRQ_SUBTYPE_REMAP_BAR_REGION)
			return index;
	}
	return -1;
}

static void remap_note(struct dev *d, int index)
{
	struct vfio_irq_info *info = (void *)ibuf;
	struct vfio_irq_info_cap_remap_bar *cap;
	int ret;

	ret = get_info_buf(d, VFIO_DEVICE_GET_IRQ_INFO, index, ibuf,
			   sizeof(ibuf));
	if (ret < 0 || (size_t)ret > sizeof(ibuf))
		return;
	cap = (void *)find_cap(ibuf, ret, info->cap_offset,
			       VFIO_IRQ_INFO_CAP_REMAP_BAR);
	if (cap)
		note("hold remapwait: request %u, pending %#x, trapped %#x",
		     cap->seq, cap->pending, cap->trapped);
}

static int cmd_hold(const char *bdf, const char *stage)
{
	struct stream s = { 0 };
	struct mdev m = { 0 };
	int fd = -1, efd = -1, tfd, index, sig, status;
	char path[PATH_MAX], val[8], buf[4096];
	pid_t writer = -1;
	size_t total = 0;
	sigset_t set;
	ssize_t n;

	/* SIGUSR1 waits for sigwait(), however early it comes */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (strcmp(stage, "v1save") && strcmp(stage, "v2read") &&
	    strcmp(stage, "remapwait")) {
		fprintf(stderr, "vfio-reliab: hold: stage '%s': v1save, v2read or remapwait\n",
			stage);
		return 2;
	}
	if (dev_open(&m.d, bdf))
		bail("hold: open");
	if (!strcmp(stage, "v1save")) {
		if (v1_find(&m, 0) || v1_set(&m, VFIO_DEVICE_STATE_V1_SAVING))
			bail("hold v1save");
	} else if (!strcmp(stage, "v2read")) {
		if (v2_find(&m) || v2_set(&m, VFIO_DEVICE_STATE_STOP, 0))
			bail("hold v2read");
		fd = v2_set(&m, VFIO_DEVICE_STATE_STOP_COPY, 1);
		if (fd < 0)
			bail("hold v2read");
	} else {
		struct {
			struct vfio_irq_set set;
			int32_t fd;
		} req = {
			.set = {
				.argsz = sizeof(req),
				.flags = VFIO_IRQ_SET_DATA_EVENTFD |
					 VFIO_IRQ_SET_ACTION_TRIGGER,
				.start = 0,
				.count = 1,
			},
		};
		struct pollfd pfd;
		uint64_t cnt;

		if (sysfs_read(TRAP_PARAM, val, sizeof(val)))
			bail("hold remapwait");
		if (strcmp(val, "N")) {
			snprintf(vl_msg, sizeof(vl_msg), "%s is %s: BAR0 was trapped at open, nothing to wait for (set it to N first)",
				 TRAP_PARAM, val);
			bail("hold remapwait");
		}
		index = remap_index(&m.d);
		if (index < 0) {
			snprintf(vl_msg, sizeof(vl_msg), "%s has no VFIO_IRQ_TYPE_REMAP_BAR_REGION irq among its %u",
				 bdf, m.d.num_irqs);
			bail("hold remapwait");
		}
		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0) {
			vl_die("eventfd");
			bail("hold remapwait");
		}
		req.set.index = index;
		req.fd = efd;
		if (ioctl(m.d.fd, VFIO_DEVICE_SET_IRQS, &req)) {
			vl_die("%s: VFIO_DEVICE_SET_IRQS of irq %d (REMAP_BAR_REGION)",
			       bdf, index);
			bail("hold remapwait");
		}
		snprintf(path, sizeof(path), EDU_DEBUGFS "/%s/bar0_trapped", bdf);
		tfd = open(path, O_WRONLY | O_CLOEXEC);
		if (tfd < 0) {
			vl_die("%s", path);
			bail("hold remapwait");
		}
		fflush(NULL);
		writer = fork();
		if (writer < 0) {
			vl_die("fork");
			bail("hold remapwait");
		}
		if (!writer) {
			/* Only the debugfs file: the device is the holder's */
			dev_close(&m.d);
			close(efd);
			n = write(tfd, "1", 1);
			printf("# hold remapwait: writer: the write of 1 to %s returned %s\n",
			       path, n < 0 ? strerrorname_np(errno) : "success");
			fflush(NULL);
			_exit(0);
		}
		close(tfd);
		pfd.fd = efd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 30000) != 1 ||
		    read(efd, &cnt, sizeof(cnt)) != sizeof(cnt)) {
			kill(writer, SIGKILL);
			snprintf(vl_msg, sizeof(vl_msg), "the REMAP_BAR_REGION eventfd did not fire within 30 s of the write to %.400s",
				 path);
			bail("hold remapwait");
		}
		usleep(200000);
		if (waitpid(writer, &status, WNOHANG)) {
			snprintf(vl_msg, sizeof(vl_msg), "the writer returned without an acknowledgment");
			bail("hold remapwait");
		}
		remap_note(&m.d, index);
		note("writer pid %d", (int)writer);
	}

	printf("READY\n");
	fflush(stdout);
	if (sigwait(&set, &sig)) {
		vl_die("sigwait");
		bail("hold");
	}
	note("hold %s: SIGUSR1: going on", stage);

	if (!strcmp(stage, "v1save")) {
		if (v1_read_stream(&m, &s, 0))
			note("hold v1save: reading the stream: %s", vl_msg);
		else
			note("hold v1save: read a stream of %zu bytes", s.len);
	} else if (!strcmp(stage, "v2read")) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			total += n;
		note("hold v2read: read %zu bytes, then %s", total,
		     n < 0 ? strerrorname_np(errno) : "EOF");
		close(fd);
	} else {
		/* Closing the device ends the request the writer waits on */
		dev_close(&m.d);
		close(efd);
		if (waitpid(writer, &status, 0) < 0)
			note("hold remapwait: waitpid: %s", strerror(errno));
		else
			note("hold remapwait: the writer exited with status %d",
			     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	dev_close(&m.d);
	free(s.buf);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: vfio-reliab faults bind|open|info|v1save|v1resume|v2save|v2resume|trap|close|unbind|unload BDF [BDF2] [--from M] [--max N] [--step K] [--funcs f1,f2] [--verbose]\n"
		"       vfio-reliab fuzz SRC DST v1|v2 COUNT SEED\n"
		"       vfio-reliab hammer BDF SECONDS\n"
		"       vfio-reliab hold BDF v1save|v2read|remapwait\n"
		"       vfio-reliab verify BDF [BDF2]\n"
		"       vfio-reliab klog\n"
		"       vfio-reliab now\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	vl_prog = "vfio-reliab";
	vl_fatal = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGALRM, &sa, NULL);

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "faults") && argc >= 4)
		return cmd_faults(argc - 2, argv + 2);
	if (!strcmp(argv[1], "fuzz") && argc == 7)
		return cmd_fuzz(argv + 2);
	if (!strcmp(argv[1], "hammer") && argc == 4)
		return cmd_hammer(argv[2], argv[3]);
	if (!strcmp(argv[1], "hold") && argc == 4)
		return cmd_hold(argv[2], argv[3]);
	if (!strcmp(argv[1], "verify") && (argc == 3 || argc == 4)) {
		if (stream_reserve(&vstream, STREAM_CAP))
			bail("verify");
		return cmd_verify(argc - 2, argv + 2);
	}
	if (!strcmp(argv[1], "klog") && argc == 2)
		return cmd_klog();
	if (!strcmp(argv[1], "now") && argc == 2) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	return usage();
}
