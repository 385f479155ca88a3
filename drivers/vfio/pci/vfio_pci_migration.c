// SPDX-License-Identifier: GPL-2.0-only
/*
 * Migration for vfio-pci drivers: the driver writes three callbacks
 * (struct vfio_pci_migration_ops) and this helper speaks both protocols
 * userspace uses with them:
 *
 *  - v1, the migration region (VFIO_REGION_TYPE_MIGRATION_DEPRECATED),
 *    which QEMU up to 7.2 speaks; and
 *  - v2, VFIO_DEVICE_FEATURE_MIGRATION with a data_fd, which QEMU speaks
 *    since 8.0.
 *
 * One state and one lock serve both, so that they cannot drift apart, and
 * one protocol drives the device at a time: while one has taken the device
 * out of RUNNING, the other is refused with -EBUSY.  Back in RUNNING, a
 * reset of the device or its close ends the session.
 *
 * The callbacks know the v1 states.  A v2 state is, for them:
 *
 *	v2 state	v1 state	what the device does
 *	RUNNING		RUNNING		runs
 *	STOP		0		stopped
 *	RUNNING_P2P	0		stopped: it starts no DMA, P2P included
 *	PRE_COPY	SAVING|RUNNING	runs, tracking what it dirties
 *	PRE_COPY_P2P	SAVING		stopped, being saved
 *	STOP_COPY	SAVING		stopped, saved
 *	RESUMING	RESUMING	being restored
 *
 * so a v2 arc that does not change the v1 state calls nothing.  The device
 * state is small and final only once the device is stopped: it is saved
 * (@save) when the device enters STOP_COPY, or v1's SAVING without
 * RUNNING, and pre-copy has no data.
 *
 * v1, layout of the region:
 *
 *   [0, PAGE_SIZE)		struct vfio_device_migration_info; each field
 *				is accessed whole, at its offset, or not at all
 *   [PAGE_SIZE, size)		the data section, also mmap-able (a sparse
 *				mmap capability says so); data_offset is
 *				always PAGE_SIZE
 *
 * Saving: pending_bytes is what is left of the stream; reading data_offset
 * copies the next piece into the data section and data_size says how long
 * it is; reading pending_bytes again counts that piece as read.  Resuming:
 * userspace writes a piece into the data section, then its length into
 * data_size.
 *
 * v2: entering PRE_COPY, PRE_COPY_P2P or STOP_COPY from a state that does
 * not save returns a data_fd to read; it reads -ENOMSG in pre-copy and
 * the stream once in STOP_COPY, then 0.  Entering RESUMING returns
 * a data_fd to write the stream to, in pieces of any size.  Either fd is
 * disabled (-ENODEV) when its session ends; it holds no reference on the
 * device.
 *
 * Both protocols hand each restored piece to @load with what came before
 * it, so a bad stream fails the write that brings it, and the device stays
 * as it was.  v1 refuses to leave RESUMING once with part of a stream; v2
 * fails RESUMING -> STOP then, and the device is in ERROR until it is
 * reset, as the uAPI says of an arc that cannot complete.
 */

#include <linux/anon_inodes.h>
#include <linux/error-injection.h>
#include <linux/file.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vmalloc.h>
#include <kunit/visibility.h>

#include "vfio_pci_priv.h"

#define MIG_DATA_OFFSET		PAGE_SIZE
#define MIG_DATA_MAX		SZ_64K
#define MIG_STREAM_MAX		SZ_128M
#define MIG_REGION_FLAGS	(VFIO_REGION_INFO_FLAG_READ |	\
				 VFIO_REGION_INFO_FLAG_WRITE |	\
				 VFIO_REGION_INFO_FLAG_MMAP)
#define MIG_V2_FLAGS		(VFIO_MIGRATION_STOP_COPY |	\
				 VFIO_MIGRATION_P2P |		\
				 VFIO_MIGRATION_PRE_COPY)

enum mig_proto {
	MIG_PROTO_NONE,
	MIG_PROTO_V1,
	MIG_PROTO_V2,
};

struct vfio_pci_mig_file;

/*
 * A stream buffer.  The migration holds one reference while the buffer is
 * its stream; a data_fd access holds another while it copies to or from
 * userspace without the migration's lock, so that a session that ends
 * meanwhile (a reset, a close) cannot free the bytes under the copy.
 */
struct mig_buf {
	struct kref	kref;
	size_t		size;
	u8		data[] __counted_by(size);
};

/* Zeroed for a stream to save: userspace reads what the driver wrote. */
static struct mig_buf *mig_buf_alloc(size_t size, bool zero)
{
	struct mig_buf *buf;
	gfp_t gfp = GFP_KERNEL_ACCOUNT | (zero ? __GFP_ZERO : 0);

	buf = kvmalloc(struct_size(buf, data, size), gfp);
	if (!buf)
		return NULL;
	kref_init(&buf->kref);
	buf->size = size;
	return buf;
}

static void mig_buf_release(struct kref *kref)
{
	kvfree(container_of(kref, struct mig_buf, kref));
}

static void mig_buf_put(struct mig_buf *buf)
{
	if (buf)
		kref_put(&buf->kref, mig_buf_release);
}

/**
 * struct vfio_pci_migration - a device's migration, for both protocols
 * @kref: held by the device, from vfio_pci_core_init_migration() until it
 *	is released, and by each data_fd, which may outlive it
 * @reset_work: tells the driver of a reset soon after it, from process
 *	context: reset_done cannot take @lock
 * @vdev: the device; only used while it is open, or a data_fd is enabled
 * @ops: the driver's callbacks
 * @lock: serialises the state, the region, the data_fds and every
 *	callback; never taken by a reset
 * @resets_seen: the device's reset count when @lock was last taken
 * @state: the device state, in v2 terms
 * @cb_state: the v1 state the driver was last told
 * @proto: which protocol has the device out of RUNNING, if one has
 * @file: the v2 data_fd of the session, or NULL
 * @data: the v1 data section while the device is open, vmalloc_user() so
 *	that it can be mmapped
 * @data_cap: its size
 * @buf: the buffer of @stream, or NULL
 * @stream: the saved stream, or the restored one being gathered
 * @stream_max: the largest stream the driver produces or accepts
 * @len: bytes in @stream
 * @pos: bytes of @stream read through the v1 region (saving)
 * @chunk: bytes copied into @data and not yet counted as read (v1 saving)
 * @loaded: the driver applied a complete stream (resuming)
 * @refused: a piece written through the v2 data_fd was refused (resuming)
 */
struct vfio_pci_migration {
	struct kref				kref;
	struct work_struct			reset_work;
	struct vfio_pci_core_device		*vdev;
	const struct vfio_pci_migration_ops	*ops;
	struct mutex				lock;	/* see above */
	int					resets_seen;
	enum vfio_device_mig_state		state;
	u32					cb_state;
	enum mig_proto				proto;
	struct vfio_pci_mig_file		*file;
	void					*data;
	size_t					data_cap;
	struct mig_buf				*buf;
	void					*stream;
	size_t					stream_max;
	size_t					len;
	size_t					pos;
	size_t					chunk;
	bool					loaded;
	bool					refused;
};

/**
 * struct vfio_pci_mig_file - a v2 data_fd
 * @filp: its file
 * @mig: the migration it belongs to (a reference)
 * @io_lock: serialises reads and writes, which copy without @mig->lock
 * @pos: bytes of the stream read (saving)
 * @disabled: its session ended; under @mig->lock
 */
struct vfio_pci_mig_file {
	struct file			*filp;
	struct vfio_pci_migration	*mig;
	struct mutex			io_lock;	/* see above */
	size_t				pos;
	bool				disabled;
};

static const char *const mig_state_names[] = {
	[VFIO_DEVICE_STATE_ERROR]	 = "ERROR",
	[VFIO_DEVICE_STATE_STOP]	 = "STOP",
	[VFIO_DEVICE_STATE_RUNNING]	 = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY]	 = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING]	 = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P]	 = "RUNNING_P2P",
	[VFIO_DEVICE_STATE_PRE_COPY]	 = "PRE_COPY",
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
};

static const char *mig_state_name(enum vfio_device_mig_state state)
{
	if (state >= ARRAY_SIZE(mig_state_names) || !mig_state_names[state])
		return "?";
	return mig_state_names[state];
}

/**
 * vfio_pci_mig_v1_state() - the v1 state a v2 state is for the callbacks
 * @state: a v2 device state other than ERROR
 *
 * Return: VFIO_DEVICE_STATE_V1_* bits, as the table at the top says.
 */
VISIBLE_IF_KUNIT u32 vfio_pci_mig_v1_state(enum vfio_device_mig_state state)
{
	switch (state) {
	case VFIO_DEVICE_STATE_RUNNING:
		return VFIO_DEVICE_STATE_V1_RUNNING;
	case VFIO_DEVICE_STATE_PRE_COPY:
		return VFIO_DEVICE_STATE_V1_SAVING | VFIO_DEVICE_STATE_V1_RUNNING;
	case VFIO_DEVICE_STATE_PRE_COPY_P2P:
	case VFIO_DEVICE_STATE_STOP_COPY:
		return VFIO_DEVICE_STATE_V1_SAVING;
	case VFIO_DEVICE_STATE_RESUMING:
		return VFIO_DEVICE_STATE_V1_RESUMING;
	default:
		return VFIO_DEVICE_STATE_V1_STOP;
	}
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_mig_v1_state);

/**
 * vfio_pci_mig_v2_state() - the v2 state of a v1 state
 * @state: a valid v1 state, VFIO_DEVICE_STATE_V1_*
 *
 * Return: the v2 state whose v1 state it is, the one without P2P.
 */
VISIBLE_IF_KUNIT enum vfio_device_mig_state vfio_pci_mig_v2_state(u32 state)
{
	switch (state) {
	case VFIO_DEVICE_STATE_V1_RUNNING:
		return VFIO_DEVICE_STATE_RUNNING;
	case VFIO_DEVICE_STATE_V1_SAVING | VFIO_DEVICE_STATE_V1_RUNNING:
		return VFIO_DEVICE_STATE_PRE_COPY;
	case VFIO_DEVICE_STATE_V1_SAVING:
		return VFIO_DEVICE_STATE_STOP_COPY;
	case VFIO_DEVICE_STATE_V1_RESUMING:
		return VFIO_DEVICE_STATE_RESUMING;
	default:
		return VFIO_DEVICE_STATE_STOP;
	}
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_mig_v2_state);

static bool mig_saving(enum vfio_device_mig_state state)
{
	return state == VFIO_DEVICE_STATE_PRE_COPY ||
	       state == VFIO_DEVICE_STATE_PRE_COPY_P2P ||
	       state == VFIO_DEVICE_STATE_STOP_COPY;
}

static void mig_free(struct kref *kref)
{
	struct vfio_pci_migration *mig =
		container_of(kref, struct vfio_pci_migration, kref);

	mig_buf_put(mig->buf);
	mutex_destroy(&mig->lock);
	kfree(mig);
}

static void mig_set_stream(struct vfio_pci_migration *mig,
			   struct mig_buf *buf)
{
	mig_buf_put(mig->buf);
	mig->buf = buf;
	mig->stream = buf ? buf->data : NULL;
}

static void mig_drop_stream(struct vfio_pci_migration *mig)
{
	mig_set_stream(mig, NULL);
	mig->len = 0;
	mig->pos = 0;
	mig->chunk = 0;
	mig->loaded = false;
	mig->refused = false;
}

/* A session ends: its data_fd is disabled and its stream dropped. */
static void mig_end_session(struct vfio_pci_migration *mig)
{
	lockdep_assert_held(&mig->lock);

	if (mig->file) {
		mig->file->disabled = true;
		mig->file = NULL;
	}
	mig_drop_stream(mig);
}

/* Tell the driver the device goes to the v1 state @new. */
static int mig_callback(struct vfio_pci_migration *mig, u32 new)
{
	int ret;

	if (new == mig->cb_state || !mig->ops->set_state)
		goto out;
	ret = mig->ops->set_state(mig->vdev, mig->cb_state, new);
	if (ret)
		return ret;
out:
	mig->cb_state = new;
	return 0;
}

/* Back to RUNNING, whatever the driver says: after a reset, at close. */
static void mig_to_running(struct vfio_pci_migration *mig)
{
	u32 old = mig->cb_state;

	mig_end_session(mig);
	mig->state = VFIO_DEVICE_STATE_RUNNING;
	mig->cb_state = VFIO_DEVICE_STATE_V1_RUNNING;
	mig->proto = MIG_PROTO_NONE;
	if (old != mig->cb_state && mig->ops->set_state)
		mig->ops->set_state(mig->vdev, old, mig->cb_state);
}

/*
 * The device was reset (any reset through the PCI core) since the lock was
 * last taken: it runs again with no migration state.  Called with the
 * lock held, so a driver's set_state never runs twice at once.
 */
static void mig_after_reset(struct vfio_pci_migration *mig)
{
	int resets = atomic_read(&mig->vdev->resets);

	lockdep_assert_held(&mig->lock);

	if (resets == mig->resets_seen)
		return;
	mig->resets_seen = resets;
	mig_to_running(mig);
}

/* Soon after a reset, without waiting for the next access */
static void mig_reset_work(struct work_struct *work)
{
	struct vfio_pci_migration *mig =
		container_of(work, struct vfio_pci_migration, reset_work);

	mutex_lock(&mig->lock);
	mig_after_reset(mig);
	mutex_unlock(&mig->lock);
}

/*
 * From reset_done, which holds locks a driver's set_state may take: the
 * next access, or the work queued here, whichever comes first, tells the
 * driver.
 */
void vfio_pci_migration_reset_done(struct vfio_pci_core_device *vdev)
{
	if (vdev->migration)
		schedule_work(&vdev->migration->reset_work);
}

/* Lock @mig for the device's own paths: its fd, open and close. */
static int mig_lock(struct vfio_pci_migration *mig)
{
	if (mutex_lock_killable(&mig->lock))
		return -EINTR;
	mig_after_reset(mig);
	return 0;
}

static void mig_unlock(struct vfio_pci_migration *mig)
{
	/* A reset while the driver waited for userspace ends it now. */
	mig_after_reset(mig);
	mutex_unlock(&mig->lock);
}

/* The stop-and-copy state: capture the device's state. */
static int mig_save(struct vfio_pci_migration *mig)
{
	struct mig_buf *buf;
	ssize_t len;

	mig_drop_stream(mig);
	buf = mig_buf_alloc(mig->stream_max, true);
	if (!buf)
		return -ENOMEM;
	mig_set_stream(mig, buf);

	len = mig->ops->save(mig->vdev, mig->stream, mig->stream_max);
	if (len < 0 || len > mig->stream_max) {
		mig_drop_stream(mig);
		len = len < 0 ? len : -EOVERFLOW;
		dev_err_ratelimited(&mig->vdev->pdev->dev, "migration: saving the device state failed: %zd\n",
				    len);
		return len;
	}
	mig->len = len;
	return 0;
}

/* Room for a piece of @size bytes of the stream being restored? */
static int mig_room(struct vfio_pci_migration *mig, size_t size)
{
	if (mig->loaded) {
		dev_err_ratelimited(&mig->vdev->pdev->dev, "migration: data after a complete stream\n");
		return -EINVAL;
	}
	if (size > mig->stream_max - mig->len) {
		dev_err_ratelimited(&mig->vdev->pdev->dev, "migration: stream longer than %zu bytes\n",
				    mig->stream_max);
		mig->len = 0;
		return -EFBIG;
	}
	return 0;
}

/* @size bytes were appended to the stream: hand it to the driver. */
static int mig_load(struct vfio_pci_migration *mig, size_t size)
{
	int ret;

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

/* v1: userspace writes device_state */
static int mig_v1_set_state(struct vfio_pci_migration *mig, u32 new)
{
	u32 old = mig->cb_state;
	struct mig_buf *resume = NULL;
	int ret;

	if ((new & ~VFIO_DEVICE_STATE_MASK) || !VFIO_DEVICE_STATE_VALID(new) ||
	    VFIO_DEVICE_STATE_IS_ERROR(new))
		return -EINVAL;
	if (new == old)
		return 0;

	/* Leaving RESUMING with part of a stream would lose it silently. */
	if ((old & VFIO_DEVICE_STATE_V1_RESUMING) && mig->len && !mig->loaded) {
		dev_err_ratelimited(&mig->vdev->pdev->dev, "migration: leaving RESUMING with an incomplete stream of %zu bytes; dropped it\n",
				    mig->len);
		/* Refused once: the next try leaves with nothing restored. */
		mig->len = 0;
		return -EINVAL;
	}

	/* Room for the stream to come, before the driver acts */
	if (new & VFIO_DEVICE_STATE_V1_RESUMING) {
		resume = mig_buf_alloc(mig->stream_max, false);
		if (!resume)
			return -ENOMEM;
	}

	ret = mig_callback(mig, new);
	if (ret) {
		mig_buf_put(resume);
		return ret;
	}

	if (new == VFIO_DEVICE_STATE_V1_SAVING) {
		ret = mig_save(mig);
		if (ret) {
			mig_callback(mig, old);
			return ret;
		}
	} else {
		mig_drop_stream(mig);
		mig_set_stream(mig, resume);
	}

	mig->state = vfio_pci_mig_v2_state(new);
	mig->proto = new == VFIO_DEVICE_STATE_V1_RUNNING ?
		     MIG_PROTO_NONE : MIG_PROTO_V1;
	return 0;
}

/* v1 pending_bytes: count the piece userspace has read, return what is left */
static int mig_pending(struct vfio_pci_migration *mig, u64 *val)
{
	if (!(mig->cb_state & VFIO_DEVICE_STATE_V1_SAVING))
		return -EINVAL;

	mig->pos += mig->chunk;
	mig->chunk = 0;
	*val = mig->len - mig->pos;
	return 0;
}

/* v1 data_offset: in SAVING, copy the next piece into the data section */
static int mig_data_offset(struct vfio_pci_migration *mig, u64 *val)
{
	if (mig->cb_state & VFIO_DEVICE_STATE_V1_SAVING) {
		if (!mig->chunk && mig->pos < mig->len) {
			mig->chunk = min(mig->len - mig->pos, mig->data_cap);
			memcpy(mig->data, mig->stream + mig->pos, mig->chunk);
		}
	} else if (!(mig->cb_state & VFIO_DEVICE_STATE_V1_RESUMING)) {
		return -EINVAL;
	}

	*val = MIG_DATA_OFFSET;
	return 0;
}

/* v1 data_size written in RESUMING: a piece is in the data section */
static int mig_data_written(struct vfio_pci_migration *mig, u64 size)
{
	int ret;

	if (!(mig->cb_state & VFIO_DEVICE_STATE_V1_RESUMING))
		return -EINVAL;
	if (!size || size > mig->data_cap)
		return -EINVAL;
	ret = mig_room(mig, size);
	if (ret)
		return ret;

	memcpy(mig->stream + mig->len, mig->data, size);
	return mig_load(mig, size);
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
			state = mig->cb_state;
			return copy_to_user(buf, &state, count) ? -EFAULT : count;
		}
		if (copy_from_user(&state, buf, count))
			return -EFAULT;
		ret = mig_v1_set_state(mig, state);
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
		if (!(mig->cb_state & VFIO_DEVICE_STATE_V1_SAVING))
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
		if (!(mig->cb_state & VFIO_DEVICE_STATE_V1_RESUMING) ||
		    off + count > mig->data_cap)
			return -EINVAL;
		return copy_from_user(mig->data + off, buf, count) ?
		       -EFAULT : count;
	}

	if (!(mig->cb_state & VFIO_DEVICE_STATE_V1_SAVING) ||
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

	ret = mig_lock(mig);
	if (ret)
		return ret;
	if (mig->proto == MIG_PROTO_V2 &&
	    (iswrite || pos != offsetof(struct vfio_device_migration_info,
					device_state))) {
		dev_err_ratelimited(&vdev->pdev->dev,
				    "migration: the device is in a v2 session (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, state %s): the v1 region only reads device_state until the device is RUNNING again or reset\n",
				    mig_state_name(mig->state));
		ret = -EBUSY;
	} else if (pos < MIG_DATA_OFFSET) {
		ret = mig_rw_info(mig, buf, count, pos, iswrite);
	} else {
		ret = mig_rw_data(mig, buf, count, pos - MIG_DATA_OFFSET,
				  iswrite);
	}
	mig_unlock(mig);

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

/* Released with the device's other regions when it is closed */
static void vfio_pci_migration_release(struct vfio_pci_core_device *vdev,
				       struct vfio_pci_region *region)
{
	struct vfio_pci_migration *mig = region->data;

	vfree(mig->data);
	mig->data = NULL;
}

static const struct vfio_pci_regops vfio_pci_migration_regops = {
	.rw		= vfio_pci_migration_rw,
	.mmap		= vfio_pci_migration_mmap,
	.add_capability	= vfio_pci_migration_add_capability,
	.release	= vfio_pci_migration_release,
};

/*
 * v2 data_fd.  Its session is over when @disabled is set; until then the
 * device is open, so @mig->vdev can be used.  The device is kept out of
 * low power while the driver's callbacks may touch it, as for an ioctl.
 * Nothing that can fault or wait for userspace runs under the lock: see
 * mig_file_read().
 */
static int mig_file_lock(struct vfio_pci_mig_file *migf)
{
	struct vfio_pci_migration *mig = migf->mig;
	int ret;

	if (mutex_lock_killable(&mig->lock))
		return -EINTR;
	if (migf->disabled) {
		mutex_unlock(&mig->lock);
		return -ENODEV;
	}
	ret = pm_runtime_resume_and_get(&mig->vdev->pdev->dev);
	if (ret < 0) {
		mutex_unlock(&mig->lock);
		return ret;
	}
	mig_after_reset(mig);
	if (migf->disabled) {
		pm_runtime_put(&mig->vdev->pdev->dev);
		mutex_unlock(&mig->lock);
		return -ENODEV;
	}
	return 0;
}

/* A reset during the access ends the session, and fails the access. */
static ssize_t mig_file_unlock(struct vfio_pci_mig_file *migf, ssize_t ret)
{
	struct vfio_pci_migration *mig = migf->mig;
	struct device *dev = &mig->vdev->pdev->dev;

	mig_after_reset(mig);
	if (migf->disabled && ret >= 0)
		ret = -ENODEV;
	mutex_unlock(&mig->lock);
	pm_runtime_put(dev);
	return ret;
}

/*
 * A data_fd access copies to or from userspace without @mig->lock, holding
 * the stream's buffer: userspace may fault on the copy for as long as it
 * likes (userfaultfd), and a reset or close must not wait for it.  Its
 * file's @io_lock keeps its position in the stream from moving meanwhile.
 */
static ssize_t mig_file_read(struct file *filp, char __user *ubuf, size_t len,
			     loff_t *ppos)
{
	struct vfio_pci_mig_file *migf = filp->private_data;
	struct vfio_pci_migration *mig = migf->mig;
	struct mig_buf *buf = NULL;
	size_t pos = 0, left;
	ssize_t ret;

	if (ppos)
		return -ESPIPE;
	if (mutex_lock_killable(&migf->io_lock))
		return -EINTR;
	ret = mig_file_lock(migf);
	if (ret)
		goto out;

	if (mig->state != VFIO_DEVICE_STATE_STOP_COPY) {
		/* Pre-copy: nothing before the device stops, see PRECOPY_INFO */
		ret = -ENOMSG;
	} else {
		pos = migf->pos;
		len = min(len, mig->len - pos);
		if (len) {
			buf = mig->buf;
			kref_get(&buf->kref);
		}
		ret = len;
	}
	ret = mig_file_unlock(migf, ret);
	if (ret <= 0)
		goto out;

	left = copy_to_user(ubuf, buf->data + pos, len);
	if (left == len) {
		ret = -EFAULT;
		goto out;
	}
	/*
	 * Bytes not copied are read next time, if the session lasts; a reset
	 * during the copy ends it, and fails the read.
	 */
	ret = mig_file_lock(migf);
	if (ret)
		goto out;
	if (mig->buf != buf) {
		ret = -ENODEV;
	} else {
		migf->pos += len - left;
		ret = len - left;
	}
	ret = mig_file_unlock(migf, ret);
out:
	mig_buf_put(buf);
	mutex_unlock(&migf->io_lock);
	return ret;
}

static ssize_t mig_file_write(struct file *filp, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct vfio_pci_mig_file *migf = filp->private_data;
	struct vfio_pci_migration *mig = migf->mig;
	struct mig_buf *buf = NULL;
	size_t off = 0;
	ssize_t ret;

	if (ppos)
		return -ESPIPE;
	if (!len)
		return 0;
	if (mutex_lock_killable(&migf->io_lock))
		return -EINTR;

	/* Room for @len bytes after what came before? */
	ret = mig_file_lock(migf);
	if (ret)
		goto out;
	if (mig->refused) {
		dev_err_ratelimited(&mig->vdev->pdev->dev, "migration: data after a refused piece of the stream: leave RESUMING and reset the device\n");
		ret = -EINVAL;
	} else {
		ret = mig_room(mig, len);
	}
	if (ret) {
		mig->refused = true;
	} else {
		off = mig->len;
		buf = mig->buf;
		kref_get(&buf->kref);
	}
	ret = mig_file_unlock(migf, ret);
	if (ret)
		goto out;

	/* A write that faults appends nothing, and can be retried. */
	if (copy_from_user(buf->data + off, ubuf, len)) {
		ret = -EFAULT;
		goto out;
	}

	ret = mig_file_lock(migf);
	if (ret)
		goto out;
	if (mig->buf != buf || mig->len != off) {
		ret = -ENODEV;
	} else {
		ret = mig_load(mig, len);
		if (ret)
			mig->refused = true;
	}
	ret = mig_file_unlock(migf, ret ? ret : len);
out:
	mig_buf_put(buf);
	mutex_unlock(&migf->io_lock);
	return ret;
}

static long mig_file_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	const size_t minsz = offsetofend(struct vfio_precopy_info, dirty_bytes);
	struct vfio_pci_mig_file *migf = filp->private_data;
	struct vfio_pci_migration *mig = migf->mig;
	struct vfio_precopy_info info;
	int ret;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	ret = mig_file_lock(migf);
	if (ret)
		return ret;
	if (mig->state != VFIO_DEVICE_STATE_PRE_COPY &&
	    mig->state != VFIO_DEVICE_STATE_PRE_COPY_P2P)
		ret = -EINVAL;
	ret = mig_file_unlock(migf, ret);
	if (ret)
		return ret;

	/* The state is only final, and saved, once the device is stopped. */
	info.flags = 0;
	info.initial_bytes = 0;
	info.dirty_bytes = 0;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}

static int mig_file_release(struct inode *inode, struct file *filp)
{
	struct vfio_pci_mig_file *migf = filp->private_data;
	struct vfio_pci_migration *mig = migf->mig;

	mutex_lock(&mig->lock);
	if (mig->file == migf)
		mig->file = NULL;
	mutex_unlock(&mig->lock);

	kref_put(&mig->kref, mig_free);
	mutex_destroy(&migf->io_lock);
	kfree(migf);
	return 0;
}

static const struct file_operations mig_file_fops = {
	.owner		= THIS_MODULE,
	.read		= mig_file_read,
	.write		= mig_file_write,
	.unlocked_ioctl	= mig_file_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.release	= mig_file_release,
};

static struct vfio_pci_mig_file *mig_file_new(struct vfio_pci_migration *mig,
					      bool save)
{
	struct vfio_pci_mig_file *migf;
	struct file *filp;

	migf = kzalloc_obj(*migf, GFP_KERNEL_ACCOUNT);
	if (!migf)
		return ERR_PTR(-ENOMEM);

	filp = anon_inode_getfile("vfio_pci_mig", &mig_file_fops, migf,
				  save ? O_RDONLY : O_WRONLY);
	if (IS_ERR(filp)) {
		kfree(migf);
		return ERR_CAST(filp);
	}
	stream_open(filp->f_inode, filp);
	mutex_init(&migf->io_lock);
	migf->filp = filp;
	migf->mig = mig;
	kref_get(&mig->kref);
	return migf;
}

/* One v2 arc, from mig->state to @next, as vfio_mig_get_next_state() gives */
static struct file *mig_v2_step(struct vfio_pci_migration *mig,
				enum vfio_device_mig_state next)
{
	enum vfio_device_mig_state cur = mig->state;
	struct pci_dev *pdev = mig->vdev->pdev;
	struct vfio_pci_mig_file *migf = NULL;
	u32 old = mig->cb_state;
	struct mig_buf *resume = NULL;
	int ret;

	/* Leaving RESUMING: the device must have taken the whole stream. */
	if (cur == VFIO_DEVICE_STATE_RESUMING &&
	    ((mig->len && !mig->loaded) || mig->refused)) {
		dev_err_ratelimited(&pdev->dev, "migration: leaving RESUMING %s: the device did not take one whole stream; it is in ERROR until reset (VFIO_DEVICE_RESET)\n",
				    mig->refused ? "after a refused write" :
				    "with an incomplete stream");
		mig_end_session(mig);
		mig->state = VFIO_DEVICE_STATE_ERROR;
		mig->proto = MIG_PROTO_V2;
		return ERR_PTR(-EINVAL);
	}

	if (next == VFIO_DEVICE_STATE_RESUMING) {
		resume = mig_buf_alloc(mig->stream_max, false);
		if (!resume)
			return ERR_PTR(-ENOMEM);
		migf = mig_file_new(mig, false);
	} else if (mig_saving(next) && !mig_saving(cur)) {
		migf = mig_file_new(mig, true);
	}
	if (IS_ERR(migf)) {
		mig_buf_put(resume);
		return ERR_CAST(migf);
	}

	ret = mig_callback(mig, vfio_pci_mig_v1_state(next));
	if (!ret && next == VFIO_DEVICE_STATE_STOP_COPY) {
		ret = mig_save(mig);
		/* Cannot go back: the driver is neither here nor there. */
		if (ret && mig_callback(mig, old))
			mig->state = VFIO_DEVICE_STATE_ERROR;
	}
	if (ret) {
		mig_buf_put(resume);
		if (migf) {
			migf->disabled = true;
			fput(migf->filp);
		}
		return ERR_PTR(ret);
	}

	if (next == VFIO_DEVICE_STATE_RESUMING ||
	    (mig_saving(cur) && !mig_saving(next)) ||
	    cur == VFIO_DEVICE_STATE_RESUMING)
		mig_end_session(mig);
	if (resume)
		mig_set_stream(mig, resume);
	if (migf)
		mig->file = migf;
	mig->state = next;
	return migf ? migf->filp : NULL;
}

static struct vfio_pci_migration *mig_of(struct vfio_device *core_vdev)
{
	return container_of(core_vdev, struct vfio_pci_core_device,
			    vdev)->migration;
}

static struct file *vfio_pci_mig_set_state(struct vfio_device *core_vdev,
					   enum vfio_device_mig_state new)
{
	struct vfio_pci_core_device *vdev =
		container_of(core_vdev, struct vfio_pci_core_device, vdev);
	struct vfio_pci_migration *mig = vdev->migration;
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	ret = mig_lock(mig);
	if (ret)
		return ERR_PTR(ret);

	if (mig->proto == MIG_PROTO_V1) {
		dev_err_ratelimited(&vdev->pdev->dev, "migration: the device is in a v1 session (the migration region, device_state %#x): finish it (RUNNING) or reset the device before using VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE\n",
				    mig->cb_state);
		res = ERR_PTR(-EBUSY);
		goto out;
	}
	if (mig->state == VFIO_DEVICE_STATE_ERROR) {
		dev_err_ratelimited(&vdev->pdev->dev, "migration: the device is in ERROR: reset it (VFIO_DEVICE_RESET) first\n");
		res = ERR_PTR(-EINVAL);
		goto out;
	}

	while (mig->state != new) {
		ret = vfio_mig_get_next_state(core_vdev, mig->state, new,
					      &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = mig_v2_step(mig, next);
		if (IS_ERR(res))
			break;
		/* Only the last arc of a walk starts a session. */
		if (WARN_ON(res && next != new)) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	mig->proto = mig->state == VFIO_DEVICE_STATE_RUNNING ?
		     MIG_PROTO_NONE : MIG_PROTO_V2;
out:
	mig_unlock(mig);
	return res;
}

static int vfio_pci_mig_get_state(struct vfio_device *core_vdev,
				  enum vfio_device_mig_state *state)
{
	struct vfio_pci_migration *mig = mig_of(core_vdev);
	int ret;

	ret = mig_lock(mig);
	if (ret)
		return ret;
	*state = mig->state;
	mig_unlock(mig);
	return 0;
}

static int vfio_pci_mig_get_data_size(struct vfio_device *core_vdev,
				      unsigned long *stop_copy_length)
{
	struct vfio_pci_migration *mig = mig_of(core_vdev);

	/* Small and never 0: userspace sizes its buffer with it. */
	*stop_copy_length = mig->stream_max;
	return 0;
}

static const struct vfio_migration_ops vfio_pci_mig_ops = {
	.migration_set_state	 = vfio_pci_mig_set_state,
	.migration_get_state	 = vfio_pci_mig_get_state,
	.migration_get_data_size = vfio_pci_mig_get_data_size,
};

/*
 * At each open, from vfio_pci_core_enable(): the device is RUNNING and
 * gets the v1 region.
 */
int vfio_pci_migration_open(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_migration *mig = vdev->migration;
	int ret;

	if (!mig)
		return 0;

	mutex_lock(&mig->lock);
	mig->resets_seen = atomic_read(&vdev->resets);
	mig->state = VFIO_DEVICE_STATE_RUNNING;
	mig->cb_state = VFIO_DEVICE_STATE_V1_RUNNING;
	mig->proto = MIG_PROTO_NONE;
	mutex_unlock(&mig->lock);

	mig->data = vmalloc_user(mig->data_cap);
	if (!mig->data)
		return -ENOMEM;

	ret = vfio_pci_core_register_dev_region(vdev,
						VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
						VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED,
						&vfio_pci_migration_regops,
						MIG_DATA_OFFSET + mig->data_cap,
						MIG_REGION_FLAGS, mig);
	if (ret) {
		vfree(mig->data);
		mig->data = NULL;
	}
	return ret;
}

/*
 * At close, from vfio_pci_core_disable(), before the regions go: any
 * session ends, its data_fd is disabled, and the driver is told the
 * device runs.
 */
void vfio_pci_migration_close(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_migration *mig = vdev->migration;

	if (!mig)
		return;

	flush_work(&mig->reset_work);
	mutex_lock(&mig->lock);
	mig_to_running(mig);
	mutex_unlock(&mig->lock);
}

/* From vfio_pci_core_release_dev(): data_fds still open keep @mig alone. */
void vfio_pci_migration_uninit(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_migration *mig = vdev->migration;

	if (!mig)
		return;
	cancel_work_sync(&mig->reset_work);
	vdev->migration = NULL;
	kref_put(&mig->kref, mig_free);
}

/**
 * vfio_pci_core_init_migration() - migrate the device with both protocols
 * @vdev: the device, in the driver's .init after vfio_pci_init_dev()
 * @ops: the driver's callbacks; @ops->save and @ops->load are required
 * @stream_max: the largest stream @ops->save writes and @ops->load takes,
 *	up to 128 MiB
 *
 * Gives the device the v2 migration ops (VFIO_MIGRATION_STOP_COPY, P2P and
 * PRE_COPY), which must be set before the device is registered, and at
 * each open the v1 migration region.  The device is RUNNING at each open.
 * Any reset of the device that reaches vfio-pci's reset_done
 * (VFIO_DEVICE_RESET, a hot reset, FLR through config space, sysfs, an AER
 * slot or bus reset) and its close end a
 * migration session, disable its data_fd and make the device RUNNING, as
 * the next access finds.  What is set up here goes with the device, in
 * vfio_pci_core_release_dev(); a driver whose .init fails after this call
 * calls that itself.
 *
 * Return: 0, -EINVAL for bad arguments, -EBUSY if the device already has
 * migration, or -ENOMEM.
 */
int vfio_pci_core_init_migration(struct vfio_pci_core_device *vdev,
				 const struct vfio_pci_migration_ops *ops,
				 size_t stream_max)
{
	struct vfio_pci_migration *mig;

	if (!ops || !ops->save || !ops->load || !stream_max ||
	    stream_max > MIG_STREAM_MAX)
		return -EINVAL;
	if (vdev->migration || vdev->vdev.mig_ops)
		return -EBUSY;

	mig = kzalloc_obj(*mig, GFP_KERNEL_ACCOUNT);
	if (!mig)
		return -ENOMEM;

	kref_init(&mig->kref);
	INIT_WORK(&mig->reset_work, mig_reset_work);
	mutex_init(&mig->lock);
	mig->vdev = vdev;
	mig->ops = ops;
	mig->state = VFIO_DEVICE_STATE_RUNNING;
	mig->cb_state = VFIO_DEVICE_STATE_V1_RUNNING;
	mig->stream_max = stream_max;
	mig->data_cap = PAGE_ALIGN(min_t(size_t, stream_max, MIG_DATA_MAX));

	vdev->migration = mig;
	vdev->vdev.mig_ops = &vfio_pci_mig_ops;
	vdev->vdev.migration_flags = MIG_V2_FLAGS;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_init_migration);
ALLOW_ERROR_INJECTION(vfio_pci_core_init_migration, ERRNO);
