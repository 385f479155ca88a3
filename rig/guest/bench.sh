#!/bin/sh
# Runs inside the VM (rig.mode=bench): the benchmark behind "make bench".
# Each figure is measured once per round, both of its sides in the same
# boot, one right after the other (which side goes first alternates from
# round to round); a round gives one value per figure, and the figure is
# the minimum, median and maximum of those values over the rounds:
#
#   bind_edu, bind_testdev      time of an unbind+bind cycle of vfio-pci
#				(30 cycles, ns per cycle) with vendor ops
#				on, over the same with disable_vendor_ops=1,
#				for edu 0000:00:04.0 (vfio_pci_edu drives it)
#				and the pci-testdev (no vendor module)
#   access_{bar0,cfg}_{read,write}
#				vfio-bench access (20000 of each) on edu #1
#				driven by vfio_pci_edu, over the same on
#				edu #2 bound as plain vfio-pci
#   mig_<N>MiB_<proto>_{save,restore}
#				memcpy() of the stream as a percentage of
#				vfio-bench migrate edu #1 -> edu #2 with the
#				sample's synthetic_state at N MiB, for the v1
#				region with pread/pwrite (v1rw) or mmap
#				(v1mmap) and for uAPI v2's data_fd (v2)
#   qemu7.2_downtime, qemu10_downtime
#				the downtime (ms) QEMU reports for the
#				"migration" test of qemu-migrate.sh and of
#				qemu10-migrate.sh, with their downtime limit
#
# A figure's goal is met when its median meets it.  Output for the host
# (rig/bench.sh): "RIG-BENCH-ROUNDS: R", "RIG-BENCH-FIGURES: fig...", one
# "RIG-BENCH-ROUND: r fig value" per measurement, and at the end
#   RIG-BENCH-TABLE: <figure> | <min> | <median> | <max> | <goal> | <met: yes/no>
# for every figure measured in every round; "RIG-BENCH-FAIL: ..." for a
# measurement that failed, and the job's status is then 1.  Goals missed
# are not failures.  Then the kernel log, for the host's splat check.
#
# Kernel command line: rig.bench_rounds=R (default 5) and
# rig.bench_sizes=1,16,64 (the synthetic state sizes in MiB, 1 to 64;
# that is the default).  The console shows only kernel warnings and worse
# while it runs: printing every bind's info line over the emulated serial
# port would be timed along with the bind.
. /rig/sysfs-lib.sh

EDU1=0000:00:04.0
EDU2=0000:00:05.0
TESTDEV=0000:00:06.0
EDU_MOD=vfio_pci_edu
VFIO_DRV=$PCI/drivers/vfio-pci
DISABLE=/sys/module/vfio_pci/parameters/disable_vendor_ops
SYNTH=/sys/module/$EDU_MOD/parameters/synthetic_state
BIND_CYCLES=30
ACCESS_N=20000
PROTOS="v1rw v1mmap v2"
DATA=/tmp/bench

ROUNDS=5
SIZES=1,16,64
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rig.bench_rounds=*) ROUNDS=${arg#rig.bench_rounds=} ;;
	rig.bench_sizes=*) SIZES=${arg#rig.bench_sizes=} ;;
	esac
done
SIZES=$(echo "$SIZES" | tr ',' ' ')

FAILED=0
fail() {
	echo "RIG-BENCH-FAIL: $*"
	FAILED=1
}

case "$ROUNDS" in
'' | *[!0-9]* | 0) say "rig.bench_rounds=$ROUNDS: not a number of rounds"; ROUNDS= ;;
esac
for mib in $SIZES; do
	case "$mib" in
	'' | *[!0-9]*) SIZES= ;;
	*) [ "$mib" -ge 1 ] && [ "$mib" -le 64 ] || SIZES= ;;
	esac
done
if [ -z "$ROUNDS" ] || [ -z "$SIZES" ]; then
	fail "bad rig.bench_rounds= or rig.bench_sizes= (sizes: MiB from 1 to 64)"
	exit 1
fi

# rebind BDF VENDOR: bind BDF to vfio-pci afresh, driven by VENDOR
# ("none": plain vfio-pci), as disable_vendor_ops now says
rebind() {
	if [ -e "$PCI/devices/$1/driver" ]; then
		wr "$1" "$PCI/devices/$1/driver/unbind" || return 1
	fi
	wr vfio-pci "$PCI/devices/$1/driver_override" || return 1
	wr "$1" "$VFIO_DRV/bind" || return 1
	expect_vendor "$1" "$2"
}

vendor_ops() {
	case "$1" in
	on) wr 0 "$DISABLE" ;;
	off) wr 1 "$DISABLE" ;;
	esac
}

# record FIGURE VALUE: one round's value of FIGURE
record() {
	echo "$2" >>"$DATA/$1"
	echo "RIG-BENCH-ROUND: $ROUND $1 $2"
}

# ratio A B: A / B
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0) exit 1; printf "%.4f\n", a / b }'
}

# key FILE KEY: the value of "RIG-BENCH: KEY value" in FILE
key() {
	sed -n "s/^RIG-BENCH: $2 \([^ ]*\)$/\1/p" "$1" | tail -n 1
}

# first ROUND: 0 when the round's first side is the "on"/"vendor" one
first() { [ $(($1 % 2)) -eq 1 ]; }

# bind_cycles BDF VENDOR: ns per unbind+bind cycle in $BC_NS, each cycle
# checked to leave BDF driven by VENDOR; one cycle first, untimed, so that
# the first timed unbind is of the same kind
bind_cycles() {
	rebind "$1" "$2" || return 1
	bc_i=0
	bc_t0=$(vfio-bench now) || return 1
	while [ $bc_i -lt $BIND_CYCLES ]; do
		bc_i=$((bc_i + 1))
		if ! { echo "$1" >"$VFIO_DRV/unbind"; } 2>/dev/null; then
			say "$1: cycle $bc_i: unbind failed"
			return 1
		fi
		if ! { echo "$1" >"$VFIO_DRV/bind"; } 2>/dev/null; then
			say "$1: cycle $bc_i: bind failed"
			return 1
		fi
		bc_v=
		{ read -r bc_v <"$PCI/devices/$1/vfio_vendor_driver"; } 2>/dev/null
		if [ "$bc_v" != "$2" ]; then
			say "$1: cycle $bc_i: vfio_vendor_driver says ${bc_v:-nothing}, expected $2"
			return 1
		fi
	done
	bc_t1=$(vfio-bench now) || return 1
	BC_NS=$(((bc_t1 - bc_t0) / BIND_CYCLES))
}

# bench_bind FIGURE BDF VENDOR: one round of a bind figure
bench_bind() {
	bb_on=''
	bb_off=''
	if first "$ROUND"; then bb_sides="on off"; else bb_sides="off on"; fi
	for bb_side in $bb_sides; do
		vendor_ops "$bb_side" || break
		if [ "$bb_side" = on ]; then
			bind_cycles "$2" "$3" || break
			bb_on=$BC_NS
		else
			bind_cycles "$2" none || break
			bb_off=$BC_NS
		fi
	done
	vendor_ops on || fail "$1: cannot set disable_vendor_ops back to 0"
	if [ -z "$bb_on" ] || [ -z "$bb_off" ]; then
		fail "$1: round $ROUND: the bind cycles of $2 failed"
		return 1
	fi
	say "round $ROUND: $1: $BIND_CYCLES cycles of $2, $((bb_on / 1000)) us per cycle with vendor ops, $((bb_off / 1000)) us without"
	record "$1" "$(ratio "$bb_on" "$bb_off")"
}

# access BDF VENDOR OUT: vfio-bench access on BDF, which must report VENDOR
access() {
	if ! vfio-bench access "$1" "$ACCESS_N" >"$3" 2>&1; then
		sed 's/^/# /' "$3"
		say "vfio-bench access $1 failed"
		return 1
	fi
	sed -n 's/^vfio-bench: /# /p' "$3"
	ac_v=$(key "$3" vendor_driver)
	[ "$ac_v" = "$2" ] && return 0
	say "vfio-bench access $1: vendor driver $ac_v, expected $2"
	return 1
}

# One round of the access figures: edu #1 with the vendor, edu #2 plain
bench_access() {
	ba_ok=0
	if vendor_ops off && rebind "$EDU2" none && vendor_ops on &&
	   { [ "$(vendor_of "$EDU1")" = "$EDU_MOD" ] ||
	     rebind "$EDU1" "$EDU_MOD"; }; then
		if first "$ROUND"; then
			access "$EDU1" "$EDU_MOD" "$DATA/access.vendor" &&
				access "$EDU2" none "$DATA/access.plain" || ba_ok=1
		else
			access "$EDU2" none "$DATA/access.plain" &&
				access "$EDU1" "$EDU_MOD" "$DATA/access.vendor" || ba_ok=1
		fi
	else
		ba_ok=1
	fi
	vendor_ops on || ba_ok=1
	rebind "$EDU2" "$EDU_MOD" || ba_ok=1
	if [ $ba_ok -ne 0 ]; then
		fail "access: round $ROUND failed"
		return 1
	fi
	for ba_op in bar0_read bar0_write cfg_read cfg_write; do
		ba_v=$(key "$DATA/access.vendor" "${ba_op}_ns")
		ba_p=$(key "$DATA/access.plain" "${ba_op}_ns")
		if ! ba_r=$(ratio "$ba_v" "$ba_p"); then
			fail "access_$ba_op: round $ROUND: no value (vendor '$ba_v', plain '$ba_p')"
			continue
		fi
		record "access_$ba_op" "$ba_r"
	done
}

# synthetic MIB: the sample's synthetic state for both edus, bound again
synthetic() {
	wr $(($1 * 1048576)) "$SYNTH" || return 1
	rebind "$EDU1" "$EDU_MOD" && rebind "$EDU2" "$EDU_MOD"
}

# One round of the migration figures
bench_mig() {
	for bm_mib in $SIZES; do
		if ! synthetic "$bm_mib"; then
			fail "mig_${bm_mib}MiB: round $ROUND: cannot set synthetic_state and bind the edus"
			continue
		fi
		for bm_proto in $PROTOS; do
			bm_fig=mig_${bm_mib}MiB_$bm_proto
			bm_out=$DATA/mig.out
			if ! vfio-bench migrate "$EDU1" "$EDU2" "$bm_proto" >"$bm_out" 2>&1; then
				sed 's/^/# /' "$bm_out"
				fail "$bm_fig: round $ROUND: vfio-bench migrate failed"
				continue
			fi
			sed -n 's/^vfio-bench: /# /p' "$bm_out"
			bm_bytes=$(key "$bm_out" bytes)
			bm_min=$((bm_mib * 1048576))
			if [ "${bm_bytes:-0}" -lt "$bm_min" ]; then
				fail "$bm_fig: round $ROUND: a stream of ${bm_bytes:-no} bytes, not the $bm_min bytes of synthetic state and more"
				continue
			fi
			# The edu header, then struct edu_synthetic (seed, size)
			[ "$bm_bytes" -eq $((bm_min + 72)) ] ||
				say "$bm_fig: the stream has $bm_bytes bytes, not 56 + 16 + $bm_min"
			for bm_what in save restore; do
				bm_v=$(key "$bm_out" "mig_${bm_proto}_${bm_what}_pct")
				if [ -z "$bm_v" ]; then
					fail "${bm_fig}_$bm_what: round $ROUND: no value"
					continue
				fi
				record "${bm_fig}_$bm_what" "$bm_v"
			done
		done
	done
	synthetic 0 || fail "mig: round $ROUND: cannot set synthetic_state back to 0 and bind the edus"
}

# qemu_downtime FIGURE LABEL PROTO SCRIPT ARGS...: run a nested-QEMU suite
# and take the downtime of its "migration" test from its
# "# LABEL: protocol PROTO, downtime N ms, ..., downtime-limit N ms, test
# migration" line
qemu_downtime() {
	qd_fig=$1 qd_label=$2 qd_proto=$3
	shift 3
	qd_out=$DATA/qemu.out
	"$@" >"$qd_out" 2>&1
	qd_rc=$?
	cat "$qd_out"
	if ! grep -q '^ok [0-9]* migration$' "$qd_out"; then
		fail "$qd_fig: round $ROUND: the migration test of $* failed (status $qd_rc)"
		return 1
	fi
	[ $qd_rc -eq 0 ] || say "$*: exited with status $qd_rc (another test than migration failed)"
	qd_line=$(sed -n "s/^# $qd_label: protocol \([^,]*\), downtime \([0-9][0-9]*\) ms, .*downtime-limit \([0-9][0-9]*\) ms, test migration\$/\1 \2 \3/p" "$qd_out" | tail -n 1)
	# shellcheck disable=SC2086 # three words, split on purpose
	set -- $qd_line
	if [ $# -ne 3 ]; then
		fail "$qd_fig: round $ROUND: no '# $qd_label: protocol ..., downtime N ms, ..., downtime-limit N ms, test migration' line"
		return 1
	fi
	if [ "$1" != "$qd_proto" ]; then
		fail "$qd_fig: round $ROUND: protocol $1, expected $qd_proto"
		return 1
	fi
	echo "$3" >>"$DATA/$qd_fig.limit"
	record "$qd_fig" "$2"
}

# One round of the QEMU figures; both suites need both edus driven by the
# sample, with no synthetic state
bench_qemu() {
	if [ "$(cat "$SYNTH")" != 0 ] || [ "$(vendor_of "$EDU1")" != "$EDU_MOD" ] ||
	   [ "$(vendor_of "$EDU2")" != "$EDU_MOD" ]; then
		if ! synthetic 0; then
			fail "qemu: round $ROUND: cannot bind the edus with the sample"
			return 1
		fi
	fi
	qemu_downtime qemu7.2_downtime qemu7.2 v1 sh /rig/qemu-migrate.sh migration
	qemu_downtime qemu10_downtime qemu10 v2 sh /rig/qemu10-migrate.sh migration
}

# table FIGURE KIND GOAL: the figure's line; KIND ratio (GOAL: at most
# that many times), pct (GOAL: at least that percentage) or ms (GOAL: the
# downtime limit, at most)
table() {
	if [ ! -s "$DATA/$1" ]; then
		fail "$1: not measured"
		return 1
	fi
	tb_n=$(wc -l <"$DATA/$1")
	if [ "$tb_n" -ne "$ROUNDS" ]; then
		fail "$1: measured in $tb_n of $ROUNDS rounds: $(tr '\n' ' ' <"$DATA/$1")"
		return 1
	fi
	sort -n "$DATA/$1" | awk -v fig="$1" -v kind="$2" -v goal="$3" '
		{ v[NR] = $1 }
		END {
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (kind == "ratio") {
				fmt = "%.3fx"; g = sprintf("<= %sx", goal)
				met = med <= goal
			} else if (kind == "pct") {
				fmt = "%.1f%%"; g = sprintf(">= %s%%", goal)
				met = med >= goal
			} else {
				fmt = "%d ms"; g = sprintf("<= %s ms (downtime-limit)", goal)
				met = med <= goal
			}
			printf "RIG-BENCH-TABLE: %s | " fmt " | " fmt " | " fmt " | %s | %s\n",
			       fig, v[1], med, v[NR], g, met ? "yes" : "no"
		}'
}

rm -rf "$DATA"
mkdir -p "$DATA"
FIGURES="bind_edu bind_testdev access_bar0_read access_bar0_write access_cfg_read access_cfg_write"
for mib in $SIZES; do
	for proto in $PROTOS; do
		FIGURES="$FIGURES mig_${mib}MiB_${proto}_save mig_${mib}MiB_${proto}_restore"
	done
done
FIGURES="$FIGURES qemu7.2_downtime qemu10_downtime"
echo "RIG-BENCH-ROUNDS: $ROUNDS"
echo "RIG-BENCH-FIGURES: $FIGURES"

read -r CONSOLE_LEVEL _ </proc/sys/kernel/printk
echo 5 >/proc/sys/kernel/printk

ok=0
modprobe vfio-pci && modprobe vfio_iommu_type1 && modprobe "$EDU_MOD" || ok=1
for f in "$DISABLE" "$SYNTH"; do
	[ -f "$f" ] || { say "no $f"; ok=1; }
done
[ $ok -eq 0 ] && vendor_ops on || ok=1
if [ $ok -eq 0 ] && [ "$(cat "$SYNTH")" != 0 ]; then
	wr 0 "$SYNTH" || ok=1
fi
if [ $ok -eq 0 ]; then
	rebind "$EDU1" "$EDU_MOD" && rebind "$EDU2" "$EDU_MOD" &&
		rebind "$TESTDEV" none || ok=1
fi

if [ $ok -eq 0 ]; then
	ROUND=1
	while [ "$ROUND" -le "$ROUNDS" ]; do
		echo "RIG: bench round $ROUND of $ROUNDS, $(cut -d' ' -f1 /proc/uptime) s up"
		bench_bind bind_edu "$EDU1" "$EDU_MOD"
		bench_bind bind_testdev "$TESTDEV" none
		bench_access
		bench_mig
		bench_qemu
		ROUND=$((ROUND + 1))
	done
	echo "RIG: bench done, $(cut -d' ' -f1 /proc/uptime) s up"
	for fig in $FIGURES; do
		case "$fig" in
		bind_*) table "$fig" ratio 1.1 ;;
		access_*) table "$fig" ratio 1.02 ;;
		mig_*) table "$fig" pct 80 ;;
		qemu*)
			# the largest limit any round used
			table "$fig" ms "$(sort -n "$DATA/$fig.limit" 2>/dev/null | tail -n 1)"
			;;
		esac
	done
else
	fail "setup: cannot load the modules or bind the devices to vfio-pci"
fi

echo "$CONSOLE_LEVEL" >/proc/sys/kernel/printk
echo "RIG: dmesg begin"
dmesg
echo "RIG: dmesg end"
exit $FAILED
