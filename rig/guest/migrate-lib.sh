# Sourced by the nested-QEMU migration tests (qemu-migrate.sh for the
# host's QEMU 7.2, qemu10-migrate.sh for QEMU 10.0): KTAP helpers, the two
# edu devices bound to vfio-pci, the host root over 9p with a chroot into
# it, QEMU processes driven over QMP (qmp-migrate.py) and their traces.
# shellcheck shell=sh
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

# Bind edu #1 and #2 to vfio-pci (the sample vendor driver takes them) and
# make the chroot: the host root read-only at $HOST, with this VM's /dev,
# /sys and /proc and a tmpfs on /tmp.  Done once per boot: a second suite
# finds it in place.
mig_setup() {
	[ -n "$EDU1" ] && [ -n "$EDU2" ] || { say "needs two edu devices"; return 1; }
	modprobe vfio-pci && modprobe vfio_iommu_type1 || return 1
	for d in "$EDU1" "$EDU2"; do
		if [ "$(basename "$(readlink "/sys/bus/pci/devices/$d/driver")")" != vfio-pci ]; then
			[ -e "/sys/bus/pci/devices/$d/driver" ] &&
				echo "$d" >"/sys/bus/pci/devices/$d/driver/unbind"
			echo vfio-pci >"/sys/bus/pci/devices/$d/driver_override"
			echo "$d" >/sys/bus/pci/drivers_probe
		fi
		[ "$(cat "/sys/bus/pci/devices/$d/vfio_vendor_driver")" = vfio_pci_edu ] ||
			{ say "$d is not driven by vfio_pci_edu"; return 1; }
	done
	if ! grep -q " $HOST 9p " /proc/mounts; then
		mkdir -p "$HOST"
		# cache=loose: the host's files do not change under a test, and
		# QEMU and python3 start much faster from the page cache
		mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot "$HOST" || return 1
		for m in dev sys proc; do mount --bind "/$m" "$HOST/$m" || return 1; done
		mount -t tmpfs tmpfs "$HOST/tmp" || return 1
	fi
	cp /rig/qmp-migrate.py "$HOST/tmp/" || return 1
}

# The sample traps BAR0 from open when trap_bar0 is set (its default): then
# every DMA command of the guest goes through the sample, which logs it,
# whatever the userspace (neither QEMU knows the REMAP_BAR_REGION
# interrupt).  Set it for a test and put the old value back after.
trap_bar0_set() {
	TRAP_BAR0_OLD=$(cat /sys/module/vfio_pci_edu/parameters/trap_bar0)
	echo 1 >/sys/module/vfio_pci_edu/parameters/trap_bar0
}
# The QEMU 10 tests run the sample as loaded, with nothing set by hand:
# trap_bar0 must be at its default (Y).
trap_bar0_default() {
	[ "$(cat /sys/module/vfio_pci_edu/parameters/trap_bar0)" = Y ] && return 0
	echo "# trap_bar0 is not at its default (Y): the test would not run as a user does"
	return 1
}
trap_bar0_restore() {
	[ -z "${TRAP_BAR0_OLD:-}" ] ||
		echo "$TRAP_BAR0_OLD" >/sys/module/vfio_pci_edu/parameters/trap_bar0
}

# qemu_bg NAME BINARY ARGS...: start BINARY (a path inside the chroot) in
# the background, its QMP at /tmp/NAME.qmp, its output in /tmp/NAME.log and
# its trace in /tmp/NAME.trace; $NAME_pid is the pid
qemu_bg() {
	name=$1 bin=$2
	shift 2
	rm -f "$HOST/tmp/$name.qmp" "$HOST/tmp/$name.trace"
	chroot "$HOST" "$bin" -nodefaults -machine q35 -accel tcg -m 64M \
		-display none -msg timestamp=on -D "/tmp/$name.trace" \
		-qmp "unix:/tmp/$name.qmp,server=on,wait=off" "$@" \
		>"$HOST/tmp/$name.log" 2>&1 &
	eval "${name}_pid=$!"
}

# qmp NAME COMMAND [JSON]: run one QMP command on QEMU NAME, print the reply
qmp() {
	chroot "$HOST" python3 /tmp/qmp-migrate.py --cmd "/tmp/$1.qmp" "$2" ${3:+"$3"}
}

# qmp_migrate [--downtime-limit MS] [--cont] SRC URI [DST]: migrate and
# wait (qmp-migrate.py); its lines go out as comments and into
# /tmp/migrate.out
qmp_migrate() {
	opts=
	while :; do
		case "$1" in
		--downtime-limit) opts="$opts $1 $2"; shift 2 ;;
		--cont) opts="$opts $1"; shift ;;
		*) break ;;
		esac
	done
	# shellcheck disable=SC2086
	chroot "$HOST" python3 /tmp/qmp-migrate.py $opts "/tmp/$1.qmp" "$2" \
		"$TMO" ${3:+"/tmp/$3.qmp"} >"$HOST/tmp/migrate.out" 2>&1
	rc=$?
	sed 's/^/# /' "$HOST/tmp/migrate.out"
	return $rc
}

# mig_field NAME: a field of qmp-migrate.py's result line ("-" if none)
mig_field() {
	v=$(sed -n "s/^qmp-migrate: result .*[ ]$1=\([^ ]*\).*/\1/p" "$HOST/tmp/migrate.out")
	echo "${v:--}"
}

# qemu_quit NAME: make QEMU NAME quit and wait for it; its status in $rc.
# SIGTERM: QEMU shuts down as on QMP "quit" (python3 over 9p would take
# seconds to start in the nested TCG)
qemu_quit() {
	eval "pid=\$${1}_pid"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
}

# qemu_wait NAME SECONDS: wait for QEMU NAME to exit on its own; 0 with
# its status in $rc, or 1 (and it is killed) if it did not
qemu_wait() {
	eval "pid=\$${1}_pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt "$2" ]; do
		sleep 1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		qemu_quit "$1"
		return 1
	fi
	wait "$pid"
	rc=$?
	return 0
}

# qemu_log NAME: QEMU NAME's output as comments, minus edu's expected
# complaint that it has no reset of its own and the note on SIGTERM
qemu_log() {
	grep -v -e 'no available reset mechanism' -e 'terminating on signal 15' \
		"$HOST/tmp/$1.log" | sed "s/^/# $1: /"
}

# states NAME: the device states QEMU NAME's trace shows it set, in order.
# QEMU 10 (uAPI v2) traces "vfio_migration_set_device_state (BDF) state
# NAME" after each successful VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE; QEMU
# 7.2 (v1) traces "vfio_migration_set_state (BDF) state N" with N the
# device_state it wrote to the migration region (bits RUNNING 1, SAVING 2,
# RESUMING 4).
states() {
	sed -n -e 's/.*vfio_migration_set_device_state .* state \([A-Z_0-9]*\)$/\1/p' \
		-e 's/.*vfio_migration_set_state .* state \([0-9][0-9]*\)$/v1:\1/p' \
		"$HOST/tmp/$1.trace" | tr '\n' ' ' | sed 's/ $//; s/ / -> /g'
}

# protocol NAME: which VFIO migration protocol QEMU NAME used, from its
# trace: "v2" (data_fd) or "v1" (region); "none" if it set no state
protocol() {
	if grep -q 'vfio_migration_set_device_state .* state [A-Z]' "$HOST/tmp/$1.trace"; then
		echo v2
	elif grep -q 'vfio_migration_set_state .* state [0-9]' "$HOST/tmp/$1.trace"; then
		echo v1
	else
		echo none
	fi
}
