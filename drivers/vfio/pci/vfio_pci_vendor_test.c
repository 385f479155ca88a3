// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for vfio-pci vendor ops: registration checks, the choice of
 * a vendor for a device and the module references that go with it, and the
 * bounds of vfio_pci_get_barmap() and device-specific interrupts.
 *
 * The fake vendors are owned by this test module, so the module's own
 * reference count shows whether vfio-pci took and dropped its references.
 * They go on a list of the test's own, never on vfio-pci's, so that a
 * device bound while the tests run is not offered to them.
 */

#include <kunit/test.h>
#include <kunit/visibility.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/vfio_pci_core.h>
#include <linux/vfio_pci_vendor.h>

#include "vfio_pci_priv.h"
#include "vfio_pci_vendor.h"

#define TEST_REQUIRED_OPS						\
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,		\
	.match_token_uuid = vfio_pci_core_match_token_uuid,		\
	.bind_iommufd	= vfio_iommufd_physical_bind,			\
	.unbind_iommufd	= vfio_iommufd_physical_unbind,			\
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,		\
	.detach_ioas	= vfio_iommufd_physical_detach_ioas

static const struct vfio_device_ops test_device_ops = {
	.name		= "vfio-pci",
	.init		= vfio_pci_init_dev,
	.release	= vfio_pci_release_dev,
	TEST_REQUIRED_OPS,
};

static const struct vfio_device_ops test_device_ops_no_init = {
	.name		= "vfio-pci",
	.release	= vfio_pci_release_dev,
	TEST_REQUIRED_OPS,
};

/* A release in the vendor could not drop the vendor module's reference. */
static const struct vfio_device_ops test_device_ops_own_release = {
	.name		= "vfio-pci",
	.init		= vfio_pci_init_dev,
	.release	= vfio_pci_core_release_dev,
	TEST_REQUIRED_OPS,
};

static struct vfio_pci_vendor_list test_list;

/* What each fake vendor's probe returns, and how often it was called. */
struct test_vendor {
	struct vfio_pci_vendor_driver_ops	ops;
	void					*ret;
	int					probed;
	int					removed;
};

static struct test_vendor vendors[3];

static void *test_probe(struct pci_dev *pdev, int i)
{
	vendors[i].probed++;
	return vendors[i].ret;
}

static void *test_probe0(struct pci_dev *pdev)
{
	return test_probe(pdev, 0);
}

static void *test_probe1(struct pci_dev *pdev)
{
	return test_probe(pdev, 1);
}

static void *test_probe2(struct pci_dev *pdev)
{
	return test_probe(pdev, 2);
}

static void test_remove(void *data)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vendors); i++)
		if (vendors[i].ret == data)
			vendors[i].removed++;
}

static void *(*const test_probes[])(struct pci_dev *) = {
	test_probe0, test_probe1, test_probe2,
};

static const char *const test_names[] = {
	"kunit-vendor-a", "kunit-vendor-b", "kunit-vendor-c",
};

static int vendor_test_init(struct kunit *test)
{
	int i;

	INIT_LIST_HEAD(&test_list.vendors);
	mutex_init(&test_list.lock);

	memset(vendors, 0, sizeof(vendors));
	for (i = 0; i < ARRAY_SIZE(vendors); i++) {
		vendors[i].ops.name = test_names[i];
		vendors[i].ops.probe = test_probes[i];
		vendors[i].ops.remove = test_remove;
		vendors[i].ops.device_ops = &test_device_ops;
		vendors[i].ret = ERR_PTR(-ENODEV);
	}
	return 0;
}

static struct pci_dev *fake_pdev(struct kunit *test)
{
	struct pci_dev *pdev = kunit_kzalloc(test, sizeof(*pdev), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	/* An ID no module claims, so the module request finds nothing. */
	pdev->vendor = 0xffff;
	pdev->device = 0x0001;
	return pdev;
}

static int test_register(struct vfio_pci_vendor_driver_ops *ops)
{
	return vfio_pci_vendor_list_add(&test_list, ops, THIS_MODULE);
}

static const struct vfio_pci_vendor_driver_ops *
test_choose(struct pci_dev *pdev, void **data)
{
	return vfio_pci_vendor_choose(&test_list, pdev, data);
}

static void unregister_action(void *ops)
{
	vfio_pci_vendor_list_del(&test_list, ops);
}

/*
 * Register the first @n fake vendors.  Each is unregistered when the test
 * ends, even when it ends early on a failed assertion, or by
 * unregister_all().
 */
static void register_all(struct kunit *test, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct vfio_pci_vendor_driver_ops *ops = &vendors[i].ops;

		KUNIT_ASSERT_EQ(test, test_register(ops), 0);
		KUNIT_ASSERT_EQ(test,
				kunit_add_action_or_reset(test, unregister_action, ops),
				0);
	}
}

static void unregister_all(struct kunit *test, int n)
{
	int i;

	for (i = 0; i < n; i++)
		kunit_release_action(test, unregister_action, &vendors[i].ops);
}

/* vfio_pci_core_match() would call a NULL .match_token_uuid */
static const struct vfio_device_ops test_device_ops_no_token = {
	.name		= "vfio-pci",
	.init		= vfio_pci_init_dev,
	.release	= vfio_pci_release_dev,
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
};

/* vfio core would answer no VFIO_DEVICE_GET_REGION_INFO */
static const struct vfio_device_ops test_device_ops_no_region_info = {
	.name		= "vfio-pci",
	.init		= vfio_pci_init_dev,
	.release	= vfio_pci_release_dev,
	.match_token_uuid = vfio_pci_core_match_token_uuid,
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
};

static const struct vfio_device_ops test_device_ops_misnamed = {
	.name		= "vfio-pci-vendor-test",
	.init		= vfio_pci_init_dev,
	.release	= vfio_pci_release_dev,
	TEST_REQUIRED_OPS,
};

static void vendor_register_checks_ops(struct kunit *test)
{
	static const char long_name[] =
		"kunit-vendor-with-a-name-too-long-for-the-capability-userspace-sees";
	struct vfio_pci_vendor_driver_ops ops = vendors[0].ops;

	KUNIT_ASSERT_GE(test, sizeof(long_name), VFIO_PCI_VENDOR_NAME_MAX + 1);

	KUNIT_EXPECT_EQ(test, vfio_pci_register_vendor_driver(NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, test_register(NULL), -EINVAL);

	ops.name = NULL;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.probe = NULL;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.remove = NULL;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.device_ops = NULL;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.device_ops = &test_device_ops_no_init;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.device_ops = &test_device_ops_misnamed;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.device_ops = &test_device_ops_own_release;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.device_ops = &test_device_ops_no_token;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.device_ops = &test_device_ops_no_region_info;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
	ops = vendors[0].ops;
	ops.name = long_name;
	KUNIT_EXPECT_EQ(test, test_register(&ops), -EINVAL);
}

static void vendor_register_twice(struct kunit *test)
{
	struct vfio_pci_vendor_driver_ops same_name = vendors[1].ops;

	same_name.name = vendors[0].ops.name;
	register_all(test, 1);
	KUNIT_EXPECT_EQ(test, test_register(&vendors[0].ops), -EEXIST);
	KUNIT_EXPECT_EQ(test, test_register(&same_name), -EEXIST);
	unregister_all(test, 1);

	/* Unregistered, it can come back. */
	register_all(test, 1);
	KUNIT_EXPECT_PTR_EQ(test, vendors[0].ops.owner, THIS_MODULE);
	unregister_all(test, 1);
}

static void vendor_probe_first_accepting(struct kunit *test)
{
	const struct vfio_pci_vendor_driver_ops *got;
	struct pci_dev *pdev = fake_pdev(test);
	int refs = module_refcount(THIS_MODULE);
	void *data = NULL;

	vendors[1].ret = &vendors[1];
	vendors[2].ret = &vendors[2];
	register_all(test, 3);

	got = test_choose(pdev, &data);
	KUNIT_EXPECT_PTR_EQ(test, got, &vendors[1].ops);
	KUNIT_EXPECT_PTR_EQ(test, data, (void *)&vendors[1]);
	KUNIT_EXPECT_EQ(test, vendors[0].probed, 1);
	KUNIT_EXPECT_EQ(test, vendors[1].probed, 1);
	KUNIT_EXPECT_EQ(test, vendors[2].probed, 0);
	/* The chosen vendor's module is pinned, once. */
	KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), refs + 1);

	vfio_pci_vendor_release(got, data);
	KUNIT_EXPECT_EQ(test, vendors[1].removed, 1);
	KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), refs);
	unregister_all(test, 3);
}

static void vendor_probe_failure_falls_through(struct kunit *test)
{
	const struct vfio_pci_vendor_driver_ops *got;
	struct pci_dev *pdev = fake_pdev(test);
	int refs = module_refcount(THIS_MODULE);
	void *data = NULL;

	vendors[0].ret = ERR_PTR(-EIO);
	vendors[1].ret = ERR_PTR(-ENOMEM);
	register_all(test, 2);

	got = test_choose(pdev, &data);
	KUNIT_EXPECT_NULL(test, got);
	KUNIT_EXPECT_NULL(test, data);
	KUNIT_EXPECT_EQ(test, vendors[0].probed, 1);
	KUNIT_EXPECT_EQ(test, vendors[1].probed, 1);
	/* Failed probes leak no reference and are not removed. */
	KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), refs);
	KUNIT_EXPECT_EQ(test, vendors[0].removed + vendors[1].removed, 0);

	vfio_pci_vendor_release(got, data);
	KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), refs);
	unregister_all(test, 2);
}

static void vendor_probe_null_data(struct kunit *test)
{
	const struct vfio_pci_vendor_driver_ops *got;
	struct pci_dev *pdev = fake_pdev(test);
	void *data = &data;

	vendors[0].ret = NULL;
	register_all(test, 1);
	got = test_choose(pdev, &data);
	KUNIT_EXPECT_PTR_EQ(test, got, &vendors[0].ops);
	KUNIT_EXPECT_NULL(test, data);
	vfio_pci_vendor_release(got, data);
	unregister_all(test, 1);
}

static void vendor_probe_unregistered(struct kunit *test)
{
	struct pci_dev *pdev = fake_pdev(test);
	void *data = NULL;

	vendors[0].ret = &vendors[0];
	register_all(test, 1);
	unregister_all(test, 1);
	KUNIT_EXPECT_NULL(test, test_choose(pdev, &data));
	KUNIT_EXPECT_EQ(test, vendors[0].probed, 0);
}

/*
 * The fake vendors are on the test's list only: vfio-pci's own choice, as
 * made for a device being bound, never offers them a device.
 */
static void vendor_list_is_private(struct kunit *test)
{
	const struct vfio_pci_vendor_driver_ops *got;
	struct pci_dev *pdev = fake_pdev(test);
	void *data = NULL;

	vendors[0].ret = &vendors[0];
	register_all(test, 1);
	got = vfio_pci_vendor_probe(pdev, &data);
	KUNIT_EXPECT_PTR_NE(test, got, &vendors[0].ops);
	KUNIT_EXPECT_EQ(test, vendors[0].probed, 0);
	vfio_pci_vendor_release(got, data);
	unregister_all(test, 1);
}

static struct vfio_pci_core_device *fake_vdev(struct kunit *test)
{
	struct vfio_pci_core_device *vdev;

	vdev = kunit_kzalloc(test, sizeof(*vdev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vdev);
	vdev->pdev = fake_pdev(test);
	return vdev;
}

static long barmap_err(struct vfio_pci_core_device *vdev, int bar)
{
	return PTR_ERR((__force void *)vfio_pci_get_barmap(&vdev->vdev, bar));
}

static void barmap_checks_index(struct kunit *test)
{
	static const int bad[] = { -1, PCI_STD_NUM_BARS, 100, INT_MIN, INT_MAX };
	struct vfio_pci_core_device *vdev = fake_vdev(test);
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ(test, barmap_err(vdev, bad[i]), -EINVAL);

	/* In range but not implemented: the fake device has no resources. */
	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		KUNIT_EXPECT_EQ(test, barmap_err(vdev, i), -EINVAL);
}

static int test_set_irqs(struct vfio_pci_core_device *vdev,
			 struct vfio_pci_dev_irq *irq, u32 flags,
			 unsigned int start, unsigned int count, void *data)
{
	return 0;
}

static const struct vfio_pci_irqops test_irqops = {
	.set_irqs = test_set_irqs,
};

static const struct vfio_pci_irqops test_irqops_no_set = {};

static int reg_irq(struct vfio_pci_core_device *vdev,
		   const struct vfio_pci_irqops *ops, unsigned int count, u32 flags)
{
	return vfio_pci_core_register_dev_irq(vdev, 0, 0, ops, count, flags,
					      NULL);
}

static void dev_irq_bounds(struct kunit *test)
{
	struct vfio_pci_core_device *vdev = fake_vdev(test);
	const unsigned int max = VFIO_PCI_MAX_DEV_IRQ_COUNT;
	int i;

	KUNIT_EXPECT_EQ(test, reg_irq(vdev, NULL, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, reg_irq(vdev, &test_irqops_no_set, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, reg_irq(vdev, &test_irqops, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, reg_irq(vdev, &test_irqops, max + 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, reg_irq(vdev, &test_irqops, 1, VFIO_IRQ_INFO_EVENTFD),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, vdev->num_dev_irqs, 0);

	for (i = 0; i < VFIO_PCI_MAX_DEV_IRQS; i++)
		KUNIT_EXPECT_EQ(test, reg_irq(vdev, &test_irqops, max, VFIO_IRQ_INFO_NORESIZE),
				VFIO_PCI_NUM_IRQS + i);
	KUNIT_EXPECT_EQ(test, reg_irq(vdev, &test_irqops, 1, 0), -ENOSPC);
	KUNIT_EXPECT_EQ(test, vdev->num_dev_irqs, VFIO_PCI_MAX_DEV_IRQS);
	kfree(vdev->dev_irq);
}

/*
 * The migration helper's v2 front end calls the driver's v1 callbacks: each
 * v2 state stands for a v1 state, and only an arc that changes it calls.
 */
static void mig_state_map(struct kunit *test)
{
	static const struct {
		enum vfio_device_mig_state v2;
		u32 v1;
	} map[] = {
		{ VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_V1_STOP },
		{ VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_V1_RUNNING },
		{ VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_V1_SAVING },
		{ VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_V1_RESUMING },
		{ VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_V1_STOP },
		{ VFIO_DEVICE_STATE_PRE_COPY,
		  VFIO_DEVICE_STATE_V1_SAVING | VFIO_DEVICE_STATE_V1_RUNNING },
		{ VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_V1_SAVING },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(map); i++) {
		u32 v1 = vfio_pci_mig_v1_state(map[i].v2);

		KUNIT_EXPECT_EQ_MSG(test, v1, map[i].v1, "v2 state %d", map[i].v2);
		/* Back from v1: the same v1 state, the state without P2P */
		KUNIT_EXPECT_EQ(test, vfio_pci_mig_v1_state(vfio_pci_mig_v2_state(v1)),
				v1);
	}
	KUNIT_EXPECT_EQ(test, vfio_pci_mig_v2_state(VFIO_DEVICE_STATE_V1_SAVING),
			VFIO_DEVICE_STATE_STOP_COPY);
}

static bool mig_saving(enum vfio_device_mig_state s)
{
	return s == VFIO_DEVICE_STATE_PRE_COPY ||
	       s == VFIO_DEVICE_STATE_PRE_COPY_P2P ||
	       s == VFIO_DEVICE_STATE_STOP_COPY;
}

/*
 * Walk from @cur to @new as the helper does and write the v1 states the
 * driver is told into @cb (with the start first); the number of them, or
 * -errno.  *@arcs is the number of arcs, *@starts a bit for each arc that
 * starts a data_fd session.
 */
static int mig_walk(struct vfio_device *vdev, enum vfio_device_mig_state cur,
		    enum vfio_device_mig_state new, u32 *cb, int *arcs,
		    unsigned long *starts)
{
	enum vfio_device_mig_state next;
	int n = 0, ret;

	cb[n++] = vfio_pci_mig_v1_state(cur);
	*arcs = 0;
	*starts = 0;
	while (cur != new) {
		ret = vfio_mig_get_next_state(vdev, cur, new, &next);
		if (ret)
			return ret;
		if (next == VFIO_DEVICE_STATE_RESUMING ||
		    (mig_saving(next) && !mig_saving(cur)))
			*starts |= BIT(*arcs);
		if (vfio_pci_mig_v1_state(next) != cb[n - 1]) {
			if (n == 8)
				return -E2BIG;
			cb[n++] = vfio_pci_mig_v1_state(next);
		}
		cur = next;
		if (++*arcs > 8)
			return -ELOOP;
	}
	return n;
}

/* The callbacks QEMU 10's requests cause, arc by arc. */
static void mig_arcs_callbacks(struct kunit *test)
{
	static const struct {
		enum vfio_device_mig_state from, to;
		int n;
		u32 cb[3];
	} walks[] = {
		/* source: VM stops; saved; cleanup */
		{ VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RUNNING_P2P, 2, { 1, 0 } },
		{ VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_STOP, 1, { 0 } },
		{ VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY, 2, { 0, 2 } },
		{ VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_STOP, 2, { 2, 0 } },
		/* source with pre-copy */
		{ VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_PRE_COPY, 2, { 1, 3 } },
		{ VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_STOP_COPY, 2, { 3, 2 } },
		{ VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RUNNING, 2, { 3, 1 } },
		/* destination */
		{ VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RESUMING, 3, { 1, 0, 4 } },
		{ VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, 3, { 4, 0, 1 } },
	};
	struct vfio_device *vdev = kunit_kzalloc(test, sizeof(*vdev), GFP_KERNEL);
	unsigned long starts;
	int arcs, n, j;
	unsigned int i;
	u32 cb[8];

	KUNIT_ASSERT_NOT_NULL(test, vdev);
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
				VFIO_MIGRATION_PRE_COPY;

	for (i = 0; i < ARRAY_SIZE(walks); i++) {
		n = mig_walk(vdev, walks[i].from, walks[i].to, cb, &arcs,
			     &starts);
		KUNIT_EXPECT_EQ_MSG(test, n, walks[i].n, "walk %u", i);
		for (j = 0; j < n && j < walks[i].n; j++)
			KUNIT_EXPECT_EQ_MSG(test, cb[j], walks[i].cb[j],
					    "walk %u, callback %d", i, j);
	}
}

/*
 * The helper returns a data_fd from the arc that starts a session, and
 * takes one only on the last arc of a walk: true of every walk.
 */
static void mig_sessions_start_last(struct kunit *test)
{
	struct vfio_device *vdev = kunit_kzalloc(test, sizeof(*vdev), GFP_KERNEL);
	enum vfio_device_mig_state from, to;
	unsigned long starts;
	int n, arcs;
	u32 cb[8];

	KUNIT_ASSERT_NOT_NULL(test, vdev);
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
				VFIO_MIGRATION_PRE_COPY;

	for (from = VFIO_DEVICE_STATE_STOP;
	     from <= VFIO_DEVICE_STATE_PRE_COPY_P2P; from++) {
		for (to = VFIO_DEVICE_STATE_STOP;
		     to <= VFIO_DEVICE_STATE_PRE_COPY_P2P; to++) {
			n = mig_walk(vdev, from, to, cb, &arcs, &starts);
			/* no way into pre-copy but from RUNNING(_P2P) */
			if (n == -EINVAL && (to == VFIO_DEVICE_STATE_PRE_COPY ||
					     to == VFIO_DEVICE_STATE_PRE_COPY_P2P))
				continue;
			KUNIT_EXPECT_GT_MSG(test, n, 0, "%d -> %d", from, to);
			if (n > 0 && starts)
				KUNIT_EXPECT_EQ_MSG(test, starts, BIT(arcs - 1),
						    "%d -> %d", from, to);
		}
	}
}

/* An empty negative cache, freed with the test */
static struct vfio_pci_nomod_cache *nomod_cache_new(struct kunit *test)
{
	struct vfio_pci_nomod_cache *cache;

	cache = kunit_kzalloc(test, sizeof(*cache), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, cache);
	spin_lock_init(&cache->lock);
	return cache;
}

/* A remembered ID is found until it expires, then looked up again. */
static void nomod_cache_expires(struct kunit *test)
{
	struct vfio_pci_nomod_cache *cache = nomod_cache_new(test);
	unsigned long now = jiffies;

	KUNIT_EXPECT_FALSE(test, vfio_pci_nomod_cached(cache, 0x12341111, now));
	vfio_pci_nomod_add(cache, 0x12341111, now, 10);
	KUNIT_EXPECT_TRUE(test, vfio_pci_nomod_cached(cache, 0x12341111, now));
	KUNIT_EXPECT_TRUE(test, vfio_pci_nomod_cached(cache, 0x12341111, now + 9));
	KUNIT_EXPECT_FALSE(test, vfio_pci_nomod_cached(cache, 0x12341111, now + 10));
	KUNIT_EXPECT_FALSE(test, vfio_pci_nomod_cached(cache, 0x12341112, now));

	/* Adding it again renews it, in the same slot. */
	vfio_pci_nomod_add(cache, 0x12341111, now + 10, 10);
	KUNIT_EXPECT_EQ(test, cache->nr, 1);
	KUNIT_EXPECT_TRUE(test, vfio_pci_nomod_cached(cache, 0x12341111, now + 19));
}

static void nomod_cache_flush(struct kunit *test)
{
	struct vfio_pci_nomod_cache *cache = nomod_cache_new(test);
	unsigned long now = jiffies;

	vfio_pci_nomod_add(cache, 1, now, 100);
	vfio_pci_nomod_add(cache, 2, now, 100);
	vfio_pci_nomod_flush(cache);
	KUNIT_EXPECT_EQ(test, cache->nr, 0);
	KUNIT_EXPECT_FALSE(test, vfio_pci_nomod_cached(cache, 1, now));
	KUNIT_EXPECT_FALSE(test, vfio_pci_nomod_cached(cache, 2, now));
}

/* A full cache stays bounded: the entry that expires first goes. */
static void nomod_cache_full(struct kunit *test)
{
	struct vfio_pci_nomod_cache *cache = nomod_cache_new(test);
	unsigned long now = jiffies;
	u32 id;

	/* ID n expires at now + 100 + n, except ID 7, which goes first. */
	for (id = 0; id < VFIO_PCI_NOMOD_SLOTS; id++)
		vfio_pci_nomod_add(cache, id, now, id == 7 ? 50 : 100 + id);
	KUNIT_EXPECT_EQ(test, cache->nr, VFIO_PCI_NOMOD_SLOTS);

	vfio_pci_nomod_add(cache, 1000, now, 100);
	KUNIT_EXPECT_EQ(test, cache->nr, VFIO_PCI_NOMOD_SLOTS);
	KUNIT_EXPECT_TRUE(test, vfio_pci_nomod_cached(cache, 1000, now));
	KUNIT_EXPECT_FALSE(test, vfio_pci_nomod_cached(cache, 7, now));
	for (id = 0; id < VFIO_PCI_NOMOD_SLOTS; id++)
		if (id != 7)
			KUNIT_EXPECT_TRUE(test,
					  vfio_pci_nomod_cached(cache, id, now));
}

static struct kunit_case vfio_pci_vendor_test_cases[] = {
	KUNIT_CASE(vendor_register_checks_ops),
	KUNIT_CASE(vendor_register_twice),
	KUNIT_CASE(vendor_probe_first_accepting),
	KUNIT_CASE(vendor_probe_failure_falls_through),
	KUNIT_CASE(vendor_probe_null_data),
	KUNIT_CASE(vendor_probe_unregistered),
	KUNIT_CASE(vendor_list_is_private),
	KUNIT_CASE(nomod_cache_expires),
	KUNIT_CASE(nomod_cache_flush),
	KUNIT_CASE(nomod_cache_full),
	KUNIT_CASE(barmap_checks_index),
	KUNIT_CASE(dev_irq_bounds),
	KUNIT_CASE(mig_state_map),
	KUNIT_CASE(mig_arcs_callbacks),
	KUNIT_CASE(mig_sessions_start_last),
	{}
};

static struct kunit_suite vfio_pci_vendor_test_suite = {
	.name = "vfio_pci_vendor",
	.init = vendor_test_init,
	.test_cases = vfio_pci_vendor_test_cases,
};

kunit_test_suite(vfio_pci_vendor_test_suite);

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for vfio-pci vendor ops");
