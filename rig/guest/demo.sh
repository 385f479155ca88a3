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

say "7. Live migration with unmodified QEMU 7.2 (the host's, run in this VM)"
echo "    A paused QEMU owns edu #1 and migrates it, through the sample's v1"
echo "    migration region, to a second QEMU that owns edu #2.  Then a saved"
echo "    stream is corrupted and the destination must refuse it."
run "sh /rig/qemu-migrate.sh" | tee /tmp/mig | grep -v '^# \(src\|dst\): .*no available reset'
expect "migration" "$(grep -c '^ok [0-9]* migration' /tmp/mig)" 1
expect "corrupted stream refused" "$(grep -c '^ok [0-9]* corrupt_stream' /tmp/mig)" 1

say "Demo done"
# The whole kernel log, for the host's splat check (not shown by make demo).
echo "RIG: dmesg begin"
dmesg
echo "RIG: dmesg end"
exit $status
