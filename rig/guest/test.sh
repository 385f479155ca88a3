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

: >"$results"
run_suite selftests /selftests/vfio/vfio_vendor_ops.sh

echo "RIG: results begin"
cat "$results"
echo "RIG: results end"
echo "RIG: dmesg begin"
dmesg
echo "RIG: dmesg end"
! grep -q '^RIG-TEST: not ok' "$results"
