/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Vendor ops for vfio-pci: a vendor module supplies the vfio_device_ops of
 * the devices it recognises when vfio-pci binds them.
 */
#ifndef VFIO_PCI_VENDOR_H
#define VFIO_PCI_VENDOR_H

#include <linux/device/driver.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/vfio_pci_core.h>


/* The longest vendor name, with its NUL, userspace can be shown. */
#define VFIO_PCI_VENDOR_NAME_MAX \
	sizeof_field(struct vfio_device_info_cap_vendor_driver, name)

/**
 * struct vfio_pci_vendor_driver_ops - a vendor driver for vfio-pci devices
 * @name: name shown to the administrator and to userspace; use
 *	KBUILD_MODNAME.  At most VFIO_PCI_VENDOR_NAME_MAX - 1 bytes.
 * @owner: module providing the callbacks, set at registration.  vfio-pci
 *	holds a reference on it from a successful @probe until after @remove,
 *	when the device is freed.
 * @probe: offered each device vfio-pci binds.  Returns the vendor's
 *	per-device data (NULL is allowed), ERR_PTR(-ENODEV) for a device that
 *	is not the vendor's, or another ERR_PTR() when probing failed; the
 *	failure is logged and the device goes to the next vendor, or binds
 *	as plain vfio-pci.
 *	Called with the device lock held, outside vfio-pci's own locks.
 *	It must not take another device's lock, such as an SR-IOV VF's PF:
 *	the PF's lock is held while it enables its VFs, which binds them.
 * @remove: undoes @probe once the device is freed, from vfio-pci's
 *	.release; called once for each successful @probe.
 * @device_ops: the vfio_device_ops of the devices this vendor drives.
 *	vfio-pci allocates the device, so .init must be, or call,
 *	vfio_pci_init_dev(), which also applies vfio-pci's module parameters
 *	(nointxmask, disable_idle_d3, disable_vga) to the device, and
 *	.release must be vfio_pci_release_dev(), which calls @remove and
 *	drops the module reference.  .get_region_info_caps and
 *	.match_token_uuid are required (vfio_pci_ioctl_get_region_info() and
 *	vfio_pci_core_match_token_uuid() unless the vendor changes them).  .name must
 *	be "vfio-pci": vfio-pci core uses it as the name of the bound driver,
 *	for instance for the driver_override of VFs the device enables.
 * @node: entry on vfio-pci's list of vendors; private to vfio-pci.
 *
 * A vendor module declares the devices it drives with
 * MODULE_ALIAS("vfio-pci:vvvv-dddd") (lower-case hex vendor and device ID),
 * which vfio-pci asks modprobe for when it binds such a device.
 */
struct vfio_pci_vendor_driver_ops {
	const char			*name;
	struct module			*owner;
	void *(*probe)(struct pci_dev *pdev);
	void (*remove)(void *vendor_data);
	const struct vfio_device_ops	*device_ops;
	struct list_head		node;
};

int __vfio_pci_register_vendor_driver(struct vfio_pci_vendor_driver_ops *ops,
				      struct module *owner);
void vfio_pci_unregister_vendor_driver(struct vfio_pci_vendor_driver_ops *ops);
int vfio_pci_init_dev(struct vfio_device *core_vdev);
void vfio_pci_release_dev(struct vfio_device *core_vdev);

/**
 * vfio_pci_register_vendor_driver() - offer a vendor driver to vfio-pci
 * @ops: the vendor driver; must stay valid until unregistered
 *
 * Devices that vfio-pci binds after this call are offered to @ops->probe.
 * So are the plain devices already bound, soon after the call, from a
 * workqueue: one that a vendor takes and that nothing holds open is bound
 * again, with the vendor's ops.  Registration takes no module reference:
 * the vendor module depends on vfio-pci through its symbols, and vfio-pci
 * pins the vendor module only while a device uses it.
 *
 * Return: 0, -EINVAL for incomplete @ops (see above) or a device_ops name
 * other than "vfio-pci", -EEXIST if @ops or its name is already registered.
 */
#define vfio_pci_register_vendor_driver(ops) \
	__vfio_pci_register_vendor_driver(ops, THIS_MODULE)

/*
 * Defaults: a vendor's vfio_device_ops name, for every op it does not
 * change, the function vfio-pci itself uses:
 *
 *	.init		= vfio_pci_init_dev,
 *	.release	= vfio_pci_release_dev,		(required)
 *	.open_device	= vfio_pci_open_device,
 *	.close_device	= vfio_pci_core_close_device,
 *	.ioctl		= vfio_pci_core_ioctl,
 *	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
 *	.device_feature	= vfio_pci_core_ioctl_feature,
 *	.read		= vfio_pci_core_read,
 *	.write		= vfio_pci_core_write,
 *	.mmap		= vfio_pci_core_mmap,
 *	.request	= vfio_pci_core_request,
 *	.match		= vfio_pci_core_match,
 *	.match_token_uuid = vfio_pci_core_match_token_uuid,
 *	.bind_iommufd	= vfio_iommufd_physical_bind,
 *	.unbind_iommufd	= vfio_iommufd_physical_unbind,
 *	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
 *	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
 *	.pasid_attach_ioas	= vfio_iommufd_physical_pasid_attach_ioas,
 *	.pasid_detach_ioas	= vfio_iommufd_physical_pasid_detach_ioas,
 *
 * An op that changes a little of the behaviour handles its part and calls
 * the default for the rest.
 */
int vfio_pci_open_device(struct vfio_device *core_vdev);

void *vfio_pci_vendor_data(struct vfio_device *core_vdev);
void __iomem *vfio_pci_get_barmap(struct vfio_device *core_vdev, int bar);

static inline struct vfio_pci_core_device *
vfio_pci_core(struct vfio_device *core_vdev)
{
	return container_of(core_vdev, struct vfio_pci_core_device, vdev);
}

/**
 * module_vfio_pci_vendor_driver() - a vendor driver for a module's lifetime
 * @__vendor: the module's struct vfio_pci_vendor_driver_ops
 *
 * Generates module_init(), which registers @__vendor and fails the module
 * load with the registration's error, and module_exit(), which unregisters
 * it.  For vendor modules that do nothing else when loaded and unloaded.
 */
#define module_vfio_pci_vendor_driver(__vendor) \
	module_driver(__vendor, vfio_pci_register_vendor_driver, \
		      vfio_pci_unregister_vendor_driver)

#endif /* VFIO_PCI_VENDOR_H */
