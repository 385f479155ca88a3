// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for the i40e VF migration module's pure logic: the stream's
 * encoding, every reason to refuse one and 12,000 mutated streams, the
 * check of the destination VF's policy against the stream's, the VF number
 * bounds and the bus mastering decision.  No hardware needed; loading the module runs them.
 */

#include <kunit/test.h>
#include <kunit/visibility.h>
#include <linux/etherdevice.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/module.h>
#include <linux/pci_regs.h>
#include <linux/prandom.h>

#include "i40e_vf_migration.h"

#define VF_DEV	0x154c
#define PF_DEV	0x1583

static const struct i40e_vfm_state sample_state = {
	.mac		= { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
	.mac_admin	= true,
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
	KUNIT_EXPECT_EQ(test, le16_to_cpu(s.version), 2);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(s.flags), I40E_VFM_FLAG_ADMIN_MAC);
	KUNIT_EXPECT_MEMEQ(test, st.mac, sample_state.mac, ETH_ALEN);
	KUNIT_EXPECT_TRUE(test, st.mac_admin);
	KUNIT_EXPECT_EQ(test, st.vlan, sample_state.vlan);
	KUNIT_EXPECT_EQ(test, st.qos, sample_state.qos);
	KUNIT_EXPECT_EQ(test, st.vlan_proto, sample_state.vlan_proto);
	KUNIT_EXPECT_EQ(test, st.spoofchk, sample_state.spoofchk);
	KUNIT_EXPECT_EQ(test, st.trusted, sample_state.trusted);
	KUNIT_EXPECT_EQ(test, st.link_state, sample_state.link_state);
	KUNIT_EXPECT_EQ(test, st.min_tx_rate, sample_state.min_tx_rate);
	KUNIT_EXPECT_EQ(test, st.max_tx_rate, sample_state.max_tx_rate);
}

/* A MAC address the guest set travels without the administrator's flag. */
static void encode_decode_guest_mac(struct kunit *test)
{
	struct i40e_vfm_state guest = sample_state, st;
	struct i40e_vfm_stream s;

	guest.mac_admin = false;
	KUNIT_ASSERT_EQ(test, i40e_vfm_encode(&guest, VF_DEV, PF_DEV, &s,
					      sizeof(s)), (ssize_t)sizeof(s));
	KUNIT_EXPECT_EQ(test, le16_to_cpu(s.flags), 0);
	KUNIT_ASSERT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), 0);
	KUNIT_EXPECT_FALSE(test, st.mac_admin);
	KUNIT_EXPECT_MEMEQ(test, st.mac, guest.mac, ETH_ALEN);
}

/* A version 2 stream, byte by byte, as the layout comment has it. */
static void decode_version_2(struct kunit *test)
{
	static const u8 v2[48] __aligned(4) = {
		0x69, 0x34, 0x30, 0x56,			/* magic "i40V" */
		0x02, 0x00,				/* version 2 */
		0x01, 0x00,				/* ADMIN_MAC */
		0x30, 0x00, 0x00, 0x00,			/* length 48 */
		0x4c, 0x15,				/* VF device */
		0x83, 0x15,				/* PF device */
		0x02, 0x11, 0x22, 0x33, 0x44, 0x55,	/* MAC */
		0x64, 0x00,				/* VLAN 100 */
		0x81, 0x00,				/* 802.1Q */
		0x03, 0x01, 0x00, 0x01,			/* qos, spoofchk, */
							/* trusted, link */
		0x00, 0x00,				/* pad */
		0x00, 0x00, 0x00, 0x00,			/* min rate */
		0xe8, 0x03, 0x00, 0x00,			/* max rate 1000 */
	};
	struct i40e_vfm_state st;

	KUNIT_ASSERT_EQ(test, i40e_vfm_decode(v2, sizeof(v2), VF_DEV, PF_DEV,
					      &st), 0);
	KUNIT_EXPECT_MEMEQ(test, st.mac, sample_state.mac, ETH_ALEN);
	KUNIT_EXPECT_TRUE(test, st.mac_admin);
	KUNIT_EXPECT_EQ(test, st.vlan, 100);
	KUNIT_EXPECT_EQ(test, st.vlan_proto, ETH_P_8021Q);
	KUNIT_EXPECT_EQ(test, st.qos, 3);
	KUNIT_EXPECT_TRUE(test, st.spoofchk);
	KUNIT_EXPECT_FALSE(test, st.trusted);
	KUNIT_EXPECT_EQ(test, st.link_state, IFLA_VF_LINK_STATE_ENABLE);
	KUNIT_EXPECT_EQ(test, st.min_tx_rate, 0);
	KUNIT_EXPECT_EQ(test, st.max_tx_rate, 1000);
}

/*
 * Version 1 had the same layout but was applied to the destination VF:
 * even a well-formed one is refused, as is any other version.
 */
static void decode_refuses_other_versions(struct kunit *test)
{
	struct i40e_vfm_state guest = sample_state, st;
	struct i40e_vfm_stream s;

	guest.mac_admin = false;	/* flags 0, as version 1 had */
	i40e_vfm_encode(&guest, VF_DEV, PF_DEV, &s, sizeof(s));
	KUNIT_ASSERT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), 0);

	s.version = cpu_to_le16(1);
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), -EPROTONOSUPPORT);
	/* As soon as the header is there */
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(&s, 12, VF_DEV, PF_DEV, &st),
			-EPROTONOSUPPORT);
	s.version = cpu_to_le16(3);
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), -EPROTONOSUPPORT);
	s.version = 0;
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), -EPROTONOSUPPORT);
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

	for (i = 0; i < 18; i++) {
		s = good;
		switch (i) {
		case 0:
			s.magic = cpu_to_le32(I40E_VFM_MAGIC + 1);
			break;
		case 1:
			s.flags = cpu_to_le16(I40E_VFM_FLAG_ADMIN_MAC << 1);
			break;
		case 2:
			s.flags = cpu_to_le16(0x8000);
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
		case 17:
			/* the administrator's MAC cannot be none */
			memset(s.mac, 0, ETH_ALEN);
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

	/* No MAC at all, when it is not the administrator's */
	s = good;
	s.flags = 0;
	memset(s.mac, 0, ETH_ALEN);
	KUNIT_EXPECT_EQ(test, i40e_vfm_decode(&s, sizeof(s), VF_DEV, PF_DEV,
					      &st), 0);
}

static void policy_equal_passes(struct kunit *test)
{
	struct i40e_vfm_state want = sample_state, have = sample_state;
	enum i40e_vfm_policy field = I40E_VFM_POLICY_OLD_MAC;

	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field), 0);
	KUNIT_EXPECT_EQ(test, field, I40E_VFM_POLICY_SAME);

	/* Without a port VLAN, its protocol does not matter */
	want.vlan = 0;
	want.qos = 0;
	have.vlan = 0;
	have.qos = 0;
	have.vlan_proto = ETH_P_8021AD;
	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field), 0);
}

/* Each part of the policy that differs refuses the stream, and says so. */
static void policy_mismatch_refused(struct kunit *test)
{
	static const struct {
		const char *name;
		enum i40e_vfm_policy field;
	} cases[] = {
		{ "trust",		I40E_VFM_POLICY_TRUST },
		{ "spoofchk",		I40E_VFM_POLICY_SPOOFCHK },
		{ "vlan",		I40E_VFM_POLICY_VLAN },
		{ "qos",		I40E_VFM_POLICY_VLAN },
		{ "vlan_proto",		I40E_VFM_POLICY_VLAN },
		{ "link_state",		I40E_VFM_POLICY_LINK_STATE },
		{ "min_tx_rate",	I40E_VFM_POLICY_TX_RATE },
		{ "max_tx_rate",	I40E_VFM_POLICY_TX_RATE },
		{ "admin MAC",		I40E_VFM_POLICY_MAC },
		{ "no admin MAC",	I40E_VFM_POLICY_MAC },
	};
	enum i40e_vfm_policy field;
	struct i40e_vfm_state have;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		have = sample_state;
		switch (i) {
		case 0:
			have.trusted = !have.trusted;
			break;
		case 1:
			have.spoofchk = !have.spoofchk;
			break;
		case 2:
			have.vlan = 0;
			break;
		case 3:
			have.qos = 0;
			break;
		case 4:
			have.vlan_proto = ETH_P_8021AD;
			break;
		case 5:
			have.link_state = IFLA_VF_LINK_STATE_AUTO;
			break;
		case 6:
			have.min_tx_rate = 0;
			break;
		case 7:
			have.max_tx_rate = 0;
			break;
		case 8:
			have.mac[5] ^= 1;
			break;
		case 9:
			have.mac_admin = false;
			break;
		}
		field = I40E_VFM_POLICY_SAME;
		KUNIT_EXPECT_EQ_MSG(test, i40e_vfm_check_policy(&sample_state,
								&have, &field),
				    -EINVAL, "%s", cases[i].name);
		KUNIT_EXPECT_EQ_MSG(test, field, cases[i].field, "%s",
				    cases[i].name);
	}
}

/*
 * A MAC address the guest set is not policy: not compared with the
 * destination's, which may have none or the same one.
 */
static void policy_guest_mac_not_compared(struct kunit *test)
{
	struct i40e_vfm_state want = sample_state, have = sample_state;
	enum i40e_vfm_policy field;

	want.mac_admin = false;
	have.mac_admin = false;
	memset(have.mac, 0, ETH_ALEN);
	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field), 0);
	KUNIT_EXPECT_EQ(test, field, I40E_VFM_POLICY_SAME);

	ether_addr_copy(have.mac, want.mac);
	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field), 0);

	/* Another guest's MAC left on the VF would be given to this guest */
	have.mac[5] ^= 1;
	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, field, I40E_VFM_POLICY_OLD_MAC);
}

/* The administrator's MAC address is policy, on either side. */
static void policy_admin_mac_compared(struct kunit *test)
{
	struct i40e_vfm_state want = sample_state, have = sample_state;
	enum i40e_vfm_policy field;

	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field), 0);

	/* The same address, but set by the administrator only here */
	want.mac_admin = false;
	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, field, I40E_VFM_POLICY_MAC);

	/* Set by the administrator there only */
	want.mac_admin = true;
	have.mac_admin = false;
	memset(have.mac, 0, ETH_ALEN);
	KUNIT_EXPECT_EQ(test, i40e_vfm_check_policy(&want, &have, &field),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, field, I40E_VFM_POLICY_MAC);
}

static void vf_index_bounds(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(0, 1), 0);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(127, 128), 127);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(128, 128), -ENODEV);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(0, 0), -ENODEV);
	KUNIT_EXPECT_EQ(test, i40e_vfm_vf_index(-EINVAL, 4), -ENODEV);
}

/* Bus mastering as it was when the VF stopped; other bits as they are */
static void bme_resume_command(struct kunit *test)
{
	const u16 bme = PCI_COMMAND_MASTER;
	const u16 mem = PCI_COMMAND_MEMORY;

	/* On before the stop, turned off by the module: on again */
	KUNIT_EXPECT_EQ(test, i40e_vfm_resume_command(mem | bme, mem),
			mem | bme);
	/* Off before the stop: stays off */
	KUNIT_EXPECT_EQ(test, i40e_vfm_resume_command(mem, mem), mem);
	KUNIT_EXPECT_EQ(test, i40e_vfm_resume_command(0, 0), 0);
	/* Turned off by userspace while stopped: off */
	KUNIT_EXPECT_EQ(test, i40e_vfm_resume_command(0, bme | mem), mem);
	/* Only bus mastering comes from the saved word */
	KUNIT_EXPECT_EQ(test,
			i40e_vfm_resume_command(bme | PCI_COMMAND_INTX_DISABLE |
						PCI_COMMAND_SERR,
						mem | PCI_COMMAND_PARITY),
			mem | PCI_COMMAND_PARITY | bme);
	KUNIT_EXPECT_EQ(test, i40e_vfm_resume_command(0xffff & ~bme, 0), 0);
	KUNIT_EXPECT_EQ(test, i40e_vfm_resume_command(bme, 0xffff & ~bme),
			0xffff);
}

/* Which config space writes may change bus mastering */
static void bme_writes_command(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, i40e_vfm_writes_command(PCI_COMMAND, 2));
	KUNIT_EXPECT_TRUE(test, i40e_vfm_writes_command(PCI_COMMAND, 1));
	KUNIT_EXPECT_TRUE(test, i40e_vfm_writes_command(PCI_VENDOR_ID, 8));
	KUNIT_EXPECT_TRUE(test, i40e_vfm_writes_command(PCI_VENDOR_ID, 256));
	KUNIT_EXPECT_TRUE(test, i40e_vfm_writes_command(3, 2));
	KUNIT_EXPECT_FALSE(test, i40e_vfm_writes_command(PCI_VENDOR_ID, 4));
	KUNIT_EXPECT_FALSE(test, i40e_vfm_writes_command(PCI_COMMAND + 1, 1));
	KUNIT_EXPECT_FALSE(test, i40e_vfm_writes_command(PCI_STATUS, 2));
	KUNIT_EXPECT_FALSE(test, i40e_vfm_writes_command(PCI_COMMAND, 0));
}

#define FUZZ_SEED	0x1e40f0cc5eedULL
#define FUZZ_STREAMS	12000

/* One mutation of @s, in @buf; returns the length to decode */
static size_t fuzz_mutate(struct rnd_state *rnd, u8 *buf, size_t room,
			  const struct i40e_vfm_stream *s)
{
	struct i40e_vfm_stream *m = (void *)buf;
	static const u32 lengths[] = { 0, 1, sizeof(*s) - 1, sizeof(*s) + 1,
				       S32_MAX, U32_MAX };
	size_t len = sizeof(*s);
	unsigned int i, n;

	memcpy(buf, s, sizeof(*s));
	switch (prandom_u32_state(rnd) % 6) {
	case 0:		/* bit flips */
		n = 1 + prandom_u32_state(rnd) % 4;
		for (i = 0; i < n; i++) {
			u32 bit = prandom_u32_state(rnd) % (sizeof(*s) * 8);

			buf[bit / 8] ^= BIT(bit % 8);
		}
		break;
	case 1:		/* truncated */
		len = prandom_u32_state(rnd) % sizeof(*s);
		break;
	case 2:		/* extended */
		n = 1 + prandom_u32_state(rnd) % (room - sizeof(*s));
		prandom_bytes_state(rnd, buf + sizeof(*s), n);
		len += n;
		break;
	case 3:		/* the length field at its limits */
		m->length = cpu_to_le32(lengths[prandom_u32_state(rnd) %
						ARRAY_SIZE(lengths)]);
		break;
	case 4:		/* another device's stream */
		m->vf_device = cpu_to_le16(prandom_u32_state(rnd));
		if (prandom_u32_state(rnd) & 1)
			m->pf_device = cpu_to_le16(prandom_u32_state(rnd));
		break;
	default:	/* a random byte, anywhere */
		buf[prandom_u32_state(rnd) % sizeof(*s)] = prandom_u32_state(rnd);
		break;
	}
	return len;
}

/*
 * Mutated streams, reproducible from FUZZ_SEED: each is refused with one
 * of the decoder's errors, or is a valid stream: encoding what it decoded
 * gives it back byte for byte, so the state restored is a valid stream's.
 */
static void decode_fuzz(struct kunit *test)
{
	u8 buf[sizeof(struct i40e_vfm_stream) + 16] __aligned(8);
	unsigned int i, accepted = 0, refused = 0;
	struct i40e_vfm_stream good, again;
	struct rnd_state rnd;
	struct i40e_vfm_state st;
	size_t len;
	int ret;

	KUNIT_ASSERT_EQ(test, i40e_vfm_encode(&sample_state, VF_DEV, PF_DEV,
					      &good, sizeof(good)),
			(ssize_t)sizeof(good));
	prandom_seed_state(&rnd, FUZZ_SEED);

	for (i = 0; i < FUZZ_STREAMS; i++) {
		len = fuzz_mutate(&rnd, buf, sizeof(buf), &good);
		memset(&st, 0xa5, sizeof(st));
		ret = i40e_vfm_decode(buf, len, VF_DEV, PF_DEV, &st);
		if (ret == -EINVAL || ret == -EAGAIN ||
		    ret == -EPROTONOSUPPORT) {
			refused++;
			continue;
		}
		if (ret) {
			KUNIT_FAIL(test, "seed %#llx stream %u (%zu bytes): error %d",
				   FUZZ_SEED, i, len, ret);
			return;
		}
		accepted++;
		if (len != sizeof(good) ||
		    i40e_vfm_encode(&st, VF_DEV, PF_DEV, &again,
				    sizeof(again)) != sizeof(again) ||
		    memcmp(&again, buf, sizeof(again))) {
			KUNIT_FAIL(test,
				   "seed %#llx stream %u (%zu bytes): accepted, but not a valid stream's encoding",
				   FUZZ_SEED, i, len);
			return;
		}
	}
	kunit_info(test, "seed %#llx: %u streams, %u accepted, %u refused\n",
		   FUZZ_SEED, FUZZ_STREAMS, accepted, refused);
	KUNIT_EXPECT_GT(test, refused, FUZZ_STREAMS / 2);
}

static struct kunit_case i40e_vfm_test_cases[] = {
	KUNIT_CASE(encode_decode_round_trip),
	KUNIT_CASE(encode_decode_guest_mac),
	KUNIT_CASE(encode_needs_room),
	KUNIT_CASE(decode_version_2),
	KUNIT_CASE(decode_refuses_other_versions),
	KUNIT_CASE(decode_partial),
	KUNIT_CASE(decode_refuses),
	KUNIT_CASE(decode_fuzz),
	KUNIT_CASE(policy_equal_passes),
	KUNIT_CASE(policy_mismatch_refused),
	KUNIT_CASE(policy_guest_mac_not_compared),
	KUNIT_CASE(policy_admin_mac_compared),
	KUNIT_CASE(vf_index_bounds),
	KUNIT_CASE(bme_resume_command),
	KUNIT_CASE(bme_writes_command),
	{}
};

static struct kunit_suite i40e_vfm_test_suite = {
	.name = "i40e_vf_migration",
	.test_cases = i40e_vfm_test_cases,
};

kunit_test_suite(i40e_vfm_test_suite);

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the i40e VF migration module");
