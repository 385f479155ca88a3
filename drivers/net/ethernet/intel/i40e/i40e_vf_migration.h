/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pure parts of the i40e VF migration module, shared with its KUnit tests:
 * the migration stream, the policy check and the bus mastering decision.
 */
#ifndef _I40E_VF_MIGRATION_H_
#define _I40E_VF_MIGRATION_H_

#include <linux/if_ether.h>
#include <linux/types.h>

#define I40E_VFM_VF_DEVICE_ID	0x154c	/* XL710/X710 VF (iavf) */

/**
 * struct i40e_vfm_state - what the PF holds for one VF, as migrated
 * @mac: the VF's MAC address as the PF reports it, or all zeroes
 * @mac_admin: @mac was set by the administrator (ndo_set_vf_mac()), not
 *	by the guest
 * @vlan: port VLAN ID, 0 for none
 * @qos: its 802.1p priority
 * @vlan_proto: ETH_P_8021Q or ETH_P_8021AD, host order
 * @spoofchk: MAC and VLAN anti-spoof checking
 * @trusted: the VF may set promiscuous mode and more MAC addresses
 * @link_state: IFLA_VF_LINK_STATE_*
 * @min_tx_rate: Mbps, 0 for no minimum
 * @max_tx_rate: Mbps, 0 for no limit
 *
 * All of it but a MAC the guest set is the host administrator's policy
 * for the VF.  A stream never changes it: the destination only checks
 * that its own VF has the same (see i40e_vfm_check_policy()).
 */
struct i40e_vfm_state {
	u8	mac[ETH_ALEN];
	bool	mac_admin;
	u16	vlan;
	u8	qos;
	u16	vlan_proto;
	bool	spoofchk;
	bool	trusted;
	u32	link_state;
	u32	min_tx_rate;
	u32	max_tx_rate;
};

/**
 * enum i40e_vfm_policy - which part of a VF's policy differs
 * @I40E_VFM_POLICY_SAME: none
 * @I40E_VFM_POLICY_TRUST: trust
 * @I40E_VFM_POLICY_SPOOFCHK: anti-spoof checking
 * @I40E_VFM_POLICY_VLAN: port VLAN, its priority or protocol
 * @I40E_VFM_POLICY_LINK_STATE: link state
 * @I40E_VFM_POLICY_TX_RATE: minimum or maximum TX rate
 * @I40E_VFM_POLICY_MAC: the MAC address the administrator set, or that
 *	one side has one and the other does not
 * @I40E_VFM_POLICY_OLD_MAC: the destination VF holds a MAC address that
 *	is neither the administrator's nor the migrated guest's, such as
 *	one left by an earlier guest, which the PF would give the guest
 */
enum i40e_vfm_policy {
	I40E_VFM_POLICY_SAME,
	I40E_VFM_POLICY_TRUST,
	I40E_VFM_POLICY_SPOOFCHK,
	I40E_VFM_POLICY_VLAN,
	I40E_VFM_POLICY_LINK_STATE,
	I40E_VFM_POLICY_TX_RATE,
	I40E_VFM_POLICY_MAC,
	I40E_VFM_POLICY_OLD_MAC,
};

/*
 * The migration stream, little endian, 48 bytes:
 *
 *	__le32	magic		I40E_VFM_MAGIC, "i40V"
 *	__le16	version		I40E_VFM_VERSION
 *	__le16	flags		I40E_VFM_FLAG_ADMIN_MAC or 0
 *	__le32	length		sizeof(struct i40e_vfm_stream)
 *	__le16	vf_device	PCI device ID of the VF
 *	__le16	pf_device	PCI device ID of its PF
 *	u8	mac[6]		as the PF reports it; the administrator's
 *				when I40E_VFM_FLAG_ADMIN_MAC is set
 *	__le16	vlan
 *	__be16	vlan_proto	as on the wire
 *	u8	qos
 *	u8	spoofchk	0 or 1
 *	u8	trusted		0 or 1
 *	u8	link_state	IFLA_VF_LINK_STATE_*
 *	__le16	pad		0
 *	__le32	min_tx_rate	Mbps
 *	__le32	max_tx_rate	Mbps
 *	__le32	reserved[2]	0
 *
 * The stream carries the source VF's configuration held by the PF so that
 * the destination can check it, never to apply it: it is written by
 * whoever holds the VF's vfio device, and only the host's administrator
 * may set this configuration.
 *
 * A stream is refused (-EINVAL) when its magic, flags or length differ,
 * when it comes from a VF or PF of another device ID, when pad or a
 * reserved field is set, or when a value is out of range (VLAN above 4095,
 * priority above 7, a multicast MAC, an administrator's MAC that is zero,
 * an unknown link state or VLAN protocol, a minimum rate above the
 * maximum); -EPROTONOSUPPORT when it is of another version.
 *
 * Version 1 had the same layout with flags 0: its configuration was
 * applied to the destination VF and it could not tell the administrator's
 * MAC address from the guest's.  It is refused.
 */
#define I40E_VFM_MAGIC		0x56303469	/* "i40V" */
#define I40E_VFM_VERSION	2
#define I40E_VFM_FLAG_ADMIN_MAC	0x0001

struct i40e_vfm_stream {
	__le32	magic;
	__le16	version;
	__le16	flags;
	__le32	length;
	__le16	vf_device;
	__le16	pf_device;
	u8	mac[ETH_ALEN];
	__le16	vlan;
	__be16	vlan_proto;
	u8	qos;
	u8	spoofchk;
	u8	trusted;
	u8	link_state;
	__le16	pad;
	__le32	min_tx_rate;
	__le32	max_tx_rate;
	__le32	reserved[2];
};

ssize_t i40e_vfm_encode(const struct i40e_vfm_state *st, u16 vf_device,
			u16 pf_device, void *buf, size_t size);
int i40e_vfm_decode(const void *buf, size_t len, u16 vf_device,
		    u16 pf_device, struct i40e_vfm_state *st);
int i40e_vfm_check_policy(const struct i40e_vfm_state *want,
			  const struct i40e_vfm_state *have,
			  enum i40e_vfm_policy *field);
int i40e_vfm_vf_index(int vf_id, int num_vfs);
u16 i40e_vfm_resume_command(u16 saved, u16 cur);
bool i40e_vfm_writes_command(u64 offset, size_t count);

#endif /* _I40E_VF_MIGRATION_H_ */
