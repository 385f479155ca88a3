// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IRQ_TYPE_REMAP_BAR_REGION: trapping BARs that userspace may have
 * mapped, with userspace's agreement.  The protocol userspace follows is
 * described with VFIO_IRQ_TYPE_REMAP_BAR_REGION in include/uapi/linux/vfio.h.
 *
 * vfio_pci_core_trap_bars() asks first and enforces after: the BARs stop
 * being mmap-able (no new mapping, no ioeventfd) while userspace keeps its
 * old mappings, userspace is asked to move to read() and write(), and only
 * once it acknowledges that very request are the old mappings zapped.  If
 * userspace does not listen, nothing changes; if it does not answer in
 * time, the BARs are mmap-able again.
 */

#include <linux/error-injection.h>
#include <linux/eventfd.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/vfio_pci_core.h>
#include <linux/wait.h>

#include "vfio_pci_priv.h"

#define VFIO_PCI_ALL_BARS	GENMASK(PCI_STD_NUM_BARS - 1, 0)

#define REMAP_TIMEOUT_MS_DEFAULT	2000
#define REMAP_TIMEOUT_MS_MAX		60000

static unsigned int remap_bar_timeout_ms = REMAP_TIMEOUT_MS_DEFAULT;

static int remap_timeout_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;
	int ret;

	ret = kstrtouint(val, 0, &ms);
	if (ret)
		return ret;
	if (!ms || ms > REMAP_TIMEOUT_MS_MAX)
		return -EINVAL;

	WRITE_ONCE(remap_bar_timeout_ms, ms);
	return 0;
}

static const struct kernel_param_ops remap_timeout_ops = {
	.set	= remap_timeout_set,
	.get	= param_get_uint,
};
module_param_cb(remap_bar_timeout_ms, &remap_timeout_ops,
		&remap_bar_timeout_ms, 0644);
MODULE_PARM_DESC(remap_bar_timeout_ms,
		 "How long a driver waits for userspace to acknowledge a BAR remap request, in ms (1-60000, default 2000)");

void vfio_pci_remap_init(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_remap_bar *remap = &vdev->remap;

	mutex_init(&remap->request_lock);
	spin_lock_init(&remap->lock);
	init_waitqueue_head(&remap->wait);
}

void vfio_pci_remap_uninit(struct vfio_pci_core_device *vdev)
{
	mutex_destroy(&vdev->remap.request_lock);
}

/*
 * Stop new mappings of @bars, ioeventfds and dma-bufs on them, while
 * userspace is asked to trap them; its old mappings keep working.  A BAR with an
 * ioeventfd cannot be trapped: the ioeventfd writes to it without going
 * through the driver.  Return: 0 or -EBUSY.
 */
static int vfio_pci_start_trapping(struct vfio_pci_core_device *vdev, u32 bars)
{
	struct vfio_pci_ioeventfd *ioeventfd;
	int ret = 0;

	mutex_lock(&vdev->ioeventfds_lock);
	down_write(&vdev->memory_lock);
	list_for_each_entry(ioeventfd, &vdev->ioeventfds_list, next) {
		if (bars & BIT(ioeventfd->bar)) {
			ret = -EBUSY;
			goto out;
		}
	}
	vdev->bar_trapping |= bars;
out:
	up_write(&vdev->memory_lock);
	mutex_unlock(&vdev->ioeventfds_lock);
	return ret;
}

/*
 * End the request for @bars: trap them (@trap), zapping every mapping, or
 * make them mmap-able again.
 */
static void vfio_pci_end_trapping(struct vfio_pci_core_device *vdev, u32 bars,
				  bool trap)
{
	struct address_space *mapping = vdev->vdev.inode->i_mapping;
	int bar;

	down_write(&vdev->memory_lock);
	vdev->bar_trapping &= ~bars;
	if (trap) {
		vdev->bar_trapped |= bars;
		for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
			loff_t start = VFIO_PCI_INDEX_TO_OFFSET(bar);

			if (bars & BIT(bar))
				unmap_mapping_range(mapping, start,
						    VFIO_PCI_INDEX_TO_OFFSET(bar + 1) -
						    start, true);
		}
		/* and their dma-bufs, which bypass the driver just the same */
		vfio_pci_dma_buf_revoke_bars(vdev, bars);
	}
	up_write(&vdev->memory_lock);
}

static void vfio_pci_untrap(struct vfio_pci_core_device *vdev, u32 bars)
{
	down_write(&vdev->memory_lock);
	vdev->bar_trapped &= ~bars;
	up_write(&vdev->memory_lock);
}

/* Whether a request may be made; remap->lock held. */
static bool vfio_pci_remap_armed(struct vfio_pci_remap_bar *remap)
{
	lockdep_assert_held(&remap->lock);

	return remap->trigger && !remap->masked && !remap->unanswered;
}

/* End the request in progress, if any, with @status; remap->lock held. */
static void vfio_pci_remap_end(struct vfio_pci_remap_bar *remap, int status)
{
	lockdep_assert_held(&remap->lock);

	if (remap->in_progress) {
		remap->in_progress = false;
		remap->status = status;
		wake_up_all(&remap->wait);
	}
}

/* Announce a change of @bars to userspace, if it listens; remap->lock held. */
static void vfio_pci_remap_announce(struct vfio_pci_remap_bar *remap, u32 bars)
{
	lockdep_assert_held(&remap->lock);

	remap->pending |= bars;
	if (!vfio_pci_remap_armed(remap))
		return;
	/* 0 means "no request": skip it when the number wraps. */
	if (!++remap->seq)
		remap->seq = 1;
	remap->unanswered = true;
	eventfd_signal(remap->trigger);
}

static int vfio_pci_remap_set_irqs(struct vfio_pci_core_device *vdev,
				   struct vfio_pci_dev_irq *irq, u32 flags,
				   unsigned int start, unsigned int count,
				   void *data)
{
	struct vfio_pci_remap_bar *remap = irq->data;
	u32 action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	u32 type = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	struct eventfd_ctx *trigger = NULL, *old;

	/* The core checked start + count against our count of 1. */
	if (!count) {
		/* DATA_NONE | ACTION_TRIGGER with count 0 disables, as usual */
		if (type != VFIO_IRQ_SET_DATA_NONE ||
		    action != VFIO_IRQ_SET_ACTION_TRIGGER)
			return -EINVAL;
		type = VFIO_IRQ_SET_DATA_EVENTFD;
		data = NULL;
	}

	/* Only ACTION_TRIGGER takes an eventfd. */
	if (type == VFIO_IRQ_SET_DATA_EVENTFD &&
	    action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;

	/* DATA_BOOL with false asks for nothing. */
	if (type == VFIO_IRQ_SET_DATA_BOOL && !*(u8 *)data)
		return 0;

	if (type == VFIO_IRQ_SET_DATA_EVENTFD) {
		s32 fd = data ? *(s32 *)data : -1;

		if (fd >= 0) {
			trigger = eventfd_ctx_fdget(fd);
			if (IS_ERR(trigger))
				return PTR_ERR(trigger);
		} else if (fd != -1) {
			return -EINVAL;
		}

		spin_lock_irq(&remap->lock);
		old = remap->trigger;
		remap->trigger = trigger;
		remap->masked = false;
		remap->unanswered = false;
		if (trigger)
			remap->pending = 0;
		vfio_pci_remap_end(remap, -ECANCELED);
		spin_unlock_irq(&remap->lock);

		if (old)
			eventfd_ctx_put(old);
		return 0;
	}

	if (action != VFIO_IRQ_SET_ACTION_UNMASK &&
	    action != VFIO_IRQ_SET_ACTION_MASK &&
	    action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;

	spin_lock_irq(&remap->lock);
	switch (action) {
	case VFIO_IRQ_SET_ACTION_UNMASK:
		/* Asks again; acknowledges nothing, and ends no request. */
		remap->masked = false;
		if (!remap->in_progress)
			remap->unanswered = false;
		break;
	case VFIO_IRQ_SET_ACTION_MASK:
		remap->masked = true;
		vfio_pci_remap_end(remap, -ECANCELED);
		break;
	case VFIO_IRQ_SET_ACTION_TRIGGER:
		/* Loopback, for testing userspace; changes nothing else */
		if (remap->trigger)
			eventfd_signal(remap->trigger);
		break;
	}
	spin_unlock_irq(&remap->lock);

	return 0;
}

/*
 * VFIO_DEVICE_FEATURE_REMAP_BAR_ACK: userspace acknowledges the request
 * numbered @seq.  Any other number, an older request's or a made-up one,
 * completes nothing.
 */
int vfio_pci_feature_remap_ack(struct vfio_pci_core_device *vdev, u32 flags,
			       void __user *arg, size_t argsz)
{
	struct vfio_pci_remap_bar *remap = &vdev->remap;
	struct vfio_device_feature_remap_bar_ack ack;
	int ret;

	/* Not even a PROBE succeeds on a device without the interrupt. */
	if (!READ_ONCE(remap->registered))
		return -ENOTTY;

	ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET,
				 sizeof(ack));
	if (ret != 1)
		return ret;

	if (copy_from_user(&ack, arg, sizeof(ack)))
		return -EFAULT;
	if (ack.reserved)
		return -EINVAL;

	spin_lock_irq(&remap->lock);
	if (!remap->registered) {
		ret = -ENOTTY;
	} else if (!ack.seq || ack.seq != remap->seq) {
		ret = -ESTALE;
	} else {
		remap->pending = 0;
		remap->unanswered = false;
		vfio_pci_remap_end(remap, 0);
		ret = 0;
	}
	spin_unlock_irq(&remap->lock);

	return ret;
}

static int vfio_pci_remap_add_capability(struct vfio_pci_core_device *vdev,
					 struct vfio_pci_dev_irq *irq,
					 struct vfio_info_cap *caps)
{
	struct vfio_pci_remap_bar *remap = irq->data;
	struct vfio_irq_info_cap_remap_bar cap = {
		.header.id = VFIO_IRQ_INFO_CAP_REMAP_BAR,
		.header.version = 1,
	};

	spin_lock_irq(&remap->lock);
	cap.pending = remap->pending;
	cap.seq = remap->seq;
	spin_unlock_irq(&remap->lock);
	cap.trapped = READ_ONCE(vdev->bar_trapped) | READ_ONCE(vdev->bar_trapping);

	return vfio_info_add_capability(caps, &cap.header, sizeof(cap));
}

/*
 * The device is being disabled (closed, with no ioctl running): drop the
 * eventfd, end a request still waiting and wait for it to have left, so
 * that it does not undo its trap on the next open.
 */
static void vfio_pci_remap_release(struct vfio_pci_core_device *vdev,
				   struct vfio_pci_dev_irq *irq)
{
	struct vfio_pci_remap_bar *remap = irq->data;
	struct eventfd_ctx *old;

	spin_lock_irq(&remap->lock);
	old = remap->trigger;
	remap->trigger = NULL;
	remap->registered = false;
	vfio_pci_remap_end(remap, -ENODEV);
	spin_unlock_irq(&remap->lock);

	mutex_lock(&remap->request_lock);
	mutex_unlock(&remap->request_lock);

	if (old)
		eventfd_ctx_put(old);
}

static const struct vfio_pci_irqops vfio_pci_remap_irqops = {
	.set_irqs	= vfio_pci_remap_set_irqs,
	.release	= vfio_pci_remap_release,
	.add_capability	= vfio_pci_remap_add_capability,
};

/**
 * vfio_pci_core_register_remap_irq() - add the VFIO_IRQ_TYPE_REMAP_BAR_REGION
 *	interrupt, through which the driver asks userspace to remap BARs
 * @vdev: the device, in its .open_device after vfio_pci_core_enable()
 *
 * Return: the new interrupt index, -EBUSY if the device already has one, or
 * an error of vfio_pci_core_register_dev_irq().
 */
int vfio_pci_core_register_remap_irq(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_remap_bar *remap = &vdev->remap;
	int index;

	if (remap->registered)
		return -EBUSY;

	index = vfio_pci_core_register_dev_irq(vdev,
					       VFIO_IRQ_TYPE_REMAP_BAR_REGION,
					       VFIO_IRQ_SUBTYPE_REMAP_BAR_REGION,
					       &vfio_pci_remap_irqops, 1,
					       VFIO_IRQ_INFO_MASKABLE |
					       VFIO_IRQ_INFO_AUTOMASKED,
					       remap);
	if (index < 0)
		return index;

	spin_lock_irq(&remap->lock);
	remap->registered = true;
	remap->masked = false;
	remap->unanswered = false;
	remap->pending = 0;
	remap->seq = 0;
	remap->status = 0;
	remap->warned = false;
	spin_unlock_irq(&remap->lock);

	return index;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_register_remap_irq);

static bool vfio_pci_bars_valid(struct vfio_pci_core_device *vdev, u32 bars)
{
	int bar;

	if (!bars || (bars & ~VFIO_PCI_ALL_BARS))
		return false;

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++)
		if ((bars & BIT(bar)) &&
		    !(pci_resource_flags(vdev->pdev, bar) & IORESOURCE_MEM))
			return false;

	return true;
}

/**
 * vfio_pci_core_trap_bars() - trap BARs that userspace may have mapped
 * @vdev: the device, open
 * @bars: the memory BARs to trap, bit n for BAR n
 *
 * Asks userspace, through the VFIO_IRQ_TYPE_REMAP_BAR_REGION interrupt, to
 * access @bars with read() and write() from now on, and waits, for at most
 * the remap_bar_timeout_ms parameter, for it to acknowledge.  From the
 * request on, @bars cannot be mapped again nor get an ioeventfd, but
 * userspace's old mappings keep working until it acknowledges; then they
 * are zapped, and from then on no access through the device fd bypasses
 * the driver.  IOMMU mappings that userspace made of those mappings (for
 * peer-to-peer DMA) are userspace's to remove before it acknowledges.
 * Must not be called with a lock that resets or the device's close take.
 *
 * Return: 0 once userspace has acknowledged, or when @bars are trapped
 * already; -ENOTCONN, without waiting or changing anything, when
 * userspace has not enabled the interrupt, masks it or has not answered
 * the previous request; -ETIMEDOUT when it did not answer in time,
 * -ECANCELED when it masked or disabled the interrupt, -ENODEV when the
 * device was closed and -EINTR when the caller got a signal; in these
 * four cases @bars are mmap-able again.  -EBUSY, without asking, when
 * userspace has an ioeventfd on one of @bars; -EINVAL if @bars is not a
 * set of memory BARs.
 */
int vfio_pci_core_trap_bars(struct vfio_pci_core_device *vdev, u32 bars)
{
	struct vfio_pci_remap_bar *remap = &vdev->remap;
	unsigned long timeout;
	u32 newly;
	long left;
	int ret;

	if (!vfio_pci_bars_valid(vdev, bars))
		return -EINVAL;

	if (mutex_lock_interruptible(&remap->request_lock))
		return -EINTR;

	newly = bars & ~(READ_ONCE(vdev->bar_trapped) |
			 READ_ONCE(vdev->bar_trapping));
	if (!newly) {
		ret = 0;
		goto out;
	}

	spin_lock_irq(&remap->lock);
	if (!vfio_pci_remap_armed(remap)) {
		bool warn = !remap->warned;

		remap->warned = true;
		spin_unlock_irq(&remap->lock);
		if (warn)
			pci_info(vdev->pdev, "userspace has not enabled the REMAP_BAR_REGION interrupt, masks it or has not answered: BARs %#x stay mmap-able\n",
				 newly);
		ret = -ENOTCONN;
		goto out;
	}
	spin_unlock_irq(&remap->lock);

	ret = vfio_pci_start_trapping(vdev, newly);
	if (ret)
		goto out;

	spin_lock_irq(&remap->lock);
	if (!vfio_pci_remap_armed(remap)) {
		/* Masked or disabled meanwhile */
		spin_unlock_irq(&remap->lock);
		ret = -ECANCELED;
		goto undo;
	}
	vfio_pci_remap_announce(remap, newly);
	remap->in_progress = true;
	remap->status = 0;

	timeout = msecs_to_jiffies(READ_ONCE(remap_bar_timeout_ms));
	left = wait_event_interruptible_lock_irq_timeout(remap->wait,
							 !remap->in_progress,
							 remap->lock, timeout);
	if (remap->in_progress) {
		remap->in_progress = false;
		remap->status = left < 0 ? -EINTR : -ETIMEDOUT;
	}
	ret = remap->status;
	spin_unlock_irq(&remap->lock);

	if (!ret) {
		vfio_pci_end_trapping(vdev, newly, true);
		goto out;
	}

	if (ret == -ETIMEDOUT)
		dev_warn_ratelimited(&vdev->pdev->dev, "userspace did not acknowledge the BAR remap request within %u ms: BARs %#x stay mmap-able\n",
				     jiffies_to_msecs(timeout), newly);
undo:
	vfio_pci_end_trapping(vdev, newly, false);
out:
	mutex_unlock(&remap->request_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_trap_bars);
ALLOW_ERROR_INJECTION(vfio_pci_core_trap_bars, ERRNO);

/**
 * vfio_pci_core_untrap_bars() - make trapped BARs mmap-able again
 * @vdev: the device, open
 * @bars: the memory BARs, bit n for BAR n
 *
 * Tells userspace through the VFIO_IRQ_TYPE_REMAP_BAR_REGION interrupt, if
 * it listens, without waiting: accesses with read() and write() keep
 * working, so userspace may remap when it likes.
 *
 * Return: 0, or -EINVAL if @bars is not a set of memory BARs.
 */
int vfio_pci_core_untrap_bars(struct vfio_pci_core_device *vdev, u32 bars)
{
	struct vfio_pci_remap_bar *remap = &vdev->remap;

	if (!vfio_pci_bars_valid(vdev, bars))
		return -EINVAL;

	mutex_lock(&remap->request_lock);
	bars &= READ_ONCE(vdev->bar_trapped);
	if (bars) {
		vfio_pci_untrap(vdev, bars);

		spin_lock_irq(&remap->lock);
		vfio_pci_remap_announce(remap, bars);
		spin_unlock_irq(&remap->lock);
	}
	mutex_unlock(&remap->request_lock);

	return 0;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_untrap_bars);

/**
 * vfio_pci_core_trap_bars_on_open() - trap BARs before userspace maps them
 * @vdev: the device, in its .open_device after vfio_pci_core_enable()
 * @bars: the memory BARs, bit n for BAR n
 *
 * For drivers that must see every access to @bars while the device is
 * open, including with userspace that does not know the
 * VFIO_IRQ_TYPE_REMAP_BAR_REGION interrupt: userspace finds @bars without
 * VFIO_REGION_INFO_FLAG_MMAP from the start, so nothing is asked.
 *
 * Return: 0, or -EINVAL if @bars is not a set of memory BARs.
 */
int vfio_pci_core_trap_bars_on_open(struct vfio_pci_core_device *vdev,
				    u32 bars)
{
	if (!vfio_pci_bars_valid(vdev, bars))
		return -EINVAL;

	/*
	 * Nothing is mapped, and no ioeventfd exists, before open returns;
	 * a dma-buf exported by an earlier open may remain.
	 */
	down_write(&vdev->memory_lock);
	vdev->bar_trapped |= bars;
	vfio_pci_dma_buf_revoke_bars(vdev, bars);
	up_write(&vdev->memory_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_trap_bars_on_open);
ALLOW_ERROR_INJECTION(vfio_pci_core_trap_bars_on_open, ERRNO);
