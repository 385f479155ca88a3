// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2021, NVIDIA CORPORATION & AFFILIATES. All rights reserved
 *
 * Copyright (C) 2012 Red Hat, Inc.  All rights reserved.
 *     Author: Alex Williamson <alex.williamson@redhat.com>
 *
 * Derived from original vfio:
 * Copyright 2010 Cisco Systems, Inc.  All rights reserved.
 * Author: Tom Lyon, pugs@cisco.com
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "vfio_pci_priv.h"
#include "vfio_pci_vendor.h"

#define DRIVER_AUTHOR   "Alex Williamson <alex.williamson@redhat.com>"
#define DRIVER_DESC     "VFIO PCI - User Level meta-driver"

static char ids[1024] __initdata;
module_param_string(ids, ids, sizeof(ids), 0);
MODULE_PARM_DESC(ids, "Initial PCI IDs to add to the vfio driver, format is \"vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]\" and multiple comma separated entries can be specified");

static bool nointxmask;
module_param_named(nointxmask, nointxmask, bool, S_IRUGO | S_IWUSR);
MODULE_PARM_DESC(nointxmask,
		  "Disable support for PCI 2.3 style INTx masking.  If this resolves problems for specific devices, report lspci -vvvxxx to linux-pci@vger.kernel.org so the device can be fixed automatically via the broken_intx_masking flag.");

#ifdef CONFIG_VFIO_PCI_VGA
static bool disable_vga;
module_param(disable_vga, bool, S_IRUGO);
MODULE_PARM_DESC(disable_vga, "Disable VGA resource access through vfio-pci");
#endif

static bool disable_idle_d3;
module_param(disable_idle_d3, bool, S_IRUGO | S_IWUSR);
MODULE_PARM_DESC(disable_idle_d3,
		 "Disable using the PCI D3 low power state for idle, unused devices");

static bool enable_sriov;
#ifdef CONFIG_PCI_IOV
module_param(enable_sriov, bool, 0644);
MODULE_PARM_DESC(enable_sriov, "Enable support for SR-IOV configuration.  Enabling SR-IOV on a PF typically requires support of the userspace PF driver, enabling VFs without such support may result in non-functional VFs or PF.");
#endif

static bool disable_denylist;
module_param(disable_denylist, bool, 0444);
MODULE_PARM_DESC(disable_denylist, "Disable use of device denylist. Disabling the denylist allows binding to devices with known errata that may lead to exploitable stability or security issues when accessed by untrusted users.");

static bool disable_vendor_ops;
module_param(disable_vendor_ops, bool, 0644);
MODULE_PARM_DESC(disable_vendor_ops, "Bind every device with plain vfio-pci: load no vendor driver modules and offer devices to no vendor driver.  Applies to devices bound after it is set.");

static bool vfio_pci_dev_in_denylist(struct pci_dev *pdev)
{
	switch (pdev->vendor) {
	case PCI_VENDOR_ID_INTEL:
		switch (pdev->device) {
		case PCI_DEVICE_ID_INTEL_QAT_C3XXX:
		case PCI_DEVICE_ID_INTEL_QAT_C3XXX_VF:
		case PCI_DEVICE_ID_INTEL_QAT_C62X:
		case PCI_DEVICE_ID_INTEL_QAT_C62X_VF:
		case PCI_DEVICE_ID_INTEL_QAT_DH895XCC:
		case PCI_DEVICE_ID_INTEL_QAT_DH895XCC_VF:
		case PCI_DEVICE_ID_INTEL_DSA_SPR0:
		case PCI_DEVICE_ID_INTEL_IAX_SPR0:
			return true;
		default:
			return false;
		}
	}

	return false;
}

static bool vfio_pci_is_denylisted(struct pci_dev *pdev)
{
	if (!vfio_pci_dev_in_denylist(pdev))
		return false;

	if (disable_denylist) {
		pci_warn(pdev,
			 "device denylist disabled - allowing device %04x:%04x.\n",
			 pdev->vendor, pdev->device);
		return false;
	}

	pci_warn(pdev, "%04x:%04x exists in vfio-pci device denylist, driver probing disallowed.\n",
		 pdev->vendor, pdev->device);

	return true;
}

/**
 * vfio_pci_open_device() - vfio-pci's .open_device, the default for vendors
 * @core_vdev: a device bound to vfio-pci
 *
 * Enables the device, sets up vfio-pci's device-specific regions and
 * finishes the enable.  A vendor that adds its own regions or interrupts
 * calls this first and adds them when it returns, undoing it with
 * vfio_pci_core_close_device() if that fails.
 *
 * Return: 0, -ENODEV while vfio-pci unbinds the device to bind it again
 * with a vendor driver that registered after it was bound (the device's
 * new VFIO device, once bound, opens), or a negative errno from enabling
 * the device.
 */
int vfio_pci_open_device(struct vfio_device *core_vdev)
{
	struct vfio_pci_core_device *vdev =
		container_of(core_vdev, struct vfio_pci_core_device, vdev);
	struct vfio_pci_device *vpdev =
		container_of(vdev, struct vfio_pci_device, core);
	struct pci_dev *pdev = vdev->pdev;
	int ret;

	/* Being unbound, to be bound again with its vendor */
	if (READ_ONCE(vpdev->replacing))
		return -ENODEV;

	ret = vfio_pci_core_enable(vdev);
	if (ret)
		return ret;

	if (vfio_pci_is_intel_display(pdev)) {
		ret = vfio_pci_igd_init(vdev);
		if (ret && ret != -ENODEV) {
			pci_warn(pdev, "Failed to setup Intel IGD regions\n");
			vfio_pci_core_disable(vdev);
			return ret;
		}
	}

	vfio_pci_core_finish_enable(vdev);

	return 0;
}
EXPORT_SYMBOL_GPL(vfio_pci_open_device);

/**
 * vfio_pci_init_dev() - vfio-pci's .init, the default of vendor drivers
 * @core_vdev: the device being allocated by vfio_pci_probe()
 *
 * Applies vfio-pci's module parameters to the device, then initialises it
 * with vfio_pci_core_init_dev().  A vendor driver's own .init must call it.
 *
 * Return: 0 or a negative errno from vfio_pci_core_init_dev().
 */
int vfio_pci_init_dev(struct vfio_device *core_vdev)
{
	struct vfio_pci_core_device *vdev =
		container_of(core_vdev, struct vfio_pci_core_device, vdev);

	/*
	 * These behaviors originated in vfio-pci and moved into
	 * vfio-pci-core when the driver was split; vfio-pci remains the
	 * only driver that toggles them.  Latch our module parameters per
	 * device at init time so that later parameter changes do not
	 * affect already-initialized devices.
	 */
	vdev->nointxmask = nointxmask;
	vdev->disable_idle_d3 = disable_idle_d3;
#ifdef CONFIG_VFIO_PCI_VGA
	vdev->disable_vga = disable_vga;
#endif

	return vfio_pci_core_init_dev(core_vdev);
}
EXPORT_SYMBOL_GPL(vfio_pci_init_dev);

static const struct vfio_device_ops vfio_pci_ops = {
	.name		= "vfio-pci",
	.init		= vfio_pci_init_dev,
	.release	= vfio_pci_release_dev,
	.open_device	= vfio_pci_open_device,
	.close_device	= vfio_pci_core_close_device,
	.ioctl		= vfio_pci_core_ioctl,
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
	.device_feature = vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= vfio_pci_core_write,
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

static const struct vfio_pci_device_ops vfio_pci_dev_ops = {
	.get_dmabuf_phys = vfio_pci_core_get_dmabuf_phys,
};

/**
 * vfio_pci_release_dev() - vfio-pci's .release, required of vendors
 * @core_vdev: a device bound to vfio-pci, its last reference gone
 *
 * Releases what vfio_pci_init_dev() set up, then calls the vendor's
 * remove callback and drops the reference on the vendor module.  Only here
 * is nothing left that could call the vendor's ops, however late the last
 * reference to the device goes (a cdev's, say).
 */
void vfio_pci_release_dev(struct vfio_device *core_vdev)
{
	struct vfio_pci_device *vpdev =
		container_of(core_vdev, struct vfio_pci_device, core.vdev);

	vfio_pci_core_release_dev(core_vdev);
	vfio_pci_vendor_release(vpdev->vendor, vpdev->vendor_data);
}
EXPORT_SYMBOL_GPL(vfio_pci_release_dev);

static int vfio_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	const struct vfio_device_ops *ops = &vfio_pci_ops;
	const struct vfio_pci_vendor_driver_ops *vendor;
	struct vfio_pci_device *vpdev;
	void *vendor_data = NULL;
	unsigned int gen;
	bool no_vendor;
	int ret;

	if (vfio_pci_is_denylisted(pdev))
		return -EINVAL;

	gen = vfio_pci_vendor_generation();
	no_vendor = READ_ONCE(disable_vendor_ops);
	if (!no_vendor) {
		vendor = vfio_pci_vendor_probe(pdev, &vendor_data);
		if (vendor)
			ops = vendor->device_ops;
	} else {
		vendor = NULL;
	}

	vpdev = vfio_alloc_device(vfio_pci_device, core.vdev, &pdev->dev, ops);
	if (IS_ERR(vpdev)) {
		vfio_pci_vendor_release(vendor, vendor_data);
		return PTR_ERR(vpdev);
	}
	vpdev->vendor = vendor;
	vpdev->vendor_data = vendor_data;
	vpdev->no_vendor = no_vendor;
	vpdev->vendor_gen = gen;
	if (vendor)
		vpdev->core.vendor_name = vendor->name;

	dev_set_drvdata(&pdev->dev, &vpdev->core);
	vpdev->core.pci_ops = &vfio_pci_dev_ops;
	ret = vfio_pci_core_register_device(&vpdev->core);
	if (ret)
		goto out_put_vdev;

	if (vendor)
		pci_info(pdev, "driven by vendor driver %s\n", vendor->name);
	return 0;

out_put_vdev:
	/* vfio_pci_release_dev() releases the vendor */
	vfio_put_device(&vpdev->core.vdev);
	return ret;
}

static void vfio_pci_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(vdev);
	/* The vendor goes when the device is freed: vfio_pci_release_dev() */
	vfio_put_device(&vdev->vdev);
}

static int vfio_pci_sriov_configure(struct pci_dev *pdev, int nr_virtfn)
{
	struct vfio_pci_core_device *vdev = dev_get_drvdata(&pdev->dev);

	if (!enable_sriov)
		return -ENOENT;

	return vfio_pci_core_sriov_configure(vdev, nr_virtfn);
}

static ssize_t vfio_vendor_driver_show(struct device *dev,
				       struct device_attribute *attr, char *buf)
{
	struct vfio_pci_device *vpdev = container_of(dev_get_drvdata(dev),
						     struct vfio_pci_device, core);

	return sysfs_emit(buf, "%s\n",
			  vpdev->vendor ? vpdev->vendor->name : "none");
}
static DEVICE_ATTR_RO(vfio_vendor_driver);

static struct attribute *vfio_pci_dev_attrs[] = {
	&dev_attr_vfio_vendor_driver.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vfio_pci_dev);

static const struct pci_device_id vfio_pci_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_ANY_ID, PCI_ANY_ID) }, /* match all by default */
	{}
};

MODULE_DEVICE_TABLE(pci, vfio_pci_table);

static struct pci_driver vfio_pci_driver = {
	.name			= "vfio-pci",
	.id_table		= vfio_pci_table,
	.probe			= vfio_pci_probe,
	.remove			= vfio_pci_remove,
	.sriov_configure	= vfio_pci_sriov_configure,
	.err_handler		= &vfio_pci_core_err_handlers,
	.driver_managed_dma	= true,
	.dev_groups		= vfio_pci_dev_groups,
};

/* Set once vfio_pci_driver is registered, cleared before it goes */
static bool vfio_pci_driver_live;

/*
 * Whether anything holds @pdev through VFIO: the device open, an fd that
 * holds its registration (a cdev opened, not yet bound), a group or
 * iommufd that owns its IOMMU group's DMA (vfio-pci leaves DMA ownership
 * to its users), or VFs it enabled.  Under the device set's lock.
 */
static bool vfio_pci_in_use(struct vfio_pci_device *vpdev)
{
	struct vfio_device *core_vdev = &vpdev->core.vdev;
	struct pci_dev *pdev = vpdev->core.pdev;

	lockdep_assert_held(&core_vdev->dev_set->lock);

	return core_vdev->open_count ||
	       refcount_read(&core_vdev->refcount) != 1 ||
	       (pdev->dev.iommu_group &&
		iommu_group_dma_owner_claimed(pdev->dev.iommu_group)) ||
	       pci_num_vf(pdev);
}

/*
 * A plain device offered to the vendors registered now: if one takes it and
 * nothing holds the device, bind it again so that the vendor drives it.  A
 * trial probe finds the vendor, and is undone at once: the new binding
 * probes again, as any bind does.
 */
static void vfio_pci_offer_one(struct pci_dev *pdev)
{
	const struct vfio_pci_vendor_driver_ops *vendor;
	char name[VFIO_PCI_VENDOR_NAME_MAX];
	struct vfio_pci_device *vpdev;
	struct vfio_device *core_vdev;
	void *vendor_data = NULL;
	bool busy;
	int ret;

	device_lock(&pdev->dev);
	if (pdev->dev.driver != &vfio_pci_driver.driver ||
	    READ_ONCE(disable_vendor_ops))
		goto out_unlock;
	vpdev = container_of(dev_get_drvdata(&pdev->dev),
			     struct vfio_pci_device, core);
	if (vpdev->vendor || vpdev->no_vendor)
		goto out_unlock;

	vendor = vfio_pci_vendor_choose_registered(pdev, &vendor_data);
	if (!vendor)
		goto out_unlock;
	strscpy(name, vendor->name);
	vfio_pci_vendor_release(vendor, vendor_data);

	/*
	 * Never take a device from its user (vfio_pci_in_use()).  Otherwise
	 * it cannot be opened from here on.
	 */
	core_vdev = &vpdev->core.vdev;
	mutex_lock(&core_vdev->dev_set->lock);
	busy = vfio_pci_in_use(vpdev);
	if (!busy)
		WRITE_ONCE(vpdev->replacing, true);
	mutex_unlock(&core_vdev->dev_set->lock);
	device_unlock(&pdev->dev);

	if (busy) {
		pci_info(pdev, "in use, so not bound again with vendor driver %s, which registered after the device was bound; unbind and bind it once it is closed to use the vendor driver\n",
			 name);
		return;
	}

	pci_info(pdev, "binding again with vendor driver %s, which registered after the device was bound\n",
		 name);
	/*
	 * device_release_driver() takes the device lock: between the two,
	 * only a cdev opened meanwhile holds the device (and the release
	 * waits for it to be closed), or an unbind by the administrator,
	 * after which the device is bound to vfio-pci again.
	 */
	device_release_driver(&pdev->dev);
	ret = device_driver_attach(&vfio_pci_driver.driver, &pdev->dev);
	if (ret)
		pci_err(pdev, "binding again with vfio-pci failed (%d); bind it through sysfs\n",
			ret);
	return;

out_unlock:
	device_unlock(&pdev->dev);
}

struct vfio_pci_bound {
	struct pci_dev		**pdevs;
	unsigned int		nr;
	unsigned int		cap;
};

static int vfio_pci_collect_bound(struct device *dev, void *data)
{
	struct vfio_pci_bound *bound = data;

	if (bound->nr == bound->cap) {
		unsigned int cap = max(16U, bound->cap * 2);
		struct pci_dev **pdevs;

		pdevs = krealloc_array(bound->pdevs, cap, sizeof(*pdevs),
				       GFP_KERNEL);
		if (!pdevs)
			return -ENOMEM;
		bound->pdevs = pdevs;
		bound->cap = cap;
	}
	bound->pdevs[bound->nr++] = pci_dev_get(to_pci_dev(dev));
	return 0;
}

static void vfio_pci_offer_work_fn(struct work_struct *work)
{
	struct vfio_pci_bound bound = {};
	unsigned int i;

	if (!READ_ONCE(vfio_pci_driver_live))
		return;
	if (driver_for_each_device(&vfio_pci_driver.driver, NULL, &bound,
				   vfio_pci_collect_bound))
		pr_warn("out of memory offering bound devices to a vendor driver; unbind and bind them to use it\n");
	for (i = 0; i < bound.nr; i++) {
		vfio_pci_offer_one(bound.pdevs[i]);
		pci_dev_put(bound.pdevs[i]);
	}
	kfree(bound.pdevs);
}

static DECLARE_WORK(vfio_pci_offer_work, vfio_pci_offer_work_fn);

/*
 * A device is bound only once vfio_pci_probe() returns: a vendor that
 * registered while it was being probed may have come too late for the
 * probe's choice, and too early for the offer of the bound devices.
 */
static int vfio_pci_bus_notify(struct notifier_block *nb,
			       unsigned long action, void *data)
{
	struct device *dev = data;
	struct vfio_pci_device *vpdev;

	if (action != BUS_NOTIFY_BOUND_DRIVER ||
	    dev->driver != &vfio_pci_driver.driver)
		return NOTIFY_DONE;

	vpdev = container_of(dev_get_drvdata(dev), struct vfio_pci_device,
			     core);
	/* The device is on the driver's list before the count is read. */
	smp_mb();
	if (!vpdev->vendor && !vpdev->no_vendor &&
	    vpdev->vendor_gen != vfio_pci_vendor_generation())
		vfio_pci_offer_bound_devices();
	return NOTIFY_DONE;
}

static struct notifier_block vfio_pci_bus_nb = {
	.notifier_call = vfio_pci_bus_notify,
};

/**
 * vfio_pci_offer_bound_devices() - offer bound devices to a new vendor
 *
 * Called when a vendor driver registers.  Off the caller's context (the
 * vendor's module_init, which must not wait for devices to be unbound),
 * every plain vfio-pci device that a registered vendor now takes is bound
 * again, unless it is in use or was bound with disable_vendor_ops set.
 */
void vfio_pci_offer_bound_devices(void)
{
	if (READ_ONCE(vfio_pci_driver_live))
		queue_work(system_long_wq, &vfio_pci_offer_work);
}

static void __init vfio_pci_fill_ids(void)
{
	char *p, *id;
	int rc;

	/* no ids passed actually */
	if (ids[0] == '\0')
		return;

	/* add ids specified in the module parameter */
	p = ids;
	while ((id = strsep(&p, ","))) {
		unsigned int vendor, device, subvendor = PCI_ANY_ID,
			subdevice = PCI_ANY_ID, class = 0, class_mask = 0;
		int fields;

		if (!strlen(id))
			continue;

		fields = sscanf(id, "%x:%x:%x:%x:%x:%x",
				&vendor, &device, &subvendor, &subdevice,
				&class, &class_mask);

		if (fields < 2) {
			pr_warn("invalid id string \"%s\"\n", id);
			continue;
		}

		rc = pci_add_dynid(&vfio_pci_driver, vendor, device,
				   subvendor, subdevice, class, class_mask, 0);
		if (rc)
			pr_warn("failed to add dynamic id [%04x:%04x[%04x:%04x]] class %#08x/%08x (%d)\n",
				vendor, device, subvendor, subdevice,
				class, class_mask, rc);
		else
			pr_info("add [%04x:%04x[%04x:%04x]] class %#08x/%08x\n",
				vendor, device, subvendor, subdevice,
				class, class_mask);
	}
}

static int __init vfio_pci_init(void)
{
	int ret;

	ret = bus_register_notifier(&pci_bus_type, &vfio_pci_bus_nb);
	if (ret)
		return ret;

	/* Register and scan for devices */
	ret = pci_register_driver(&vfio_pci_driver);
	if (ret) {
		bus_unregister_notifier(&pci_bus_type, &vfio_pci_bus_nb);
		return ret;
	}
	WRITE_ONCE(vfio_pci_driver_live, true);

	vfio_pci_fill_ids();

	if (disable_denylist)
		pr_warn("device denylist disabled.\n");

	return 0;
}
module_init(vfio_pci_init);

static void __exit vfio_pci_cleanup(void)
{
	WRITE_ONCE(vfio_pci_driver_live, false);
	bus_unregister_notifier(&pci_bus_type, &vfio_pci_bus_nb);
	cancel_work_sync(&vfio_pci_offer_work);
	pci_unregister_driver(&vfio_pci_driver);
}
module_exit(vfio_pci_cleanup);

MODULE_LICENSE("GPL v2");
MODULE_AUTHOR(DRIVER_AUTHOR);
MODULE_DESCRIPTION(DRIVER_DESC);
