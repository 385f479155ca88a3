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
 *    the successful probe until after its remove callback, so the module
 *    cannot be unloaded while a device uses its ops.
 *  - A module that is being unloaded is skipped (try_module_get() fails).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/async.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio_pci_vendor.h"

static LIST_HEAD(vfio_pci_vendors);
static DEFINE_MUTEX(vfio_pci_vendors_lock);

int __vfio_pci_register_vendor_driver(struct vfio_pci_vendor_driver_ops *ops,
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

	if (!ops->device_ops->init || !ops->device_ops->release) {
		pr_err("vendor driver %s: device_ops need .init and .release (vfio_pci_core_init_dev/release_dev)\n",
		       ops->name);
		return -EINVAL;
	}

	mutex_lock(&vfio_pci_vendors_lock);
	list_for_each_entry(cur, &vfio_pci_vendors, node) {
		if (cur == ops || !strcmp(cur->name, ops->name)) {
			pr_err("vendor driver %s is already registered\n",
			       ops->name);
			ret = -EEXIST;
			goto out_unlock;
		}
	}
	ops->owner = owner;
	list_add_tail(&ops->node, &vfio_pci_vendors);
	pr_debug("vendor driver %s registered\n", ops->name);
out_unlock:
	mutex_unlock(&vfio_pci_vendors_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(__vfio_pci_register_vendor_driver);

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
	mutex_lock(&vfio_pci_vendors_lock);
	list_del(&ops->node);
	mutex_unlock(&vfio_pci_vendors_lock);
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
 * Maps the BAR on first use with vfio_pci_core_setup_barmap(); the mapping
 * lasts until the device is closed.  Like vfio-pci's own BAR accesses, the
 * first call must not race with another first access to the same BAR:
 * call it from .open_device or under the vendor's own lock.  Only an open
 * device may be mapped (the mapping is released when it closes), and
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
	int ret;

	if (bar < 0 || bar >= PCI_STD_NUM_BARS ||
	    !pci_resource_len(vdev->pdev, bar))
		return IOMEM_ERR_PTR(-EINVAL);

	ret = vfio_pci_core_setup_barmap(vdev, bar);
	if (ret)
		return IOMEM_ERR_PTR(ret);

	return vdev->barmap[bar];
}
EXPORT_SYMBOL_GPL(vfio_pci_get_barmap);

/**
 * vfio_pci_vendor_probe() - pick the vendor driver for a device being bound
 * @pdev: the device
 * @vendor_data: returns what the chosen vendor's probe returned
 *
 * Requests module alias "vfio-pci:vvvv-dddd" for @pdev and waits for it,
 * unless vfio-pci is still initialising (see vfio_pci_vendor_may_wait()):
 * then the module is only requested and the device binds without it.  Then
 * offers @pdev to the registered vendors in registration order.
 *
 * Return: the first vendor whose probe accepted @pdev, with a reference
 * held on its module, or NULL to drive @pdev with plain vfio-pci.
 */
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_probe(struct pci_dev *pdev, void **vendor_data)
{
	const struct vfio_pci_vendor_driver_ops *found = NULL;
	struct vfio_pci_vendor_driver_ops *ops, **cands;
	unsigned int i, n = 0;
	bool failed = false;
	void *data;

	/*
	 * Most devices have no vendor module, so a failed modprobe is normal;
	 * what counts is the list of registered vendors below.
	 */
	if (vfio_pci_vendor_may_wait()) {
		request_module("vfio-pci:%04x-%04x", pdev->vendor, pdev->device);
	} else {
		request_module_nowait("vfio-pci:%04x-%04x", pdev->vendor,
				      pdev->device);
		pr_info_once("devices bound while vfio-pci loads get no vendor driver; unbind and bind them again to use one\n");
	}

	/*
	 * Take the vendors in order with their modules pinned, then probe
	 * without the list lock: a vendor's probe may sleep or take other
	 * device locks (an SR-IOV VF's PF), and must not hold up every other
	 * bind.  A pinned vendor's ops stay valid even if it unregisters.
	 */
	mutex_lock(&vfio_pci_vendors_lock);
	list_for_each_entry(ops, &vfio_pci_vendors, node)
		n++;
	cands = kcalloc(n, sizeof(*cands), GFP_KERNEL);
	if (cands) {
		n = 0;
		list_for_each_entry(ops, &vfio_pci_vendors, node)
			if (try_module_get(ops->owner))
				cands[n++] = ops;
	}
	mutex_unlock(&vfio_pci_vendors_lock);
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
