/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VFIO_PCI_VENDOR_PRIV_H
#define VFIO_PCI_VENDOR_PRIV_H

#include <linux/mutex.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_vendor.h>

/*
 * A device bound to vfio-pci.  @vendor and @vendor_data are set before the
 * device is registered with VFIO and stay constant until it is removed.
 */
struct vfio_pci_device {
	struct vfio_pci_core_device			core;
	const struct vfio_pci_vendor_driver_ops		*vendor;
	void						*vendor_data;
};

/*
 * A list of vendor drivers: vfio-pci's own, or one a test makes so that it
 * does not offer real devices to its fake vendors.
 */
struct vfio_pci_vendor_list {
	struct list_head	vendors;
	struct mutex		lock;	/* protects @vendors */
};

int vfio_pci_vendor_list_add(struct vfio_pci_vendor_list *list,
			     struct vfio_pci_vendor_driver_ops *ops,
			     struct module *owner);
void vfio_pci_vendor_list_del(struct vfio_pci_vendor_list *list,
			      struct vfio_pci_vendor_driver_ops *ops);
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_choose(struct vfio_pci_vendor_list *list, struct pci_dev *pdev,
		       void **vendor_data);
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_probe(struct pci_dev *pdev, void **vendor_data);
void vfio_pci_vendor_release(const struct vfio_pci_vendor_driver_ops *vendor,
			     void *vendor_data);

#endif /* VFIO_PCI_VENDOR_PRIV_H */
