#!/bin/sh
# Runs inside the VM (rig.mode=demo): the story of one edu device bound to
# vfio-pci, told step by step.
status=0
say() { printf '\n=== %s\n' "$*"; }
run() { echo "\$ $*"; sh -c "$*"; }
expect() { # expect WHAT ACTUAL WANTED
	if [ "$2" = "$3" ]; then
		echo "    -> $1: $2"
	else
		echo "    -> UNEXPECTED $1: $2 (wanted $3)"
		status=1
	fi
}
find_dev() { # vendor device -> first BDF
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ]; then
			basename "$d"
			return
		fi
	done
}
bind() {
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe
}
loaded() { grep -q "^$1 " /proc/modules && echo loaded || echo "not loaded"; }

# Keep the kernel's own messages off the console; the steps show them.
echo 1 >/proc/sys/kernel/printk
edu=$(find_dev 0x1234 0x11e8)
testdev=$(find_dev 0x1b36 0x0005)

say "1. QEMU's edu device ($edu), not bound to any driver yet"
run "cat /sys/bus/pci/devices/$edu/vendor /sys/bus/pci/devices/$edu/device"
run "ls /sys/bus/pci/devices/$edu/iommu_group -l | sed 's/.*-> //'"
expect "vfio_pci_edu module" "$(loaded vfio_pci_edu)" "not loaded"

say "2. Bind it to vfio-pci"
run "modprobe vfio-pci"
run "modprobe vfio_iommu_type1"
run "echo vfio-pci > /sys/bus/pci/devices/$edu/driver_override"
run "echo $edu > /sys/bus/pci/drivers_probe"

say "3. vfio-pci asked modprobe for vfio-pci:1234-11e8, which loaded the sample"
run "grep vfio_pci_edu /proc/modules"
run "dmesg | grep -E 'vendor driver' | tail -n 3 | sed 's/^\\[[^]]*\\] //'"
expect "vfio_pci_edu module" "$(loaded vfio_pci_edu)" "loaded"
run "cat /sys/bus/pci/devices/$edu/vfio_vendor_driver"
expect "vendor driver in sysfs" "$(cat "/sys/bus/pci/devices/$edu/vfio_vendor_driver")" vfio_pci_edu

say "4. Open the device through VFIO and access it through the vendor's ops"
run "vfio-peek $edu" | tee /tmp/peek
expect "BAR0 identification" "$(sed -n 's/.*identification: //p' /tmp/peek)" 0x010000ed

say "5. A device with no vendor module (pci-testdev $testdev) binds as plain vfio-pci"
bind "$testdev"
run "cat /sys/bus/pci/devices/$testdev/vfio_vendor_driver"
run "vfio-peek $testdev"

say "6. While the edu is bound, its vendor module cannot be removed"
run "rmmod vfio_pci_edu"
expect "vfio_pci_edu module" "$(loaded vfio_pci_edu)" "loaded"
run "echo $edu > /sys/bus/pci/devices/$edu/driver/unbind"
run "rmmod vfio_pci_edu"
expect "vfio_pci_edu module after unbind" "$(loaded vfio_pci_edu)" "not loaded"

# protocol_of FILE QEMU: "v1 region" or "v2 data_fd", from the test's
# "# qemuX: protocol vN, downtime ..." line of its migration test
protocol_of() {
	case "$(sed -n "s/^# $2: protocol \(v[0-9]*\), .* test migration\$/\1/p" "$1" | head -1)" in
	v1) echo "v1 region" ;;
	v2) echo "v2 data_fd" ;;
	*) echo "unknown" ;;
	esac
}
downtime_of() {
	sed -n "s/^# $2: protocol v[0-9]*, downtime \([^ ]*\) ms, total \([^ ]*\) ms, .* test $3\$/\1 ms (migration took \2 ms)/p" "$1" | head -1
}

say "7. Live migration with unmodified QEMU 7.2 (the host's, run in this VM)"
echo "    A paused QEMU owns edu #1 (its registers set, and 5! = 120 computed"
echo "    in its factorial unit) and migrates it, through the sample's v1"
echo "    migration region, to a second QEMU that owns edu #2.  Then a saved"
echo "    stream is corrupted and the destination must refuse it."
run "sh /rig/qemu-migrate.sh" | tee /tmp/mig
expect "migration" "$(grep -c '^ok [0-9]* migration' /tmp/mig)" 1
expect "corrupted stream refused" "$(grep -c '^ok [0-9]* corrupt_stream' /tmp/mig)" 1
expect "QEMU 7.2's protocol" "$(protocol_of /tmp/mig qemu7.2)" "v1 region"

say "8. The same with unmodified QEMU 10.0 (Debian bookworm-backports, run in this VM)"
echo "    QEMU 10 knows only VFIO migration uAPI v2: the device states of"
echo "    VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE and the stream through a data_fd."
echo "    It runs with its defaults (enable-migration=auto, which takes the"
echo "    sample's DMA log for dirty tracking; downtime limit 300 ms).  First a"
echo "    paused QEMU, then a running one (a live migration of a running guest),"
echo "    then the corrupted stream."
run "sh /rig/qemu10-migrate.sh migration migration_running corrupt_stream" | tee /tmp/mig10
expect "migration (paused)" "$(grep -c '^ok [0-9]* migration$' /tmp/mig10)" 1
expect "migration (running)" "$(grep -c '^ok [0-9]* migration_running' /tmp/mig10)" 1
expect "corrupted stream refused" "$(grep -c '^ok [0-9]* corrupt_stream' /tmp/mig10)" 1
expect "QEMU 10.0's protocol" "$(protocol_of /tmp/mig10 qemu10)" "v2 data_fd"

say "9. One edu sample, both protocols"
echo "    QEMU 7.2:  $(protocol_of /tmp/mig qemu7.2), downtime $(downtime_of /tmp/mig qemu7.2 migration) (downtime limit raised to 60 s)"
echo "    QEMU 10.0: $(protocol_of /tmp/mig10 qemu10), downtime $(downtime_of /tmp/mig10 qemu10 migration) paused,"
echo "               $(downtime_of /tmp/mig10 qemu10 migration_running) running (QEMU's default limit)"

say "Demo done"
# The whole kernel log, for the host's splat check (not shown by make demo).
echo "RIG: dmesg begin"
dmesg
echo "RIG: dmesg end"
exit $status
