// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live migration of Intel XL710/X710 VFs (8086:154c) assigned with vfio-pci.
 *
 * A vfio-pci vendor driver: when vfio-pci binds such a VF, it loads this
 * module through the alias "vfio-pci:8086-154c" and offers it the VF.  The
 * module drives the VF with vfio-pci's own ops and adds:
 *
 *  - migration through vfio-pci's helper (vfio_pci_core_init_migration()):
 *    the v1 migration region and migration v2 (a data_fd), whose
 *    stream carries what the PF driver holds for the VF and userspace
 *    cannot see from the VF: its MAC address, port VLAN and priority,
 *    anti-spoof checking, trust, link state and rate limits.  That is the
 *    host administrator's policy for the VF, so the stream never sets it:
 *    the source reads it with the PF's ndo_get_vf_config(), as "ip link
 *    show <pf>" does, and the destination reads its own VF's the same way
 *    and refuses the stream when they differ (i40e_vfm_check_policy()),
 *    all under RTNL.  A MAC address the guest set is the guest's, not
 *    policy: the guest's iavf driver adds it again.  The VF's registers,
 *    queues and RSS setup live in the VF and in guest memory, where the
 *    guest's iavf driver sets them up again after migration through its
 *    reset path; the module does not copy the PF driver's private state;
 *
 *  - bus mastering turned off in the VF while it is not RUNNING, and
 *    turned back on as userspace last set it (see i40e_vfm_set_state()).
 *
 * The module never looks into the PF driver's private data: it checks
 * that the PF is bound to i40e and finds the PF's net_device under RTNL
 * each time it needs it, and the VF number comes from pci_iov_vf_id().
 * The one exception is the PF's pf_set_mac flag for the VF, read under
 * RTNL: ndo_get_vf_config() reports the VF's MAC address whoever set it.
 */

#include <linux/etherdevice.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/string_choices.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_vendor.h>
#include <kunit/visibility.h>

#include "i40e.h"
#include "i40e_vf_migration.h"
#include "i40e_virtchnl_pf.h"

#define I40E_PF_DRIVER		"i40e"

/**
 * struct i40e_vfm - one VF driven by the module
 * @pdev: the VF
 * @vf_id: its number on its PF
 * @vdev: vfio-pci's device, while open
 * @quiesced: bus mastering held off by the module while not RUNNING;
 *	under @vdev's memory_lock
 * @saved_cmd: PCI_COMMAND as userspace last left it in the VF while
 *	@quiesced; under @vdev's memory_lock
 */
struct i40e_vfm {
	struct pci_dev			*pdev;
	int				vf_id;
	struct vfio_pci_core_device	*vdev;
	bool				quiesced;
	u16				saved_cmd;
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
	if (st->mac_admin)
		s->flags = cpu_to_le16(I40E_VFM_FLAG_ADMIN_MAC);
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
 * Return: 0; -EAGAIN when @len is short of the stream's length;
 * -EPROTONOSUPPORT when it is a stream of another version; -EINVAL when
 * the stream is refused for another reason (see struct i40e_vfm_stream).
 */
int i40e_vfm_decode(const void *buf, size_t len, u16 vf_device,
		    u16 pf_device, struct i40e_vfm_state *st)
{
	const struct i40e_vfm_stream *s = buf;
	bool mac_admin;
	u16 proto;

	if (len < offsetofend(struct i40e_vfm_stream, length))
		return -EAGAIN;
	if (le32_to_cpu(s->magic) != I40E_VFM_MAGIC)
		return -EINVAL;
	if (le16_to_cpu(s->version) != I40E_VFM_VERSION)
		return -EPROTONOSUPPORT;
	if (le16_to_cpu(s->flags) & ~I40E_VFM_FLAG_ADMIN_MAC ||
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
	mac_admin = le16_to_cpu(s->flags) & I40E_VFM_FLAG_ADMIN_MAC;
	if (le16_to_cpu(s->vlan) >= VLAN_N_VID || s->qos > 7 ||
	    (proto != ETH_P_8021Q && proto != ETH_P_8021AD) ||
	    s->spoofchk > 1 || s->trusted > 1 ||
	    s->link_state > IFLA_VF_LINK_STATE_DISABLE ||
	    is_multicast_ether_addr(s->mac) ||
	    (mac_admin && is_zero_ether_addr(s->mac)) ||
	    (le32_to_cpu(s->max_tx_rate) &&
	     le32_to_cpu(s->min_tx_rate) > le32_to_cpu(s->max_tx_rate)))
		return -EINVAL;

	ether_addr_copy(st->mac, s->mac);
	st->mac_admin = mac_admin;
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
 * i40e_vfm_check_policy() - compare a VF's policy with its source's
 * @want: the source VF's configuration, from the stream
 * @have: the destination VF's, from its PF
 * @field: set to what differs first, I40E_VFM_POLICY_SAME if nothing
 *
 * Trust, spoof checking, the port VLAN with its priority and protocol,
 * the link state and the TX rates must be equal.  So must the MAC address
 * when the administrator set it on either side.  A MAC address the guest
 * set is not compared: the guest adds it again after migration, and the
 * destination VF may hold none; but it may not hold another one that the
 * administrator did not set (one left by an earlier guest), since the PF
 * would give that one to the guest.
 *
 * Return: 0 when the destination VF may take the stream, -EINVAL if not.
 */
int i40e_vfm_check_policy(const struct i40e_vfm_state *want,
			  const struct i40e_vfm_state *have,
			  enum i40e_vfm_policy *field)
{
	enum i40e_vfm_policy f = I40E_VFM_POLICY_SAME;

	if (want->trusted != have->trusted)
		f = I40E_VFM_POLICY_TRUST;
	else if (want->spoofchk != have->spoofchk)
		f = I40E_VFM_POLICY_SPOOFCHK;
	else if (want->vlan != have->vlan || want->qos != have->qos ||
		 (want->vlan && want->vlan_proto != have->vlan_proto))
		f = I40E_VFM_POLICY_VLAN;
	else if (want->link_state != have->link_state)
		f = I40E_VFM_POLICY_LINK_STATE;
	else if (want->min_tx_rate != have->min_tx_rate ||
		 want->max_tx_rate != have->max_tx_rate)
		f = I40E_VFM_POLICY_TX_RATE;
	else if (want->mac_admin != have->mac_admin ||
		 (want->mac_admin && !ether_addr_equal(want->mac, have->mac)))
		f = I40E_VFM_POLICY_MAC;
	else if (!have->mac_admin && !is_zero_ether_addr(have->mac) &&
		 !ether_addr_equal(want->mac, have->mac))
		f = I40E_VFM_POLICY_OLD_MAC;

	*field = f;
	return f == I40E_VFM_POLICY_SAME ? 0 : -EINVAL;
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_check_policy);

/**
 * i40e_vfm_vf_index() - check a VF number against its PF's VF count
 * @vf_id: from pci_iov_vf_id(), or its error
 * @num_vfs: from pci_num_vf() of the PF
 *
 * Return: @vf_id, or -ENODEV when it is not one of the PF's VFs.
 */
int i40e_vfm_vf_index(int vf_id, int num_vfs)
{
	if (vf_id < 0 || vf_id >= num_vfs)
		return -ENODEV;
	return vf_id;
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_vf_index);

/**
 * i40e_vfm_resume_command() - PCI_COMMAND for a VF that runs again
 * @saved: PCI_COMMAND as read from the VF when it stopped, or as userspace
 *	wrote it since
 * @cur: PCI_COMMAND as read from the VF now
 *
 * Only bus mastering is the module's: it is put back as it was in @saved,
 * and the other bits are left as they are now.
 *
 * Return: the word to write to PCI_COMMAND.
 */
u16 i40e_vfm_resume_command(u16 saved, u16 cur)
{
	return (cur & ~PCI_COMMAND_MASTER) | (saved & PCI_COMMAND_MASTER);
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_resume_command);

/**
 * i40e_vfm_writes_command() - whether a config space write may set BME
 * @offset: of the write in config space
 * @count: its length in bytes
 *
 * Return: true when the write covers the low byte of PCI_COMMAND, which
 * holds PCI_COMMAND_MASTER.
 */
bool i40e_vfm_writes_command(u64 offset, size_t count)
{
	return offset <= PCI_COMMAND && count > PCI_COMMAND - offset;
}
EXPORT_SYMBOL_IF_KUNIT(i40e_vfm_writes_command);

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

/*
 * The VF's configuration as its PF holds it; RTNL held.  Whether the MAC
 * address is the administrator's is read from the PF's record of the VF:
 * pf_set_mac only changes in ndo_set_vf_mac(), under RTNL, and pf->vf is
 * freed only once pci_disable_sriov() has removed the VFs, which waits for
 * this VF's vfio device to be closed.
 */
static int i40e_vfm_read_config(struct i40e_vfm *vfm,
				struct net_device *netdev,
				struct i40e_vfm_state *st)
{
	struct i40e_netdev_priv *np = netdev_priv(netdev);
	struct ifla_vf_info ivi = {};
	struct i40e_pf *pf;
	int ret;

	/* As rtnetlink does: i40e reports only other protocols. */
	ivi.vlan_proto = htons(ETH_P_8021Q);
	ret = netdev->netdev_ops->ndo_get_vf_config(netdev, vfm->vf_id, &ivi);
	if (ret)
		return ret;
	i40e_vfm_from_info(st, &ivi);

	pf = np->vsi->back;
	if (pf->pdev != pci_physfn(vfm->pdev) || !pf->vf ||
	    vfm->vf_id >= pf->num_alloc_vfs)
		return -ENODEV;
	st->mac_admin = pf->vf[vfm->vf_id].pf_set_mac &&
			is_valid_ether_addr(st->mac);
	return 0;
}

static ssize_t i40e_vfm_save(struct vfio_pci_core_device *vdev, void *buf,
			     size_t size)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(&vdev->vdev);
	struct i40e_vfm_state st = {};
	struct net_device *netdev;
	int ret;

	rtnl_lock();
	netdev = i40e_vfm_pf_netdev(vfm);
	ret = netdev ? i40e_vfm_read_config(vfm, netdev, &st) : -ENODEV;
	rtnl_unlock();
	if (ret) {
		pci_err(vfm->pdev, "migration: cannot read VF %d's configuration from its PF: %d\n",
			vfm->vf_id, ret);
		return ret;
	}

	return i40e_vfm_encode(&st, vfm->pdev->device,
			       pci_physfn(vfm->pdev)->device, buf, size);
}

/* @st's @field, as "ip link set <pf> vf N" takes it */
static void i40e_vfm_policy_str(enum i40e_vfm_policy field,
				const struct i40e_vfm_state *st, char *buf,
				size_t size)
{
	static const char * const link_states[] = {
		[IFLA_VF_LINK_STATE_AUTO]	= "auto",
		[IFLA_VF_LINK_STATE_ENABLE]	= "enable",
		[IFLA_VF_LINK_STATE_DISABLE]	= "disable",
	};

	switch (field) {
	case I40E_VFM_POLICY_TRUST:
		snprintf(buf, size, "trust %s", str_on_off(st->trusted));
		break;
	case I40E_VFM_POLICY_SPOOFCHK:
		snprintf(buf, size, "spoofchk %s", str_on_off(st->spoofchk));
		break;
	case I40E_VFM_POLICY_VLAN:
		snprintf(buf, size, "vlan %u qos %u proto %s", st->vlan,
			 st->qos,
			 st->vlan_proto == ETH_P_8021AD ? "802.1ad" : "802.1Q");
		break;
	case I40E_VFM_POLICY_LINK_STATE:
		snprintf(buf, size, "state %s",
			 st->link_state < ARRAY_SIZE(link_states) ?
			 link_states[st->link_state] : "?");
		break;
	case I40E_VFM_POLICY_TX_RATE:
		snprintf(buf, size, "min_tx_rate %u max_tx_rate %u",
			 st->min_tx_rate, st->max_tx_rate);
		break;
	default:
		/* "mac 00:00:00:00:00:00" takes the administrator's MAC away */
		if (st->mac_admin)
			snprintf(buf, size, "mac %pM", st->mac);
		else
			strscpy(buf, "mac 00:00:00:00:00:00", size);
		break;
	}
}

/* Say what differs and what the administrator must set; RTNL held. */
static void i40e_vfm_refuse(struct i40e_vfm *vfm, struct net_device *netdev,
			    enum i40e_vfm_policy field,
			    const struct i40e_vfm_state *want,
			    const struct i40e_vfm_state *have)
{
	static const char * const what[] = {
		[I40E_VFM_POLICY_TRUST]		= "trust differs",
		[I40E_VFM_POLICY_SPOOFCHK]	= "spoof checking differs",
		[I40E_VFM_POLICY_VLAN]		= "port VLAN differs",
		[I40E_VFM_POLICY_LINK_STATE]	= "link state differs",
		[I40E_VFM_POLICY_TX_RATE]	= "TX rates differ",
		[I40E_VFM_POLICY_MAC]		= "MAC set by the administrator differs",
		[I40E_VFM_POLICY_OLD_MAC]	= "holds a MAC the guest would take",
	};
	char here[64], there[64], set[64];

	i40e_vfm_policy_str(field, have, here, sizeof(here));
	i40e_vfm_policy_str(field, want, there, sizeof(there));
	strscpy(set, there);
	if (field == I40E_VFM_POLICY_MAC || field == I40E_VFM_POLICY_OLD_MAC) {
		if (!have->mac_admin && is_zero_ether_addr(have->mac))
			strscpy(here, "no MAC set by the administrator");
		else if (!have->mac_admin)
			snprintf(here, sizeof(here),
				 "mac %pM not set by the administrator",
				 have->mac);
		if (!want->mac_admin)
			strscpy(there, "no MAC set by the administrator");
	}

	dev_err_ratelimited(&vfm->pdev->dev, "migration: refusing the stream: VF %d %s: %s here, the source had %s; run \"ip link set %s vf %d %s\" before resuming\n",
			    vfm->vf_id, field < ARRAY_SIZE(what) ? what[field] : "differs",
			    here, there, netdev->name, vfm->vf_id, set);
}

static int i40e_vfm_load(struct vfio_pci_core_device *vdev, const void *buf,
			 size_t len)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(&vdev->vdev);
	const struct i40e_vfm_stream *s = buf;
	struct i40e_vfm_state want, have = {};
	enum i40e_vfm_policy field;
	struct net_device *netdev;
	int ret;

	ret = i40e_vfm_decode(buf, len, vfm->pdev->device,
			      pci_physfn(vfm->pdev)->device, &want);
	if (ret == -EAGAIN)
		return ret;
	if (ret == -EPROTONOSUPPORT) {
		dev_err_ratelimited(&vfm->pdev->dev, "migration: refusing a version %u stream: this kernel takes version %d only, which checks the VF configuration instead of applying it; migrate from a source running the same i40e_vf_migration\n",
				    le16_to_cpu(s->version), I40E_VFM_VERSION);
		return -EINVAL;
	}
	if (ret) {
		dev_err_ratelimited(&vfm->pdev->dev, "migration: refusing a stream that is not from an i40e VF of this kind, version %d\n",
				    I40E_VFM_VERSION);
		return ret;
	}

	/* Nothing is applied: a refused stream leaves the VF as it was. */
	rtnl_lock();
	netdev = i40e_vfm_pf_netdev(vfm);
	ret = netdev ? i40e_vfm_read_config(vfm, netdev, &have) : -ENODEV;
	if (!ret && i40e_vfm_check_policy(&want, &have, &field)) {
		i40e_vfm_refuse(vfm, netdev, field, &want, &have);
		ret = -EINVAL;
	} else if (ret) {
		pci_err(vfm->pdev, "migration: cannot read VF %d's configuration from its PF: %d\n",
			vfm->vf_id, ret);
	}
	rtnl_unlock();
	/* -EAGAIN (the PF is busy) would read as "send more data" */
	return ret == -EAGAIN ? -EBUSY : ret;
}

/*
 * A device that is not RUNNING must not change memory after the final copy
 * of it, so while the VF is not RUNNING its bus mastering is off in the
 * device, and when it runs again it is put back as userspace left it.
 * Whether userspace had it on is read from the device: vfio-pci passes
 * userspace's writes of PCI_COMMAND_MASTER to it without updating
 * pdev->is_busmaster.  Userspace may write PCI_COMMAND while the VF is not
 * RUNNING, as QEMU does when it restores the config space of the VF it
 * resumes: i40e_vfm_write() then keeps the new bit for the resume and
 * turns bus mastering off again.  PCI_COMMAND is read and written under
 * memory_lock, as vfio-pci writes it.
 */
static void i40e_vfm_hold_master(struct i40e_vfm *vfm)
{
	u16 cmd;

	lockdep_assert_held_write(&vfm->vdev->memory_lock);
	if (pci_read_config_word(vfm->pdev, PCI_COMMAND, &cmd))
		return;
	vfm->saved_cmd = cmd;
	vfm->quiesced = true;
	if (cmd & PCI_COMMAND_MASTER)
		pci_write_config_word(vfm->pdev, PCI_COMMAND,
				      cmd & ~PCI_COMMAND_MASTER);
}

static void i40e_vfm_quiesce(struct i40e_vfm *vfm)
{
	down_write(&vfm->vdev->memory_lock);
	if (!vfm->quiesced)
		i40e_vfm_hold_master(vfm);
	up_write(&vfm->vdev->memory_lock);
}

static void i40e_vfm_resume(struct i40e_vfm *vfm)
{
	struct vfio_pci_core_device *vdev = vfm->vdev;
	u16 cmd, new;

	down_write(&vdev->memory_lock);
	if (vfm->quiesced &&
	    !pci_read_config_word(vfm->pdev, PCI_COMMAND, &cmd)) {
		new = i40e_vfm_resume_command(vfm->saved_cmd, cmd);
		if (new != cmd)
			pci_write_config_word(vfm->pdev, PCI_COMMAND, new);
	}
	vfm->quiesced = false;
	up_write(&vdev->memory_lock);
}

static int i40e_vfm_set_state(struct vfio_pci_core_device *vdev, u32 old,
			      u32 new)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(&vdev->vdev);

	if (new & VFIO_DEVICE_STATE_V1_RUNNING)
		i40e_vfm_resume(vfm);
	else
		i40e_vfm_quiesce(vfm);
	return 0;
}

static const struct vfio_pci_migration_ops i40e_vfm_migration_ops = {
	.set_state	= i40e_vfm_set_state,
	.save		= i40e_vfm_save,
	.load		= i40e_vfm_load,
};

/*
 * A config space write by userspace that covers PCI_COMMAND while the VF
 * is quiesced: keep its bus mastering bit for the resume, and turn bus
 * mastering off again, which the write may have turned on for a moment.
 */
static ssize_t i40e_vfm_write(struct vfio_device *core_vdev,
			      const char __user *buf, size_t count,
			      loff_t *ppos)
{
	struct i40e_vfm *vfm = vfio_pci_vendor_data(core_vdev);
	unsigned int index = VFIO_PCI_OFFSET_TO_INDEX(*ppos);
	u64 off = *ppos & VFIO_PCI_OFFSET_MASK;
	ssize_t ret;

	ret = vfio_pci_core_write(core_vdev, buf, count, ppos);
	if (ret <= 0 || index != VFIO_PCI_CONFIG_REGION_INDEX ||
	    !i40e_vfm_writes_command(off, ret))
		return ret;

	down_write(&vfm->vdev->memory_lock);
	if (vfm->quiesced)
		i40e_vfm_hold_master(vfm);
	up_write(&vfm->vdev->memory_lock);
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
	vfm->quiesced = false;
	return 0;
}

/* Migration, with both protocols, is set up before the VF is registered. */
static int i40e_vfm_init_dev(struct vfio_device *core_vdev)
{
	struct vfio_pci_core_device *vdev = vfio_pci_core(core_vdev);
	int ret;

	ret = vfio_pci_init_dev(core_vdev);
	if (ret)
		return ret;

	ret = vfio_pci_core_init_migration(vdev, &i40e_vfm_migration_ops,
					   sizeof(struct i40e_vfm_stream));
	if (ret) {
		pci_err(vdev->pdev, "cannot add migration support: %d\n", ret);
		vfio_pci_core_release_dev(core_vdev);
	}
	return ret;
}

static const struct vfio_device_ops i40e_vfm_device_ops = {
	.name		= "vfio-pci",	/* required of vendor ops */
	.init		= i40e_vfm_init_dev,
	.release	= vfio_pci_release_dev,
	.open_device	= i40e_vfm_open_device,
	.close_device	= vfio_pci_core_close_device,
	.ioctl		= vfio_pci_core_ioctl,
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
	.device_feature	= vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= i40e_vfm_write,
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

	vfm = kzalloc_obj(*vfm);
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
