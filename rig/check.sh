#!/bin/bash
# make check: every gate and test.  Each gate counts as one result, each
# in-VM test as one more; ends with "N passed, N failed".
#
# CHECK_BASES (default "7.3 6.12") says which bases run, in order:
#   7.3   mainline, the series in patches/: every gate (tree, overlay,
#         checkpatch, build, per-patch build, W=1/sparse/kernel-doc, docs)
#         and the VM suite with QEMU 7.2 and QEMU 10, then a one-round
#         make bench (every figure must come out) and the reliability
#         suite at its smoke size (rig/guest/reliability.sh)
#   6.12  the 6.12.y LTS backport in patches-6.12/: apply, build and the
#         same VM suite; its results are named "6.12: ..."
# Once mainline's kernel is built and packed, the gates that need no VM
# (the tree and build of each backport after mainline in CHECK_BASES,
# then mainline's per-patch build, static and docs) run in the background
# at nice 19 while the VM boots run; mainline's come last.
set -uo pipefail
. "$(dirname "$0")/common.sh"

pass=0
fail=0
failed=()
whys=()

gate() {
	local name=$1
	shift
	local log=$LOG_DIR/gate-$name.log start=$SECONDS why
	mkdir -p "$LOG_DIR"
	printf '==> %-16s ' "$name"
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "ok ($((SECONDS - start))s)"
		return 0
	fi
	fail=$((fail + 1))
	failed+=("$name")
	why=$(sed -n 's/^rig: first splat: //p' "$log" | head -n 1)
	[ -z "$why" ] || whys+=("$name: $why")
	echo "FAILED ($((SECONDS - start))s), log: $log"
	tail -n 40 "$log" | sed 's/^/    /'
	return 1
}

# The in-VM tests of $1's console log, one result each ($2 prefixes names)
vm_results() {
	local log=$1 prefix=$2 out vp vf
	[ -f "$log" ] || return 0
	out=$LOG_DIR/vm-results.log
	"$RIG_DIR/results.sh" "$log" >"$out" 2>&1
	sed "s/^RIG-TEST: \(ok\|not ok\) \([0-9]* \)\{0,1\}/&$prefix/" "$out"
	vp=$(grep -c '^RIG-TEST: ok ' "$out" || true)
	vf=$(grep -c '^RIG-TEST: not ok ' "$out" || true)
	if [ "$vp" -eq 0 ] && [ "$vf" -eq 0 ]; then
		vf=1
		failed+=("${prefix}vm-tests: none ran")
	fi
	pass=$((pass + vp))
	fail=$((fail + vf))
	[ "$vf" -eq 0 ] || failed+=("${prefix}vm-tests")
}

# Re-read common.sh for base $1 (paths, pins)
use_base() {
	export BASE=$1
	. "$RIG_DIR/common.sh"
}

# Gates that need no VM run in the background while the mainline VM boots
# run, at nice 19: under TCG the guest leaves much of the two cores idle,
# and the VM's threads still come first.  Each step writes its output to
# $BG_DIR/<step>.log and "<status> <seconds>" to $BG_DIR/<step>.rc;
# bg_wait makes that the gate's result when the foreground gets there.
BG_DIR=$BUILD_DIR/background
bg_pid=

# bg_step NAME BASE COMMAND...: one background step
bg_step() {
	local name=$1 b=$2 start=$SECONDS rc=0
	shift 2
	(use_base "$b" && nice -n 19 "$@") >"$BG_DIR/$name.log" 2>&1 || rc=$?
	echo "$rc $((SECONDS - start))" >"$BG_DIR/$name.rc"
	return "$rc"
}

# bg_start BASE...: the tree and build of each backport BASE first (its
# VM boots can then follow mainline's at once), then mainline's
# per-patch, static and docs gates (they go on during the backports' VM
# boots)
bg_start() {
	rm -rf "$BG_DIR"
	mkdir -p "$BG_DIR"
	(
		for b in "$@"; do
			bg_step "$b-tree" "$b" "$RIG_DIR/tree.sh" &&
				bg_step "$b-build" "$b" "$RIG_DIR/build.sh"
		done
		bg_step bisect "$MAINLINE_BASE" "$RIG_DIR/gates.sh" bisect
		bg_step static "$MAINLINE_BASE" "$RIG_DIR/gates.sh" static
		bg_step docs "$MAINLINE_BASE" "$RIG_DIR/docs.sh"
	) </dev/null &
	bg_pid=$!
}

# bg_wait NAME: wait for background step NAME, print its output, return
# its status (a gate's body)
bg_wait() {
	local rc secs
	while [ ! -f "$BG_DIR/$1.rc" ] && kill -0 "$bg_pid" 2>/dev/null; do
		sleep 5
	done
	if [ ! -f "$BG_DIR/$1.rc" ]; then
		echo "rig: background step $1 did not run (an earlier one failed?)"
		return 1
	fi
	cat "$BG_DIR/$1.log"
	read -r rc secs <"$BG_DIR/$1.rc"
	echo "rig: $1 took ${secs}s in the background"
	return "$rc"
}

check_mainline() {
	use_base "$MAINLINE_BASE"
	gate tree "$RIG_DIR/tree.sh" || return
	gate overlay "$RIG_DIR/check-overlay.sh"
	gate checkpatch "$RIG_DIR/gates.sh" checkpatch
	# The full build first (the VM boots copy its kernel and modules);
	# the per-patch and static gates then only rebuild the directories
	# the series touches.
	gate build "$RIG_DIR/build.sh" || return
	gate selftests "$RIG_DIR/selftests.sh" || return
	gate initramfs "$RIG_DIR/initramfs.sh" || return
	# QEMU 10.0 for the VM's QEMU 10 tests (fetched once, then reused).
	gate qemu10 "$RIG_DIR/qemu10.sh"
	# From here the kernel tree and its objects are free: the backports'
	# trees and builds, the per-patch build, the static gates and the
	# docs go on in the background (results: backports' in their place,
	# mainline's at the end).
	bg_start $BACKPORTS
	gate vm-boot "$RIG_DIR/vm.sh" test 2400
	gate vm-splat "$RIG_DIR/check-log.sh" "$LOG_DIR/test.log"
	vm_results "$LOG_DIR/test.log" ""
	# make bench, one round at 1 MiB: every figure must come out; the
	# ratios are not pass/fail.
	gate bench-smoke env RIG_BENCH_ROUNDS=1 RIG_BENCH_SIZES=1 \
		"$RIG_DIR/bench.sh"
	# The reliability suite, sized for CI (make stress runs it longer), in
	# a boot of its own; the allocation failures it injects are no splat.
	gate vm-reliability env RIG_RELIAB=smoke "$RIG_DIR/vm.sh" reliability 1800
	gate reliability-splat "$RIG_DIR/check-log.sh" --faults \
		"$LOG_DIR/reliability.log"
	vm_results "$LOG_DIR/reliability.log" ""
	grep -h '^RIG-RELIAB: summary' "$LOG_DIR/reliability.log" || true
}

# Mainline's gates that ran in the background, last
mainline_background() {
	[ -n "$bg_pid" ] || return 0
	step "base $MAINLINE_BASE: per-patch builds, static gates, docs"
	use_base "$MAINLINE_BASE"
	gate bisect bg_wait bisect
	gate static bg_wait static
	# Sphinx on the driver-api document, with the kernel-doc of the headers.
	gate docs bg_wait docs
}

check_backport() {
	use_base "$1"
	local p=$BASE-
	if [ -n "$bg_pid" ]; then
		gate "${p}tree" bg_wait "${p}tree" || return
		gate "${p}build" bg_wait "${p}build" || return
	else
		gate "${p}tree" "$RIG_DIR/tree.sh" || return
		gate "${p}build" "$RIG_DIR/build.sh" || return
	fi
	gate "${p}selftests" "$RIG_DIR/selftests.sh" || return
	gate "${p}initramfs" "$RIG_DIR/initramfs.sh" || return
	gate "${p}qemu10" "$RIG_DIR/qemu10.sh"
	gate "${p}vm-boot" "$RIG_DIR/vm.sh" test 2400
	gate "${p}vm-splat" "$RIG_DIR/check-log.sh" "$LOG_DIR/test.log"
	vm_results "$LOG_DIR/test.log" "$BASE: "
}

BASES=${CHECK_BASES:-7.3 6.12}
# The backports after mainline: their trees and builds go in the background
BACKPORTS=
seen=0
for b in $BASES; do
	if [ "$b" = "$MAINLINE_BASE" ]; then
		seen=1
	elif [ "$seen" = 1 ]; then
		BACKPORTS="$BACKPORTS $b"
	fi
done
for b in $BASES; do
	step "base $b"
	case "$b" in
	"$MAINLINE_BASE") check_mainline ;;
	*) check_backport "$b" ;;
	esac
done

mainline_background
# Nothing of the background is left running
[ -z "$bg_pid" ] || wait "$bg_pid" 2>/dev/null
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
for w in "${whys[@]}"; do echo "  $w"; done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
