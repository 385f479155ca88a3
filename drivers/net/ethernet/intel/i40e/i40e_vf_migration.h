/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pure parts of the i40e VF migration module, shared with its KUnit tests:
 * the migration stream and the VF BAR0 doorbell map.
 */
#ifndef _I40E_VF_MIGRATION_H_
#define _I40E_VF_MIGRATION_H_

#include <linux/if_ether.h>
#include <linux/types.h>

#define I40E_VFM_VF_DEVICE_ID	0x154c	/* XL710/X710 VF (iavf) */

/* VF BAR0 doorbells (see iavf_register.h): 16 queue pairs at most */
#define I40E_VFM_QTX_TAIL(q)	(0x00000000 + (q) * 4)
#define I40E_VFM_QRX_TAIL(q)	(0x00002000 + (q) * 4)
#define I40E_VFM_MAX_QUEUES	16
#define I40E_VFM_ARQT		0x00007000	/* admin receive queue tail */
#define I40E_VFM_ATQT		0x00008400	/* admin send queue tail */

enum i40e_vfm_reg {
	I40E_VFM_REG_OTHER,
	I40E_VFM_REG_TX_TAIL,
	I40E_VFM_REG_RX_TAIL,
	I40E_VFM_REG_ARQ_TAIL,
	I40E_VFM_REG_ATQ_TAIL,
};

/**
 * struct i40e_vfm_state - what the PF holds for one VF, as migrated
 * @mac: the VF's MAC address, or all zeroes if the PF has none set
 * @vlan: port VLAN ID, 0 for none
 * @qos: its 802.1p priority
 * @vlan_proto: ETH_P_8021Q or ETH_P_8021AD, host order
 * @spoofchk: MAC and VLAN anti-spoof checking
 * @trusted: the VF may set promiscuous mode and more MAC addresses
 * @link_state: IFLA_VF_LINK_STATE_*
 * @min_tx_rate: Mbps, 0 for no minimum
 * @max_tx_rate: Mbps, 0 for no limit
 */
struct i40e_vfm_state {
	u8	mac[ETH_ALEN];
	u16	vlan;
	u8	qos;
	u16	vlan_proto;
	bool	spoofchk;
	bool	trusted;
	u32	link_state;
	u32	min_tx_rate;
	u32	max_tx_rate;
};

/*
 * The migration stream, little endian, 48 bytes:
 *
 *	__le32	magic		I40E_VFM_MAGIC, "i40V"
 *	__le16	version		I40E_VFM_VERSION
 *	__le16	flags		0
 *	__le32	length		sizeof(struct i40e_vfm_stream)
 *	__le16	vf_device	PCI device ID of the VF
 *	__le16	pf_device	PCI device ID of its PF
 *	u8	mac[6]
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
 * A stream is refused (-EINVAL) when its magic, version, flags or length
 * differ, when it comes from a VF or PF of another device ID, when pad
 * or a reserved field is set, or when a value is out of range (VLAN above
 * 4095, priority above 7, a multicast MAC, an unknown link state or VLAN
 * protocol, a minimum rate above the maximum).
 */
#define I40E_VFM_MAGIC		0x56303469	/* "i40V" */
#define I40E_VFM_VERSION	1

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
int i40e_vfm_vf_index(int vf_id, int num_vfs);
enum i40e_vfm_reg i40e_vfm_classify(u64 offset, size_t size,
				    unsigned int *queue);

#endif /* _I40E_VF_MIGRATION_H_ */
