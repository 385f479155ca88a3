// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the i40e VF migration module's pure logic: the stream's
 * encoding and every reason to refuse one, the VF number bounds and the
 * doorbell map.  No hardware needed; loading the module runs them.
 */

#include <kunit/test.h>
#include <kunit/visibility.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/module.h>

#include "i40e_vf_migration.h"

#define VF_DEV	0x154c
#define PF_DEV	0x1583

static const struct i40e_vfm_state sample_state = {
	.mac		= { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
	.vlan		= 100,
	.qos		= 3,
	.vlan_proto	= ETH_P_8021Q,
	.spoofchk	= true,
	.trusted	= false,
	.link_state	= IFLA_VF_LINK_STATE_ENABLE,
	.min_tx_rate	= 100,
	.max_tx_rate	= 1000,
};

static void encode_decode_round_trip(struct kunit *test)
{
	struct i40e_vfm_stream s;
	struct i40e_vfm_state st;

	KUNIT_ASSERT_EQ(test, i40e_vfm_encode(&sample_state, VF_DEV, PF_DEV,
					      &s, sizeof(s)), (ssize_t)sizeof(s));
	KUNIT_ASSERT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), 0);
	KUNIT_EXPECT_MEMEQ(test, st.mac, sample_state.mac, ETH_ALEN);
	KUNIT_EXPECT_EQ(test, st.vlan, sample_state.vlan);
	KUNIT_EXPECT_EQ(test, st.qos, sample_state.qos);
	KUNIT_EXPECT_EQ(test, st.vlan_proto, sample_state.vlan_proto);
	KUNIT_EXPECT_EQ(test, st.spoofchk, sample_state.spoofchk);
	KUNIT_EXPECT_EQ(test, st.trusted, sample_state.trusted);
	KUNIT_EXPECT_EQ(test, st.link_state, sample_state.link_state);
	KUNIT_EXPECT_EQ(test, st.min_tx_rate, sample_state.min_tx_rate);
	KUNIT_EXPECT_EQ(test, st.max_tx_rate, sample_state.max_tx_rate);
}

static void encode_needs_room(struct kunit *test)
{
	struct i40e_vfm_stream s;

	KUNIT_EXPECT_EQ(test, i40e_vfm_encode(&sample_state, VF_DEV, PF_DEV,
					      &s, sizeof(s) - 1), -ENOSPC);
	KUNIT_EXPECT_EQ(test, i40e_vfm_encode(&sample_state, VF_DEV, PF_DEV,
					      &s, 0), -ENOSPC);
}

/* A short stream asks for more, whatever its length, until it is whole. */
static void decode_partial(struct kunit *test)
{
	struct i40e_vfm_stream s;
	struct i40e_vfm_state st;
	size_t len;

	i40e_vfm_encode(&sample_state, VF_DEV, PF_DEV, &s, sizeof(s));
	for (len = 0; len < sizeof(s); len++)
		KUNIT_EXPECT_EQ_MSG(test, i40e_vfm_decode(&s, len, VF_DEV,
							  PF_DEV, &st),
				    -EAGAIN, "length %zu", len);

	/* A bad header is refused as soon as it is there */
	s.magic = 0;
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(&s, 12, VF_DEV, PF_DEV, &st),
			-EINVAL);
}

static void decode_refuses(struct kunit *test)
{
	struct i40e_vfm_stream good, s;
	struct i40e_vfm_state st;
	u8 big[sizeof(good) + 4] = {};
	int i;

	i40e_vfm_encode(&sample_state, VF_DEV, PF_DEV, &good, sizeof(good));

	for (i = 0; i < 17; i++) {
		s = good;
		switch (i) {
		case 0:
			s.magic = cpu_to_le32(I40E_VFM_MAGIC + 1);
			break;
		case 1:
			s.version = cpu_to_le16(I40E_VFM_VERSION + 1);
			break;
		case 2:
			s.flags = cpu_to_le16(1);
			break;
		case 3:
			s.length = cpu_to_le32(sizeof(s) + 1);
			break;
		case 4:
			s.vf_device = cpu_to_le16(VF_DEV + 1);
			break;
		case 5:
			s.pf_device = cpu_to_le16(PF_DEV + 1);
			break;
		case 6:
			s.reserved[1] = cpu_to_le32(1);
			break;
		case 7:
			s.pad = cpu_to_le16(1);
			break;
		case 8:
			s.vlan = cpu_to_le16(VLAN_N_VID);
			break;
		case 9:
			s.qos = 8;
			break;
		case 10:
			s.vlan_proto = htons(ETH_P_IP);
			break;
		case 11:
			s.spoofchk = 2;
			break;
		case 12:
			s.trusted = 2;
			break;
		case 13:
			s.link_state = IFLA_VF_LINK_STATE_DISABLE + 1;
			break;
		case 14:
			s.mac[0] |= 0x01;	/* multicast */
			break;
		case 15:
			s.min_tx_rate = cpu_to_le32(2000);
			break;
		case 16:
			s.length = cpu_to_le32(sizeof(s) - 1);
			break;
		}
		KUNIT_EXPECT_EQ_MSG(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV,
							  PF_DEV, &st),
				    -EINVAL, "case %d", i);
	}

	/* Bytes past the stream */
	memcpy(big, &good, sizeof(good));
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(big, sizeof(big), VF_DEV, PF_DEV,
					      &st), -EINVAL);

	/* No maximum rate: any minimum */
	s = good;
	s.max_tx_rate = 0;
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), 0);
}

static void vf_index_bounds(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(0, 1), 0);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(127, 128), 127);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(128, 128), -ENODEV);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(0, 0), -ENODEV);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(-EINVAL, 4), -ENODEV);
}

static void doorbell_map(struct kunit *test)
{
	unsigned int q = ~0U;

	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_QTX_TAIL(0), 4, &q),
			I40E_VFM_REG_TX_TAIL);
	KUNIT_EXPECT_EQ(test, q, 0U);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_QTX_TAIL(15), 4, &q),
			I40E_VFM_REG_TX_TAIL);
	KUNIT_EXPECT_EQ(test, q, 15U);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_QTX_TAIL(16), 4, &q),
			I40E_VFM_REG_OTHER);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_QRX_TAIL(7), 4, &q),
			I40E_VFM_REG_RX_TAIL);
	KUNIT_EXPECT_EQ(test, q, 7U);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_QRX_TAIL(16), 4, &q),
			I40E_VFM_REG_OTHER);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_ARQT, 4, &q),
			I40E_VFM_REG_ARQ_TAIL);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_ATQT, 4, &q),
			I40E_VFM_REG_ATQ_TAIL);
	/* Not whole or not aligned: no doorbell */
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_ARQT, 2, &q),
			I40E_VFM_REG_OTHER);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_ARQT, 8, &q),
			I40E_VFM_REG_OTHER);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(I40E_VFM_QRX_TAIL(1) + 2, 4, &q),
			I40E_VFM_REG_OTHER);
	KUNIT_EXPECT_EQ(test, i40e_vfm_classify(0x10000, 4, &q),
			I40E_VFM_REG_OTHER);
}

static struct kunit_case i40e_vfm_test_cases[] = {
	KUNIT_CASE(encode_decode_round_trip),
	KUNIT_CASE(encode_needs_room),
	KUNIT_CASE(decode_partial),
	KUNIT_CASE(decode_refuses),
	KUNIT_CASE(vf_index_bounds),
	KUNIT_CASE(doorbell_map),
	{}
};

static struct kunit_suite i40e_vfm_test_suite = {
	.name = "i40e_vf_migration",
	.test_cases = i40e_vfm_test_cases,
};

kunit_test_suite(i40e_vfm_test_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the i40e VF migration module");
