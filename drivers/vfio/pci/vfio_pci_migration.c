// SPDX-License-Identifier: GPL-2.0-only
/*
 * The v1 migration region (VFIO_REGION_TYPE_MIGRATION_DEPRECATED), for
 * vfio-pci drivers, so that each does not write the protocol again.
 * QEMU 7.2 speaks only this protocol.
 *
 * Layout of the region:
 *
 *   [0, PAGE_SIZE)		struct vfio_device_migration_info; each field
 *				is accessed whole, at its offset, or not at all
 *   [PAGE_SIZE, size)		the data section, also mmap-able (a sparse
 *				mmap capability says so); data_offset is
 *				always PAGE_SIZE
 *
 * Saving: the driver's @save callback writes the device's whole state
 * into a buffer when the device enters the stop-and-copy state (SAVING
 * without RUNNING).  pending_bytes is what is left of it; reading
 * data_offset copies the next piece into the data section and data_size
 * says how long it is; reading pending_bytes again counts that piece as
 * read.  The pre-copy state (SAVING | RUNNING) has no data: the state is
 * small and only final once the device is stopped.
 *
 * Resuming: userspace writes a piece into the data section, then its
 * length into data_size; the pieces are gathered and handed to the
 * driver's @load callback, which applies a complete stream, asks for more,
 * or rejects it.  A rejected stream fails the data_size write, so
 * userspace fails the load, and the device stays as it was.
 */

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vmalloc.h>

#include "vfio_pci_priv.h"

#define MIG_DATA_OFFSET		PAGE_SIZE
#define MIG_DATA_MAX		SZ_64K
#define MIG_STREAM_MAX		SZ_1M
#define MIG_REGION_FLAGS	(VFIO_REGION_INFO_FLAG_READ |	\
				 VFIO_REGION_INFO_FLAG_WRITE |	\
				 VFIO_REGION_INFO_FLAG_MMAP)

/**
 * struct vfio_pci_migration - a device's v1 migration region
 * @vdev: the device
 * @ops: the driver's callbacks
 * @lock: serialises every access to the region; never taken by a reset
 * @resets_seen: the device's reset count when @lock was last taken
 * @state: VFIO_DEVICE_STATE_V1_*, as userspace last set it
 * @data: the data section, vmalloc_user() so that it can be mmapped
 * @data_cap: its size
 * @stream: the saved stream, or the restored one being gathered
 * @stream_max: the largest stream the driver produces or accepts
 * @len: bytes in @stream
 * @pos: bytes of @stream read by userspace (saving)
 * @chunk: bytes copied into @data and not yet counted as read (saving)
 * @loaded: the driver applied a complete stream (resuming)
 */
struct vfio_pci_migration {
	struct vfio_pci_core_device		*vdev;
	const struct vfio_pci_migration_ops	*ops;
	struct mutex				lock;	/* see above */
	int					resets_seen;
	u32					state;
	void					*data;
	size_t					data_cap;
	void					*stream;
	size_t					stream_max;
	size_t					len;
	size_t					pos;
	size_t					chunk;
	bool					loaded;
};

static void mig_drop_stream(struct vfio_pci_migration *mig)
{
	kvfree(mig->stream);
	mig->stream = NULL;
	mig->len = 0;
	mig->pos = 0;
	mig->chunk = 0;
	mig->loaded = false;
}

/* Enter the stop-and-copy state: capture the device's state. */
static int mig_save(struct vfio_pci_migration *mig)
{
	ssize_t len;

	mig_drop_stream(mig);
	mig->stream = kvzalloc(mig->stream_max, GFP_KERNEL_ACCOUNT);
	if (!mig->stream)
		return -ENOMEM;

	len = mig->ops->save(mig->vdev, mig->stream, mig->stream_max);
	if (len < 0 || len > mig->stream_max) {
		mig_drop_stream(mig);
		return len < 0 ? len : -EOVERFLOW;
	}
	mig->len = len;
	return 0;
}

/*
 * The device was reset (any reset through the PCI core) since the lock was
 * last taken: it runs again with no migration state.  Called with the
 * lock held, so a driver's set_state never runs twice at once.
 */
static void mig_after_reset(struct vfio_pci_migration *mig)
{
	int resets = atomic_read(&mig->vdev->resets);
	u32 old = mig->state;

	lockdep_assert_held(&mig->lock);

	if (resets == mig->resets_seen)
		return;
	mig->resets_seen = resets;

	mig_drop_stream(mig);
	mig->state = VFIO_DEVICE_STATE_V1_RUNNING;
	if (old != mig->state && mig->ops->set_state)
		mig->ops->set_state(mig->vdev, old, mig->state);
}

static int mig_set_state(struct vfio_pci_migration *mig, u32 new)
{
	void *resume = NULL;
	u32 old = mig->state;
	int ret;

	if ((new & ~VFIO_DEVICE_STATE_MASK) || !VFIO_DEVICE_STATE_VALID(new) ||
	    VFIO_DEVICE_STATE_IS_ERROR(new))
		return -EINVAL;
	if (new == old)
		return 0;

	/* Leaving RESUMING with part of a stream would lose it silently. */
	if ((old & VFIO_DEVICE_STATE_V1_RESUMING) && mig->len && !mig->loaded) {
		pci_err(mig->vdev->pdev, "migration: leaving RESUMING with an incomplete stream of %zu bytes; dropped it\n",
			mig->len);
		/* Refused once: the next try leaves with nothing restored. */
		mig->len = 0;
		return -EINVAL;
	}

	/* Room for the stream to come, before the driver acts */
	if (new & VFIO_DEVICE_STATE_V1_RESUMING) {
		resume = kvzalloc(mig->stream_max, GFP_KERNEL_ACCOUNT);
		if (!resume)
			return -ENOMEM;
	}

	if (mig->ops->set_state) {
		ret = mig->ops->set_state(mig->vdev, old, new);
		if (ret) {
			kvfree(resume);
			return ret;
		}
	}

	if (new == VFIO_DEVICE_STATE_V1_SAVING) {
		ret = mig_save(mig);
		if (ret) {
			pci_err(mig->vdev->pdev, "migration: saving the device state failed: %d\n",
				ret);
			if (mig->ops->set_state)
				mig->ops->set_state(mig->vdev, new, old);
			return ret;
		}
	} else {
		mig_drop_stream(mig);
		mig->stream = resume;
	}

	mig->state = new;
	return 0;
}

/* pending_bytes: count the piece userspace has read, return what is left */
static int mig_pending(struct vfio_pci_migration *mig, u64 *val)
{
	if (!(mig->state & VFIO_DEVICE_STATE_V1_SAVING))
		return -EINVAL;

	mig->pos += mig->chunk;
	mig->chunk = 0;
	*val = mig->len - mig->pos;
	return 0;
}

/* data_offset: in SAVING, copy the next piece into the data section */
static int mig_data_offset(struct vfio_pci_migration *mig, u64 *val)
{
	if (mig->state & VFIO_DEVICE_STATE_V1_SAVING) {
		if (!mig->chunk && mig->pos < mig->len) {
			mig->chunk = min(mig->len - mig->pos, mig->data_cap);
			memcpy(mig->data, mig->stream + mig->pos, mig->chunk);
		}
	} else if (!(mig->state & VFIO_DEVICE_STATE_V1_RESUMING)) {
		return -EINVAL;
	}

	*val = MIG_DATA_OFFSET;
	return 0;
}

/* data_size written in RESUMING: a piece is in the data section */
static int mig_data_written(struct vfio_pci_migration *mig, u64 size)
{
	int ret;

	if (!(mig->state & VFIO_DEVICE_STATE_V1_RESUMING))
		return -EINVAL;
	if (!size || size > mig->data_cap)
		return -EINVAL;
	if (mig->loaded) {
		pci_err(mig->vdev->pdev, "migration: data after a complete stream\n");
		return -EINVAL;
	}
	if (size > mig->stream_max - mig->len) {
		pci_err(mig->vdev->pdev, "migration: stream longer than %zu bytes\n",
			mig->stream_max);
		mig->len = 0;
		return -EFBIG;
	}

	memcpy(mig->stream + mig->len, mig->data, size);
	mig->len += size;

	ret = mig->ops->load(mig->vdev, mig->stream, mig->len);
	if (ret == -EAGAIN)
		return 0;
	if (ret) {
		/* Start again from nothing; the device state is unchanged. */
		mig->len = 0;
		return ret;
	}
	mig->loaded = true;
	return 0;
}

static ssize_t mig_rw_info(struct vfio_pci_migration *mig, char __user *buf,
			   size_t count, loff_t pos, bool iswrite)
{
	u64 val = 0;
	u32 state;
	int ret;

	switch (pos) {
	case offsetof(struct vfio_device_migration_info, device_state):
		if (count != sizeof(state))
			return -EINVAL;
		if (!iswrite) {
			state = mig->state;
			return copy_to_user(buf, &state, count) ? -EFAULT : count;
		}
		if (copy_from_user(&state, buf, count))
			return -EFAULT;
		ret = mig_set_state(mig, state);
		return ret ? ret : count;
	case offsetof(struct vfio_device_migration_info, pending_bytes):
		if (count != sizeof(val) || iswrite)
			return -EINVAL;
		ret = mig_pending(mig, &val);
		break;
	case offsetof(struct vfio_device_migration_info, data_offset):
		if (count != sizeof(val) || iswrite)
			return -EINVAL;
		ret = mig_data_offset(mig, &val);
		break;
	case offsetof(struct vfio_device_migration_info, data_size):
		if (count != sizeof(val))
			return -EINVAL;
		if (iswrite) {
			if (copy_from_user(&val, buf, count))
				return -EFAULT;
			ret = mig_data_written(mig, val);
			return ret ? ret : count;
		}
		if (!(mig->state & VFIO_DEVICE_STATE_V1_SAVING))
			return -EINVAL;
		val = mig->chunk;
		ret = 0;
		break;
	default:
		return -EINVAL;
	}

	if (ret)
		return ret;
	return copy_to_user(buf, &val, count) ? -EFAULT : count;
}

/*
 * The data section through read() and write(): reads only of the piece
 * being saved, writes only while resuming.
 */
static ssize_t mig_rw_data(struct vfio_pci_migration *mig, char __user *buf,
			   size_t count, loff_t off, bool iswrite)
{
	if (iswrite) {
		if (!(mig->state & VFIO_DEVICE_STATE_V1_RESUMING) ||
		    off + count > mig->data_cap)
			return -EINVAL;
		return copy_from_user(mig->data + off, buf, count) ?
		       -EFAULT : count;
	}

	if (!(mig->state & VFIO_DEVICE_STATE_V1_SAVING) ||
	    off + count > mig->chunk)
		return -EINVAL;
	return copy_to_user(buf, mig->data + off, count) ? -EFAULT : count;
}

static struct vfio_pci_region *mig_region(struct vfio_pci_core_device *vdev,
					  loff_t pos)
{
	unsigned int i = VFIO_PCI_OFFSET_TO_INDEX(pos) - VFIO_PCI_NUM_REGIONS;

	return &vdev->region[i];
}

static ssize_t vfio_pci_migration_rw(struct vfio_pci_core_device *vdev,
				     char __user *buf, size_t count,
				     loff_t *ppos, bool iswrite)
{
	struct vfio_pci_region *region = mig_region(vdev, *ppos);
	struct vfio_pci_migration *mig = region->data;
	loff_t pos = *ppos & VFIO_PCI_OFFSET_MASK;
	ssize_t ret;

	if (!count || pos >= region->size || count > region->size - pos)
		return -EINVAL;

	if (mutex_lock_killable(&mig->lock))
		return -EINTR;
	mig_after_reset(mig);
	if (pos < MIG_DATA_OFFSET)
		ret = mig_rw_info(mig, buf, count, pos, iswrite);
	else
		ret = mig_rw_data(mig, buf, count, pos - MIG_DATA_OFFSET,
				  iswrite);
	/* A reset while the driver waited for userspace ends it now. */
	mig_after_reset(mig);
	mutex_unlock(&mig->lock);

	return ret;
}

static int vfio_pci_migration_mmap(struct vfio_pci_core_device *vdev,
				   struct vfio_pci_region *region,
				   struct vm_area_struct *vma)
{
	struct vfio_pci_migration *mig = region->data;
	unsigned long pgoff = vma->vm_pgoff &
			      (VFIO_PCI_OFFSET_MASK >> PAGE_SHIFT);
	unsigned long first = MIG_DATA_OFFSET >> PAGE_SHIFT;

	/* Only the data section */
	if (pgoff < first || pgoff - first >= mig->data_cap >> PAGE_SHIFT ||
	    vma->vm_end - vma->vm_start >
	    mig->data_cap - ((pgoff - first) << PAGE_SHIFT))
		return -EINVAL;

	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return remap_vmalloc_range(vma, mig->data, pgoff - first);
}

static int vfio_pci_migration_add_capability(struct vfio_pci_core_device *vdev,
					     struct vfio_pci_region *region,
					     struct vfio_info_cap *caps)
{
	struct vfio_pci_migration *mig = region->data;
	struct {
		struct vfio_region_info_cap_sparse_mmap sparse;
		struct vfio_region_sparse_mmap_area area;
	} cap = {
		.sparse.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP,
		.sparse.header.version = 1,
		.sparse.nr_areas = 1,
		.area.offset = MIG_DATA_OFFSET,
		.area.size = mig->data_cap,
	};

	return vfio_info_add_capability(caps, &cap.sparse.header, sizeof(cap));
}

static void vfio_pci_migration_release(struct vfio_pci_core_device *vdev,
				       struct vfio_pci_region *region)
{
	struct vfio_pci_migration *mig = region->data;

	vdev->migration = NULL;
	mig_drop_stream(mig);
	vfree(mig->data);
	mutex_destroy(&mig->lock);
	kfree(mig);
}

static const struct vfio_pci_regops vfio_pci_migration_regops = {
	.rw		= vfio_pci_migration_rw,
	.mmap		= vfio_pci_migration_mmap,
	.add_capability	= vfio_pci_migration_add_capability,
	.release	= vfio_pci_migration_release,
};

/**
 * vfio_pci_core_register_migration() - add the v1 migration region
 * @vdev: the device, in its .open_device after vfio_pci_core_enable()
 * @ops: the driver's callbacks; @ops->save and @ops->load are required
 * @stream_max: the largest stream @ops->save writes and @ops->load takes,
 *	up to 1 MiB
 *
 * The device starts RUNNING.  The region is released, with any migration
 * state, when the device is closed; any reset of the device (through the
 * PCI core's reset_done: VFIO_DEVICE_RESET, a hot reset, FLR through
 * config space, sysfs, AER) also drops the migration state and makes the
 * device RUNNING, as the next access to the region finds.
 *
 * Return: 0, -EINVAL for bad arguments, -EBUSY if the device already has
 * the region, or -ENOMEM.
 */
int vfio_pci_core_register_migration(struct vfio_pci_core_device *vdev,
				     const struct vfio_pci_migration_ops *ops,
				     size_t stream_max)
{
	struct vfio_pci_migration *mig;
	int ret;

	if (!ops || !ops->save || !ops->load || !stream_max ||
	    stream_max > MIG_STREAM_MAX)
		return -EINVAL;
	if (vdev->migration)
		return -EBUSY;

	mig = kzalloc(sizeof(*mig), GFP_KERNEL_ACCOUNT);
	if (!mig)
		return -ENOMEM;

	mig->vdev = vdev;
	mig->ops = ops;
	mig->state = VFIO_DEVICE_STATE_V1_RUNNING;
	mig->stream_max = stream_max;
	mig->resets_seen = atomic_read(&vdev->resets);
	mig->data_cap = PAGE_ALIGN(min_t(size_t, stream_max, MIG_DATA_MAX));
	mutex_init(&mig->lock);

	mig->data = vmalloc_user(mig->data_cap);
	if (!mig->data) {
		ret = -ENOMEM;
		goto err;
	}

	ret = vfio_pci_core_register_dev_region(vdev,
						VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
						VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED,
						&vfio_pci_migration_regops,
						MIG_DATA_OFFSET + mig->data_cap,
						MIG_REGION_FLAGS, mig);
	if (ret)
		goto err;

	vdev->migration = mig;
	return 0;
err:
	vfree(mig->data);
	mutex_destroy(&mig->lock);
	kfree(mig);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_register_migration);
