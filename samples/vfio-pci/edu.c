// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci vendor driver sample for QEMU's "edu" device (1234:11e8).
 *
 * QEMU's educational device (docs/specs/edu.rst in QEMU) is a 1 MiB MMIO
 * BAR with an identification register, a factorial unit, an interrupt
 * raiser and a small DMA engine.  It exists in every QEMU, so this sample
 * shows and tests vfio-pci's vendor ops without special hardware:
 *
 *   qemu-system-x86_64 -machine q35 -device intel-iommu -device edu ...
 *
 * Bound to vfio-pci, an edu device makes vfio-pci request the module alias
 * "vfio-pci:1234-11e8", which loads this module; its probe accepts the
 * device and vfio-pci then drives it with edu_device_ops.  Every op is
 * vfio-pci's default except .init, which sets up migration and DMA
 * logging, .open_device, which also checks through the kernel's mapping of
 * BAR0 that the device answers as an edu and adds the sample's interrupt,
 * .close_device, and .write, which watches DMA commands.
 *
 * The fail_probe parameter makes probe fail, to test that vfio-pci falls
 * back to driving the device alone.  The synthetic_state parameter adds
 * up to 64 MiB of generated, checked state to each migration stream of
 * the devices bound after it is set, to measure the migration data path:
 *
 *   echo $((16 << 20)) > /sys/module/vfio_pci_edu/parameters/synthetic_state
 *
 * While a device is open, it also has a VFIO_IRQ_TYPE_REMAP_BAR_REGION
 * interrupt, through which the sample asks userspace to stop mapping BAR0
 * and to use read() and write() instead, and later tells it that BAR0 may
 * be mapped again.  The sample uses this to see the BAR0 writes that
 * start DMA during migration.  For tests, debugfs has a switch per open
 * device (not an ABI):
 *
 *   /sys/kernel/debug/vfio_pci_edu/<device>/bar0_trapped
 *
 * Writing 1 traps BAR0, waiting for userspace to acknowledge; the write
 * fails with the error of vfio_pci_core_trap_bars() (ENOTCONN when
 * userspace does not listen, ETIMEDOUT when it does not answer).  Writing
 * 0 makes BAR0 mmap-able again.  Reading gives the state.
 *
 * The device migrates with vfio-pci's migration helper
 * (vfio_pci_core_init_migration()), through the v1 migration region that
 * QEMU 7.2 uses and through migration v2 (a data_fd) that QEMU uses since
 * 8.0; the stream is described with struct edu_stream below.
 *
 * Dirty pages: the device writes guest memory only when told to, with a
 * BAR0 write of the DMA command.  While BAR0 is trapped, every write to the
 * DMA registers (0x80-0x9f) goes through the sample: it copies the value
 * once, writes it itself in the pieces vfio-pci would use, and before a
 * piece that holds a command towards memory, logs the pages the device
 * will write, from the destination and count the device holds then.  The
 * DMA registers are written only under the sample's lock, so nothing can
 * change them between the check and the command.  The device writes the
 * pages about 100 ms later, so a log read in between may come too early:
 * the sample logs the last transfer's pages again at the next command and
 * when the device stops, after waiting for a transfer in flight, so that
 * the final read has them.  BAR0 is trapped while the device is saved and
 * running, and while DMA logging is on: from open with trap_bar0=1, the
 * default, so that any userspace has its DMA logged, or through the
 * REMAP_BAR_REGION interrupt with trap_bar0=0.  The cost of the default:
 * BAR0 is never mmap-able, every access to it is a read() or write() on
 * the device fd, which for edu's few registers is fine.
 *
 * The log feeds device DMA logging (vfio_log_ops: DMA_LOGGING_START,
 * _REPORT, _STOP), which QEMU since 8.0 uses instead of type1's dirty
 * tracking, and which QEMU 10 requires before it migrates a device with its
 * default options.  A report has exactly the pages of the transfers since
 * the last one; after an overflow, every tracked range once.
 *
 * The sample pins no page: vfio_pin_pages() on a physical device would
 * have to honour type1's unmap contract (and cannot with iommufd).  With
 * type1 dirty tracking (QEMU 7.2's v1 migration), type1 therefore counts
 * every mapped page dirty at every pass, which is correct but converges
 * only when the downtime limit allows copying all of guest RAM at once.
 * For tests the log can be read, and emptied, through debugfs (not an ABI;
 * EBUSY while DMA logging is on):
 *
 *   /sys/kernel/debug/vfio_pci_edu/<device>/dma_log
 *
 * one line "<first page IOVA> <pages>" for each transfer, or "overflow"
 * when more than EDU_LOG_MAX transfers came between two reads (then every
 * page must be taken as dirty).  Read it with one read() of 4 KiB.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/interval_tree.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iopoll.h>
#include <linux/iova_bitmap.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/unaligned.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_vendor.h>

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

#define EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, 0xed */
#define EDU_ID_MAGIC_MASK	0xff
#define EDU_ID_MAGIC		0xed
#define EDU_REG_LIVENESS	0x04	/* reads the complement of the last write */
#define EDU_REG_FACT		0x08	/* write n: computes n! modulo 2^32 */
#define EDU_FACT_MAX		34	/* 34! and above are 0 modulo 2^32 */
#define EDU_REG_STATUS		0x20
#define EDU_STATUS_COMPUTING	0x01	/* a factorial is being computed */
#define EDU_STATUS_IRQFACT	0x80	/* interrupt when a factorial is done */
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80	/* 64 bits from here on */
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_DMA_MAX		4096	/* the device's buffer */
#define EDU_REG_DMA_END		0xa0	/* end of the DMA registers */
#define EDU_DMA_MASK		(BIT_ULL(28) - 1)	/* QEMU's default dma_mask */
#define EDU_LOG_MAX		64	/* transfers logged between two reads */
#define EDU_WAIT_US		(1000 * 1000)	/* for the device's work */

/*
 * The migration stream: one struct edu_stream, little endian.
 *
 * @magic is EDU_STREAM_MAGIC, @version EDU_STREAM_VERSION, @flags 0 and
 * @length sizeof(struct edu_stream); a stream that differs in any of them
 * is refused with -EINVAL, as is one whose @id (the identification
 * register: major and minor version of the device) is not the
 * destination's.
 *
 * The state: what the liveness register reads, the factorial register,
 * the interrupt-on-factorial bit of the status register, the raised and
 * unacknowledged interrupts, and the DMA source, destination and count.
 *
 * The factorial register reads the last result, n! modulo 2^32, and
 * writing n starts computing n!, so the result is put back by computing
 * it again from an n it is the factorial of: one of 34 values (n! for n
 * up to 33, and 0), and a stream with another value is refused.
 *
 * Version 1 had @factorial reserved, as 0, and did not carry the result:
 * it is still taken, and leaves the destination's factorial register as
 * it is.
 *
 * Not carried: a DMA command, since a transfer finishes within the
 * device's timer before the stopped device is saved; and the device's 4 KiB
 * DMA buffer, which only the device's DMA reaches, through userspace's
 * IOMMU mappings.
 *
 * Synthetic state: with the synthetic_state parameter set to N bytes when
 * the device binds, every stream saved also carries N bytes that stand for
 * a large device's state, to measure the migration data path with: @flags
 * has EDU_STREAM_SYNTHETIC, @length counts the whole stream, and the header
 * is followed by struct edu_synthetic and N / 8 little-endian words, word
 * i being edu_synthetic_word(@seed, i) for a @seed chosen at each save.
 * The destination takes such a stream when its own synthetic_state was at
 * least N when it was bound, and checks every word before it restores
 * anything.
 */
#define EDU_STREAM_MAGIC	0x6d554445	/* "EDUm" */
#define EDU_STREAM_VERSION	2
#define EDU_STREAM_VERSION_1	1
#define EDU_STREAM_SYNTHETIC	BIT(0)	/* in @flags, version 2 only */
#define EDU_SYNTHETIC_MAX	SZ_64M

struct edu_stream {
	__le32	magic;
	__le16	version;
	__le16	flags;
	__le32	length;
	__le32	id;
	__le32	liveness;
	__le32	status;
	__le32	irq_status;
	__le32	factorial;	/* reserved, 0, in version 1 */
	__le64	dma_src;
	__le64	dma_dst;
	__le64	dma_count;
};

struct edu_synthetic {
	__le64	seed;
	__le64	size;		/* bytes of words that follow */
};

#define EDU_SYNTHETIC_HDR	(sizeof(struct edu_stream) + \
				 sizeof(struct edu_synthetic))

/* A cheap pattern in which every word differs from its neighbours */
static u64 edu_synthetic_word(u64 seed, u64 i)
{
	return (seed ^ i) * 0x9e3779b97f4a7c15ULL;
}

static bool fail_probe;
module_param(fail_probe, bool, 0644);
MODULE_PARM_DESC(fail_probe, "Refuse every edu device with -EIO (for testing vfio-pci's fallback)");

static bool trap_bar0 = true;
module_param(trap_bar0, bool, 0644);
MODULE_PARM_DESC(trap_bar0, "Trap BAR0 from open, to log DMA for any userspace, including one without the REMAP_BAR_REGION interrupt (read at open; default on)");

static unsigned int synthetic_state;

static int synthetic_state_set(const char *val, const struct kernel_param *kp)
{
	unsigned int size;
	int ret;

	ret = kstrtouint(val, 0, &size);
	if (ret)
		return ret;
	if (size > EDU_SYNTHETIC_MAX || size % 8)
		return -EINVAL;
	WRITE_ONCE(synthetic_state, size);
	return 0;
}

static const struct kernel_param_ops synthetic_state_ops = {
	.set = synthetic_state_set,
	.get = param_get_uint,
};
module_param_cb(synthetic_state, &synthetic_state_ops, &synthetic_state, 0644);
MODULE_PARM_DESC(synthetic_state, "Bytes of synthetic device state (a checked pattern) each migration stream carries, to measure the migration data path: a multiple of 8, at most 64 MiB, read when a device binds (default 0)");

static struct dentry *edu_debugfs_root;

/**
 * struct edu_device - what the sample keeps for each edu it drives
 * @pdev: the edu device
 * @vdev: vfio-pci's device, set while open
 * @debugfs: the device's debugfs directory, while open
 * @id: its identification register, read at open
 * @trap_always: BAR0 trapped from open (trap_bar0 then)
 * @trap_lock: serialises trapping and untrapping BAR0 for the two
 *	reasons below, and starting and stopping DMA logging
 * @trapped_to_save: BAR0 trapped by the sample for pre-copy
 * @trapped_to_log: BAR0 trapped by the sample for DMA logging
 * @dma_lock: serialises writes to the DMA registers while BAR0 is
 *	trapped, and protects the fields below
 * @last: the ranges the last transfer to memory writes: an IOVA and a
 *	length in bytes
 * @nlast: entries in @last, 0 for none
 * @log: transfers to memory since the log was last read: an IOVA and a
 *	length in bytes
 * @log_len: entries in @log
 * @log_overflow: more transfers came than @log holds
 * @logging: DMA logging (vfio_log_ops) is on: @log is for it
 * @ranges: the IOVA ranges DMA logging tracks, first and last byte
 * @nranges: entries in @ranges
 */
struct edu_device {
	struct pci_dev			*pdev;
	struct vfio_pci_core_device	*vdev;
	struct dentry			*debugfs;
	u32				id;
	bool				trap_always;
	struct mutex			trap_lock;	/* see above */
	bool				trapped_to_save;
	bool				trapped_to_log;
	struct mutex			dma_lock;	/* see above */
	struct {
		u64			iova;
		u64			len;
	}				last[2];
	unsigned int			nlast;
	struct {
		u64			iova;
		u64			len;
	}				log[EDU_LOG_MAX];
	unsigned int			log_len;
	bool				log_overflow;
	bool				logging;
	struct {
		u64			first;
		u64			last;
	}				ranges[EDU_LOG_MAX];
	unsigned int			nranges;
};

/*
 * Log the pages of [@iova, @iova + @len) as written by the device, up to
 * the top of the address space; dma_lock held.
 */
static void edu_dma_log(struct edu_device *edu, u64 iova, u64 len)
{
	u64 first = ALIGN_DOWN(iova, PAGE_SIZE), end;

	lockdep_assert_held(&edu->dma_lock);

	if (check_add_overflow(iova, len, &end) || end > U64_MAX - PAGE_SIZE)
		end = U64_MAX;
	else
		end = ALIGN(end, PAGE_SIZE);

	if (edu->log_len == EDU_LOG_MAX) {
		edu->log_overflow = true;
		return;
	}
	edu->log[edu->log_len].iova = first;
	edu->log[edu->log_len].len = end - first;
	edu->log_len++;
}

/* Log the last transfer's pages again; dma_lock held. */
static void edu_dma_log_last(struct edu_device *edu)
{
	unsigned int i;

	for (i = 0; i < edu->nlast; i++)
		edu_dma_log(edu, edu->last[i].iova, edu->last[i].len);
}

/* The last transfer writes [@iova, @iova + @len): log it; dma_lock held. */
static void edu_dma_log_new(struct edu_device *edu, u64 iova, u64 len)
{
	edu->last[edu->nlast].iova = iova;
	edu->last[edu->nlast].len = len;
	edu->nlast++;
	edu_dma_log(edu, iova, len);
}

/* 64-bit registers; a 32-bit kernel reads them as edu keeps them then. */
static u64 edu_read64(void __iomem *reg)
{
	if (IS_ENABLED(CONFIG_64BIT))
		return readq(reg);
	return ioread32(reg);
}

/* Wait up to a second for the device's DMA transfer to end. */
static int edu_dma_wait(struct edu_device *edu)
{
	void __iomem *bar0 = vfio_pci_get_barmap(&edu->vdev->vdev, 0);
	unsigned long end = jiffies + HZ;
	bool running;
	u16 cmd;

	if (IS_ERR(bar0))
		return PTR_ERR(bar0);

	do {
		cmd = vfio_pci_memory_lock_and_enable(edu->vdev);
		running = ioread32(bar0 + EDU_REG_DMA_CMD) & EDU_DMA_RUN;
		vfio_pci_memory_unlock_and_restore(edu->vdev, cmd);
		if (!running)
			return 0;
		msleep(20);
	} while (time_before(jiffies, end));

	return -EBUSY;
}

/* Wait for a factorial being computed; memory decode is on. */
static int edu_fact_wait(void __iomem *bar0)
{
	u32 status;

	return read_poll_timeout(ioread32, status,
				 !(status & EDU_STATUS_COMPUTING), 100,
				 EDU_WAIT_US, false, bar0 + EDU_REG_STATUS);
}

/* The n whose factorial (modulo 2^32) @result is, or -EINVAL. */
static int edu_fact_arg(u32 result)
{
	u32 fact = 1;
	int n;

	for (n = 0; n <= EDU_FACT_MAX; n++) {
		if (fact == result)
			return n;
		fact *= n + 1;
	}
	return -EINVAL;
}

/*
 * Trap BAR0 for a reason of the sample's (@why: trapped_to_save or
 * trapped_to_log), asking userspace if it is not trapped yet; untrap it
 * when no reason is left.  trap_lock is held.
 */
static int edu_trap(struct edu_device *edu, bool *why)
{
	int ret = 0;

	lockdep_assert_held(&edu->trap_lock);
	if (!edu->trap_always && !edu->trapped_to_save &&
	    !edu->trapped_to_log)
		ret = vfio_pci_core_trap_bars(edu->vdev, BIT(0));
	*why = !ret;
	return ret;
}

static void edu_untrap(struct edu_device *edu, bool *why)
{
	lockdep_assert_held(&edu->trap_lock);
	if (!*why)
		return;
	*why = false;
	if (!edu->trap_always && !edu->trapped_to_save &&
	    !edu->trapped_to_log)
		vfio_pci_core_untrap_bars(edu->vdev, BIT(0));
}

static ssize_t edu_bar0_trapped_write(struct file *file,
				      const char __user *buf, size_t count,
				      loff_t *ppos)
{
	struct edu_device *edu = file->private_data;
	bool trap;
	int ret;

	ret = kstrtobool_from_user(buf, count, &trap);
	if (ret)
		return ret;

	if (trap)
		ret = vfio_pci_core_trap_bars(edu->vdev, BIT(0));
	else
		ret = vfio_pci_core_untrap_bars(edu->vdev, BIT(0));

	return ret ? ret : count;
}

static ssize_t edu_bar0_trapped_read(struct file *file, char __user *buf,
				     size_t count, loff_t *ppos)
{
	struct edu_device *edu = file->private_data;
	char state[3];

	snprintf(state, sizeof(state), "%d\n",
		 !!(READ_ONCE(edu->vdev->bar_trapped) & BIT(0)));
	return simple_read_from_buffer(buf, count, ppos, state, 2);
}

static const struct file_operations edu_bar0_trapped_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= edu_bar0_trapped_read,
	.write	= edu_bar0_trapped_write,
	.llseek	= default_llseek,
};

#define EDU_LOG_LINE	32	/* "0x", 16 digits, a space, 10 digits, newline */

static ssize_t edu_dma_log_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	struct edu_device *edu = file->private_data;
	size_t size = (EDU_LOG_MAX + 1) * EDU_LOG_LINE, len = 0;
	unsigned int i;
	ssize_t ret;
	char *text;

	/* One read takes the whole log and empties it. */
	if (*ppos)
		return 0;

	text = kmalloc(size, GFP_KERNEL);
	if (!text)
		return -ENOMEM;

	mutex_lock(&edu->dma_lock);
	if (edu->logging) {
		/* The log is DMA logging's; reading it here would lose pages. */
		mutex_unlock(&edu->dma_lock);
		kfree(text);
		return -EBUSY;
	}
	for (i = 0; i < edu->log_len; i++)
		len += scnprintf(text + len, size - len, "%#llx %llu\n",
				 edu->log[i].iova,
				 edu->log[i].len >> PAGE_SHIFT);
	if (edu->log_overflow)
		len += scnprintf(text + len, size - len, "overflow\n");
	edu->log_len = 0;
	edu->log_overflow = false;
	mutex_unlock(&edu->dma_lock);

	ret = simple_read_from_buffer(buf, count, ppos, text, len);
	kfree(text);
	return ret;
}

static const struct file_operations edu_dma_log_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= edu_dma_log_read,
	.llseek	= default_llseek,
};

/* The synthetic state after the header: a seed, then the pattern */
static void edu_save_synthetic(struct edu_stream *st, u32 size)
{
	struct edu_synthetic *syn = (void *)(st + 1);
	__le64 *word = (__le64 *)(syn + 1);
	u64 seed = get_random_u64(), i;

	syn->seed = cpu_to_le64(seed);
	syn->size = cpu_to_le64(size);
	for (i = 0; i < size / 8; i++) {
		word[i] = cpu_to_le64(edu_synthetic_word(seed, i));
		if (!(i % (SZ_1M / 8)))
			cond_resched();
	}
}

static ssize_t edu_save(struct vfio_pci_core_device *vdev, void *buf,
			size_t size)
{
	void __iomem *bar0 = vfio_pci_get_barmap(&vdev->vdev, 0);
	size_t len = sizeof(struct edu_stream);
	struct edu_stream *st = buf;
	u32 synthetic = 0;
	u16 cmd;

	if (IS_ERR(bar0))
		return PTR_ERR(bar0);
	if (size < len)
		return -ENOSPC;
	/* @size is the stream_max edu_init_dev() chose from synthetic_state */
	if (size >= EDU_SYNTHETIC_HDR + 8) {
		synthetic = ALIGN_DOWN(size - EDU_SYNTHETIC_HDR, 8);
		len = EDU_SYNTHETIC_HDR + synthetic;
	}

	/* Userspace may have turned decode off: it is on while we read. */
	cmd = vfio_pci_memory_lock_and_enable(vdev);
	if (edu_fact_wait(bar0)) {
		vfio_pci_memory_unlock_and_restore(vdev, cmd);
		pci_err(vdev->pdev, "migration: a factorial computation did not end\n");
		return -EBUSY;
	}
	st->factorial = cpu_to_le32(ioread32(bar0 + EDU_REG_FACT));
	st->id = cpu_to_le32(ioread32(bar0 + EDU_REG_ID));
	st->liveness = cpu_to_le32(ioread32(bar0 + EDU_REG_LIVENESS));
	st->status = cpu_to_le32(ioread32(bar0 + EDU_REG_STATUS) &
				 EDU_STATUS_IRQFACT);
	st->irq_status = cpu_to_le32(ioread32(bar0 + EDU_REG_IRQ_STATUS));
	st->dma_src = cpu_to_le64(edu_read64(bar0 + EDU_REG_DMA_SRC));
	st->dma_dst = cpu_to_le64(edu_read64(bar0 + EDU_REG_DMA_DST));
	st->dma_count = cpu_to_le64(edu_read64(bar0 + EDU_REG_DMA_COUNT));
	vfio_pci_memory_unlock_and_restore(vdev, cmd);

	st->magic = cpu_to_le32(EDU_STREAM_MAGIC);
	st->version = cpu_to_le16(EDU_STREAM_VERSION);
	st->flags = cpu_to_le16(synthetic ? EDU_STREAM_SYNTHETIC : 0);
	st->length = cpu_to_le32(len);
	if (synthetic)
		edu_save_synthetic(st, synthetic);

	return len;
}

/* 0 if the synthetic state after @st is the pattern it says, or -EINVAL */
static int edu_check_synthetic(struct pci_dev *pdev,
			       const struct edu_stream *st, size_t len)
{
	const struct edu_synthetic *syn = (const void *)(st + 1);
	const __le64 *word = (const __le64 *)(syn + 1);
	u64 seed = le64_to_cpu(syn->seed), i;

	if (le64_to_cpu(syn->size) != len - EDU_SYNTHETIC_HDR) {
		dev_err_ratelimited(&pdev->dev, "migration: synthetic state of %llu bytes in a stream of %zu\n",
				    le64_to_cpu(syn->size), len);
		return -EINVAL;
	}
	for (i = 0; i < (len - EDU_SYNTHETIC_HDR) / 8; i++) {
		if (le64_to_cpu(word[i]) != edu_synthetic_word(seed, i)) {
			dev_err_ratelimited(&pdev->dev, "migration: synthetic state differs at byte %llu\n",
					    i * 8);
			return -EINVAL;
		}
		if (!(i % (SZ_1M / 8)))
			cond_resched();
	}
	return 0;
}

/* The n to compute again, -1 to leave the factorial alone, or -EINVAL */
static int edu_check_stream(struct pci_dev *pdev, const struct edu_stream *st,
			    u32 id)
{
	u16 version = le16_to_cpu(st->version);
	int n;
	u16 flags = le16_to_cpu(st->flags);

	if (le32_to_cpu(st->magic) != EDU_STREAM_MAGIC ||
	    (flags & ~EDU_STREAM_SYNTHETIC) ||
	    (version != EDU_STREAM_VERSION &&
	     (version != EDU_STREAM_VERSION_1 || st->factorial || flags))) {
		dev_err_ratelimited(&pdev->dev, "migration: not an edu stream of version %d or %d\n",
				    EDU_STREAM_VERSION_1, EDU_STREAM_VERSION);
		return -EINVAL;
	}
	if (le32_to_cpu(st->id) != id) {
		dev_err_ratelimited(&pdev->dev, "migration: stream of edu %#010x, this is %#010x\n",
				    le32_to_cpu(st->id), id);
		return -EINVAL;
	}
	if (version == EDU_STREAM_VERSION_1) {
		dev_info_once(&pdev->dev, "migration: a version 1 stream carries no factorial result; the register keeps its value\n");
		return -1;
	}
	n = edu_fact_arg(le32_to_cpu(st->factorial));
	if (n < 0)
		dev_err_ratelimited(&pdev->dev, "migration: factorial register %#x is not n! modulo 2^32 for any n\n",
				    le32_to_cpu(st->factorial));
	return n;
}

static int edu_load(struct vfio_pci_core_device *vdev, const void *buf,
		    size_t len)
{
	void __iomem *bar0 = vfio_pci_get_barmap(&vdev->vdev, 0);
	size_t want = sizeof(struct edu_stream);
	struct pci_dev *pdev = vdev->pdev;
	const struct edu_stream *st = buf;
	int ret, n;
	u32 irqs;
	u16 cmd;

	if (IS_ERR(bar0))
		return PTR_ERR(bar0);

	/* The length is in the header: wait for it, then for all of it. */
	if (len < offsetofend(struct edu_stream, length))
		return -EAGAIN;
	if (le16_to_cpu(st->flags) & EDU_STREAM_SYNTHETIC) {
		want = le32_to_cpu(st->length);
		/* The helper refuses more than this device's stream_max. */
		if (want < EDU_SYNTHETIC_HDR || (want - EDU_SYNTHETIC_HDR) % 8) {
			dev_err_ratelimited(&pdev->dev, "migration: stream length %zu is no edu stream with synthetic state\n",
					    want);
			return -EINVAL;
		}
	} else if (le32_to_cpu(st->length) != want) {
		dev_err_ratelimited(&pdev->dev, "migration: stream length %u, expected %zu\n",
				    le32_to_cpu(st->length), want);
		return -EINVAL;
	}
	if (len < want)
		return -EAGAIN;
	if (len > want)
		return -EINVAL;
	if (want > sizeof(*st)) {
		ret = edu_check_synthetic(pdev, st, len);
		if (ret)
			return ret;
	}

	cmd = vfio_pci_memory_lock_and_enable(vdev);
	n = edu_check_stream(pdev, st, ioread32(bar0 + EDU_REG_ID));
	if (n == -EINVAL) {
		ret = n;
		goto out;
	}

	/* The DMA registers are read-only while a transfer runs. */
	if (ioread32(bar0 + EDU_REG_DMA_CMD) & EDU_DMA_RUN) {
		dev_err_ratelimited(&pdev->dev, "migration: a DMA transfer is running, cannot restore\n");
		ret = -EBUSY;
		goto out;
	}
	/* A factorial being computed would ignore the one to restore. */
	ret = edu_fact_wait(bar0);
	if (ret) {
		dev_err_ratelimited(&pdev->dev, "migration: a factorial computation did not end, cannot restore\n");
		goto out;
	}

	/* The result again, with no interrupt for it: IRQFACT is off. */
	iowrite32(0, bar0 + EDU_REG_STATUS);
	if (n >= 0) {
		iowrite32(n, bar0 + EDU_REG_FACT);
		ret = edu_fact_wait(bar0);
		if (ret) {
			dev_err_ratelimited(&pdev->dev, "migration: computing %d! did not end\n",
					    n);
			goto out;
		}
	}

	iowrite32(~le32_to_cpu(st->liveness), bar0 + EDU_REG_LIVENESS);
	iowrite32(le32_to_cpu(st->status) & EDU_STATUS_IRQFACT,
		  bar0 + EDU_REG_STATUS);
	writeq(le64_to_cpu(st->dma_src), bar0 + EDU_REG_DMA_SRC);
	writeq(le64_to_cpu(st->dma_dst), bar0 + EDU_REG_DMA_DST);
	writeq(le64_to_cpu(st->dma_count), bar0 + EDU_REG_DMA_COUNT);

	/* Interrupts the source had raised are raised again here. */
	irqs = ioread32(bar0 + EDU_REG_IRQ_STATUS);
	if (irqs)
		iowrite32(irqs, bar0 + EDU_REG_IRQ_ACK);
	if (le32_to_cpu(st->irq_status))
		iowrite32(le32_to_cpu(st->irq_status), bar0 + EDU_REG_IRQ_RAISE);
out:
	vfio_pci_memory_unlock_and_restore(vdev, cmd);
	return ret;
}

/*
 * Pre-copy (SAVING | RUNNING) needs every DMA start trapped; other states
 * do not.  Called with the migration helper's lock held.
 */
static int edu_set_state(struct vfio_pci_core_device *vdev, u32 old, u32 new)
{
	const u32 precopy = VFIO_DEVICE_STATE_V1_SAVING |
			    VFIO_DEVICE_STATE_V1_RUNNING;
	struct edu_device *edu = vfio_pci_vendor_data(&vdev->vdev);
	int ret;

	/*
	 * Stopped: a transfer in flight must land, and be logged again,
	 * before memory is copied for the last time.
	 */
	if ((old & VFIO_DEVICE_STATE_V1_RUNNING) &&
	    !(new & VFIO_DEVICE_STATE_V1_RUNNING)) {
		ret = edu_dma_wait(edu);
		if (ret) {
			pci_err(edu->pdev, "a DMA transfer did not end: cannot stop\n");
			return ret;
		}
		mutex_lock(&edu->dma_lock);
		edu_dma_log_last(edu);
		mutex_unlock(&edu->dma_lock);
	}

	mutex_lock(&edu->trap_lock);
	if (new == precopy && !edu->trapped_to_save) {
		ret = edu_trap(edu, &edu->trapped_to_save);
		if (ret)
			dev_info_once(&edu->pdev->dev, "BAR0 not trapped (%d): DMA is not logged\n",
				      ret);
	} else if (new != precopy) {
		edu_untrap(edu, &edu->trapped_to_save);
	}
	mutex_unlock(&edu->trap_lock);
	return 0;
}

static const struct vfio_pci_migration_ops edu_migration_ops = {
	.set_state	= edu_set_state,
	.save		= edu_save,
	.load		= edu_load,
};

/*
 * Device DMA logging: the log of transfers to memory, read by userspace's
 * DMA_LOGGING_REPORT instead of debugfs.  The DMA commands must be seen,
 * so BAR0 is trapped while logging, asking userspace if it is not already.
 */
static int edu_log_start(struct vfio_device *core_vdev,
			 struct rb_root_cached *ranges, u32 nnodes,
			 u64 *page_size)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);
	struct interval_tree_node *node;
	unsigned int i = 0;
	int ret;

	/*
	 * The core checked the ranges against this page size: it must be
	 * one.  Any larger than 4 KiB is kept, since the log is in bytes.
	 */
	if (!*page_size || !is_power_of_2(*page_size))
		return -EINVAL;
	for (node = interval_tree_iter_first(ranges, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX))
		/* empty: the core makes [0, ULONG_MAX] of an empty one at 0 */
		if (node->last < node->start || node->last == ULONG_MAX)
			return -EINVAL;
	*page_size = max_t(u64, *page_size, SZ_4K);
	/* The log holds a transfer or a tracked range per entry. */
	if (nnodes > EDU_LOG_MAX)
		vfio_combine_iova_ranges(ranges, nnodes, EDU_LOG_MAX);

	mutex_lock(&edu->trap_lock);
	if (edu->trapped_to_log) {
		ret = -EBUSY;
		goto out;
	}
	ret = edu_trap(edu, &edu->trapped_to_log);
	if (ret) {
		pci_err(edu->pdev, "DMA logging needs BAR0 trapped, to see the DMA commands, and trapping it failed (%d): load vfio_pci_edu with trap_bar0=1, or handle VFIO_IRQ_TYPE_REMAP_BAR_REGION\n",
			ret);
		goto out;
	}

	mutex_lock(&edu->dma_lock);
	for (node = interval_tree_iter_first(ranges, 0, ULONG_MAX);
	     node && i < EDU_LOG_MAX;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		edu->ranges[i].first = node->start;
		edu->ranges[i].last = node->last;
		i++;
	}
	edu->nranges = i;
	edu->log_len = 0;
	edu->log_overflow = false;
	edu->logging = true;
	mutex_unlock(&edu->dma_lock);
out:
	mutex_unlock(&edu->trap_lock);
	return ret;
}

/* Logging ends; trap_lock held */
static void edu_log_end(struct edu_device *edu)
{
	lockdep_assert_held(&edu->trap_lock);

	mutex_lock(&edu->dma_lock);
	edu->logging = false;
	edu->log_len = 0;
	edu->log_overflow = false;
	edu->nranges = 0;
	mutex_unlock(&edu->dma_lock);
	edu_untrap(edu, &edu->trapped_to_log);
}

static int edu_log_stop(struct vfio_device *core_vdev)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);

	mutex_lock(&edu->trap_lock);
	if (edu->trapped_to_log)
		edu_log_end(edu);
	mutex_unlock(&edu->trap_lock);
	return 0;
}

/*
 * Report the pages the log has in [@iova, @iova + @length), and forget
 * what was reported.  The core calls this for consecutive pieces of the
 * range userspace asks for: an entry reported in part keeps the rest.
 * After an overflow every tracked range is dirty, once.
 */
static int edu_log_read_and_clear(struct vfio_device *core_vdev,
				  unsigned long iova, unsigned long length,
				  struct iova_bitmap *dirty)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);
	u64 end = (u64)iova + length;
	unsigned int i;

	mutex_lock(&edu->dma_lock);
	if (!edu->logging) {
		mutex_unlock(&edu->dma_lock);
		return -EINVAL;
	}

	if (edu->log_overflow) {
		for (i = 0; i < edu->nranges; i++) {
			edu->log[i].iova = edu->ranges[i].first;
			edu->log[i].len = edu->ranges[i].last -
					  edu->ranges[i].first + 1;
		}
		edu->log_len = edu->nranges;
		edu->log_overflow = false;
	}

	for (i = 0; i < edu->log_len;) {
		u64 first = edu->log[i].iova;
		u64 last = first + edu->log[i].len;
		u64 lo = max_t(u64, first, iova), hi = min_t(u64, last, end);

		if (lo < hi) {
			iova_bitmap_set(dirty, lo, hi - lo);
			if (lo == first && hi == last) {
				/* all of it: the last entry takes its place */
				edu->log[i] = edu->log[--edu->log_len];
				continue;
			}
			if (lo == first) {
				edu->log[i].iova = hi;
				edu->log[i].len = last - hi;
			} else if (hi == last) {
				edu->log[i].len = lo - first;
			}
			/* a middle part: reported again later, harmlessly */
		}
		i++;
	}
	mutex_unlock(&edu->dma_lock);
	return 0;
}

static const struct vfio_log_ops edu_log_ops = {
	.log_start		= edu_log_start,
	.log_stop		= edu_log_stop,
	.log_read_and_clear	= edu_log_read_and_clear,
};

/*
 * A piece of a write holds a DMA command towards memory: log the pages the
 * device will write, from the registers as they are now.  dma_lock is held,
 * so no write to them can come between this and the command.
 */
static void edu_dma_dirty(struct edu_device *edu, void __iomem *bar0)
{
	struct vfio_pci_core_device *vdev = edu->vdev;
	u64 dst, count;
	bool running;

	lockdep_assert_held(&edu->dma_lock);

	down_read(&vdev->memory_lock);
	if (!__vfio_pci_memory_enabled(vdev)) {
		/* The command cannot reach the device either. */
		up_read(&vdev->memory_lock);
		return;
	}
	dst = edu_read64(bar0 + EDU_REG_DMA_DST);
	count = edu_read64(bar0 + EDU_REG_DMA_COUNT);
	running = ioread32(bar0 + EDU_REG_DMA_CMD) & EDU_DMA_RUN;
	up_read(&vdev->memory_lock);

	/* The device ignores a command while a transfer runs. */
	if (running || !count)
		return;

	/* The last transfer has landed: log its pages once more. */
	edu_dma_log_last(edu);
	edu->nlast = 0;

	/*
	 * Whatever the device makes of the transfer, log all it may write:
	 * all of @count (some QEMUs copy more than the 4 KiB buffer), at @dst
	 * and, if they differ, at @dst masked with QEMU's default DMA mask,
	 * which QEMU applies to the address it writes.
	 */
	edu_dma_log_new(edu, dst, count);
	if ((dst & EDU_DMA_MASK) != dst)
		edu_dma_log_new(edu, dst & EDU_DMA_MASK, count);
}

/* The piece vfio-pci would access at @off: the largest aligned one. */
static size_t edu_io_piece(loff_t off, size_t count)
{
	if (count >= 8 && !(off % 8))
		return 8;
	if (count >= 4 && !(off % 4))
		return 4;
	if (count >= 2 && !(off % 2))
		return 2;
	return 1;
}

static int edu_write_piece(struct vfio_pci_core_device *vdev,
			   void __iomem *io, const u8 *p, size_t n)
{
	int ret = 0;

	down_read(&vdev->memory_lock);
	if (!__vfio_pci_memory_enabled(vdev)) {
		ret = -EIO;
		goto out;
	}
	switch (n) {
	case 8:
		writeq(get_unaligned_le64(p), io);
		break;
	case 4:
		iowrite32(get_unaligned_le32(p), io);
		break;
	case 2:
		iowrite16(get_unaligned_le16(p), io);
		break;
	default:
		iowrite8(*p, io);
	}
out:
	up_read(&vdev->memory_lock);
	return ret;
}

/*
 * A write to the DMA registers while BAR0 is trapped: copied from
 * userspace once, checked and written from that copy, piece by piece in
 * the order vfio-pci would write them, under dma_lock.
 */
static ssize_t edu_dma_regs_write(struct edu_device *edu,
				  const char __user *ubuf, size_t count,
				  loff_t off)
{
	void __iomem *bar0 = vfio_pci_get_barmap(&edu->vdev->vdev, 0);
	u8 buf[EDU_REG_DMA_END - EDU_REG_DMA_SRC];
	size_t done, n;
	int ret = 0;

	if (IS_ERR(bar0))
		return PTR_ERR(bar0);
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;

	mutex_lock(&edu->dma_lock);
	for (done = 0; done < count && !ret; done += n) {
		loff_t at = off + done;
		const u8 *p = buf + done;

		n = edu_io_piece(at, count - done);
		/* The command's low byte holds RUN and the direction. */
		if (at <= EDU_REG_DMA_CMD && at + n > EDU_REG_DMA_CMD &&
		    (p[EDU_REG_DMA_CMD - at] & (EDU_DMA_RUN | EDU_DMA_TO_RAM)) ==
		    (EDU_DMA_RUN | EDU_DMA_TO_RAM))
			edu_dma_dirty(edu, bar0);
		ret = edu_write_piece(edu->vdev, bar0 + at, p, n);
	}
	mutex_unlock(&edu->dma_lock);

	return ret ? ret : count;
}

static ssize_t edu_write(struct vfio_device *core_vdev, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);
	unsigned int index = VFIO_PCI_OFFSET_TO_INDEX(*ppos);
	loff_t off = *ppos & VFIO_PCI_OFFSET_MASK;
	ssize_t ret;

	if (index != VFIO_PCI_BAR0_REGION_INDEX || off >= EDU_REG_DMA_END ||
	    off + count <= EDU_REG_DMA_SRC ||
	    !(READ_ONCE(edu->vdev->bar_trapped) & BIT(0)))
		return vfio_pci_core_write(core_vdev, buf, count, ppos);

	/* Whatever touches the DMA registers goes through the sample. */
	if (off < EDU_REG_DMA_SRC || off + count > EDU_REG_DMA_END) {
		dev_warn_ratelimited(&edu->pdev->dev, "a write to BAR0 %#llx+%#zx crosses the DMA registers (%#x-%#x): write them alone\n",
				     off, count, EDU_REG_DMA_SRC,
				     EDU_REG_DMA_END - 1);
		return -EINVAL;
	}

	ret = edu_dma_regs_write(edu, buf, count, off);
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static int edu_open_device(struct vfio_device *core_vdev)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);
	void __iomem *bar0;
	int ret;

	ret = vfio_pci_open_device(core_vdev);
	if (ret)
		return ret;

	bar0 = vfio_pci_get_barmap(core_vdev, 0);
	if (IS_ERR(bar0)) {
		ret = PTR_ERR(bar0);
		pci_err(edu->pdev, "cannot map BAR0: %d\n", ret);
		vfio_pci_core_close_device(core_vdev);
		return ret;
	}

	edu->id = ioread32(bar0 + EDU_REG_ID);
	if ((edu->id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC)
		pci_warn(edu->pdev, "identification register reads %#010x, not an edu?\n",
			 edu->id);

	edu->vdev = vfio_pci_core(core_vdev);
	ret = vfio_pci_core_register_remap_irq(edu->vdev);
	if (ret < 0) {
		pci_err(edu->pdev, "cannot add the remap interrupt: %d\n", ret);
		vfio_pci_core_close_device(core_vdev);
		return ret;
	}

	edu->trapped_to_save = false;
	edu->trapped_to_log = false;
	edu->trap_always = READ_ONCE(trap_bar0);
	if (edu->trap_always) {
		ret = vfio_pci_core_trap_bars_on_open(edu->vdev, BIT(0));
		if (ret) {
			pci_err(edu->pdev, "cannot trap BAR0: %d\n", ret);
			vfio_pci_core_close_device(core_vdev);
			return ret;
		}
	}

	/* Only for tests: a failure here leaves the device usable. */
	edu->debugfs = debugfs_create_dir(pci_name(edu->pdev), edu_debugfs_root);
	debugfs_create_file("bar0_trapped", 0600, edu->debugfs, edu,
			    &edu_bar0_trapped_fops);
	debugfs_create_file("dma_log", 0400, edu->debugfs, edu,
			    &edu_dma_log_fops);

	return 0;
}

static void edu_close_device(struct vfio_device *core_vdev)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);

	mutex_lock(&edu->trap_lock);
	edu_log_end(edu);
	mutex_unlock(&edu->trap_lock);
	mutex_lock(&edu->dma_lock);
	edu->nlast = 0;
	mutex_unlock(&edu->dma_lock);

	/* Ends a trap request still waiting, before debugfs waits for it. */
	vfio_pci_core_close_device(core_vdev);
	debugfs_remove(edu->debugfs);
	edu->debugfs = NULL;
}

/*
 * Migration, with both protocols, and DMA logging: set up before the device
 * is registered.
 */
static int edu_init_dev(struct vfio_device *core_vdev)
{
	struct vfio_pci_core_device *vdev = vfio_pci_core(core_vdev);
	size_t stream_max = sizeof(struct edu_stream);
	u32 synthetic = READ_ONCE(synthetic_state);
	int ret;

	ret = vfio_pci_init_dev(core_vdev);
	if (ret)
		return ret;

	/* The stream's size tells edu_save() how much synthetic state. */
	if (synthetic)
		stream_max = EDU_SYNTHETIC_HDR + synthetic;
	ret = vfio_pci_core_init_migration(vdev, &edu_migration_ops,
					   stream_max);
	if (ret) {
		pci_err(vdev->pdev, "cannot set up migration: %d\n", ret);
		vfio_pci_core_release_dev(core_vdev);
		return ret;
	}
	core_vdev->log_ops = &edu_log_ops;
	return 0;
}

static const struct vfio_device_ops edu_device_ops = {
	.name		= "vfio-pci",	/* required of vendor ops */
	.init		= edu_init_dev,
	.release	= vfio_pci_release_dev,	/* required of vendor ops */
	.open_device	= edu_open_device,
	.close_device	= edu_close_device,
	.ioctl		= vfio_pci_core_ioctl,
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
	.device_feature	= vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= edu_write,
	.mmap		= vfio_pci_core_mmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
	.match_token_uuid = vfio_pci_core_match_token_uuid,
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
	.pasid_attach_ioas	= vfio_iommufd_physical_pasid_attach_ioas,
	.pasid_detach_ioas	= vfio_iommufd_physical_pasid_detach_ioas,
};

static void *edu_probe(struct pci_dev *pdev)
{
	struct edu_device *edu;

	if (pdev->vendor != EDU_VENDOR_ID || pdev->device != EDU_DEVICE_ID)
		return ERR_PTR(-ENODEV);

	if (READ_ONCE(fail_probe))
		return ERR_PTR(-EIO);

	edu = kzalloc_obj(*edu);
	if (!edu)
		return ERR_PTR(-ENOMEM);

	edu->pdev = pdev;
	mutex_init(&edu->trap_lock);
	mutex_init(&edu->dma_lock);
	return edu;
}

static void edu_remove(void *vendor_data)
{
	struct edu_device *edu = vendor_data;

	mutex_destroy(&edu->dma_lock);
	mutex_destroy(&edu->trap_lock);
	kfree(edu);
}

static struct vfio_pci_vendor_driver_ops edu_vendor_ops = {
	.name		= KBUILD_MODNAME,
	.probe		= edu_probe,
	.remove		= edu_remove,
	.device_ops	= &edu_device_ops,
};

static int __init edu_init(void)
{
	int ret;

	edu_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	ret = vfio_pci_register_vendor_driver(&edu_vendor_ops);
	if (ret)
		debugfs_remove(edu_debugfs_root);
	return ret;
}
module_init(edu_init);

static void __exit edu_exit(void)
{
	vfio_pci_unregister_vendor_driver(&edu_vendor_ops);
	debugfs_remove(edu_debugfs_root);
}
module_exit(edu_exit);

MODULE_ALIAS("vfio-pci:1234-11e8");
MODULE_IMPORT_NS("IOMMUFD");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-pci vendor driver sample for QEMU's edu device");
