#!/bin/sh
# Runs inside the VM (rig.mode=test): every in-VM test suite, each result
# echoed as "RIG-TEST: ok|not ok <suite>: <test>" for the host to count,
# then the full kernel log for the splat check.  "rig.suites=a,b" on the
# kernel command line (RIG_SUITES=a,b rig/vm.sh test) runs only those of
# kunit, selftests, qemu and qemu10 (to iterate on one; make check runs all).
# "test.sh reliability" (rig.mode=reliability, a boot of its own) runs the
# reliability suite, at the level rig.reliab=smoke|long says (smoke).
results=/tmp/results
suites=kunit,selftests,qemu,qemu10
reliab=smoke
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rig.suites=?*) suites=${arg#rig.suites=} ;;
	rig.reliab=?*) reliab=${arg#rig.reliab=} ;;
	esac
done
[ $# -gt 0 ] && suites=$1
want() { case ",$suites," in *",$1,"*) return 0 ;; esac; return 1; }

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
	# What the nested QEMUs report ("# qemu10: protocol v2, downtime N
	# ms, ..."), for the host's summary; not counted as results.
	sed -n 's/^# \(qemu[0-9.]*: protocol .*\)/RIG-INFO: \1/p' /tmp/suite.out >>"$results"
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
if want kunit; then
	modprobe vfio-pci
	run_kunit vfio_pci_vendor_test
	run_kunit i40e_vf_migration_test
	rmmod i40e_vf_migration
	rmmod vfio_pci
fi
want selftests && run_suite selftests /selftests/vfio/vfio_vendor_ops.sh
want qemu && run_suite qemu sh /rig/qemu-migrate.sh
want qemu10 && run_suite qemu10 sh /rig/qemu10-migrate.sh
want reliability && run_suite reliability sh /rig/reliability.sh "$reliab"

echo "RIG: results begin"
cat "$results"
echo "RIG: results end"
# What kmemleak's last scan (the selftest's, or its own thread's since)
# found, for the host's splat check to show
leaks=$(cat /sys/kernel/debug/kmemleak 2>/dev/null)
if [ -n "$leaks" ]; then
	echo "RIG: kmemleak report begin"
	printf '%s\n' "$leaks" | head -n 200
	echo "RIG: kmemleak report end"
fi
echo "RIG: dmesg begin"
dmesg
echo "RIG: dmesg end"
! grep -q '^RIG-TEST: not ok' "$results"
