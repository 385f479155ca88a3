#!/bin/bash
# Boot the test kernel in QEMU: q35, intel-iommu, two edu devices and a
# pci-testdev, each in its own IOMMU group, and a third edu alone behind a
# PCI bridge (vfio-pci can reset it through its bus: edu has no reset of its
# own); the host root is shared over 9p.
#
#   vm.sh test|demo|bench|reliability|shell [timeout-seconds]
#   RIG_SUITES=qemu,qemu10 vm.sh test   (only those in-VM suites)
#   RIG_BENCH_ROUNDS=N RIG_BENCH_SIZES=1,16 vm.sh bench   (rig/bench.sh)
#   RIG_RELIAB=smoke|long vm.sh reliability   (the reliability suite)
#   RIG_APPEND="a=b c=d" vm.sh MODE   (more for the kernel command line,
#                                     e.g. rig/guest/reliability.sh's knobs)
#
# The console goes to the terminal and to $LOG_DIR/<mode>.log.  KVM is used
# when a probe boot succeeds with it, TCG otherwise.  The kernel command
# line names QEMU 10's wrapper (rig.qemu10=, from rig/qemu10.sh) for the
# guest's QEMU 10 tests, which run it from the 9p host root.
set -euo pipefail
. "$(dirname "$0")/common.sh"

mode=${1:-shell}
limit=${2:-1800}
[ -f "$GUEST_DIR/bzImage" ] || die "no kernel; run make build"
[ -f "$GUEST_DIR/initramfs.gz" ] || die "no initramfs; run make build"
mkdir -p "$LOG_DIR"
qemu10=$BUILD_DIR/qemu10/qemu-system-x86_64
case "$qemu10" in
*[[:space:]\'\"]*) die "the build directory's path $BUILD_DIR must not need quoting (kernel command line)" ;;
esac
if [ "$mode" != shell ] && [ "$mode" != probe ] && [ ! -x "$qemu10" ]; then
	echo "rig: no QEMU 10 at $qemu10 (make qemu10); the VM's QEMU 10 tests will fail" >&2
fi

qemu_cmd() {
	local accel=$1 m=$2
	local cpu=max extra=
	[ "$accel" = kvm ] && cpu=host
	# The reliability boot routes no PCI interrupt through ACPI: with an
	# allocation failure injected into _PRT's evaluation (at every
	# pci_enable_device() of an INTx device), ACPICA reads freed memory
	# (KASAN), outside the series; see README, "Reliability".
	# Its console shows warnings and worse only: every bind's and every
	# refused stream's info line over the emulated serial port would cost
	# more than the tests (the dmesg at the end still has them all).
	[ "$m" = reliability ] && extra=" acpi=noirq loglevel=5"
	# The bench loads the VM hardest: under TCG its TSC was found
	# unstable in the middle of a run, and the guest's clock stopped
	# while a polling loop waited on it.  Use the HPET from the start.
	[ "$m" = bench ] && extra=" tsc=unstable"
	# Under TCG on a loaded 2-core host a vCPU thread can be held off
	# for many seconds; the RCU stall and soft lockup detectors would
	# call that a splat.  Give them 60 s (real stalls do not end);
	# KASAN, lockdep, kmemleak and the hung-task detector are as they are.
	[ "$accel" = tcg ] && extra="$extra rcupdate.rcu_cpu_stall_timeout=60 watchdog_thresh=30"
	echo qemu-system-x86_64 -nodefaults -no-reboot -display none \
		-machine q35,accel="$accel" -cpu "$cpu" -smp 2 -m 3G \
		-device intel-iommu,intremap=on \
		-device edu,addr=04.0 -device edu,addr=05.0 \
		-device pci-testdev,addr=06.0 \
		-device pci-bridge,id=br1,chassis_nr=1,addr=07.0 \
		-device edu,bus=br1,addr=01.0 \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-kernel "$GUEST_DIR/bzImage" -initrd "$GUEST_DIR/initramfs.gz" \
		-append "'console=ttyS0 intel_iommu=on iommu=nopt panic=-1 oops=panic kmemleak=on hung_task_panic=0$extra rig.mode=$m rig.qemu10=$qemu10${RIG_SUITES:+ rig.suites=$RIG_SUITES}${RIG_BENCH_ROUNDS:+ rig.bench_rounds=$RIG_BENCH_ROUNDS}${RIG_BENCH_SIZES:+ rig.bench_sizes=$RIG_BENCH_SIZES}${RIG_RELIAB:+ rig.reliab=$RIG_RELIAB}${RIG_APPEND:+ $RIG_APPEND}'" \
		-serial stdio
}

# Pick the accelerator once per build directory.
accel_file=$BUILD_DIR/accel
if [ ! -f "$accel_file" ]; then
	accel=tcg
	if [ -w /dev/kvm ]; then
		# Not "| grep -q" under pipefail: its early exit fails the pipe.
		if grep -q "RIG: guest up" < <(timeout 30 bash -c \
			"$(qemu_cmd kvm probe)" </dev/null 2>/dev/null); then
			accel=kvm
		fi
	fi
	echo "$accel" >"$accel_file"
fi
accel=$(cat "$accel_file")

log=$LOG_DIR/$mode.log
echo "rig: booting ($accel) in $mode mode; console log in $log"
set +e
if [ "$mode" = shell ]; then
	eval "$(qemu_cmd "$accel" "$mode")" 2>&1 | tee "$log"
	exit 0
fi
# The demo shows its own steps; the kernel's messages stay in the log.
show() {
	if [ "$mode" = demo ]; then
		awk '/^RIG: dmesg begin/ { skip = 1 } !skip && !/^\[ *[0-9]+\.[0-9]+\]/ { print } /^RIG: dmesg end/ { skip = 0 }'
	else
		cat
	fi
}
timeout --foreground "$limit" bash -c "$(qemu_cmd "$accel" "$mode")" </dev/null 2>&1 |
	stdbuf -oL tr -d '\r' | tee "$log" | show
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 124 ] && { echo "rig: VM timed out after ${limit}s" >&2; exit 1; }
grep -q "RIG: $mode finished" "$log" || { echo "rig: VM did not finish its job" >&2; exit 1; }
grep -q "RIG: $mode finished with status 0" "$log" || { echo "rig: the VM's $mode job failed" >&2; exit 1; }
exit 0
