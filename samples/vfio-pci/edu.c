// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci vendor driver sample for QEMU's "edu" device (1234:11e8).
 *
 * QEMU's educational device (docs/specs/edu.rst in QEMU) is a 1 MiB MMIO
 * BAR with an identification register, a factorial unit, an interrupt
 * raiser and a small DMA engine.  It exists in every QEMU, so this sample
 * shows and tests vfio-pci's vendor ops without special hardware:
 *
 *   qemu-system-x86_64 -machine q35 -device intel-iommu -device edu ...
 *
 * Bound to vfio-pci, an edu device makes vfio-pci request the module alias
 * "vfio-pci:1234-11e8", which loads this module; its probe accepts the
 * device and vfio-pci then drives it with edu_device_ops.  Every op is
 * vfio-pci's default except .open_device, which also checks through the
 * kernel's mapping of BAR0 that the device answers as an edu.
 *
 * The fail_probe parameter makes probe fail, to test that vfio-pci falls
 * back to driving the device alone.
 *
 * While a device is open, it also has a VFIO_IRQ_TYPE_REMAP_BAR_REGION
 * interrupt, through which the sample asks userspace to stop mapping BAR0
 * and to use read() and write() instead, and later tells it that BAR0 may
 * be mapped again.  The next patches use this to see the BAR0 writes that
 * start DMA during migration.  For tests, debugfs has a switch per open
 * device (not an ABI):
 *
 *   /sys/kernel/debug/vfio_pci_edu/<device>/bar0_trapped
 *
 * Writing 1 traps BAR0, waiting for userspace to acknowledge; the write
 * fails with the error of vfio_pci_core_trap_bars() (ENOTCONN when
 * userspace does not listen, ETIMEDOUT when it does not answer).  Writing
 * 0 makes BAR0 mmap-able again.  Reading gives the state.
 */

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_vendor.h>

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

#define EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, 0xed */
#define EDU_ID_MAGIC_MASK	0xff
#define EDU_ID_MAGIC		0xed

static bool fail_probe;
module_param(fail_probe, bool, 0644);
MODULE_PARM_DESC(fail_probe, "Refuse every edu device with -EIO (for testing vfio-pci's fallback)");

static struct dentry *edu_debugfs_root;

/**
 * struct edu_device - what the sample keeps for each edu it drives
 * @pdev: the edu device
 * @vdev: vfio-pci's device, set while open
 * @debugfs: the device's debugfs directory, while open
 * @id: its identification register, read at open
 */
struct edu_device {
	struct pci_dev			*pdev;
	struct vfio_pci_core_device	*vdev;
	struct dentry			*debugfs;
	u32				id;
};

static ssize_t edu_bar0_trapped_write(struct file *file,
				      const char __user *buf, size_t count,
				      loff_t *ppos)
{
	struct edu_device *edu = file->private_data;
	bool trap;
	int ret;

	ret = kstrtobool_from_user(buf, count, &trap);
	if (ret)
		return ret;

	if (trap)
		ret = vfio_pci_core_trap_bars(edu->vdev, BIT(0));
	else
		ret = vfio_pci_core_untrap_bars(edu->vdev, BIT(0));

	return ret ? ret : count;
}

static ssize_t edu_bar0_trapped_read(struct file *file, char __user *buf,
				     size_t count, loff_t *ppos)
{
	struct edu_device *edu = file->private_data;
	char state[3];

	snprintf(state, sizeof(state), "%d\n",
		 !!(READ_ONCE(edu->vdev->bar_trapped) & BIT(0)));
	return simple_read_from_buffer(buf, count, ppos, state, 2);
}

static const struct file_operations edu_bar0_trapped_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= edu_bar0_trapped_read,
	.write	= edu_bar0_trapped_write,
	.llseek	= default_llseek,
};

static int edu_open_device(struct vfio_device *core_vdev)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);
	void __iomem *bar0;
	int ret;

	ret = vfio_pci_open_device(core_vdev);
	if (ret)
		return ret;

	bar0 = vfio_pci_get_barmap(core_vdev, 0);
	if (IS_ERR(bar0)) {
		ret = PTR_ERR(bar0);
		pci_err(edu->pdev, "cannot map BAR0: %d\n", ret);
		vfio_pci_core_close_device(core_vdev);
		return ret;
	}

	edu->id = ioread32(bar0 + EDU_REG_ID);
	if ((edu->id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC)
		pci_warn(edu->pdev, "identification register reads %#010x, not an edu?\n",
			 edu->id);

	edu->vdev = vfio_pci_core(core_vdev);
	ret = vfio_pci_core_register_remap_irq(edu->vdev);
	if (ret < 0) {
		pci_err(edu->pdev, "cannot add the remap interrupt: %d\n", ret);
		vfio_pci_core_close_device(core_vdev);
		return ret;
	}

	/* Only for tests: a failure here leaves the device usable. */
	edu->debugfs = debugfs_create_dir(pci_name(edu->pdev), edu_debugfs_root);
	debugfs_create_file("bar0_trapped", 0600, edu->debugfs, edu,
			    &edu_bar0_trapped_fops);

	return 0;
}

static void edu_close_device(struct vfio_device *core_vdev)
{
	struct edu_device *edu = vfio_pci_vendor_data(core_vdev);

	/* Ends a trap request still waiting, before debugfs waits for it. */
	vfio_pci_core_close_device(core_vdev);
	debugfs_remove(edu->debugfs);
	edu->debugfs = NULL;
}

static const struct vfio_device_ops edu_device_ops = {
	.name		= "vfio-pci",	/* required of vendor ops */
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= edu_open_device,
	.close_device	= edu_close_device,
	.ioctl		= vfio_pci_core_ioctl,
	.device_feature	= vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= vfio_pci_core_write,
	.mmap		= vfio_pci_core_mmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
};

static void *edu_probe(struct pci_dev *pdev)
{
	struct edu_device *edu;

	if (pdev->vendor != EDU_VENDOR_ID || pdev->device != EDU_DEVICE_ID)
		return ERR_PTR(-ENODEV);

	if (READ_ONCE(fail_probe))
		return ERR_PTR(-EIO);

	edu = kzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return ERR_PTR(-ENOMEM);

	edu->pdev = pdev;
	return edu;
}

static void edu_remove(void *vendor_data)
{
	kfree(vendor_data);
}

static struct vfio_pci_vendor_driver_ops edu_vendor_ops = {
	.name		= KBUILD_MODNAME,
	.probe		= edu_probe,
	.remove		= edu_remove,
	.device_ops	= &edu_device_ops,
};

static int __init edu_init(void)
{
	int ret;

	edu_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	ret = vfio_pci_register_vendor_driver(&edu_vendor_ops);
	if (ret)
		debugfs_remove(edu_debugfs_root);
	return ret;
}
module_init(edu_init);

static void __exit edu_exit(void)
{
	vfio_pci_unregister_vendor_driver(&edu_vendor_ops);
	debugfs_remove(edu_debugfs_root);
}
module_exit(edu_exit);

MODULE_ALIAS("vfio-pci:1234-11e8");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-pci vendor driver sample for QEMU's edu device");
