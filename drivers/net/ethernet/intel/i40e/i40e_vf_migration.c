// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live migration of Intel XL710/X710 VFs (8086:154c) assigned with vfio-pci.
 *
 * A vfio-pci vendor driver: when vfio-pci binds such a VF, it loads this
 * module through the alias "vfio-pci:8086-154c" and offers it the VF.  The
 * module drives the VF with vfio-pci's own ops and adds:
 *
 *  - the v1 migration region (vfio_pci_core_register_migration()), whose
 *    stream carries what the PF driver holds for the VF and userspace
 *    cannot see from the VF: its MAC address, port VLAN and priority,
 *    anti-spoof checking, trust, link state and rate limits.  They are read
 *    and restored through the PF's own VF configuration paths, the
 *    ndo_get_vf_config() and ndo_set_vf_*() operations that
 *    "ip link set <pf> vf N ..." uses, under RTNL.  The VF's registers,
 *    queues and RSS setup live in the VF and in guest memory, where the
 *    guest's iavf driver sets them up again after migration through its
 *    reset path; the module does not copy the PF driver's private state;
 *
 *  - a REMAP_BAR_REGION interrupt: for pre-copy, BAR0 is trapped so that
 *    the module sees every doorbell write (see i40e_vfm_write()).
 *
 * The module never looks into the PF driver's private data: it checks
 * that the PF is bound to i40e and finds the PF's net_device under RTNL
 * each time it needs it, and the VF number comes from pci_iov_vf_id().
 */

#include <linux/etherdevice.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_vendor.h>
#include <kunit/visibility.h>

#include "i40e_vf_migration.h"

#define I40E_PF_DRIVER		"i40e"

/**
 * struct i40e_vfm - one VF driven by the module
 * @pdev: the VF
 * @vf_id: its number on its PF
 * @vdev: vfio-pci's device, while open
 * @trapped_to_save: BAR0 trapped for pre-copy
 * @master_stopped: bus mastering turned off by the module while stopped
 * @tx_tail: last value written to each TX queue tail while trapped
 * @rx_tail: the same for RX queues
 * @arq_tail: last admin receive queue tail written while trapped
 * @atq_tail: last admin send queue tail written while trapped
 * @doorbells: doorbell writes seen while trapped
 */
struct i40e_vfm {
	struct pci_dev			*pdev;
	int				vf_id;
	struct vfio_pci_core_device	*vdev;
	bool				trapped_to_save;
	bool				master_stopped;
	u32				tx_tail[I40E_VFM_MAX_QUEUES];
	u32				rx_tail[I40E_VFM_MAX_QUEUES];
	u32				arq_tail;
	u32				atq_tail;
	atomic64_t			doorbells;
};

/**
 * i40e_vfm_encode() - write a migration stream
 * @st: the VF's state
 * @vf_device: the VF's PCI device ID
 * @pf_device: its PF's
 * @buf: where to write
 * @size: room in @buf
 *
 * Return: the stream's length, or -ENOSPC.
 */
VISIBLE_IF_KUNIT
ssize_t i40e_vfm_encode(const struct i40e_vfm_state *st, u16 vf_device,
			u16 pf_device, void *buf, size_t size)
{
	struct i40e_vfm_stream *s = buf;

	BUILD_BUG_ON(sizeof(*s) != 48);
	if (size < sizeof(*s))
		return -ENOSPC;

	memset(s, 0, sizeof(*s));
	s->magic = cpu_to_le32(I40E_VFM_MAGIC);
	s->version = cpu_to_le16(I40E_VFM_VERSION);
	s->length = cpu_to_le32(sizeof(*s));
	s->vf_device = cpu_to_le16(vf_device);
	s->pf_device = cpu_to_le16(pf_device);
	ether_addr_copy(s->mac, st->mac);
	s->vlan = cpu_to_le16(st->vlan);
	s->vlan_proto = htons(st->vlan_proto);
	s->qos = st->qos;
	s->spoofchk = st->spoofchk;
	s->trusted = st->trusted;
	s->link_state = st->link_state;
	s->min_tx_rate = cpu_to_le32(st->min_tx_rate);
	s->max_tx_rate = cpu_to_le32(st->max_tx_rate);

	return sizeof(*s);
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_encode);

/**
 * i40e_vfm_decode() - check and read a migration stream
 * @buf: the stream received so far
 * @len: its length
 * @vf_device: the destination VF's PCI device ID
 * @pf_device: its PF's
 * @st: the state read, valid when 0 is returned
 *
 * Return: 0; -EAGAIN when @len is short of the stream's length; -EINVAL
 * when the stream is refused (see struct i40e_vfm_stream).
 */
VISIBLE_IF_KUNIT
int i40e_vfm_decode(const void *buf, size_t len, u16 vf_device,
		    u16 pf_device, struct i40e_vfm_state *st)
{
	const struct i40e_vfm_stream *s = buf;
	u16 proto;

	if (len < offsetofend(struct i40e_vfm_stream, length))
		return -EAGAIN;
	if (le32_to_cpu(s->magic) != I40E_VFM_MAGIC ||
	    le16_to_cpu(s->version) != I40E_VFM_VERSION || s->flags ||
	    le32_to_cpu(s->length) != sizeof(*s))
		return -EINVAL;
	if (len < sizeof(*s))
		return -EAGAIN;
	if (len > sizeof(*s))
		return -EINVAL;

	if (le16_to_cpu(s->vf_device) != vf_device ||
	    le16_to_cpu(s->pf_device) != pf_device ||
	    s->pad || s->reserved[0] || s->reserved[1])
		return -EINVAL;

	proto = ntohs(s->vlan_proto);
	if (le16_to_cpu(s->vlan) >= VLAN_N_VID || s->qos > 7 ||
	    (proto != ETH_P_8021Q && proto != ETH_P_8021AD) ||
	    s->spoofchk > 1 || s->trusted > 1 ||
	    s->link_state > IFLA_VF_LINK_STATE_DISABLE ||
	    is_multicast_ether_addr(s->mac) ||
	    (le32_to_cpu(s->max_tx_rate) &&
	     le32_to_cpu(s->min_tx_rate) > le32_to_cpu(s->max_tx_rate)))
		return -EINVAL;

	ether_addr_copy(st->mac, s->mac);
	st->vlan = le16_to_cpu(s->vlan);
	st->vlan_proto = proto;
	st->qos = s->qos;
	st->spoofchk = s->spoofchk;
	st->trusted = s->trusted;
	st->link_state = s->link_state;
	st->min_tx_rate = le32_to_cpu(s->min_tx_rate);
	st->max_tx_rate = le32_to_cpu(s->max_tx_rate);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_decode);

/**
 * i40e_vfm_vf_index() - check a VF number against its PF's VF count
 * @vf_id: from pci_iov_vf_id(), or its error
 * @num_vfs: from pci_num_vf() of the PF
 *
 * Return: @vf_id, or -ENODEV when it is not one of the PF's VFs.
 */
VISIBLE_IF_KUNIT
int i40e_vfm_vf_index(int vf_id, int num_vfs)
{
	if (vf_id < 0 || vf_id >= num_vfs)
		return -ENODEV;
	return vf_id;
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_vf_index);

/**
 * i40e_vfm_classify() - which doorbell, if any, a BAR0 write hits
 * @offset: of the write in BAR0
 * @size: its size
 * @queue: set to the queue of a queue tail
 *
 * Only whole, aligned 32-bit writes ring a doorbell.
 *
 * Return: the doorbell, or I40E_VFM_REG_OTHER.
 */
VISIBLE_IF_KUNIT
enum i40e_vfm_reg i40e_vfm_classify(u64 offset, size_t size,
				    unsigned int *queue)
{
	if (size != 4 || offset % 4)
		return I40E_VFM_REG_OTHER;

	if (offset < I40E_VFM_QTX_TAIL(I40E_VFM_MAX_QUEUES)) {
		*queue = (offset - I40E_VFM_QTX_TAIL(0)) / 4;
		return I40E_VFM_REG_TX_TAIL;
	}
	if (offset >= I40E_VFM_QRX_TAIL(0) &&
	    offset < I40E_VFM_QRX_TAIL(I40E_VFM_MAX_QUEUES)) {
		*queue = (offset - I40E_VFM_QRX_TAIL(0)) / 4;
		return I40E_VFM_REG_RX_TAIL;
	}
	if (offset == I40E_VFM_ARQT)
		return I40E_VFM_REG_ARQ_TAIL;
	if (offset == I40E_VFM_ATQT)
		return I40E_VFM_REG_ATQ_TAIL;
	return I40E_VFM_REG_OTHER;
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_classify);

/* The PF's net_device, if the PF is (still) driven by i40e; RTNL held. */
static struct net_device *i40e_vfm_pf_netdev(struct i40e_vfm *vfm)
{
	struct pci_dev *pf = pci_physfn(vfm->pdev);
	struct device_driver *drv;
	struct net_device *netdev;

	ASSERT_RTNL();

	drv = READ_ONCE(pf->dev.driver);
	if (!drv || strcmp(drv->name, I40E_PF_DRIVER))
		return NULL;

	for_each_netdev(&init_net, netdev)
		if (netdev->dev.parent == &pf->dev &&
		    netdev->netdev_ops->ndo_get_vf_config)
			return netdev;
	return NULL;
}

static void i40e_vfm_from_info(struct i40e_vfm_state *st,
			       const struct ifla_vf_info *ivi)
{
	ether_addr_copy(st->mac, ivi->mac);
	st->vlan = ivi->vlan;
	st->qos = ivi->qos;
	st->vlan_proto = ivi->vlan ? ntohs(ivi->vlan_proto) : ETH_P_8021Q;
	st->spoofchk = ivi->spoofchk;
	st->trusted = ivi->trusted;
	st->link_state = ivi->linkstate;
	st->min_tx_rate = ivi->min_tx_rate;
	st->max_tx_rate = ivi->max_tx_rate;
}

static ssize_t i40e_vfm_save(struct vfio_pci_core_device *vdev, void *buf,
			     size_t size)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(&vdev->vdev);
	struct i40e_vfm_state st = {};
	struct ifla_vf_info ivi = {};
	struct net_device *netdev;
	int ret;

	/* As rtnetlink does: i40e reports only other protocols. */
	ivi.vlan_proto = htons(ETH_P_8021Q);
	rtnl_lock();
	netdev = i40e_vfm_pf_netdev(vfm);
	ret = netdev ? netdev->netdev_ops->ndo_get_vf_config(netdev,
							      vfm->vf_id,
							      &ivi) : -ENODEV;
	rtnl_unlock();
	if (ret) {
		pci_err(vfm->pdev, "migration: cannot read VF %d's configuration from its PF: %d\n",
			vfm->vf_id, ret);
		return ret;
	}

	i40e_vfm_from_info(&st, &ivi);
	return i40e_vfm_encode(&st, vfm->pdev->device,
			       pci_physfn(vfm->pdev)->device, buf, size);
}

/* Apply @st through the PF's VF configuration paths; RTNL held. */
static int i40e_vfm_apply(struct i40e_vfm *vfm, struct net_device *netdev,
			  const struct i40e_vfm_state *st)
{
	const struct net_device_ops *ops = netdev->netdev_ops;
	int vf = vfm->vf_id;
	int ret = -EOPNOTSUPP;

	if (!ops->ndo_set_vf_mac || !ops->ndo_set_vf_vlan ||
	    !ops->ndo_set_vf_spoofchk || !ops->ndo_set_vf_trust ||
	    !ops->ndo_set_vf_link_state || !ops->ndo_set_vf_rate)
		return ret;

	if (!is_zero_ether_addr(st->mac)) {
		ret = ops->ndo_set_vf_mac(netdev, vf, (u8 *)st->mac);
		if (ret)
			return ret;
	}
	ret = ops->ndo_set_vf_vlan(netdev, vf, st->vlan, st->qos,
				   htons(st->vlan_proto));
	if (!ret)
		ret = ops->ndo_set_vf_spoofchk(netdev, vf, st->spoofchk);
	if (!ret)
		ret = ops->ndo_set_vf_trust(netdev, vf, st->trusted);
	if (!ret)
		ret = ops->ndo_set_vf_link_state(netdev, vf, st->link_state);
	if (!ret)
		ret = ops->ndo_set_vf_rate(netdev, vf, st->min_tx_rate,
					   st->max_tx_rate);
	return ret;
}

/*
 * Apply @st, or put back what the VF had if the PF refuses part of it, so
 * that a refused stream leaves the VF as it was; RTNL held.
 */
static int i40e_vfm_apply_or_undo(struct i40e_vfm *vfm,
				  struct net_device *netdev,
				  const struct i40e_vfm_state *st)
{
	struct ifla_vf_info ivi = { .vlan_proto = htons(ETH_P_8021Q) };
	struct i40e_vfm_state old;
	int ret;

	ret = netdev->netdev_ops->ndo_get_vf_config(netdev, vfm->vf_id, &ivi);
	if (ret)
		return ret;
	i40e_vfm_from_info(&old, &ivi);

	ret = i40e_vfm_apply(vfm, netdev, st);
	if (ret && i40e_vfm_apply(vfm, netdev, &old))
		pci_err(vfm->pdev, "migration: VF %d's configuration could not be put back\n",
			vfm->vf_id);
	return ret;
}

static int i40e_vfm_load(struct vfio_pci_core_device *vdev, const void *buf,
			 size_t len)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(&vdev->vdev);
	struct i40e_vfm_state st;
	struct net_device *netdev;
	int ret;

	ret = i40e_vfm_decode(buf, len, vfm->pdev->device,
			      pci_physfn(vfm->pdev)->device, &st);
	if (ret == -EAGAIN)
		return ret;
	if (ret) {
		pci_err(vfm->pdev, "migration: refusing a stream that is not from an i40e VF of this kind, version %d\n",
			I40E_VFM_VERSION);
		return ret;
	}

	rtnl_lock();
	netdev = i40e_vfm_pf_netdev(vfm);
	ret = netdev ? i40e_vfm_apply_or_undo(vfm, netdev, &st) : -ENODEV;
	rtnl_unlock();
	if (ret)
		pci_err(vfm->pdev, "migration: the PF refused VF %d's configuration: %d\n",
			vfm->vf_id, ret);
	/* -EAGAIN (the PF is busy) would read as "send more data" */
	return ret == -EAGAIN ? -EBUSY : ret;
}

/*
 * A device that is not RUNNING must not change memory after the final copy
 * of it, so while the VF is stopped its bus mastering is off (in the
 * device, not in the config space userspace sees), and back on when it
 * runs again.  Pre-copy traps BAR0 through the REMAP_BAR_REGION handshake.
 * The module
 * never reports pages dirty itself, so type1 keeps reporting every mapped
 * page of the container dirty: when userspace does not answer, nothing is
 * lost, only the doorbell record is missing.
 */
static int i40e_vfm_set_state(struct vfio_pci_core_device *vdev, u32 old,
			      u32 new)
{
	const u32 precopy = VFIO_DEVICE_STATE_V1_SAVING |
			    VFIO_DEVICE_STATE_V1_RUNNING;
	struct i40e_vfm *vfm = vfio_pci_vendor_data(&vdev->vdev);
	bool was_running = old & VFIO_DEVICE_STATE_V1_RUNNING;
	bool runs = new & VFIO_DEVICE_STATE_V1_RUNNING;
	int ret;

	if (was_running && !runs && !vfm->master_stopped) {
		vfm->master_stopped = vfm->pdev->is_busmaster;
		pci_clear_master(vfm->pdev);
	} else if (runs && vfm->master_stopped) {
		pci_set_master(vfm->pdev);
		vfm->master_stopped = false;
	}

	if (new == precopy && !vfm->trapped_to_save) {
		atomic64_set(&vfm->doorbells, 0);
		ret = vfio_pci_core_trap_bars(vdev, BIT(0));
		if (ret)
			dev_info_once(&vfm->pdev->dev, "BAR0 not trapped for pre-copy (%d): doorbells not recorded\n",
				      ret);
		vfm->trapped_to_save = !ret;
	} else if (new != precopy && vfm->trapped_to_save) {
		vfio_pci_core_untrap_bars(vdev, BIT(0));
		vfm->trapped_to_save = false;
		pci_dbg(vfm->pdev, "%lld doorbell writes seen during pre-copy\n",
			atomic64_read(&vfm->doorbells));
	}
	return 0;
}

static const struct vfio_pci_migration_ops i40e_vfm_migration_ops = {
	.set_state	= i40e_vfm_set_state,
	.save		= i40e_vfm_save,
	.load		= i40e_vfm_load,
};

/*
 * BAR0 writes.  While BAR0 is trapped, the module records each queue
 * tail and admin queue tail doorbell: which rings the guest handed new
 * descriptors to, and up to where.  That is what is tracked.  What is not:
 * the guest memory those descriptors point to.  The rings' base addresses
 * were given to the PF over virtchnl and stay in the PF driver's private
 * data, which this module does not read, so it cannot walk the rings and
 * reports no page dirty; type1 therefore keeps reporting every mapped page
 * of the container dirty, which is always safe.
 */
static ssize_t i40e_vfm_write(struct vfio_device *core_vdev,
			      const char __user *buf, size_t count,
			      loff_t *ppos)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(core_vdev);
	unsigned int index = VFIO_PCI_OFFSET_TO_INDEX(*ppos);
	u64 off = *ppos & VFIO_PCI_OFFSET_MASK;
	unsigned int queue = 0;
	enum i40e_vfm_reg reg;
	ssize_t ret;
	__le32 val;

	ret = vfio_pci_core_write(core_vdev, buf, count, ppos);
	if (ret != 4 || index != VFIO_PCI_BAR0_REGION_INDEX ||
	    !(READ_ONCE(vfm->vdev->bar_trapped) & BIT(0)))
		return ret;

	reg = i40e_vfm_classify(off, count, &queue);
	if (reg == I40E_VFM_REG_OTHER || copy_from_user(&val, buf, 4))
		return ret;

	switch (reg) {
	case I40E_VFM_REG_TX_TAIL:
		WRITE_ONCE(vfm->tx_tail[queue], le32_to_cpu(val));
		break;
	case I40E_VFM_REG_RX_TAIL:
		WRITE_ONCE(vfm->rx_tail[queue], le32_to_cpu(val));
		break;
	case I40E_VFM_REG_ARQ_TAIL:
		WRITE_ONCE(vfm->arq_tail, le32_to_cpu(val));
		break;
	case I40E_VFM_REG_ATQ_TAIL:
		WRITE_ONCE(vfm->atq_tail, le32_to_cpu(val));
		break;
	default:
		break;
	}
	atomic64_inc(&vfm->doorbells);
	return ret;
}

static int i40e_vfm_open_device(struct vfio_device *core_vdev)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(core_vdev);
	int ret;

	ret = vfio_pci_open_device(core_vdev);
	if (ret)
		return ret;

	vfm->vdev = vfio_pci_core(core_vdev);
	vfm->trapped_to_save = false;
	vfm->master_stopped = false;

	ret = vfio_pci_core_register_remap_irq(vfm->vdev);
	if (ret >= 0)
		ret = vfio_pci_core_register_migration(vfm->vdev,
						       &i40e_vfm_migration_ops,
						       sizeof(struct i40e_vfm_stream));
	if (ret < 0) {
		pci_err(vfm->pdev, "cannot add migration support: %d\n", ret);
		vfio_pci_core_close_device(core_vdev);
		return ret;
	}
	return 0;
}

static const struct vfio_device_ops i40e_vfm_device_ops = {
	.name		= "vfio-pci",	/* required of vendor ops */
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= i40e_vfm_open_device,
	.close_device	= vfio_pci_core_close_device,
	.ioctl		= vfio_pci_core_ioctl,
	.device_feature	= vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= i40e_vfm_write,
	.mmap		= vfio_pci_core_mmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
};

static void *i40e_vfm_probe(struct pci_dev *pdev)
{
	struct device_driver *drv;
	struct i40e_vfm *vfm;
	struct pci_dev *pf;
	int vf_id;

	if (pdev->vendor != PCI_VENDOR_ID_INTEL ||
	    pdev->device != I40E_VFM_VF_DEVICE_ID || !pdev->is_virtfn)
		return ERR_PTR(-ENODEV);

	/*
	 * The PF's device lock is not taken: the PF may hold it while it
	 * creates this VF.  The driver is only compared by name; its data is
	 * never touched, and each use finds the PF's netdev again under RTNL.
	 */
	pf = pci_physfn(pdev);
	drv = READ_ONCE(pf->dev.driver);
	if (!drv || strcmp(drv->name, I40E_PF_DRIVER)) {
		pci_info(pdev, "PF %s is not driven by %s: no migration support\n",
			 pci_name(pf), I40E_PF_DRIVER);
		return ERR_PTR(-ENODEV);
	}

	vf_id = i40e_vfm_vf_index(pci_iov_vf_id(pdev), pci_num_vf(pf));
	if (vf_id < 0) {
		pci_err(pdev, "not a VF of %s\n", pci_name(pf));
		return ERR_PTR(vf_id);
	}

	vfm = kzalloc(sizeof(*vfm), GFP_KERNEL);
	if (!vfm)
		return ERR_PTR(-ENOMEM);

	vfm->pdev = pdev;
	vfm->vf_id = vf_id;
	return vfm;
}

static void i40e_vfm_remove(void *vendor_data)
{
	kfree(vendor_data);
}

static struct vfio_pci_vendor_driver_ops i40e_vfm_vendor_ops = {
	.name		= KBUILD_MODNAME,
	.probe		= i40e_vfm_probe,
	.remove		= i40e_vfm_remove,
	.device_ops	= &i40e_vfm_device_ops,
};
module_vfio_pci_vendor_driver(i40e_vfm_vendor_ops);

MODULE_ALIAS("vfio-pci:8086-154c");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Live migration of Intel XL710 VFs assigned with vfio-pci");
