// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_IRQ_TYPE_REMAP_BAR_REGION: trapping BARs that userspace may have
 * mapped, with userspace's agreement.  The protocol userspace follows is
 * described with VFIO_IRQ_TYPE_REMAP_BAR_REGION in include/uapi/linux/vfio.h.
 *
 * A driver calls vfio_pci_core_trap_bars() to make BARs trapped: their
 * mappings are zapped at once, faults on them fail and ioeventfds on them
 * are refused, so nothing reaches those BARs but read() and write() on the
 * device fd, which the driver sees.  It then waits, for a bounded time,
 * for userspace to say that it has moved to read() and write().  If
 * userspace is not listening, nothing changes and the driver is told so;
 * if it does not answer, the trap is undone.
 */

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

/* Status of the request in progress, while userspace has not answered */
#define REMAP_IN_PROGRESS	1

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
 * Change which BARs are trapped; zap userspace mappings of newly trapped.
 * A BAR with an ioeventfd cannot be trapped: the ioeventfd writes to it
 * without going through the driver.  Return: 0 or -EBUSY.
 */
static int vfio_pci_set_trapped(struct vfio_pci_core_device *vdev,
				u32 trap, u32 untrap)
{
	struct address_space *mapping = vdev->vdev.inode->i_mapping;
	struct vfio_pci_ioeventfd *ioeventfd;
	u32 newly;
	int bar;

	mutex_lock(&vdev->ioeventfds_lock);
	down_write(&vdev->memory_lock);
	newly = trap & ~vdev->bar_trapped;
	list_for_each_entry(ioeventfd, &vdev->ioeventfds_list, next) {
		if (newly & BIT(ioeventfd->bar)) {
			up_write(&vdev->memory_lock);
			mutex_unlock(&vdev->ioeventfds_lock);
			return -EBUSY;
		}
	}
	vdev->bar_trapped = (vdev->bar_trapped | trap) & ~untrap;
	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		loff_t start = VFIO_PCI_INDEX_TO_OFFSET(bar);

		if (newly & BIT(bar))
			unmap_mapping_range(mapping, start,
					    VFIO_PCI_INDEX_TO_OFFSET(bar + 1) -
					    start, true);
	}
	up_write(&vdev->memory_lock);
	mutex_unlock(&vdev->ioeventfds_lock);
	return 0;
}

/* End the request in progress, if any, with @status; remap->lock held. */
static void vfio_pci_remap_end(struct vfio_pci_remap_bar *remap, int status)
{
	lockdep_assert_held(&remap->lock);

	if (remap->status == REMAP_IN_PROGRESS) {
		remap->status = status;
		wake_up_all(&remap->wait);
	}
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

	/*
	 * Only ACTION_TRIGGER takes an eventfd: acknowledging through an
	 * eventfd (an irqfd) could be lost or race with the next request.
	 */
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
		remap->armed = !!trigger;
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
		/* The acknowledgment */
		remap->pending = 0;
		remap->armed = !!remap->trigger;
		vfio_pci_remap_end(remap, 0);
		break;
	case VFIO_IRQ_SET_ACTION_MASK:
		remap->armed = false;
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
	spin_unlock_irq(&remap->lock);
	cap.trapped = READ_ONCE(vdev->bar_trapped);

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
	remap->armed = false;
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
	remap->pending = 0;
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
 * access @bars with read() and write() from now on.  Their mappings are
 * zapped before userspace is asked, so from the moment userspace is asked
 * no access bypasses the driver.  Then waits, for at most the
 * remap_bar_timeout_ms parameter, for the acknowledgment.  Must not be
 * called with a lock that the device's ioctls or close take.
 *
 * Return: 0 once userspace has acknowledged; -ENOTCONN, without waiting or
 * changing anything, when userspace has not enabled the interrupt or has
 * it masked; -ETIMEDOUT when it did not answer in time, -ECANCELED when
 * it masked or disabled the interrupt, -ENODEV when the device was closed
 * and -EINTR when the caller got a signal; in these four cases @bars are
 * mmap-able again.  -EBUSY, without asking, when userspace has an
 * ioeventfd on one of @bars; -EINVAL if @bars is not a set of memory BARs.
 */
int vfio_pci_core_trap_bars(struct vfio_pci_core_device *vdev, u32 bars)
{
	struct vfio_pci_remap_bar *remap = &vdev->remap;
	unsigned long timeout;
	u32 untrap;
	long left;
	int ret;

	if (!vfio_pci_bars_valid(vdev, bars))
		return -EINVAL;

	if (mutex_lock_interruptible(&remap->request_lock))
		return -EINTR;

	spin_lock_irq(&remap->lock);
	if (!remap->armed) {
		bool warn = !remap->warned;

		remap->warned = true;
		spin_unlock_irq(&remap->lock);
		if (warn)
			pci_info(vdev->pdev, "userspace has not enabled the REMAP_BAR_REGION interrupt, or masks it: BARs %#x stay mmap-able\n",
				 bars);
		ret = -ENOTCONN;
		goto out;
	}
	spin_unlock_irq(&remap->lock);

	/* Only what this call traps is undone if userspace does not answer. */
	untrap = bars & ~READ_ONCE(vdev->bar_trapped);
	ret = vfio_pci_set_trapped(vdev, bars, 0);
	if (ret)
		goto out;

	spin_lock_irq(&remap->lock);
	if (!remap->armed) {
		/* Masked or disabled while the mappings were zapped */
		spin_unlock_irq(&remap->lock);
		ret = -ECANCELED;
		goto undo;
	}
	remap->pending |= bars;
	remap->armed = false;
	remap->status = REMAP_IN_PROGRESS;
	eventfd_signal(remap->trigger);

	timeout = msecs_to_jiffies(READ_ONCE(remap_bar_timeout_ms));
	left = wait_event_interruptible_lock_irq_timeout(remap->wait,
							 remap->status != REMAP_IN_PROGRESS,
							 remap->lock, timeout);
	if (remap->status == REMAP_IN_PROGRESS)
		remap->status = left < 0 ? -EINTR : -ETIMEDOUT;
	ret = remap->status;
	spin_unlock_irq(&remap->lock);

	if (!ret)
		goto out;

	if (ret == -ETIMEDOUT)
		dev_warn_ratelimited(&vdev->pdev->dev, "userspace did not acknowledge the BAR remap request within %u ms: BARs %#x stay mmap-able\n",
				     jiffies_to_msecs(timeout), untrap);
undo:
	if (untrap)
		vfio_pci_set_trapped(vdev, 0, untrap);
out:
	mutex_unlock(&remap->request_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_trap_bars);

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
		vfio_pci_set_trapped(vdev, 0, bars);

		spin_lock_irq(&remap->lock);
		remap->pending |= bars;
		if (remap->armed) {
			remap->armed = false;
			eventfd_signal(remap->trigger);
		}
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

	/* No ioeventfd exists before userspace has the device open. */
	return vfio_pci_set_trapped(vdev, bars, 0);
}
EXPORT_SYMBOL_GPL(vfio_pci_core_trap_bars_on_open);
