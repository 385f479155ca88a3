#!/bin/sh
# Runs inside the VM: unmodified QEMU 10.0 (Debian bookworm-backports,
# unpacked by rig/qemu10.sh into the host's build directory and reached
# through the 9p host root) migrates an edu device driven by the sample
# vendor driver, through VFIO migration uAPI v2 (data_fd), from one QEMU
# on edu #1 to another on edu #2.  KTAP on stdout.
#
# QEMU runs with its defaults: "-device vfio-pci,host=BDF" (no
# enable-migration option: auto, which needs device dirty tracking, the
# sample's DMA log) and no migration parameter changed (downtime limit
# 300 ms).  The L2 machine has no vIOMMU (QEMU 10 refuses to migrate a
# VFIO device behind one).  Each migration prints
#   # qemu10: protocol v2, downtime N ms, total N ms, downtime-limit N ms, test T
# (the protocol from QEMU's trace of the device states it set, the times
# from query-migrate).
#
#   1. migration: a paused source (-S) and destination; registers and a
#      factorial (5! = 120) set on edu #1 are found on edu #2; then "cont"
#      on the destination takes the device from RESUMING to RUNNING
#   2. migration_running: the same with a running source (its guest is
#      SeaBIOS with nothing to boot) and a destination that starts running
#      after the load, so the source device goes RUNNING -> PRE_COPY ->
#      PRE_COPY_P2P -> STOP_COPY with dirty-page syncs while it runs
#   3. corrupt_stream: save to a file (exec:), flip the edu stream's magic
#      "EDUm" in it, and see the destination on edu #2 fail the load (exit
#      status 1, "load of migration failed") while edu #2 keeps its state
#      and still answers
#   4. iommufd: test 1 with "-object iommufd" and the device cdev
#      (vfio-pci,iommufd=...) instead of the type1 container; needs
#      CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV, and fails without them
#
#   qemu10-migrate.sh [TEST...]   runs the named tests only (the demo)
. /rig/migrate-lib.sh

# The wrapper's path on the host (the same inside the chroot): from the
# kernel command line (rig/vm.sh).
QEMU=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rig.qemu10=*) QEMU=${arg#rig.qemu10=} ;;
	esac
done

ALL="migration migration_running corrupt_stream iommufd"
TESTS=${*:-$ALL}
for tn in $TESTS; do
	case " $ALL " in
	*" $tn "*) ;;
	*) echo "qemu10-migrate.sh: no test $tn (tests: $ALL)" >&2; exit 2 ;;
	esac
done

echo "TAP version 13"
echo "1..$(echo "$TESTS" | wc -w)"

# qemu NAME BDF [ARGS...]: a QEMU 10 with the device at the same guest
# address on both sides (the section name is its PCI path); ARGS add -S,
# -incoming, iommufd
qemu() {
	n=$1 bdf=$2 dev=
	shift 2
	if [ "${1:-}" = --iommufd ]; then
		dev=,iommufd=iommufd0
		shift
		set -- -object iommufd,id=iommufd0 "$@"
	fi
	qemu_bg "$n" "$QEMU" \
		-device "vfio-pci,host=$bdf,addr=04.0$dev" \
		-trace 'enable=vfio_migration_*' -trace 'enable=vfio_save_*' \
		-trace 'enable=vfio_load_*' \
		-trace enable=vfio_device_dirty_tracking_start \
		-trace enable=vfio_get_dirty_bitmap "$@"
}

# report TEST: what the traces and query-migrate say, as comments
report() {
	qemu_log src
	qemu_log dst
	say "protocols: source $(protocol src), destination $(protocol dst)"
	say "source states: $(states src)"
	say "destination states: $(states dst)"
	tr=$HOST/tmp/src.trace
	if grep -q vfio_device_dirty_tracking_start "$tr"; then
		say "dirty tracking: the device's DMA log ($(grep -c vfio_get_dirty_bitmap "$tr") reports, $(sed -n 's/.*vfio_get_dirty_bitmap .*dirty_pages=\([0-9]*\).*/\1/p' "$tr" | awk '{ s += $1 } END { print s + 0 }') dirty pages)"
	else
		say "dirty tracking: not the device's DMA log"
	fi
	say "qemu10: protocol $(protocol src), downtime $(mig_field downtime) ms, total $(mig_field total-time) ms, downtime-limit $(mig_field downtime-limit) ms, test $1"
}

# states_have NAME STATE...: QEMU NAME set each STATE, in this order
states_have() {
	s=" $(states "$1" | sed 's/ -> / /g') "
	n=$1
	shift
	for st in "$@"; do
		case "$s" in
		*" $st "*) s=${s#*" $st "}; s=" $s" ;;
		*) say "$n did not set $st (in this order: $*)"; return 1 ;;
		esac
	done
}

# prepare: distinct states on both devices, edu #1's in $want
prepare() {
	edu-state "$EDU1" set 0x1234abcd 0x7000 0x80 || return 1
	edu-state "$EDU1" fact 5 >/dev/null || return 1
	edu-state "$EDU2" set 0x0 0x0 0x0 || return 1
	edu-state "$EDU2" fact 3 >/dev/null || return 1
	want=$(edu-state "$EDU1" get) || return 1
	say "edu #1 ($EDU1) before: $want"
	say "edu #2 ($EDU2) before: $(edu-state "$EDU2" get)"
	case "$want" in
	*" factorial=120 "*) ;;
	*) say "edu #1 does not read 5! = 120"; return 1 ;;
	esac
}

# migrate_edu TEST DST_STATES [--iommufd] [-S]: edu #1 -> edu #2 over a
# unix socket with QEMU's defaults; the destination's run state after the
# load must be one of DST_STATES (a paused one is then started)
migrate_edu() {
	tname=$1 dst_want=$2
	shift 2
	prepare || return 1
	start=$(date +%s)
	trap_bar0_default || return 1
	qemu dst "$EDU2" "$@" -incoming unix:/tmp/mig.sock
	qemu src "$EDU1" "$@"
	# a destination left paused is started (RESUMING -> ... -> RUNNING)
	qmp_migrate --cont src unix:/tmp/mig.sock dst
	mrc=$?
	dst_got=$(mig_field destination)
	say "$tname: migrated after $(($(date +%s) - start)) s"
	qemu_quit src
	qemu_quit dst
	trap_bar0_restore
	report "$tname"
	say "$tname took $(($(date +%s) - start)) s in all"
	[ $mrc -eq 0 ] || return 1
	case " $dst_want " in
	*" $dst_got "*) ;;
	*) say "destination $dst_got after the load, wanted one of: $dst_want"; return 1 ;;
	esac
	[ "$(protocol src)" = v2 ] && [ "$(protocol dst)" = v2 ] ||
		{ say "QEMU 10 did not use uAPI v2"; return 1; }
	grep -q vfio_device_dirty_tracking_start "$HOST/tmp/src.trace" ||
		{ say "QEMU 10 did not use the device's DMA log"; return 1; }
	states_have dst RESUMING RUNNING || return 1

	got=$(edu-state "$EDU2" get) || return 1
	say "edu #2 ($EDU2) after:  $got"
	[ "$got" = "$want" ]
}

test_migration() {
	migrate_edu migration 'prelaunch paused' -S || return 1
	states_have src STOP_COPY STOP
}

test_migration_running() {
	migrate_edu migration_running running || return 1
	states_have src PRE_COPY PRE_COPY_P2P STOP_COPY STOP
}

test_corrupt_stream() {
	prepare || return 1
	edu-state "$EDU2" set 0x55 0x1000 0x10 || return 1
	edu-state "$EDU2" fact 4 >/dev/null || return 1
	want=$(edu-state "$EDU2" get) || return 1

	trap_bar0_default || return 1
	qemu src "$EDU1" -S
	qmp_migrate src "exec:cat > /tmp/vm.mig"
	mrc=$?
	qemu_quit src
	qemu_log src
	[ $mrc -eq 0 ] || { trap_bar0_restore; return 1; }

	# The edu stream starts with its magic, "EDUm": make it "EDUx".
	chroot "$HOST" python3 -c "
d = open('/tmp/vm.mig', 'rb').read()
assert d.count(b'EDUm') == 1, 'edu stream not found once'
open('/tmp/vm.mig', 'wb').write(d.replace(b'EDUm', b'EDUx'))" ||
		{ trap_bar0_restore; return 1; }

	echo "rig: qemu10 corrupt_stream load" >/dev/kmsg
	qemu dst "$EDU2" -incoming "exec:cat /tmp/vm.mig"
	if ! qemu_wait dst "$TMO"; then
		trap_bar0_restore
		say "the destination did not exit on a corrupt stream"
		return 1
	fi
	trap_bar0_restore
	qemu_log dst
	dmesg | sed -n '/rig: qemu10 corrupt_stream load/,$p' |
		sed 's/^\[[^]]*\] /# kernel: /' | grep -i edu
	say "destination states: $(states dst)"
	say "destination exit status $rc"
	grep -q "load of migration failed" "$HOST/tmp/dst.log" || return 1
	[ "$rc" -eq 1 ] || return 1

	got=$(edu-state "$EDU2" get) || return 1
	say "edu #2 after the refused stream: $got"
	[ "$got" = "$want" ] || return 1
	edu-state "$EDU2" fact 6 | grep -qx factorial=720
}

test_iommufd() {
	modprobe iommufd 2>/dev/null
	if [ ! -c /dev/iommu ]; then
		say "no /dev/iommu: the kernel needs CONFIG_IOMMUFD"
		return 1
	fi
	for d in "$EDU1" "$EDU2"; do
		cdev=
		for f in "/sys/bus/pci/devices/$d/vfio-dev/"vfio[0-9]*; do
			[ -e "$f" ] && cdev=${f##*/}
		done
		if [ -z "$cdev" ] || [ ! -c "/dev/vfio/devices/$cdev" ]; then
			say "no VFIO device cdev for $d: the kernel needs CONFIG_VFIO_DEVICE_CDEV"
			return 1
		fi
	done
	migrate_edu iommufd 'prelaunch paused' --iommufd -S || return 1
	states_have src STOP_COPY STOP
}

if [ -z "$QEMU" ]; then
	say "no rig.qemu10= on the kernel command line (rig/vm.sh sets it)"
	ok=1
elif ! mig_setup; then
	ok=1
elif [ ! -x "$HOST$QEMU" ]; then
	say "no QEMU 10 at $QEMU on the host root: run make qemu10 (rig/qemu10.sh)"
	ok=1
else
	say "$(chroot "$HOST" "$QEMU" --version | head -1)"
	ok=0
fi
for tn in $TESTS; do
	if [ $ok -eq 0 ]; then
		"test_$tn"
		result $? "$tn"
	else
		result 1 "$tn"
	fi
done
exit $FAILED
