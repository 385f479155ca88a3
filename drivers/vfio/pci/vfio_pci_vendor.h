/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VFIO_PCI_VENDOR_PRIV_H
#define VFIO_PCI_VENDOR_PRIV_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_vendor.h>

/*
 * A device bound to vfio-pci.  @vendor and @vendor_data are set before the
 * device is registered with VFIO and stay constant until it is removed.
 * @no_vendor: bound while disable_vendor_ops was set, so never offered to
 *	a vendor that registers later
 * @replacing: being bound again with a vendor that registered after it
 *	was bound; opening it fails with -ENODEV meanwhile.  Set under the
 *	device set's lock, with the device closed.
 * @vendor_gen: vfio_pci_vendor_generation() before the bind chose a vendor
 */
struct vfio_pci_device {
	struct vfio_pci_core_device			core;
	const struct vfio_pci_vendor_driver_ops		*vendor;
	void						*vendor_data;
	bool						no_vendor;
	bool						replacing;
	unsigned int					vendor_gen;
};

void vfio_pci_offer_bound_devices(void);
unsigned int vfio_pci_vendor_generation(void);

/*
 * A list of vendor drivers: vfio-pci's own, or one a test makes so that it
 * does not offer real devices to its fake vendors.
 */
struct vfio_pci_vendor_list {
	struct list_head	vendors;
	struct mutex		lock;	/* protects @vendors */
};

/* Vendor:device IDs whose alias found no vendor driver, remembered */
#define VFIO_PCI_NOMOD_SLOTS	64

/**
 * struct vfio_pci_nomod_cache - IDs for which modprobe found no vendor
 * @lock: protects the fields below
 * @nr: entries in use in @ent
 * @ent: each an ID, (vendor << 16) | device, and the jiffies at which it is
 *	forgotten
 */
struct vfio_pci_nomod_cache {
	spinlock_t		lock;	/* see above */
	unsigned int		nr;
	struct {
		u32		id;
		unsigned long	expires;
	}			ent[VFIO_PCI_NOMOD_SLOTS];
};

bool vfio_pci_nomod_cached(struct vfio_pci_nomod_cache *cache, u32 id,
			   unsigned long now);
void vfio_pci_nomod_add(struct vfio_pci_nomod_cache *cache, u32 id,
			unsigned long now, unsigned long ttl);
void vfio_pci_nomod_flush(struct vfio_pci_nomod_cache *cache);

int vfio_pci_vendor_list_add(struct vfio_pci_vendor_list *list,
			     struct vfio_pci_vendor_driver_ops *ops,
			     struct module *owner);
void vfio_pci_vendor_list_del(struct vfio_pci_vendor_list *list,
			      struct vfio_pci_vendor_driver_ops *ops);
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_choose(struct vfio_pci_vendor_list *list, struct pci_dev *pdev,
		       void **vendor_data);
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_choose_registered(struct pci_dev *pdev, void **vendor_data);
const struct vfio_pci_vendor_driver_ops *
vfio_pci_vendor_probe(struct pci_dev *pdev, void **vendor_data);
void vfio_pci_vendor_release(const struct vfio_pci_vendor_driver_ops *vendor,
			     void *vendor_data);

#endif /* VFIO_PCI_VENDOR_PRIV_H */
