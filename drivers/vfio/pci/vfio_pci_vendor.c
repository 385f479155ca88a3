// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci vendor ops: the list of vendor drivers and the choice of one when
 * vfio-pci binds a device.
 *
 * Module references:
 *  - A registered vendor holds nothing.  Its module uses vfio-pci's symbols,
 *    so vfio-pci cannot go away while the vendor is registered, and the
 *    vendor's module_exit unregisters it.
 *  - A device driven by a vendor holds a reference on the vendor module from
 *    the successful probe until the vfio_device is freed: vfio-pci's
 *    .release, vfio_pci_release_dev(), calls the vendor's remove callback
 *    and drops the reference last, so the module cannot be unloaded while
 *    anything still holds the device (and its ops).
 *  - A module that is being unloaded is skipped (try_module_get() fails).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/async.h>
#include <linux/error-injection.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio_pci_vendor.h"

static struct vfio_pci_vendor_list vfio_pci_vendors = {
	.vendors = LIST_HEAD_INIT(vfio_pci_vendors.vendors),
	.lock = __MUTEX_INITIALIZER(vfio_pci_vendors.lock),
};

/* Counts registrations: see vfio_pci_vendor_generation() */
static atomic_t vfio_pci_vendor_gen = ATOMIC_INIT(0);

/**
 * vfio_pci_vendor_generation() - how many vendor drivers have registered
 *
 * Sampled before a bind offers the device to the vendors: a different
 * value once the device is bound means that a vendor may have registered
 * too late for the bind, and too early for the offer of bound devices.
 *
 * Return: the count, which wraps.
 */
unsigned int vfio_pci_vendor_generation(void)
{
	/* What follows sees the vendors registered by this count. */
	return atomic_read_acquire(&vfio_pci_vendor_gen);
}

static struct vfio_pci_nomod_cache vfio_pci_nomod = {
	.lock = __SPIN_LOCK_UNLOCKED(vfio_pci_nomod.lock),
};

/**
 * vfio_pci_nomod_cached() - whether modprobe recently found no vendor
 * @cache: vfio-pci's cache, or a test's own
 * @id: (vendor << 16) | device
 * @now: the time, in jiffies
 *
 * Return: true if @id is in @cache and has not expired at @now.
 */
bool vfio_pci_nomod_cached(struct vfio_pci_nomod_cache *cache, u32 id,
			   unsigned long now)
{
	bool found = false;
	unsigned int i;

	spin_lock(&cache->lock);
	for (i = 0; i < cache->nr; i++) {
		if (cache->ent[i].id != id)
			continue;
		found = time_before(now, cache->ent[i].expires);
		/* Gone once expired, so that jiffies cannot wrap onto it */
		if (!found)
			cache->ent[i] = cache->ent[--cache->nr];
		break;
	}
	spin_unlock(&cache->lock);
	return found;
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_nomod_cached);

/**
 * vfio_pci_nomod_add() - remember that modprobe found no vendor for an ID
 * @cache: vfio-pci's cache, or a test's own
 * @id: (vendor << 16) | device
 * @now: the time, in jiffies
 * @ttl: how long to remember it, in jiffies
 *
 * An ID already in @cache gets the new expiry, and the IDs expired at @now
 * are forgotten.  When @cache is full, the entry that expires first makes
 * room: the cache is bounded, and an ID it
 * forgets costs one modprobe more, nothing else.
 */
void vfio_pci_nomod_add(struct vfio_pci_nomod_cache *cache, u32 id,
			unsigned long now, unsigned long ttl)
{
	unsigned int i, slot;

	spin_lock(&cache->lock);
	/* Forget what has expired, so that jiffies cannot wrap onto it */
	for (i = 0; i < cache->nr; )
		if (time_before(now, cache->ent[i].expires))
			i++;
		else
			cache->ent[i] = cache->ent[--cache->nr];
	for (i = 0; i < cache->nr; i++)
		if (cache->ent[i].id == id)
			break;
	if (i < cache->nr) {
		slot = i;
	} else if (cache->nr < VFIO_PCI_NOMOD_SLOTS) {
		slot = cache->nr++;
	} else {
		slot = 0;
		for (i = 1; i < cache->nr; i++)
			if (time_before(cache->ent[i].expires,
					cache->ent[slot].expires))
				slot = i;
	}
	cache->ent[slot].id = id;
	cache->ent[slot].expires = now + ttl;
	spin_unlock(&cache->lock);
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_nomod_add);

/**
 * vfio_pci_nomod_flush() - forget every ID in a cache
 * @cache: vfio-pci's cache, or a test's own
 */
void vfio_pci_nomod_flush(struct vfio_pci_nomod_cache *cache)
{
	spin_lock(&cache->lock);
	cache->nr = 0;
	spin_unlock(&cache->lock);
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_nomod_flush);

/*
 * Seconds for which a vendor:device ID whose "vfio-pci:vvvv-dddd" alias
 * found no vendor driver is not looked up again; 0 looks it up at every
 * bind.  Any write, the same value included, also forgets the IDs already
 * remembered, as registering a vendor driver does.
 */
static unsigned int vendor_modprobe_cache = 60;
#define VFIO_PCI_NOMOD_TTL_MAX	3600

static int vendor_modprobe_cache_set(const char *val,
				     const struct kernel_param *kp)
{
	unsigned int secs;
	int ret;

	ret = kstrtouint(val, 0, &secs);
	if (ret)
		return ret;
	if (secs > VFIO_PCI_NOMOD_TTL_MAX)
		return -EINVAL;
	WRITE_ONCE(vendor_modprobe_cache, secs);
	vfio_pci_nomod_flush(&vfio_pci_nomod);
	return 0;
}

static const struct kernel_param_ops vendor_modprobe_cache_ops = {
	.set = vendor_modprobe_cache_set,
	.get = param_get_uint,
};
module_param_cb(vendor_modprobe_cache, &vendor_modprobe_cache_ops,
		&vendor_modprobe_cache, 0644);
MODULE_PARM_DESC(vendor_modprobe_cache,
		 "Seconds (0-3600, default 60) for which a vendor:device ID for which modprobe found no vendor driver is not looked up again when a device binds; 0 looks it up at every bind.  A write also forgets the IDs remembered: write it after installing a vendor module.");

/**
 * vfio_pci_vendor_list_add() - check a vendor driver and add it to a list
 * @list: vfio-pci's list, or a test's own
 * @ops: the vendor driver
 * @owner: the module providing @ops
 *
 * Return: 0, -EINVAL for incomplete @ops, -EEXIST if @ops or its name is
 * on @list already.
 */
int vfio_pci_vendor_list_add(struct vfio_pci_vendor_list *list,
			     struct vfio_pci_vendor_driver_ops *ops,
			     struct module *owner)
{
	struct vfio_pci_vendor_driver_ops *cur;
	int ret = 0;

	if (!ops || !ops->name || !ops->probe || !ops->remove ||
	    !ops->device_ops)
		return -EINVAL;

	/* vfio-pci core uses it as the driver name, e.g. for VFs it enables. */
	if (!ops->device_ops->name || strcmp(ops->device_ops->name, "vfio-pci")) {
		pr_err("vendor driver %s: device_ops .name must be \"vfio-pci\"\n",
		       ops->name);
		return -EINVAL;
	}

	/* Userspace sees the name in VFIO_DEVICE_INFO_CAP_VENDOR_DRIVER. */
	if (strlen(ops->name) >= VFIO_PCI_VENDOR_NAME_MAX) {
		pr_err("vendor driver %s: name longer than %zu bytes\n",
		       ops->name, VFIO_PCI_VENDOR_NAME_MAX - 1);
		return -EINVAL;
	}

	/*
	 * vfio-pci's .release drops the vendor module's reference once the
	 * device is freed; a release in the vendor module could not.
	 */
	if (!ops->device_ops->init ||
	    ops->device_ops->release != vfio_pci_release_dev) {
		pr_err("vendor driver %s: device_ops need .init (vfio_pci_init_dev) and .release = vfio_pci_release_dev\n",
		       ops->name);
		return -EINVAL;
	}

	/*
	 * vfio core answers VFIO_DEVICE_GET_REGION_INFO only through
	 * .get_region_info_caps, and vfio_pci_core_match() calls
	 * .match_token_uuid unconditionally: without it, opening the device
	 * through its group would call NULL, and the cdev path would skip
	 * the VF token check.
	 */
	if (!ops->device_ops->get_region_info_caps ||
	    !ops->device_ops->match_token_uuid) {
		pr_err("vendor driver %s: device_ops need .get_region_info_caps (vfio_pci_ioctl_get_region_info) and .match_token_uuid (vfio_pci_core_match_token_uuid)\n",
		       ops->name);
		return -EINVAL;
	}

	/* vfio core would refuse the device at bind; refuse it here. */
	if (IS_ENABLED(CONFIG_IOMMUFD) &&
	    (!ops->device_ops->bind_iommufd || !ops->device_ops->unbind_iommufd ||
	     !ops->device_ops->attach_ioas || !ops->device_ops->detach_ioas)) {
		pr_err("vendor driver %s: device_ops need the iommufd ops (vfio_iommufd_physical_*)\n",
		       ops->name);
		return -EINVAL;
	}

	mutex_lock(&list->lock);
	list_for_each_entry(cur, &list->vendors, node) {
		if (cur == ops || !strcmp(cur->name, ops->name)) {
			pr_err("vendor driver %s is already registered\n",
			       ops->name);
			ret = -EEXIST;
			goto out_unlock;
		}
	}
	ops->owner = owner;
	list_add_tail(&ops->node, &list->vendors);
out_unlock:
	mutex_unlock(&list->lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_vendor_list_add);

/**
 * vfio_pci_vendor_list_del() - take a vendor driver off a list
 * @list: the list vfio_pci_vendor_list_add() put it on
 * @ops: the vendor driver
 */
void vfio_pci_vendor_list_del(struct vfio_pci_vendor_list *list,
			      struct vfio_pci_vendor_driver_ops *ops)
{
	mutex_lock(&list->lock);
	list_del(&ops->node);
	mutex_unlock(&list->lock);
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_vendor_list_del);

int __vfio_pci_register_vendor_driver(struct vfio_pci_vendor_driver_ops *ops,
				      struct module *owner)
{
	int ret = vfio_pci_vendor_list_add(&vfio_pci_vendors, ops, owner);

	if (ret)
		return ret;
	/*
	 * A bind that sampled the generation before this may not have seen
	 * the vendor: vfio-pci offers it the device once bound.  A full
	 * barrier: the vendor is on the list before the count moves, and
	 * the count moves before the bound devices are looked at.
	 */
	smp_mb__before_atomic();	/* the vendor on the list first */
	atomic_inc(&vfio_pci_vendor_gen);
	smp_mb__after_atomic();		/* then the bound devices looked at */
	/* Its alias may be one modprobe did not find before. */
	vfio_pci_nomod_flush(&vfio_pci_nomod);
	/* And devices bound before it registered may be its own. */
	vfio_pci_offer_bound_devices();
	pr_debug("vendor driver %s registered\n", ops->name);
	return 0;
}
EXPORT_SYMBOL_GPL(__vfio_pci_register_vendor_driver);
ALLOW_ERROR_INJECTION(__vfio_pci_register_vendor_driver, ERRNO);

/**
 * vfio_pci_unregister_vendor_driver() - stop offering devices to a vendor
 * @ops: a vendor driver registered with vfio_pci_register_vendor_driver()
 *
 * Devices the vendor already drives keep its ops until they are unbound;
 * they pin the vendor module, so a module_exit never runs while they do.
 * Call it once for each successful registration, and only then.
 */
void vfio_pci_unregister_vendor_driver(struct vfio_pci_vendor_driver_ops *ops)
{
	vfio_pci_vendor_list_del(&vfio_pci_vendors, ops);
	pr_debug("vendor driver %s unregistered\n", ops->name);
}
EXPORT_SYMBOL_GPL(vfio_pci_unregister_vendor_driver);

/*
 * Whether binding may wait for modprobe.  A vendor module depends on
 * vfio-pci, so it cannot finish loading while vfio-pci's own init runs
 * (devices bound by pci_register_driver() or by the ids= parameter): waiting
 * then would stall both.  Nor may an asynchronous probe wait for modprobe.
 */
static bool vfio_pci_vendor_may_wait(void)
{
#ifdef MODULE
	if (READ_ONCE(THIS_MODULE->state) != MODULE_STATE_LIVE)
		return false;
#endif
	return !current_is_async();
}

/**
 * vfio_pci_vendor_data() - the vendor data of a device driven by a vendor
 * @core_vdev: a device whose ops the vendor supplied
 *
 * Valid from registration with VFIO (not yet in .init) until the vendor's
 * remove callback.
 *
 * Return: what the vendor's probe returned for this device.
 */
void *vfio_pci_vendor_data(struct vfio_device *core_vdev)
{
	struct vfio_pci_device *vpdev =
		container_of(core_vdev, struct vfio_pci_device, core.vdev);

	return vpdev->vendor_data;
}
EXPORT_SYMBOL_GPL(vfio_pci_vendor_data);

/**
 * vfio_pci_get_barmap() - the kernel mapping of a device's BAR
 * @core_vdev: an open device bound to vfio-pci
 * @bar: the BAR's index, 0 to PCI_STD_NUM_BARS - 1
 *
 * vfio_pci_core_enable() maps every BAR when the device opens and
 * vfio_pci_core_disable() unmaps them, so only an open device has the
 * mapping; this returns it (vfio_pci_core_get_iomap()).  And
 * userspace can turn memory decoding off at any time: access a memory BAR
 * through the mapping only with the device's memory_lock held for read and
 * memory decoding found enabled, as vfio-pci's own accesses do.
 *
 * Return: the mapping, or IOMEM_ERR_PTR(-EINVAL) when @bar is out of range
 * or not implemented, or the error from mapping it.
 */
void __iomem *vfio_pci_get_barmap(struct vfio_device *core_vdev, int bar)
{
	struct vfio_pci_core_device *vdev = vfio_pci_core(core_vdev);

	if (bar < 0 || bar >= PCI_STD_NUM_BARS ||
	    !pci_resource_len(vdev->pdev, bar))
		return IOMEM_ERR_PTR(-EINVAL);

	return vfio_pci_core_get_iomap(vdev, bar);
}
EXPORT_SYMBOL_GPL(vfio_pci_get_barmap);

/**
 * vfio_pci_vendor_choose() - offer a device to the vendors on a list
 * @list: vfio-pci's list, or a test's own
 * @pdev: the device
 * @vendor_data: returns what the chosen vendor's probe returned
 *
 * Offers @pdev to the vendors on @list in registration order.
 *
 * Return: the first vendor whose probe accepted @pdev, with a reference
 * held on its module, or NULL to drive @pdev with plain vfio-pci.
 */
noinline const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_choose(struct vfio_pci_vendor_list *list, struct pci_dev *pdev,
		       void **vendor_data)
{
	const struct vfio_pci_vendor_driver_ops *found = NULL;
	struct vfio_pci_vendor_driver_ops *ops, **cands;
	unsigned int i, n = 0;
	bool failed = false;
	void *data;

	/*
	 * Take the vendors in order with their modules pinned, then probe
	 * without the list lock, so that a probe that sleeps does not hold
	 * up every other bind.  A pinned vendor's ops stay valid even if it
	 * unregisters.
	 */
	mutex_lock(&list->lock);
	list_for_each_entry(ops, &list->vendors, node)
		n++;
	cands = kcalloc(n, sizeof(*cands), GFP_KERNEL);
	if (cands) {
		n = 0;
		list_for_each_entry(ops, &list->vendors, node)
			if (try_module_get(ops->owner))
				cands[n++] = ops;
	}
	mutex_unlock(&list->lock);
	if (!cands) {
		if (n)
			pci_warn(pdev, "out of memory offering the device to vendor drivers, using plain vfio-pci\n");
		return NULL;
	}

	for (i = 0; i < n; i++) {
		ops = cands[i];
		if (found) {
			module_put(ops->owner);
			continue;
		}

		data = ops->probe(pdev);
		if (!IS_ERR(data)) {
			found = ops;
			*vendor_data = data;
			continue;
		}

		module_put(ops->owner);
		if (PTR_ERR(data) != -ENODEV) {
			pci_warn(pdev, "vendor driver %s failed to probe (%pe)\n",
				 ops->name, data);
			failed = true;
		}
	}
	kfree(cands);

	if (!found && failed)
		pci_warn(pdev, "no vendor driver accepted the device, using plain vfio-pci\n");

	return found;
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_vendor_choose);
ALLOW_ERROR_INJECTION(vfio_pci_vendor_choose, NULL);

/**
 * vfio_pci_vendor_choose_registered() - offer a device to vfio-pci's vendors
 * @pdev: the device
 * @vendor_data: returns what the chosen vendor's probe returned
 *
 * Return: as vfio_pci_vendor_choose() for the vendors registered with
 * vfio-pci.
 */
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_choose_registered(struct pci_dev *pdev, void **vendor_data)
{
	return vfio_pci_vendor_choose(&vfio_pci_vendors, pdev, vendor_data);
}

/**
 * vfio_pci_vendor_probe() - pick the vendor driver for a device being bound
 * @pdev: the device
 * @vendor_data: returns what the chosen vendor's probe returned
 *
 * Offers @pdev to the registered vendors first: a vendor that is loaded
 * costs no modprobe.  When none takes it, requests module alias
 * "vfio-pci:vvvv-dddd" and offers it again, unless modprobe found no
 * vendor for this vendor:device ID within the last vendor_modprobe_cache
 * seconds.  While vfio-pci is still initialising (see
 * vfio_pci_vendor_may_wait()) the module is only requested: the device
 * binds without it, and gets it when the vendor registers
 * (vfio_pci_offer_bound_devices()).
 *
 * Return: the chosen vendor, with a reference held on its module, or NULL.
 */
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_probe(struct pci_dev *pdev, void **vendor_data)
{
	unsigned long ttl = READ_ONCE(vendor_modprobe_cache) * HZ;
	const struct vfio_pci_vendor_driver_ops *vendor;
	u32 id = (u32)pdev->vendor << 16 | pdev->device;
	int ret;

	vendor = vfio_pci_vendor_choose_registered(pdev, vendor_data);
	if (vendor)
		return vendor;

	if (ttl && vfio_pci_nomod_cached(&vfio_pci_nomod, id, jiffies))
		return NULL;

	if (!vfio_pci_vendor_may_wait()) {
		request_module_nowait("vfio-pci:%04x-%04x", pdev->vendor,
				      pdev->device);
		return NULL;
	}

	/*
	 * Most devices have no vendor module, so a failed modprobe is normal;
	 * what counts is whether a vendor registered and took the device.
	 */
	ret = request_module("vfio-pci:%04x-%04x", pdev->vendor, pdev->device);
	vendor = vfio_pci_vendor_choose_registered(pdev, vendor_data);
	/* Only what modprobe answered; not a failure to run it at all */
	if (!vendor && ttl && ret >= 0)
		vfio_pci_nomod_add(&vfio_pci_nomod, id, jiffies, ttl);
	return vendor;
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_vendor_probe);

/**
 * vfio_pci_vendor_release() - undo a successful vfio_pci_vendor_probe()
 * @vendor: the vendor it returned, or NULL
 * @vendor_data: the data its probe returned
 */
void vfio_pci_vendor_release(const struct vfio_pci_vendor_driver_ops *vendor,
			     void *vendor_data)
{
	if (!vendor)
		return;

	vendor->remove(vendor_data);
	module_put(vendor->owner);
}
EXPORT_SYMBOL_IF_KUNIT(vfio_pci_vendor_release);
