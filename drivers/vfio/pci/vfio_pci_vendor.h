/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VFIO_PCI_VENDOR_PRIV_H
#define VFIO_PCI_VENDOR_PRIV_H

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

const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_probe(struct pci_dev *pdev, void **vendor_data);
void vfio_pci_vendor_release(const struct vfio_pci_vendor_driver_ops *vendor,
			     void *vendor_data);

#endif /* VFIO_PCI_VENDOR_PRIV_H */
