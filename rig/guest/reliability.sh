#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the VM: the reliability suite of the vfio-pci vendor ops and
# the edu sample, on edu 0000:00:04.0 and 0000:00:05.0, the pci-testdev
# 0000:00:06.0 and any other edu (the one behind the bridge), with
# vfio-reliab (rig/guest/vfio-reliab.c).  KTAP on stdout; exits 1 when a
# test failed.
#
#   sh /rig/reliability.sh [smoke|long]
#
#   smoke (default, sized for CI): fault walks that inject every 9th
#   point of each path (1, 10, 19, ... until the operation has no more;
#   at most 4000), 5000 fuzzed streams per
#   protocol, 45 s of stress; long: every point of every path, 50000
#   streams per protocol, 300 s.
#   The fuzz seed is fixed (20261203); rig.fuzz_seed=N on the kernel
#   command line overrides it.
#   To look into one finding (RIG_APPEND="..." rig/vm.sh reliability):
#   rig.reliab_only=NAME,... runs only those tests (the others are
#   skipped), rig.fault_from=N starts the fault walks at point N, and
#   rig.fault_verbose=1 has the kernel log every injected failure with
#   its stack.
#
# Tests, one KTAP result each:
#   faults_<path>   vfio-reliab faults <path> 04.0 05.0 for bind, open,
#		    info, v1save, v1resume, v2save, v2resume, trap (with
#		    trap_bar0=N, then Y again), close, unbind and unload
#   fuzz_v1, fuzz_v2
#		    vfio-reliab fuzz 04.0 05.0 <proto> N SEED
#   stress	    for its duration, all at once: bind/unbind cycles of
#		    04.0, vfio-reliab hammer on 05.0, modprobe/rmmod cycles
#		    of vfio_pci_edu (rmmod refused while devices use it:
#		    counted), disable_vendor_ops toggled, hot-remove and
#		    rescan of the pci-testdev; then everything bound again and
#		    a v2 round trip 04.0 -> 05.0
#   remove_during_v1save, remove_during_v2read, remove_during_remapwait
#		    05.0 removed (sysfs remove) while vfio-reliab hold has it
#		    at that stage; the holder goes on at SIGUSR1 and must exit
#		    within 30 s; then rescan, bind, a v2 round trip
#   unload_during_hold
#		    rmmod vfio_pci_edu refused at once while each stage is held
#   sigkill_during_remapwait, sigkill_during_v1save
#		    the holder (and the writer blocked on bar0_trapped) killed
#		    with SIGKILL: all gone within 30 s, the device works after
#   kmemleak	    no leak reported at the end
# At the end the devices that were not bound to vfio-pci are unbound, and
# each device's driver_override is put back.
# The surprise tests run with hung_task_timeout_secs 10 (a hang shows as
# a splat) and remap_bar_timeout_ms 60000 (the held request outlasts the
# test); both are put back afterwards.
#
# Every test ends with a check of the kernel log written during it (read
# whole by "vfio-reliab klog", so a log that wraps loses nothing) for the
# splats rig/check-log.sh looks for; in the faults tests, the "page
# allocation failure" warnings that injected failures cause are left out,
# from that line to the next "</TASK>" (or to the end of the Mem-Info dump
# after it).  vfio-reliab faults writes "# reliability: faults begin" and
# "... end" to the kernel log around each walk, for the host's check.
#
# Prints "RIG-RELIAB: ..." lines (points, streams, operations) and at the
# end "RIG-RELIAB: summary points=<sum> streams=<sum> stress_ops=<sum>".
# Plain POSIX sh: runs in busybox.

MODE=${1:-smoke}
case "$MODE" in
smoke)
	FAULT_MAX=4000
	FAULT_STEP=9
	FUZZ_N=5000
	STRESS_S=45
	;;
long)
	FAULT_MAX=4000
	FAULT_STEP=1
	FUZZ_N=50000
	STRESS_S=300
	;;
*)
	echo "usage: reliability.sh [smoke|long]" >&2
	exit 2
	;;
esac
SEED=20261203
ONLY=
FAULT_FROM=
FAULT_VERBOSE=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rig.fuzz_seed=*) SEED=${arg#rig.fuzz_seed=} ;;
	rig.reliab_only=*) ONLY=${arg#rig.reliab_only=} ;;
	rig.fault_from=*) FAULT_FROM=${arg#rig.fault_from=} ;;
	rig.fault_verbose=1) FAULT_VERBOSE=--verbose ;;
	esac
done

. /rig/sysfs-lib.sh

EDU1=0000:00:04.0
EDU2=0000:00:05.0
TESTDEV=0000:00:06.0
EDU_MOD=vfio_pci_edu
DISABLE=/sys/module/vfio_pci/parameters/disable_vendor_ops
TRAP=/sys/module/$EDU_MOD/parameters/trap_bar0
SYNTH=/sys/module/$EDU_MOD/parameters/synthetic_state
REMAP_TIMEOUT=/sys/module/vfio_pci_core/parameters/remap_bar_timeout_ms
HUNG=/proc/sys/kernel/hung_task_timeout_secs
KMEMLEAK=/sys/kernel/debug/kmemleak
INJECT=/sys/kernel/debug/fail_function/inject
WORK=/tmp/reliability
KLOG=$WORK/klog
ALL=$WORK/all
RC_FILE=$WORK/rc
PATHS="bind open info v1save v1resume v2save v2resume trap close unbind unload"
NUM_TESTS=$(($(echo "$PATHS" | wc -w) + 10))

# rig/check-log.sh's splats
SPLAT_RE='BUG:|WARNING:|Oops|general protection fault|Kernel panic|KASAN:|UBSAN:|INFO: possible|INFO: task .* blocked|possible circular locking|inconsistent lock state|unreferenced object|suspected memory leak|Call Trace:|kernel BUG'


# Print file $1 as diagnostics
show() { sed 's/^/# /' "$1"; }

# busybox sleep takes fractions when built with them
if sleep 0.1 2>/dev/null; then
	TICK=0.1
	PER_S=10
else
	TICK=1
	PER_S=1
fi

find_devices() {
	for fd_dev in "$PCI"/devices/*; do
		[ "$(read_file "$fd_dev/vendor")" = "$1" ] || continue
		[ "$(read_file "$fd_dev/device")" = "$2" ] || continue
		echo "${fd_dev##*/}"
	done
}

unbind() {
	[ -e "$PCI/devices/$1/driver" ] || return 0
	wr "$1" "$PCI/devices/$1/driver/unbind"
}

# bind BDF: to vfio-pci afresh
bind() {
	unbind "$1" || return 1
	wr vfio-pci "$PCI/devices/$1/driver_override" || return 1
	wr "$1" "$PCI/drivers_probe" || return 1
	if [ "$(driver_of "$1")" != vfio-pci ]; then
		say "$1 is not bound to vfio-pci after drivers_probe"
		return 1
	fi
}

# ensure_edu BDF: bound to vfio-pci and driven by the sample
ensure_edu() {
	if [ "$(driver_of "$1")" = vfio-pci ] && [ "$(vendor_of "$1")" = "$EDU_MOD" ]; then
		return 0
	fi
	bind "$1" && expect_vendor "$1" "$EDU_MOD"
}

mod_loaded() {
	[ "$(read_file "/sys/module/$EDU_MOD/initstate")" = live ]
}

mod_load() {
	mod_loaded && return 0
	if ! modprobe "$EDU_MOD"; then
		say "modprobe $EDU_MOD failed"
		return 1
	fi
}

# rescan_for BDF: rescan the bus until BDF is back, 10 s at most
rescan_for() {
	rf_i=0
	while [ ! -e "$PCI/devices/$1" ]; do
		if [ $((rf_i % (2 * PER_S))) -eq 0 ]; then
			wr 1 "$PCI/rescan" || return 1
		fi
		rf_i=$((rf_i + 1))
		if [ "$rf_i" -gt $((10 * PER_S)) ]; then
			say "$1 is not back 10 s after a rescan"
			return 1
		fi
		sleep "$TICK"
	done
}

# Whether process $1 has exited (gone, or a zombie nobody reaped yet)
gone() {
	[ ! -d "/proc/$1" ] && return 0
	grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone PID SECONDS
wait_gone() {
	wg_i=0
	while ! gone "$1"; do
		wg_i=$((wg_i + 1))
		[ "$wg_i" -gt $(($2 * PER_S)) ] && return 1
		sleep "$TICK"
	done
}

# The tool's output as diagnostics, live; RIG-RELIAB lines as they are;
# everything also into $ALL for the summary
diag() {
	while IFS= read -r dl; do
		case "$dl" in
		'#'* | RIG-RELIAB:*) ;;
		*) dl="# $dl" ;;
		esac
		printf '%s\n' "$dl"
		printf '%s\n' "$dl" >>"$ALL"
	done
}

verify() {
	vfio-reliab verify "$@"
}

# --- the kernel log ---

# The follower reads from the time it opens /dev/kmsg: wait until it has
# a line written after that
KLOG_SEQ=0
start_klog() {
	vfio-reliab klog >>"$KLOG" 2>&1 &
	KLOG_PID=$!
	sk_i=0
	while [ "$sk_i" -lt 10 ]; do
		KLOG_SEQ=$((KLOG_SEQ + 1))
		echo "reliability: kernel log follower $$-$KLOG_SEQ" >/dev/kmsg
		sk_j=0
		while [ "$sk_j" -lt "$PER_S" ]; do
			grep -q -F -e "follower $$-$KLOG_SEQ" "$KLOG" && return 0
			sk_j=$((sk_j + 1))
			sleep "$TICK"
		done
		sk_i=$((sk_i + 1))
	done
	say "vfio-reliab klog does not follow the kernel log"
	return 1
}

# mark: a line in the kernel log, once the follower has it, in $MARK
MARK_SEQ=0
mark() {
	MARK_SEQ=$((MARK_SEQ + 1))
	MARK="reliability: mark $$-$MARK_SEQ"
	gone "$KLOG_PID" && start_klog
	echo "$MARK" >/dev/kmsg
	mk_i=0
	while ! grep -q -F -e "$MARK" "$KLOG"; do
		mk_i=$((mk_i + 1))
		if [ "$mk_i" -gt $((10 * PER_S)) ]; then
			say "the kernel log follower did not see '$MARK' in 10 s"
			return 1
		fi
		sleep "$TICK"
	done
}

# klog_clean FROM TO PAGEALLOC: no splat between the marks; with
# PAGEALLOC 1, page allocation failure and vmalloc error warnings are
# left out
klog_clean() {
	awk -v a="$1" -v b="$2" -v pa="$3" -v re="$SPLAT_RE" '
		function ends(s, t) {
			return length(s) >= length(t) &&
			       substr(s, length(s) - length(t) + 1) == t
		}
		!on { if (ends($0, a)) on = 1; next }
		ends($0, b) { exit }
		/vfio-reliab: klog: .* records lost/ {
			print "# kernel log: " $0
			next
		}
		pa && /page allocation failure|vmalloc error|FAULT_INJECTION: forcing a failure/ {
			skip = 1
			next
		}
		skip {
			if (/<\/TASK>/ || /[0-9]+ pages reserved/)
				skip = 0
			next
		}
		$0 ~ re { bad++ }
		bad && shown < 80 { print "# kernel: " $0; shown++ }
		END { exit bad ? 1 : 0 }' "$KLOG"
}

# --- KTAP ---

TESTNO=0
PASSED=0
FAILED=0
SKIPPED=0

result() {
	TESTNO=$((TESTNO + 1))
	case "$2" in
	0)
		echo "ok $TESTNO $1"
		PASSED=$((PASSED + 1))
		;;
	4)
		echo "ok $TESTNO $1 # SKIP"
		SKIPPED=$((SKIPPED + 1))
		;;
	*)
		echo "not ok $TESTNO $1"
		FAILED=$((FAILED + 1))
		;;
	esac
}

# run_test NAME PAGEALLOC FUNCTION ARGS...: one result, with the kernel
# log checked
run_test() {
	rt_name=$1
	rt_pa=$2
	shift 2
	if [ -n "$ONLY" ]; then
		case ",$ONLY," in
		*",$rt_name,"*) ;;
		*)
			result "$rt_name" 4
			return
			;;
		esac
	fi
	if [ -n "$SETUP_FAILED" ]; then
		say "$rt_name: not run: the set-up failed"
		result "$rt_name" 1
		return
	fi
	rt_log=0
	mark || rt_log=1
	rt_from=$MARK
	echo 1 >"$RC_FILE"
	{
		"$@"
		echo $? >"$RC_FILE"
	} 2>&1 | diag
	rt_rc=$(cat "$RC_FILE")
	mark || rt_log=1
	if [ "$rt_log" -ne 0 ]; then
		say "$rt_name: the kernel log could not be checked"
		rt_rc=1
	elif ! klog_clean "$rt_from" "$MARK" "$rt_pa"; then
		say "$rt_name: the kernel log has splats (above)"
		rt_rc=1
	fi
	result "$rt_name" "$rt_rc"
}

# --- the tests ---

t_faults() {
	tf_rc=0
	if [ "$1" = trap ]; then
		wr N "$TRAP" || return 1
	fi
	vfio-reliab faults "$1" "$EDU1" "$EDU2" --max "$FAULT_MAX" \
		--step "$FAULT_STEP" --from "${FAULT_FROM:-1}" $FAULT_VERBOSE ||
		tf_rc=1
	if [ "$1" = trap ]; then
		wr Y "$TRAP" || tf_rc=1
	fi
	return $tf_rc
}

t_fuzz() {
	ensure_edu "$EDU1" && ensure_edu "$EDU2" || return 1
	say "fuzz $1: seed $SEED (rig.fuzz_seed=N overrides it)"
	vfio-reliab fuzz "$EDU1" "$EDU2" "$1" "$FUZZ_N" "$SEED"
}

STRESS=$WORK/stress

stress_binds() {
	sb_n=0
	while [ ! -e "$STRESS/stop" ]; do
		{
			echo "$EDU1" >"$PCI/devices/$EDU1/driver/unbind"
		} 2>/dev/null
		{
			echo vfio-pci >"$PCI/devices/$EDU1/driver_override"
			echo "$EDU1" >"$PCI/drivers_probe"
		} 2>/dev/null
		sb_n=$((sb_n + 1))
		echo "$sb_n" >"$STRESS/binds"
	done
}

stress_modules() {
	sm_n=0
	sm_busy=0
	while [ ! -e "$STRESS/stop" ]; do
		modprobe "$EDU_MOD" 2>/dev/null
		rmmod "$EDU_MOD" 2>/dev/null || sm_busy=$((sm_busy + 1))
		sm_n=$((sm_n + 1))
		echo "$sm_n $sm_busy" >"$STRESS/modules"
	done
	modprobe "$EDU_MOD" 2>/dev/null
}

stress_toggles() {
	st_n=0
	while [ ! -e "$STRESS/stop" ]; do
		{ echo 1 >"$DISABLE"; } 2>/dev/null
		{ echo 0 >"$DISABLE"; } 2>/dev/null
		st_n=$((st_n + 1))
		echo "$st_n" >"$STRESS/toggles"
	done
}

stress_removes() {
	sr_n=0
	while [ ! -e "$STRESS/stop" ]; do
		{ echo 1 >"$PCI/devices/$TESTDEV/remove"; } 2>/dev/null
		rescan_for "$TESTDEV" >/dev/null
		sr_n=$((sr_n + 1))
		echo "$sr_n" >"$STRESS/removes"
	done
}

t_stress() {
	ts_rc=0
	rm -rf "$STRESS"
	mkdir -p "$STRESS"
	ensure_edu "$EDU1" && ensure_edu "$EDU2" || return 1
	stress_binds &
	ts_binds=$!
	vfio-reliab hammer "$EDU2" "$STRESS_S" >"$STRESS/hammer" 2>&1 &
	ts_hammer=$!
	stress_modules &
	ts_modules=$!
	stress_toggles &
	ts_toggles=$!
	stress_removes &
	ts_removes=$!
	say "stress: $STRESS_S s of bind cycles of $EDU1, hammer on $EDU2, module cycles, disable_vendor_ops toggles, removes of $TESTDEV"
	sleep "$STRESS_S"
	: >"$STRESS/stop"
	for ts_pid in $ts_binds $ts_modules $ts_toggles $ts_removes $ts_hammer; do
		if ! wait_gone "$ts_pid" 60; then
			say "stress: process $ts_pid did not stop within 60 s: killed"
			kill -9 "$ts_pid" 2>/dev/null
			ts_rc=1
		fi
		wait "$ts_pid"
		ts_status=$?
		if [ "$ts_pid" = "$ts_hammer" ] && [ "$ts_status" -ne 0 ]; then
			say "stress: vfio-reliab hammer exited with $ts_status"
			ts_rc=1
		fi
	done
	show "$STRESS/hammer"

	# Everything as before, and working
	wr 0 "$DISABLE" || ts_rc=1
	mod_load || ts_rc=1
	rescan_for "$TESTDEV" || ts_rc=1
	for ts_dev in $EDUS; do
		bind "$ts_dev" && expect_vendor "$ts_dev" "$EDU_MOD" || ts_rc=1
	done
	bind "$TESTDEV" && expect_vendor "$TESTDEV" none || ts_rc=1
	verify "$EDU1" "$EDU2" || ts_rc=1

	ts_b=$(read_file "$STRESS/binds")
	ts_h=$(sed -n 's/^RIG-RELIAB: hammer ops=\([0-9]*\) .*/\1/p' "$STRESS/hammer")
	ts_m=
	ts_busy=
	{ read -r ts_m ts_busy <"$STRESS/modules"; } 2>/dev/null
	ts_t=$(read_file "$STRESS/toggles")
	ts_r=$(read_file "$STRESS/removes")
	echo "RIG-RELIAB: stress seconds=$STRESS_S binds=${ts_b:-0} hammer=${ts_h:-0} modcycles=${ts_m:-0} rmmod_busy=${ts_busy:-0} toggles=${ts_t:-0} removes=${ts_r:-0}"
	return $ts_rc
}

# hold_start BDF STAGE: vfio-reliab hold in the background until READY;
# HOLD_PID, WRITER_PID (remapwait) and HOLD_OUT
HOLD_OUT=$WORK/hold
hold_start() {
	: >"$HOLD_OUT"
	vfio-reliab hold "$1" "$2" >"$HOLD_OUT" 2>&1 &
	HOLD_PID=$!
	WRITER_PID=
	hs_i=0
	while ! grep -q -x READY "$HOLD_OUT"; do
		if gone "$HOLD_PID"; then
			wait "$HOLD_PID"
			say "vfio-reliab hold $1 $2 exited with $? before READY:"
			show "$HOLD_OUT"
			return 1
		fi
		hs_i=$((hs_i + 1))
		if [ "$hs_i" -gt $((60 * PER_S)) ]; then
			say "vfio-reliab hold $1 $2: no READY within 60 s"
			show "$HOLD_OUT"
			kill -9 "$HOLD_PID"
			wait "$HOLD_PID"
			return 1
		fi
		sleep "$TICK"
	done
	WRITER_PID=$(sed -n 's/^# writer pid \([0-9][0-9]*\)$/\1/p' "$HOLD_OUT")
	if [ "$2" = remapwait ] && [ -z "$WRITER_PID" ]; then
		say "vfio-reliab hold: no writer pid"
		return 1
	fi
}

# hold_end SECONDS: the holder must exit within SECONDS with status 0
hold_end() {
	he_rc=0
	if ! wait_gone "$HOLD_PID" "$1"; then
		say "the holder did not exit within $1 s: killed"
		kill -9 "$HOLD_PID"
		wait_gone "$HOLD_PID" 30
		he_rc=1
	fi
	wait "$HOLD_PID"
	he_status=$?
	show "$HOLD_OUT"
	if [ "$he_rc" -eq 0 ] && [ "$he_status" -ne 0 ]; then
		say "the holder exited with status $he_status"
		he_rc=1
	fi
	return $he_rc
}

# trap_for STAGE: trap_bar0 as the stage needs it (remapwait: N)
trap_for() {
	if [ "$1" = remapwait ]; then
		wr N "$TRAP"
	else
		wr Y "$TRAP"
	fi
}

t_remove_during() {
	tr_rc=0
	ensure_edu "$EDU2" || return 1
	trap_for "$1" || return 1
	if ! hold_start "$EDU2" "$1"; then
		wr Y "$TRAP"
		return 1
	fi
	(echo 1 >"$PCI/devices/$EDU2/remove") 2>/dev/null &
	tr_remove=$!
	# Let the remove reach its wait for the device to be released
	sleep 1
	kill -USR1 "$HOLD_PID"
	hold_end 30 || tr_rc=1
	if ! wait_gone "$tr_remove" 30; then
		say "the remove of $EDU2 did not end within 30 s of the holder's exit: killed"
		kill -9 "$tr_remove"
		tr_rc=1
	fi
	wait "$tr_remove" || { say "the remove of $EDU2 failed"; tr_rc=1; }
	if [ -e "$PCI/devices/$EDU2" ]; then
		say "$EDU2 is still there after its remove"
		tr_rc=1
	fi
	rescan_for "$EDU2" || return 1
	wr Y "$TRAP" || tr_rc=1
	bind "$EDU2" && expect_vendor "$EDU2" "$EDU_MOD" || return 1
	verify "$EDU2" "$EDU1" || tr_rc=1
	return $tr_rc
}

t_unload_during_hold() {
	tu_rc=0
	for tu_stage in v1save v2read remapwait; do
		ensure_edu "$EDU2" || return 1
		trap_for "$tu_stage" || return 1
		if ! hold_start "$EDU2" "$tu_stage"; then
			tu_rc=1
			continue
		fi
		tu_t0=$(vfio-reliab now)
		tu_out=$(timeout 10 rmmod "$EDU_MOD" 2>&1)
		tu_status=$?
		tu_ms=$((($(vfio-reliab now) - tu_t0) / 1000000))
		if [ "$tu_status" -eq 0 ]; then
			say "$tu_stage: rmmod $EDU_MOD succeeded while $EDU2 is held"
			tu_rc=1
		elif [ "$tu_status" -eq 124 ] || [ "$tu_status" -eq 143 ]; then
			say "$tu_stage: rmmod $EDU_MOD did not return within 10 s"
			tu_rc=1
		else
			case "$tu_out" in
			*busy* | *"in use"* | *"temporarily unavailable"*)
				say "$tu_stage: rmmod refused in $tu_ms ms: $tu_out"
				;;
			*)
				say "$tu_stage: rmmod failed, not as busy: $tu_out"
				tu_rc=1
				;;
			esac
		fi
		mod_loaded || { say "$tu_stage: $EDU_MOD is gone"; tu_rc=1; }
		kill -USR1 "$HOLD_PID"
		hold_end 30 || tu_rc=1
		wr Y "$TRAP" || tu_rc=1
		mod_load || return 1
		ensure_edu "$EDU2" || return 1
		verify "$EDU2" "$EDU1" || tu_rc=1
	done
	return $tu_rc
}

t_sigkill_during() {
	tk_rc=0
	ensure_edu "$EDU2" || return 1
	trap_for "$1" || return 1
	if ! hold_start "$EDU2" "$1"; then
		wr Y "$TRAP"
		return 1
	fi
	# shellcheck disable=SC2086 # no writer but for remapwait
	kill -9 "$HOLD_PID" $WRITER_PID
	# shellcheck disable=SC2086
	for tk_pid in "$HOLD_PID" $WRITER_PID; do
		if ! wait_gone "$tk_pid" 30; then
			say "process $tk_pid is still there 30 s after SIGKILL"
			tk_rc=1
		fi
	done
	wait "$HOLD_PID"
	show "$HOLD_OUT"
	wr Y "$TRAP" || tk_rc=1
	ensure_edu "$EDU2" || return 1
	verify "$EDU2" "$EDU1" || tk_rc=1
	return $tk_rc
}

t_kmemleak() {
	if [ ! -e "$KMEMLEAK" ]; then
		say "no $KMEMLEAK (CONFIG_DEBUG_KMEMLEAK)"
		return 4
	fi
	# Objects younger than 5 s are not reported yet: scan twice
	wr scan "$KMEMLEAK" || return 1
	sleep 5
	wr scan "$KMEMLEAK" || return 1
	tl_report=$(cat "$KMEMLEAK")
	[ -z "$tl_report" ] && return 0
	say "kmemleak reports:"
	printf '%s\n' "$tl_report" | sed -n '1,200s/^/# /p'
	return 1
}

# --- set-up and the run ---

# The driver and driver_override of each device, "dev driver override"
device_state() {
	for ds_dev in $EDUS $TESTDEV; do
		ds_drv=$(driver_of "$ds_dev")
		ds_ovr=$(read_file "$PCI/devices/$ds_dev/driver_override")
		[ "$ds_ovr" = "(null)" ] && ds_ovr=
		echo "$ds_dev ${ds_drv:--} ${ds_ovr:--}"
	done
}

# Put back what device_state printed at the start: the devices that were
# not bound to vfio-pci are unbound from it
put_back() {
	printf '%s\n' "$ORIG_STATE" | while read -r pb_dev pb_drv pb_ovr; do
		if [ -z "$pb_dev" ] || [ ! -e "$PCI/devices/$pb_dev" ]; then
			continue
		fi
		[ "$pb_ovr" = - ] && pb_ovr=
		if [ "$pb_drv" != vfio-pci ] && [ "$(driver_of "$pb_dev")" = vfio-pci ]; then
			unbind "$pb_dev"
		fi
		wr "$pb_ovr" "$PCI/devices/$pb_dev/driver_override"
		if [ "$pb_drv" != - ] && [ "$pb_drv" != vfio-pci ] &&
		   [ ! -e "$PCI/devices/$pb_dev/driver" ]; then
			wr "$pb_dev" "$PCI/drivers/$pb_drv/bind"
		fi
	done
}

ORIG_STATE=
ORIG_HUNG=
ORIG_REMAP=
restore() {
	[ -n "$ORIG_HUNG" ] && wr "$ORIG_HUNG" "$HUNG"
	[ -n "$ORIG_REMAP" ] && wr "$ORIG_REMAP" "$REMAP_TIMEOUT"
	[ -f "$TRAP" ] && wr Y "$TRAP"
	[ -f "$DISABLE" ] && wr 0 "$DISABLE"
	[ -e "$INJECT" ] && { echo >"$INJECT"; } 2>/dev/null
	put_back
}

setup() {
	for su_mod in vfio-pci vfio_iommu_type1 "$EDU_MOD"; do
		if ! modprobe "$su_mod"; then
			say "modprobe $su_mod failed"
			return 1
		fi
	done
	if ! command -v vfio-reliab >/dev/null; then
		say "no vfio-reliab in PATH"
		return 1
	fi
	EDUS=$(find_devices 0x1234 0x11e8 | tr '\n' ' ')
	for su_dev in "$EDU1" "$EDU2" "$TESTDEV"; do
		if [ ! -e "$PCI/devices/$su_dev" ]; then
			say "no device $su_dev"
			return 1
		fi
	done
	ORIG_STATE=$(device_state)
	wr 0 "$DISABLE" && wr Y "$TRAP" && wr 0 "$SYNTH" || return 1
	# Bound afresh: synthetic_state and trap_bar0 are read then
	for su_dev in $EDUS; do
		bind "$su_dev" && expect_vendor "$su_dev" "$EDU_MOD" || return 1
	done
	bind "$TESTDEV" && expect_vendor "$TESTDEV" none || return 1
	say "edu devices $EDUS, pci-testdev $TESTDEV; mode $MODE: faults at every ${FAULT_STEP}th of at most $FAULT_MAX points per path, fuzz $FUZZ_N streams per protocol (seed $SEED), stress $STRESS_S s"
	if [ -w "$KMEMLEAK" ]; then
		wr scan "$KMEMLEAK" && wr clear "$KMEMLEAK"
	fi
	return 0
}

echo "TAP version 13"
echo "1..$NUM_TESTS"
if [ "$(id -u)" -ne 0 ]; then
	say "must be run as root"
	SETUP_FAILED=1
fi
case "$SEED" in
'' | *[!0-9]*)
	say "rig.fuzz_seed=$SEED is not a number"
	SETUP_FAILED=1
	;;
esac
rm -rf "$WORK"
mkdir -p "$WORK"
: >"$KLOG"
: >"$ALL"
mount -t debugfs none /sys/kernel/debug 2>/dev/null
trap 'restore; exit 1' HUP INT TERM
start_klog
if [ -z "$SETUP_FAILED" ] && ! setup; then
	say "set-up failed"
	SETUP_FAILED=1
fi

for path in $PATHS; do
	run_test "faults_$path" 1 t_faults "$path"
done
[ -e "$INJECT" ] && { echo >"$INJECT"; } 2>/dev/null
run_test fuzz_v1 0 t_fuzz v1
run_test fuzz_v2 0 t_fuzz v2
run_test stress 0 t_stress

ORIG_HUNG=$(read_file "$HUNG")
ORIG_REMAP=$(read_file "$REMAP_TIMEOUT")
[ -n "$ORIG_HUNG" ] && wr 10 "$HUNG"
[ -n "$ORIG_REMAP" ] && wr 60000 "$REMAP_TIMEOUT"
run_test remove_during_v1save 0 t_remove_during v1save
run_test remove_during_v2read 0 t_remove_during v2read
run_test remove_during_remapwait 0 t_remove_during remapwait
run_test unload_during_hold 0 t_unload_during_hold
run_test sigkill_during_remapwait 0 t_sigkill_during remapwait
run_test sigkill_during_v1save 0 t_sigkill_during v1save
[ -n "$ORIG_HUNG" ] && wr "$ORIG_HUNG" "$HUNG"
[ -n "$ORIG_REMAP" ] && wr "$ORIG_REMAP" "$REMAP_TIMEOUT"
ORIG_HUNG=
ORIG_REMAP=

run_test kmemleak 0 t_kmemleak

restore
kill "$KLOG_PID" 2>/dev/null
wait "$KLOG_PID" 2>/dev/null

awk '
	function field(name,    i) {
		for (i = 1; i <= NF; i++)
			if (index($i, name "=") == 1)
				return substr($i, length(name) + 2) + 0
		return 0
	}
	/^RIG-RELIAB: faults / { points += field("points") }
	/^RIG-RELIAB: fuzz / { streams += field("streams") }
	/^RIG-RELIAB: stress / {
		ops += field("binds") + field("hammer") + field("modcycles") +
		       field("toggles") + field("removes")
	}
	END { printf "RIG-RELIAB: summary points=%d streams=%d stress_ops=%d\n", points, streams, ops }
' "$ALL"
echo "# Totals: pass:$PASSED fail:$FAILED xfail:0 xpass:0 skip:$SKIPPED error:0"
[ "$FAILED" -eq 0 ] && [ "$TESTNO" -eq "$NUM_TESTS" ]
