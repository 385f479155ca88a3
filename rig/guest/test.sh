#!/bin/sh
# Runs inside the VM (rig.mode=test): every in-VM test suite, each result
# echoed as "RIG-TEST: ok|not ok <suite>: <test>" for the host to count,
# then the full kernel log for the splat check.
results=/tmp/results

run_suite() {
	suite=$1
	shift
	echo "RIG: suite $suite"
	"$@" >/tmp/suite.out 2>&1
	rc=$?
	cat /tmp/suite.out
	grep -E '^(not )?ok [0-9]+' /tmp/suite.out |
		sed -E "s/^(not ok|ok) [0-9]+ (- )?/RIG-TEST: \1 $suite: /" >>"$results"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' /tmp/suite.out; then
		echo "RIG-TEST: not ok $suite: exited with status $rc" >>"$results"
	fi
}

# KUnit: loading the test module runs its suite; the KTAP goes to the
# kernel log.  Each test case is one result.
run_kunit() {
	module=$1
	echo "RIG: kunit $module"
	echo "rig: kunit $module begins" >/dev/kmsg
	if ! modprobe "$module"; then
		echo "RIG-TEST: not ok kunit: modprobe $module failed" >>"$results"
		return
	fi
	dmesg | sed -n "/rig: kunit $module begins/,\$p" |
		sed -E 's/^\[ *[0-9.]+\] //' >/tmp/kunit.out
	cat /tmp/kunit.out
	grep -E '^    (not )?ok [0-9]+ ' /tmp/kunit.out |
		sed -E "s/^    (not ok|ok) [0-9]+ /RIG-TEST: \1 kunit: /" >>"$results"
	grep -qE '^    (not )?ok [0-9]+ ' /tmp/kunit.out ||
		echo "RIG-TEST: not ok kunit: $module ran no test" >>"$results"
	rmmod "$module"
}

: >"$results"
modprobe vfio-pci
run_kunit vfio_pci_vendor_test
run_kunit i40e_vf_migration_test
rmmod i40e_vf_migration
rmmod vfio_pci
run_suite selftests /selftests/vfio/vfio_vendor_ops.sh
run_suite qemu sh /rig/qemu-migrate.sh

echo "RIG: results begin"
cat "$results"
echo "RIG: results end"
echo "RIG: dmesg begin"
dmesg
echo "RIG: dmesg end"
! grep -q '^RIG-TEST: not ok' "$results"
