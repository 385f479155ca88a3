#!/bin/sh
# Runs inside the VM: unmodified QEMU 7.2 (the host's, over 9p) migrates an
# edu device driven by the sample vendor driver, through the v1 migration
# region, from one QEMU on edu #1 to another on edu #2.  KTAP on stdout.
#
#   1. migration: set state on edu #1, migrate over a unix socket, and
#      find the same state on edu #2 once the destination has loaded it;
#      the sample traps BAR0 from open (trap_bar0=1), since QEMU 7.2 does
#      not know the REMAP_BAR_REGION interrupt, so the guest's DMA
#      commands go through the sample's write path; QEMU 7.2 tracks dirty
#      pages with type1 alone, which counts all guest RAM dirty at every
#      pass (the sample pins nothing), hence qmp-migrate.py's raised
#      downtime limit: with QEMU's default of 300 ms this does not converge
#   2. corrupt_stream: save to a file, corrupt the edu stream in it, and
#      see the destination fail to load while edu #2 keeps its state and
#      still answers
HOST=/mnt/host
TMO=${QEMU_MIGRATE_TIMEOUT:-600}
N=0
FAILED=0

say() { echo "# $*"; }
result() {
	N=$((N + 1))
	if [ "$1" -eq 0 ]; then echo "ok $N $2"; else echo "not ok $N $2"; FAILED=1; fi
}

edus=$(for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] &&
		basename "$d"
done)
EDU1=$(echo "$edus" | sed -n 1p)
EDU2=$(echo "$edus" | sed -n 2p)

echo "TAP version 13"
echo "1..2"

setup() {
	[ -n "$EDU1" ] && [ -n "$EDU2" ] || { say "needs two edu devices"; return 1; }
	modprobe vfio-pci && modprobe vfio_iommu_type1 || return 1
	for d in "$EDU1" "$EDU2"; do
		[ -e "/sys/bus/pci/devices/$d/driver" ] &&
			echo "$d" >"/sys/bus/pci/devices/$d/driver/unbind"
		echo vfio-pci >"/sys/bus/pci/devices/$d/driver_override"
		echo "$d" >/sys/bus/pci/drivers_probe
		[ "$(cat "/sys/bus/pci/devices/$d/vfio_vendor_driver")" = vfio_pci_edu ] ||
			{ say "$d is not driven by vfio_pci_edu"; return 1; }
	done
	mkdir -p "$HOST"
	mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot "$HOST" || return 1
	for m in dev sys proc; do mount --bind "/$m" "$HOST/$m" || return 1; done
	mount -t tmpfs tmpfs "$HOST/tmp" || return 1
	cp /rig/qmp-migrate.py "$HOST/tmp/"
	[ -x "$HOST/usr/bin/qemu-system-x86_64" ] || { say "no QEMU on the host root"; return 1; }
}

# qemu NAME BDF [ARGS...]: start a paused TCG QEMU with the device, in the
# background, its QMP at /tmp/NAME.qmp and its output in /tmp/NAME.log
qemu() {
	name=$1 bdf=$2
	shift 2
	chroot "$HOST" /usr/bin/qemu-system-x86_64 -nodefaults -machine q35 \
		-accel tcg -m 64M -display none -S \
		-device "vfio-pci,host=$bdf,addr=04.0,x-enable-migration=on" \
		-qmp "unix:/tmp/$name.qmp,server=on,wait=off" "$@" \
		>"$HOST/tmp/$name.log" 2>&1 &
	eval "${name}_pid=$!"
}

# qmp_quit NAME: ask QEMU NAME to quit and wait for it
qmp_quit() {
	chroot "$HOST" python3 -c "
import sys; sys.path.insert(0, '/tmp')
from importlib.machinery import SourceFileLoader
m = SourceFileLoader('q', '/tmp/qmp-migrate.py').load_module()
m.QMP('/tmp/$1.qmp').cmd('quit')" >/dev/null 2>&1
	eval "wait \$${1}_pid"
}

test_migration() {
	edu-state "$EDU1" set 0x1234abcd 0x7000 0x80 || return 1
	edu-state "$EDU2" set 0x0 0x0 0x0 || return 1
	want=$(edu-state "$EDU1" get) || return 1
	say "edu #1 ($EDU1) before: $want"
	say "edu #2 ($EDU2) before: $(edu-state "$EDU2" get)"

	echo 1 >/sys/module/vfio_pci_edu/parameters/trap_bar0
	qemu dst "$EDU2" -incoming unix:/tmp/mig.sock
	qemu src "$EDU1"
	chroot "$HOST" python3 /tmp/qmp-migrate.py /tmp/src.qmp unix:/tmp/mig.sock \
		"$TMO" /tmp/dst.qmp | sed 's/^/# /'
	rc=$?
	qmp_quit src
	qmp_quit dst
	echo 0 >/sys/module/vfio_pci_edu/parameters/trap_bar0
	sed 's/^/# src: /' "$HOST/tmp/src.log"
	sed 's/^/# dst: /' "$HOST/tmp/dst.log"
	[ $rc -eq 0 ] || return 1

	got=$(edu-state "$EDU2" get) || return 1
	say "edu #2 ($EDU2) after:  $got"
	[ "$got" = "$want" ]
}

test_corrupt_stream() {
	edu-state "$EDU1" set 0x1234abcd 0x7000 0x80 || return 1
	edu-state "$EDU2" set 0x55 0x1000 0x10 || return 1
	want=$(edu-state "$EDU2" get) || return 1

	qemu src "$EDU1"
	chroot "$HOST" python3 /tmp/qmp-migrate.py /tmp/src.qmp \
		"exec:cat > /tmp/vm.mig" "$TMO" | sed 's/^/# /'
	rc=$?
	qmp_quit src
	[ $rc -eq 0 ] || return 1

	# The edu stream starts with its magic, "EDUm": make it "EDUx".
	chroot "$HOST" python3 -c "
d = open('/tmp/vm.mig', 'rb').read()
assert d.count(b'EDUm') == 1, 'edu stream not found once'
open('/tmp/vm.mig', 'wb').write(d.replace(b'EDUm', b'EDUx'))" || return 1

	qemu dst "$EDU2" -incoming "exec:cat /tmp/vm.mig"
	i=0
	while kill -0 "$dst_pid" 2>/dev/null && [ $i -lt "$TMO" ]; do
		sleep 1
		i=$((i + 1))
	done
	if kill -0 "$dst_pid" 2>/dev/null; then
		say "the destination did not exit on a corrupt stream"
		qmp_quit dst
		return 1
	fi
	wait "$dst_pid"
	sed 's/^/# dst: /' "$HOST/tmp/dst.log"
	grep -q "load of migration failed" "$HOST/tmp/dst.log" || return 1

	got=$(edu-state "$EDU2" get) || return 1
	say "edu #2 after the refused stream: $got"
	[ "$got" = "$want" ]
}

if setup; then
	test_migration
	result $? migration
	test_corrupt_stream
	result $? corrupt_stream
else
	result 1 migration
	result 1 corrupt_stream
fi
exit $FAILED
