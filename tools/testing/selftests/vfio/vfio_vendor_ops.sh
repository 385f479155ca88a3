#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What this test touches: every edu device (1234:11e8) and the first
# pci-testdev (1b36:0005), which it binds to and unbinds from vfio-pci and
# whose driver_override it sets, putting back at the end the driver and
# driver_override each had; the modules vfio_pci, vfio_pci_edu and
# vfio_iommu_type1, which it loads and unloads, and their parameters.  It
# never unbinds any other device.  Unloading vfio_pci would take the devices
# vfio-pci drives away from whoever uses them, so while it drives any other
# device, the tests that unload or try to unload vfio_pci are skipped.
#
# vfio-pci vendor ops with the sample vendor driver for QEMU's edu device
# (samples/vfio-pci, module vfio_pci_edu): loading the vendor module on
# demand, the module references of devices it drives, reloading vfio-pci,
# the disable_vendor_ops and fail_probe parameters, repeated binding and
# module loading, migration (the v1 region and uAPI v2) and device DMA
# logging, and kmemleak afterwards.  The C tests set the sample's trap_bar0
# parameter as each needs it and put it back; at the end it is set back to
# its default, Y.
#
# Needs a guest with two edu devices (1234:11e8) and a pci-testdev
# (1b36:0005), each in its own IOMMU group, a third edu alone behind a PCI
# bridge (so that vfio-pci can reset it), nothing bound to vfio-pci, and
# a kernel with CONFIG_DEBUG_KMEMLEAK.  Plain POSIX sh: runs in busybox.

DIR=$(dirname "$0")
TEST_BIN=$DIR/vfio_vendor_ops_test

if [ -f "$DIR/ktap_helpers.sh" ]; then
	# shellcheck source=../kselftest/ktap_helpers.sh
	. "$DIR/ktap_helpers.sh"
elif [ -f "$DIR/../kselftest/ktap_helpers.sh" ]; then
	# shellcheck source=../kselftest/ktap_helpers.sh
	. "$DIR/../kselftest/ktap_helpers.sh"
else
	KTAP_TESTNO=1
	KTAP_CNT_PASS=0
	KTAP_CNT_FAIL=0
	KTAP_CNT_SKIP=0
	KSFT_PASS=0
	KSFT_FAIL=1
	KSFT_SKIP=4
	KSFT_NUM_TESTS=0

	ktap_print_header() {
		echo "TAP version 13"
	}

	ktap_set_plan() {
		KSFT_NUM_TESTS=$1
		echo "1..$KSFT_NUM_TESTS"
	}

	ktap_skip_all() {
		echo "1..0 # SKIP $*"
	}

	ktap_test_pass() {
		echo "ok $KTAP_TESTNO $1"
		KTAP_TESTNO=$((KTAP_TESTNO + 1))
		KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
	}

	ktap_test_skip() {
		echo "ok $KTAP_TESTNO $1 # SKIP"
		KTAP_TESTNO=$((KTAP_TESTNO + 1))
		KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
	}

	ktap_test_fail() {
		echo "not ok $KTAP_TESTNO $1"
		KTAP_TESTNO=$((KTAP_TESTNO + 1))
		KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
	}

	ktap_print_totals() {
		echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL" \
			"xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
	}

	ktap_finished() {
		ktap_print_totals
		if [ $((KTAP_CNT_PASS + KTAP_CNT_SKIP)) -eq "$KSFT_NUM_TESTS" ]; then
			exit "$KSFT_PASS"
		fi
		exit "$KSFT_FAIL"
	}
fi

SYSPCI=/sys/bus/pci
VFIO_DRV=$SYSPCI/drivers/vfio-pci
VFIO_MOD=vfio_pci
EDU_MOD=vfio_pci_edu
DISABLE_PARAM=/sys/module/$VFIO_MOD/parameters/disable_vendor_ops
FAIL_PARAM=/sys/module/$EDU_MOD/parameters/fail_probe
TRAP_PARAM=/sys/module/$EDU_MOD/parameters/trap_bar0
CACHE_PARAM=/sys/module/$VFIO_MOD/parameters/vendor_modprobe_cache
MODPROBE_SYSCTL=/proc/sys/kernel/modprobe
ORIG_MODPROBE=
ORIG_CACHE=
DEBUGFS=/sys/kernel/debug
KMEMLEAK=$DEBUGFS/kmemleak

NUM_TESTS=21
BIND_CYCLES=${VFIO_BIND_CYCLES:-100}
MODULE_CYCLES=${VFIO_MODULE_CYCLES:-50}

# Kernel log lines that mean a test upset the kernel
SPLAT_RE='BUG:|WARNING:|Oops|general protection fault|KASAN|UBSAN'
SPLAT_RE="$SPLAT_RE|circular locking|recursive locking|inconsistent lock state"
SPLAT_RE="$SPLAT_RE|suspicious RCU usage|refcount_t:|Call Trace:"
SPLAT_RE="$SPLAT_RE|blocked for more than"

log() {
	echo "# $*"
}

# Print stdin as TAP diagnostics, at most $1 lines
log_lines() {
	sed -n "1,${1}s/^/# /p"
}

# Write $1 to the sysfs file $2; say so when that fails
sysfs_write() {
	if ! { echo "$1" > "$2"; } 2>/dev/null; then
		log "cannot write '$1' to $2"
		return 1
	fi
}

# The first line of file $1, or nothing when it cannot be read
read_file() {
	RF_LINE=
	{ read -r RF_LINE < "$1"; } 2>/dev/null
	echo "$RF_LINE"
}

# The PCI devices with vendor ID $1 and device ID $2, e.g. 0x1234 0x11e8
find_devices() {
	for FD_DEV in "$SYSPCI"/devices/*; do
		{ read -r FD_VENDOR < "$FD_DEV/vendor"; } 2>/dev/null || continue
		{ read -r FD_DEVICE < "$FD_DEV/device"; } 2>/dev/null || continue
		if [ "$FD_VENDOR" = "$1" ] && [ "$FD_DEVICE" = "$2" ]; then
			echo "${FD_DEV##*/}"
		fi
	done
}

is_bound() {
	[ -e "$SYSPCI/devices/$1/driver" ]
}

is_vfio() {
	[ -e "$VFIO_DRV/$1" ]
}

unbind() {
	is_bound "$1" || return 0
	sysfs_write "$1" "$SYSPCI/devices/$1/driver/unbind" || return 1
	if is_bound "$1"; then
		log "$1 is still bound after unbind"
		return 1
	fi
}

clear_override() {
	sysfs_write "" "$SYSPCI/devices/$1/driver_override"
}

# Bind $1 to vfio-pci afresh, unbinding it first when it is bound
bind() {
	unbind "$1" || return 1
	sysfs_write vfio-pci "$SYSPCI/devices/$1/driver_override" || return 1
	sysfs_write "$1" "$SYSPCI/drivers_probe" || return 1
	if ! is_vfio "$1"; then
		log "$1 is not bound to vfio-pci after drivers_probe"
		return 1
	fi
}

# The vendor driver of $1 as vfio-pci shows it
vendor_of() {
	VO_NAME="(no vfio_vendor_driver)"
	{ read -r VO_NAME < "$SYSPCI/devices/$1/vfio_vendor_driver"; } 2>/dev/null
	echo "$VO_NAME"
}

# Check that vfio-pci drives $1 with vendor driver $2 ("none": plain)
expect_vendor() {
	EV_NAME=$(vendor_of "$1")
	if [ "$EV_NAME" != "$2" ]; then
		log "$1: vfio_vendor_driver is $EV_NAME, expected $2"
		return 1
	fi
}

mod_loaded() {
	grep -q "^$1 " /proc/modules
}

mod_refcnt() {
	read_file "/sys/module/$1/refcnt"
}

expect_refcnt() {
	ER_CNT=$(mod_refcnt "$1")
	if [ "$ER_CNT" != "$2" ]; then
		log "module $1 has refcnt '$ER_CNT', expected $2"
		return 1
	fi
}

expect_unloaded() {
	if mod_loaded "$1"; then
		log "module $1 is loaded"
		return 1
	fi
}

# busybox sleep takes fractions when built with them; otherwise whole seconds
if sleep 0.1 2>/dev/null; then
	SLEEP_TICK=0.1
	WAIT_TRIES=100
else
	SLEEP_TICK=1
	WAIT_TRIES=10
fi

# Wait until module $1 has finished loading
wait_for_module() {
	WM_TRY=0
	while [ "$WM_TRY" -lt "$WAIT_TRIES" ]; do
		[ "$(read_file "/sys/module/$1/initstate")" = live ] && return 0
		sleep "$SLEEP_TICK"
		WM_TRY=$((WM_TRY + 1))
	done
	log "module $1 is not loaded after $WAIT_TRIES x ${SLEEP_TICK}s"
	return 1
}

# Wait until vfio-pci drives $1 with vendor driver $2: a vendor that
# registers rebinds the devices it takes from a workqueue
wait_for_vendor() {
	WV_TRY=0
	while [ "$WV_TRY" -lt $((WAIT_TRIES * 3)) ]; do
		[ "$(vendor_of "$1")" = "$2" ] && return 0
		sleep "$SLEEP_TICK"
		WV_TRY=$((WV_TRY + 1))
	done
	expect_vendor "$1" "$2"
}

need_vfio_pci() {
	[ -d "$VFIO_DRV" ] && return 0
	if ! modprobe vfio-pci; then
		log "modprobe vfio-pci failed"
		return 1
	fi
}

# The kernel log is a ring: rather than counting lines, which stops working
# once it wraps, write a marker and look at what follows it.
MARK_SEQ=0
new_mark() {
	MARK_SEQ=$((MARK_SEQ + 1))
	MARK="vfio_vendor_ops: mark $$-$MARK_SEQ"
	echo "$MARK" > /dev/kmsg
}

log_since() {
	dmesg | sed -n "/$1\$/,\$p"
}

# Check that the kernel logged $2 after marker $1
log_has() {
	if ! log_since "$1" | grep -q -F -e "$2"; then
		log "kernel log lacks: $2"
		return 1
	fi
}

# Check the kernel log after marker $1 for warnings and oopses
log_clean() {
	if ! dmesg | grep -q -e "$1\$"; then
		log "the kernel log wrapped, cannot check it for warnings"
		return 0
	fi
	log_since "$1" | grep -q -E -e "$SPLAT_RE" || return 0
	log "kernel warnings:"
	log_since "$1" | awk -v re="$SPLAT_RE" 'n || $0 ~ re { n++ } n' |
		log_lines 80
	return 1
}

# The C tests of migration uAPI v2 and device DMA logging that run on an
# edu on the root bus, and those that need one vfio-pci can reset
MIG2_TESTS="mig2_features mig2_round_trip mig2_arcs mig2_precopy
mig2_close_mid_session mig2_v1_v2_exclusive dma_logging_report
dma_logging_bad dma_logging_overflow dma_logging_remap"
MIG2_RESET_TESTS="mig2_bad_arcs mig2_reset_mid_session"

# Run the C test on device $1, expecting vendor driver $2; $3 is a second
# device for the migration round trip; the harness options follow
run_c_test() {
	if [ ! -x "$TEST_BIN" ]; then
		log "$TEST_BIN is missing"
		return 1
	fi
	CT_DEV=$1
	CT_VENDOR=$2
	CT_DEV2=${3:-}
	if [ $# -ge 3 ]; then
		shift 3
	else
		shift $#
	fi
	CT_OUT=$(VFIO_SELFTESTS_BDF=$CT_DEV VFIO_EXPECT_VENDOR=$CT_VENDOR \
		VFIO_SELFTESTS_BDF2=$CT_DEV2 "$TEST_BIN" "$@" 2>&1)
	CT_RC=$?
	printf '%s\n' "$CT_OUT" | log_lines '$'
	if [ "$CT_RC" -ne 0 ]; then
		log "$TEST_BIN on $CT_DEV exited with $CT_RC"
		return 1
	fi
}

# Harness options that leave out the C tests named in $@
c_test_excluded() {
	for CX_T in "$@"; do
		printf ' -T %s' "$CX_T"
	done
}

# Run only the C tests named in $3... on device $1, expecting vendor driver
# $2, and check that each passed: skipped is not passed
run_c_tests_pass() {
	if [ ! -x "$TEST_BIN" ]; then
		log "$TEST_BIN is missing"
		return 1
	fi
	CP_DEV=$1
	CP_VENDOR=$2
	shift 2
	CP_ARGS=
	for CP_T in "$@"; do
		CP_ARGS="$CP_ARGS -t $CP_T"
	done
	# shellcheck disable=SC2086 # one word per option
	CP_OUT=$(VFIO_SELFTESTS_BDF=$CP_DEV VFIO_EXPECT_VENDOR=$CP_VENDOR \
		"$TEST_BIN" $CP_ARGS 2>&1)
	CP_RC=$?
	printf '%s\n' "$CP_OUT" | log_lines '$'
	CP_OK=0
	for CP_T in "$@"; do
		if [ "$CP_RC" -ne 0 ] ||
		   ! printf '%s\n' "$CP_OUT" | grep -qE "^ok [0-9]+ vfio_dev\\.$CP_T\$"; then
			log "$CP_T did not pass on $CP_DEV"
			CP_OK=1
		fi
	done
	return "$CP_OK"
}

# Start a test: mark the kernel log to check it for warnings afterwards
test_begin() {
	new_mark
	TEST_MARK=$MARK
}

# Report test $1, whose function returned $2 ($KSFT_SKIP: skipped)
test_end() {
	TE_RC=$2
	log_clean "$TEST_MARK" || TE_RC=1
	if [ "$TE_RC" -eq 0 ]; then
		ktap_test_pass "$1"
	elif [ "$TE_RC" -eq "$KSFT_SKIP" ]; then
		ktap_test_skip "$1"
	else
		ktap_test_fail "$1"
	fi
}

# a. vfio-pci loads the vendor module of a device it binds
test_autoload() {
	if mod_loaded "$EDU_MOD"; then
		log "$EDU_MOD is loaded before vfio-pci bound an edu device"
		return 1
	fi
	if ! modprobe vfio-pci; then
		log "modprobe vfio-pci failed"
		return 1
	fi
	new_mark
	bind "$EDU1" || return 1
	if ! mod_loaded "$EDU_MOD"; then
		log "binding $EDU1 did not load $EDU_MOD"
		return 1
	fi
	expect_vendor "$EDU1" "$EDU_MOD" || return 1
	log_has "$MARK" "$EDU1: driven by vendor driver $EDU_MOD"
}

# b. the device fd of a device driven by the sample, and migration from it
# to the second edu
test_c_vendor() {
	CV_OK=0
	need_vfio_pci || return 1
	is_vfio "$EDU1" || bind "$EDU1" || return 1
	bind "$EDU2" || return 1
	# The v2 tests run on their own, below, where skipping fails them
	# shellcheck disable=SC2046,SC2086 # one word per option
	run_c_test "$EDU1" "$EDU_MOD" "$EDU2" \
		$(c_test_excluded $MIG2_TESTS $MIG2_RESET_TESTS) || CV_OK=1
	unbind "$EDU2" || CV_OK=1
	clear_override "$EDU2" || CV_OK=1
	return "$CV_OK"
}

# b2. migration uAPI v2 and device DMA logging on the device driven by the
# sample
test_mig2() {
	need_vfio_pci || return 1
	ensure_driven "$EDU1" || return 1
	# shellcheck disable=SC2086 # one word per test
	run_c_tests_pass "$EDU1" "$EDU_MOD" $MIG2_TESTS
}

# c. a device without a vendor module is plain vfio-pci
test_plain() {
	PL_OK=0
	need_vfio_pci || return 1
	bind "$TESTDEV" || return 1
	expect_vendor "$TESTDEV" none || PL_OK=1
	run_c_test "$TESTDEV" none || PL_OK=1
	unbind "$TESTDEV" || PL_OK=1
	clear_override "$TESTDEV" || PL_OK=1
	return "$PL_OK"
}

# Bind $1 unless the sample already drives it
ensure_driven() {
	if ! is_vfio "$1" || [ "$(vendor_of "$1")" != "$EDU_MOD" ]; then
		bind "$1" || return 1
	fi
	expect_vendor "$1" "$EDU_MOD"
}

# d. a device driven by the sample pins its module; vfio_pci stays pinned by
# the module's use of its symbols
test_refcount_busy() {
	RB_OK=0
	need_vfio_pci || return 1
	# Should rmmod vfio_pci wrongly succeed, it must not unbind others
	vfio_pci_alone || return "$KSFT_SKIP"
	ensure_driven "$EDU1" || return 1
	expect_refcnt "$EDU_MOD" 1 || RB_OK=1
	if rmmod "$EDU_MOD" 2>/dev/null; then
		log "rmmod $EDU_MOD succeeded while $EDU1 uses it"
		RB_OK=1
	fi
	if ! mod_loaded "$EDU_MOD"; then
		log "$EDU_MOD is gone while $EDU1 uses it"
		RB_OK=1
	fi
	if rmmod "$VFIO_MOD" 2>/dev/null; then
		log "rmmod $VFIO_MOD succeeded while $EDU_MOD is loaded"
		RB_OK=1
	fi
	if ! mod_loaded "$VFIO_MOD"; then
		log "$VFIO_MOD is gone while $EDU_MOD is loaded"
		RB_OK=1
	fi
	expect_vendor "$EDU1" "$EDU_MOD" || RB_OK=1
	return "$RB_OK"
}

# e. unbinding the device releases the module
test_refcount_release() {
	unbind "$EDU1" || return 1
	expect_refcnt "$EDU_MOD" 0 || return 1
	if ! rmmod "$EDU_MOD"; then
		log "rmmod $EDU_MOD failed after $EDU1 was unbound"
		return 1
	fi
	expect_unloaded "$EDU_MOD"
}

# Whether $1 is one of the devices of this test
is_own() {
	for IO_DEV in $EDU_DEVS $TESTDEV; do
		[ "$IO_DEV" = "$1" ] && return 0
	done
	return 1
}

# Check that vfio-pci drives no device but those of this test; name the
# others when it does.  Any PCI device bound to it is a link with a colon.
vfio_pci_alone() {
	VA_OTHERS=
	for VA_PATH in "$VFIO_DRV"/*:*; do
		[ -e "$VA_PATH" ] || continue
		is_own "${VA_PATH##*/}" && continue
		VA_OTHERS="$VA_OTHERS${VA_OTHERS:+ }${VA_PATH##*/}"
	done
	[ -z "$VA_OTHERS" ] && return 0
	log "vfio-pci also drives $VA_OTHERS, not a device of this test:" \
		"leaving vfio_pci loaded"
	return 1
}

# Unbind the devices of this test from vfio-pci, and no others
unbind_own_vfio() {
	for UO_DEV in $EDU_DEVS $TESTDEV; do
		is_vfio "$UO_DEV" || continue
		unbind "$UO_DEV" || return 1
	done
}

unload_vfio_pci() {
	vfio_pci_alone || return 1
	if mod_loaded "$EDU_MOD" && ! rmmod "$EDU_MOD"; then
		log "rmmod $EDU_MOD failed"
		return 1
	fi
	if mod_loaded "$VFIO_MOD" && ! rmmod "$VFIO_MOD"; then
		log "rmmod $VFIO_MOD failed"
		return 1
	fi
	expect_unloaded "$VFIO_MOD"
}

# f. after vfio-pci is reloaded, binding loads the sample again
test_reload() {
	vfio_pci_alone || return "$KSFT_SKIP"
	if [ -d "$VFIO_DRV" ]; then
		unbind_own_vfio || return 1
	fi
	for RL_DEV in $EDU1 $EDU2 $TESTDEV; do
		clear_override "$RL_DEV" || return 1
	done
	unload_vfio_pci || return 1
	if ! modprobe vfio-pci; then
		log "modprobe vfio-pci failed"
		return 1
	fi
	new_mark
	bind "$EDU1" || return 1
	expect_vendor "$EDU1" "$EDU_MOD" || return 1
	log_has "$MARK" "$EDU1: driven by vendor driver $EDU_MOD"
}

# f2. vfio-pci's per-device module parameters reach vendor-driven devices:
# vfio-pci latches nointxmask and disable_idle_d3 into each device it
# allocates (vfio_pci_init_dev(), which a vendor's .init calls), and vfio
# shows the latched values in debugfs.
# vfio's debugfs directory of a device is named after its parent, the PCI
# device
vfio_dev_debugfs() {
	echo "/sys/kernel/debug/vfio/$1/pci"
}

expect_params() {
	EP_DIR=$(vfio_dev_debugfs "$1")
	if [ ! -r "$EP_DIR/nointxmask" ]; then
		log "$1: no per-device parameters in debugfs (CONFIG_VFIO_DEBUGFS?)"
		return 1
	fi
	EP_GOT="$(cat "$EP_DIR/nointxmask") $(cat "$EP_DIR/disable_idle_d3")"
	if [ "$EP_GOT" != "$2" ]; then
		log "$1: nointxmask, disable_idle_d3 are $EP_GOT, want $2"
		return 1
	fi
}

test_params() {
	TP_P=/sys/module/$VFIO_MOD/parameters
	mount_debugfs || return 1
	need_vfio_pci || return 1
	unbind_own_vfio || return 1
	echo Y >"$TP_P/nointxmask" && echo Y >"$TP_P/disable_idle_d3" || {
		log "cannot set vfio-pci's nointxmask and disable_idle_d3"
		return 1
	}
	TP_RC=0
	bind "$EDU1" || TP_RC=1
	bind "$TESTDEV" || TP_RC=1
	[ $TP_RC -eq 0 ] && expect_vendor "$EDU1" "$EDU_MOD" || TP_RC=1
	[ $TP_RC -eq 0 ] && expect_params "$EDU1" "Y Y" || TP_RC=1
	[ $TP_RC -eq 0 ] && expect_params "$TESTDEV" "Y Y" || TP_RC=1
	echo N >"$TP_P/nointxmask"
	echo N >"$TP_P/disable_idle_d3"
	unbind_own_vfio || TP_RC=1
	[ $TP_RC -eq 0 ] || return 1
	# and a device bound after the change has the new values
	bind "$EDU1" || return 1
	expect_params "$EDU1" "N N" || return 1
	unbind "$EDU1"
}

# g. a device bound while vfio-pci loads (its driver_override set) gets its
# vendor driver without a rebind by hand: the module is requested without
# waiting, and when it registers vfio-pci binds the device again
test_reload_with_override() {
	RO_OK=0
	need_vfio_pci || return 1
	vfio_pci_alone || return "$KSFT_SKIP"
	bind "$EDU1" || return 1
	unbind "$EDU1" || return 1
	unload_vfio_pci || return 1
	RO_OVERRIDE=$(read_file "$SYSPCI/devices/$EDU1/driver_override")
	if [ "$RO_OVERRIDE" != vfio-pci ]; then
		log "$EDU1 driver_override is '$RO_OVERRIDE', expected vfio-pci"
		return 1
	fi
	new_mark
	if ! modprobe vfio-pci; then
		log "modprobe vfio-pci failed"
		return 1
	fi
	if ! is_vfio "$EDU1"; then
		log "$EDU1 was not bound while vfio-pci loaded"
		return 1
	fi
	wait_for_module "$EDU_MOD" || return 1
	wait_for_vendor "$EDU1" "$EDU_MOD" || RO_OK=1
	log_has "$MARK" "$EDU1: binding again with vendor driver $EDU_MOD" ||
		RO_OK=1
	return "$RO_OK"
}

# g2. devices bound through vfio-pci's ids= parameter while it loads do not
# stall the load, and end driven by their vendor driver without a rebind by
# hand.  modprobe is bounded by timeout: waiting for the vendor module there
# would stall it.
test_reload_with_ids() {
	RI_OK=0
	vfio_pci_alone || return "$KSFT_SKIP"
	if [ -d "$VFIO_DRV" ]; then
		unbind_own_vfio || return 1
	fi
	for RI_DEV in $EDU1 $EDU2 $TESTDEV; do
		clear_override "$RI_DEV" || return 1
	done
	unload_vfio_pci || return 1
	new_mark
	if ! timeout 25 modprobe vfio-pci ids=1234:11e8; then
		log "modprobe vfio-pci ids=1234:11e8 failed or did not finish in 25s"
		return 1
	fi
	wait_for_module "$EDU_MOD" || RI_OK=1
	RI_N=0
	for RI_DEV in $EDU_DEVS; do
		RI_N=$((RI_N + 1))
		# Unbound for a moment while it is bound again: wait first
		if ! wait_for_vendor "$RI_DEV" "$EDU_MOD"; then
			is_vfio "$RI_DEV" || log "$RI_DEV is not bound to vfio-pci"
			RI_OK=1
			continue
		fi
		log_has "$MARK" "$RI_DEV: binding again with vendor driver $EDU_MOD" ||
			RI_OK=1
	done
	expect_refcnt "$EDU_MOD" "$RI_N" || RI_OK=1
	# Back to vfio-pci without ids=
	unbind_own_vfio || return 1
	for RI_DEV in $EDU1 $EDU2; do
		clear_override "$RI_DEV" || RI_OK=1
	done
	unload_vfio_pci || return 1
	if ! modprobe vfio-pci; then
		log "modprobe vfio-pci failed"
		return 1
	fi
	return "$RI_OK"
}

# A modprobe for the kernel's module requests that logs each request to
# $MP_LOG and fails those for alias $1 ("" for none), then runs the real one
MP_DIR=
MP_LOG=
use_modprobe_wrapper() {
	[ -n "$MP_DIR" ] || MP_DIR=$(mktemp -d) || return 1
	MP_LOG=$MP_DIR/calls
	: >"$MP_LOG"
	[ -n "$ORIG_MODPROBE" ] || ORIG_MODPROBE=$(read_file "$MODPROBE_SYSCTL")
	[ -n "$ORIG_CACHE" ] || ORIG_CACHE=$(read_file "$CACHE_PARAM")
	if [ -z "$ORIG_MODPROBE" ]; then
		log "cannot read $MODPROBE_SYSCTL"
		return 1
	fi
	{
		echo '#!/bin/sh'
		echo "echo \"\$*\" >>\"$MP_LOG\""
		echo "case \" \$* \" in *\" ${1:-(none)} \"*) exit 1 ;; esac"
		echo "exec $ORIG_MODPROBE \"\$@\""
	} >"$MP_DIR/modprobe"
	chmod +x "$MP_DIR/modprobe" &&
		sysfs_write "$MP_DIR/modprobe" "$MODPROBE_SYSCTL"
}

put_back_modprobe() {
	[ -n "$ORIG_MODPROBE" ] && sysfs_write "$ORIG_MODPROBE" "$MODPROBE_SYSCTL"
	[ -n "$ORIG_CACHE" ] && [ -f "$CACHE_PARAM" ] &&
		sysfs_write "$ORIG_CACHE" "$CACHE_PARAM"
}

# Wait until the kernel logged $2 after marker $1
wait_for_log() {
	WL_TRY=0
	while [ "$WL_TRY" -lt $((WAIT_TRIES * 3)) ]; do
		log_since "$1" | grep -q -F -e "$2" && return 0
		sleep "$SLEEP_TICK"
		WL_TRY=$((WL_TRY + 1))
	done
	log_has "$1" "$2"
}

# How many times the kernel asked for alias $1 since the wrapper was set
modprobe_calls() {
	grep -c -F -e " $1" "$MP_LOG"
}

# expect_calls ALIAS N WHAT: the kernel asked for ALIAS N times, or say so
expect_calls() {
	EC_N=$(modprobe_calls "$1")
	[ "$EC_N" = "$2" ] && return 0
	log "$3: modprobe ran $EC_N times for $1, expected $2"
	return 1
}

# binds BDF N: bind BDF to vfio-pci N times
binds() {
	BS_I=0
	while [ "$BS_I" -lt "$2" ]; do
		bind "$1" || return 1
		BS_I=$((BS_I + 1))
	done
}

# The VFIO cdev of $1
vfio_cdev() {
	for VC_DEV in "$SYSPCI/devices/$1"/vfio-dev/vfio*; do
		[ -e "$VC_DEV" ] && echo "/dev/vfio/devices/${VC_DEV##*/}"
	done
}

# g3. a vendor module loaded after its devices were bound (here: after its
# alias was not found) gets the plain device nothing holds, and never the
# one a user holds open
test_late_vendor() {
	LV_OK=0
	need_vfio_pci || return 1
	unbind "$EDU1" || return 1
	unbind "$EDU2" || return 1
	if mod_loaded "$EDU_MOD" && ! rmmod "$EDU_MOD"; then
		log "rmmod $EDU_MOD failed"
		return 1
	fi
	use_modprobe_wrapper "vfio-pci:1234-11e8" || return 1
	bind "$EDU1" || LV_OK=1
	bind "$EDU2" || LV_OK=1
	put_back_modprobe
	if mod_loaded "$EDU_MOD"; then
		log "$EDU_MOD was loaded although its alias was refused"
		return 1
	fi
	expect_vendor "$EDU1" none || LV_OK=1
	expect_vendor "$EDU2" none || LV_OK=1
	LV_CDEV=$(vfio_cdev "$EDU2")
	# "command": a redirection that fails must not end the script
	if [ -z "$LV_CDEV" ] || ! command exec 3<>"$LV_CDEV"; then
		log "cannot open the VFIO cdev of $EDU2 (CONFIG_VFIO_DEVICE_CDEV)"
		return 1
	fi
	new_mark
	if ! modprobe "$EDU_MOD"; then
		log "modprobe $EDU_MOD failed"
		exec 3<&-
		return 1
	fi
	wait_for_vendor "$EDU1" "$EDU_MOD" || LV_OK=1
	log_has "$MARK" "$EDU1: binding again with vendor driver $EDU_MOD" ||
		LV_OK=1
	# Held until vfio-pci has looked at it
	wait_for_log "$MARK" "$EDU2: in use, so not bound again with vendor driver $EDU_MOD" ||
		LV_OK=1
	expect_vendor "$EDU2" none || LV_OK=1
	exec 3<&-
	expect_refcnt "$EDU_MOD" 1 || LV_OK=1
	unbind "$EDU2" || LV_OK=1
	clear_override "$EDU2" || LV_OK=1
	return "$LV_OK"
}

# g4. a device without a vendor module runs modprobe once across many binds;
# again once vendor_modprobe_cache is written or has expired; at every bind
# with the cache off; and a device whose vendor is loaded runs none
test_modprobe_cache() {
	MC_OK=0
	MC_ALIAS=vfio-pci:1b36-0005
	need_vfio_pci || return 1
	if [ ! -f "$CACHE_PARAM" ]; then
		log "$CACHE_PARAM is missing"
		return 1
	fi
	use_modprobe_wrapper "" || return 1
	sysfs_write 60 "$CACHE_PARAM" || MC_OK=1
	binds "$TESTDEV" 10 || MC_OK=1
	expect_calls "$MC_ALIAS" 1 "10 binds" || MC_OK=1
	# A write forgets: the next bind looks again, the one after does not
	sysfs_write 60 "$CACHE_PARAM" || MC_OK=1
	binds "$TESTDEV" 2 || MC_OK=1
	expect_calls "$MC_ALIAS" 2 "after a write, in all" || MC_OK=1
	# An entry expires
	sysfs_write 1 "$CACHE_PARAM" || MC_OK=1
	bind "$TESTDEV" || MC_OK=1
	sleep 2
	bind "$TESTDEV" || MC_OK=1
	expect_calls "$MC_ALIAS" 4 "with a 1 s cache, 2 s apart, in all" || MC_OK=1
	# Off: every bind
	sysfs_write 0 "$CACHE_PARAM" || MC_OK=1
	binds "$TESTDEV" 3 || MC_OK=1
	expect_calls "$MC_ALIAS" 7 "with the cache off, in all" || MC_OK=1
	expect_vendor "$TESTDEV" none || MC_OK=1
	# A device whose vendor is loaded: no modprobe at all
	if ! mod_loaded "$EDU_MOD" && ! modprobe "$EDU_MOD"; then
		log "modprobe $EDU_MOD failed"
		MC_OK=1
	fi
	: >"$MP_LOG"
	binds "$EDU1" 2 || MC_OK=1
	expect_vendor "$EDU1" "$EDU_MOD" || MC_OK=1
	expect_calls vfio-pci:1234-11e8 0 "binding an edu with its vendor loaded" ||
		MC_OK=1
	put_back_modprobe
	unbind "$TESTDEV" || MC_OK=1
	clear_override "$TESTDEV" || MC_OK=1
	return "$MC_OK"
}

# h. disable_vendor_ops: no vendor driver and no module loading
test_disable_vendor_ops() {
	DV_OK=0
	need_vfio_pci || return 1
	if [ ! -f "$DISABLE_PARAM" ]; then
		log "$DISABLE_PARAM is missing"
		return 1
	fi
	unbind "$EDU1" || return 1
	if mod_loaded "$EDU_MOD" && ! rmmod "$EDU_MOD"; then
		log "rmmod $EDU_MOD failed"
		return 1
	fi
	sysfs_write Y "$DISABLE_PARAM" || return 1
	if [ "$(read_file "$DISABLE_PARAM")" != Y ]; then
		log "disable_vendor_ops does not read back Y"
		DV_OK=1
	fi
	if bind "$EDU1"; then
		expect_vendor "$EDU1" none || DV_OK=1
		if mod_loaded "$EDU_MOD"; then
			log "$EDU_MOD was loaded although vendor ops are disabled"
			DV_OK=1
		fi
	else
		DV_OK=1
	fi
	sysfs_write N "$DISABLE_PARAM" || return 1
	# A device bound while vendor ops were off is not offered to a vendor
	# that registers later; EDU2, bound plain with them on (its alias
	# refused), is, and shows that the offer was made.
	use_modprobe_wrapper "vfio-pci:1234-11e8" || return 1
	bind "$EDU2" || DV_OK=1
	put_back_modprobe
	expect_vendor "$EDU2" none || DV_OK=1
	new_mark
	modprobe "$EDU_MOD" || { log "modprobe $EDU_MOD failed"; return 1; }
	wait_for_vendor "$EDU2" "$EDU_MOD" || DV_OK=1
	unbind "$EDU2" || DV_OK=1
	clear_override "$EDU2" || DV_OK=1
	expect_vendor "$EDU1" none || DV_OK=1
	if log_since "$MARK" | grep -q -F -e "$EDU1: binding again"; then
		log "$EDU1, bound with vendor ops off, was bound again with $EDU_MOD"
		DV_OK=1
	fi
	bind "$EDU1" || return 1
	expect_vendor "$EDU1" "$EDU_MOD" || DV_OK=1
	return "$DV_OK"
}

# i. fail_probe: vfio-pci binds the device alone and keeps no reference
test_fail_probe() {
	FP_OK=0
	need_vfio_pci || return 1
	if ! mod_loaded "$EDU_MOD" && ! modprobe "$EDU_MOD"; then
		log "modprobe $EDU_MOD failed"
		return 1
	fi
	if [ ! -f "$FAIL_PARAM" ]; then
		log "$FAIL_PARAM is missing"
		return 1
	fi
	sysfs_write Y "$FAIL_PARAM" || return 1
	new_mark
	if bind "$EDU1"; then
		expect_vendor "$EDU1" none || FP_OK=1
		log_has "$MARK" \
			"$EDU1: vendor driver $EDU_MOD failed to probe" ||
			FP_OK=1
		expect_refcnt "$EDU_MOD" 0 || FP_OK=1
		run_c_test "$EDU1" none || FP_OK=1
	else
		FP_OK=1
	fi
	sysfs_write N "$FAIL_PARAM" || return 1
	bind "$EDU1" || return 1
	expect_vendor "$EDU1" "$EDU_MOD" || FP_OK=1
	expect_refcnt "$EDU_MOD" 1 || FP_OK=1
	return "$FP_OK"
}

# j. each device driven by the sample holds one module reference
test_two_devices() {
	TD_OK=0
	need_vfio_pci || return 1
	bind "$EDU1" || return 1
	bind "$EDU2" || return 1
	expect_vendor "$EDU1" "$EDU_MOD" || TD_OK=1
	expect_vendor "$EDU2" "$EDU_MOD" || TD_OK=1
	expect_refcnt "$EDU_MOD" 2 || TD_OK=1
	unbind "$EDU1" || return 1
	expect_refcnt "$EDU_MOD" 1 || TD_OK=1
	unbind "$EDU2" || return 1
	expect_refcnt "$EDU_MOD" 0 || TD_OK=1
	clear_override "$EDU2" || TD_OK=1
	return "$TD_OK"
}

# k. bind and unbind many times
test_bind_cycles() {
	need_vfio_pci || return 1
	BC_I=0
	while [ "$BC_I" -lt "$BIND_CYCLES" ]; do
		BC_I=$((BC_I + 1))
		if ! bind "$EDU1" || ! expect_vendor "$EDU1" "$EDU_MOD" ||
		   ! unbind "$EDU1"; then
			log "bind cycle $BC_I of $BIND_CYCLES failed"
			return 1
		fi
	done
	expect_refcnt "$EDU_MOD" 0
}

# l. load and unload the sample many times, then use it
test_module_cycles() {
	need_vfio_pci || return 1
	unbind "$EDU1" || return 1
	unbind "$EDU2" || return 1
	if mod_loaded "$EDU_MOD" && ! rmmod "$EDU_MOD"; then
		log "rmmod $EDU_MOD failed"
		return 1
	fi
	MC_I=0
	while [ "$MC_I" -lt "$MODULE_CYCLES" ]; do
		MC_I=$((MC_I + 1))
		if ! modprobe "$EDU_MOD" || ! rmmod "$EDU_MOD"; then
			log "module cycle $MC_I of $MODULE_CYCLES failed"
			return 1
		fi
	done
	expect_unloaded "$EDU_MOD" || return 1
	bind "$EDU1" || return 1
	expect_vendor "$EDU1" "$EDU_MOD" || return 1
	unbind "$EDU1"
}

# n. a reset ends migration: the C test's mig_reset on an edu that vfio-pci
# can reset (edu has no reset of its own; alone behind a bridge, its bus
# can be reset)
test_mig_reset() {
	MR_OK=0
	if [ -z "$EDU3" ]; then
		log "needs a third edu device, alone behind a PCI bridge"
		return 1
	fi
	if [ ! -x "$TEST_BIN" ]; then
		log "$TEST_BIN is missing"
		return 1
	fi
	need_vfio_pci || return 1
	bind "$EDU3" || return 1
	expect_vendor "$EDU3" "$EDU_MOD" || MR_OK=1
	MR_OUT=$(VFIO_SELFTESTS_BDF=$EDU3 VFIO_EXPECT_VENDOR=$EDU_MOD \
		"$TEST_BIN" -t mig_reset -t mig_reset_during_wait 2>&1)
	MR_RC=$?
	printf '%s\n' "$MR_OUT" | log_lines '$'
	# Skipped is not passed: the device must be one that can be reset
	for MR_T in mig_reset mig_reset_during_wait; do
		if [ "$MR_RC" -ne 0 ] ||
		   ! printf '%s\n' "$MR_OUT" | grep -qE "^ok [0-9]+ vfio_dev\\.$MR_T\$"; then
			log "$MR_T did not pass on $EDU3"
			MR_OK=1
		fi
	done
	unbind "$EDU3" || MR_OK=1
	clear_override "$EDU3" || MR_OK=1
	return "$MR_OK"
}

# n2. what needs a reset in migration uAPI v2: the ERROR state and the
# resets that end a session, on the edu behind the bridge
test_mig2_reset() {
	M2_OK=0
	if [ -z "$EDU3" ]; then
		log "needs a third edu device, alone behind a PCI bridge"
		return 1
	fi
	need_vfio_pci || return 1
	bind "$EDU3" || return 1
	expect_vendor "$EDU3" "$EDU_MOD" || M2_OK=1
	# shellcheck disable=SC2086 # one word per test
	run_c_tests_pass "$EDU3" "$EDU_MOD" $MIG2_RESET_TESTS || M2_OK=1
	unbind "$EDU3" || M2_OK=1
	clear_override "$EDU3" || M2_OK=1
	return "$M2_OK"
}

mount_debugfs() {
	[ -e "$KMEMLEAK" ] && return 0
	grep -q " $DEBUGFS debugfs " /proc/mounts && return 0
	mount -t debugfs none "$DEBUGFS" 2>/dev/null
}

# Throw away what kmemleak reports before the tests
kmemleak_clear() {
	mount_debugfs
	[ -w "$KMEMLEAK" ] || return 0
	sysfs_write scan "$KMEMLEAK" && sysfs_write clear "$KMEMLEAK"
}

# o. the i40e VF migration module, with no XL710 here: it has its alias,
# loads, is never chosen for other devices, pins nothing and unloads
test_i40e_vf_module() {
	IV_OK=0
	IV_MOD=i40e_vf_migration
	if ! modinfo "$IV_MOD" >/tmp/i40e_vf_modinfo 2>&1; then
		log "$IV_MOD is not built (CONFIG_I40E_VF_MIGRATION)"
		return 1
	fi
	if ! grep -q "vfio-pci:8086-154c" /tmp/i40e_vf_modinfo; then
		log "$IV_MOD has no vfio-pci:8086-154c alias"
		return 1
	fi
	need_vfio_pci || return 1
	modprobe "$IV_MOD" || { log "modprobe $IV_MOD failed"; return 1; }
	bind "$EDU1" || IV_OK=1
	expect_vendor "$EDU1" "$EDU_MOD" || IV_OK=1
	bind "$TESTDEV" || IV_OK=1
	expect_vendor "$TESTDEV" none || IV_OK=1
	if [ "$(mod_refcnt "$IV_MOD")" != 0 ]; then
		log "$IV_MOD is pinned by devices it does not drive"
		IV_OK=1
	fi
	unbind "$TESTDEV" || IV_OK=1
	clear_override "$TESTDEV" || IV_OK=1
	if ! rmmod "$IV_MOD" || mod_loaded "$IV_MOD"; then
		log "$IV_MOD did not unload"
		IV_OK=1
	fi
	return "$IV_OK"
}

# m. nothing leaked
test_kmemleak() {
	mount_debugfs
	if [ ! -e "$KMEMLEAK" ]; then
		log "$KMEMLEAK is missing: the test kernel needs CONFIG_DEBUG_KMEMLEAK"
		return 1
	fi
	# Objects younger than 5s are not reported yet: scan twice
	sysfs_write scan "$KMEMLEAK" || return 1
	sleep 5
	sysfs_write scan "$KMEMLEAK" || return 1
	KL_REPORT=$(cat "$KMEMLEAK")
	[ -z "$KL_REPORT" ] && return 0
	log "kmemleak reports:"
	printf '%s\n' "$KL_REPORT" | log_lines 200
	return 1
}

restore() {
	put_back_modprobe
	[ -f "$DISABLE_PARAM" ] && sysfs_write N "$DISABLE_PARAM"
	[ -f "$FAIL_PARAM" ] && sysfs_write N "$FAIL_PARAM"
	[ -f "$TRAP_PARAM" ] && sysfs_write Y "$TRAP_PARAM"
	for RS_DEV in $EDU1 $EDU2 $EDU3 $TESTDEV; do
		if is_vfio "$RS_DEV"; then
			unbind "$RS_DEV"
		fi
		clear_override "$RS_DEV"
	done
	put_back
}

# Print the driver and driver_override of each device of this test, one line
# "device driver override" each, "-" for none
device_state() {
	for DS_DEV in $EDU_DEVS $TESTDEV; do
		DS_DRV=-
		if is_bound "$DS_DEV"; then
			DS_DRV=$(readlink "$SYSPCI/devices/$DS_DEV/driver")
			DS_DRV=${DS_DRV##*/}
		fi
		DS_OVR=$(read_file "$SYSPCI/devices/$DS_DEV/driver_override")
		[ "$DS_OVR" = "(null)" ] && DS_OVR=
		echo "$DS_DEV $DS_DRV ${DS_OVR:--}"
	done
}

# Give the devices of this test back the driver_override and the driver
# they had when it started, as device_state printed them into ORIG_STATE
put_back() {
	while read -r PB_DEV PB_DRV PB_OVR; do
		[ -n "$PB_DEV" ] || continue
		[ "$PB_OVR" = - ] && PB_OVR=
		sysfs_write "$PB_OVR" "$SYSPCI/devices/$PB_DEV/driver_override"
		if [ "$PB_DRV" = - ] || is_bound "$PB_DEV"; then
			continue
		fi
		sysfs_write "$PB_DEV" "$SYSPCI/drivers/$PB_DRV/bind" ||
			log "cannot bind $PB_DEV back to $PB_DRV"
	done <<EOF
$ORIG_STATE
EOF
}

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must be run as root"
	exit "$KSFT_SKIP"
fi

EDU_DEVS=$(find_devices 0x1234 0x11e8)
EDU1=$(echo "$EDU_DEVS" | sed -n 1p)
EDU2=$(echo "$EDU_DEVS" | sed -n 2p)
EDU3=$(echo "$EDU_DEVS" | sed -n 3p)
TESTDEV=$(find_devices 0x1b36 0x0005 | sed -n 1p)
if [ -z "$EDU1" ] || [ -z "$EDU2" ] || [ -z "$TESTDEV" ]; then
	ktap_skip_all "needs two edu devices (1234:11e8) and a pci-testdev (1b36:0005)"
	exit "$KSFT_SKIP"
fi

ktap_set_plan "$NUM_TESTS"
log "edu devices $EDU1 $EDU2 ${EDU3:-(no third)}, pci-testdev $TESTDEV"

trap 'restore; [ -n "$MP_DIR" ] && rm -rf "$MP_DIR"; exit "$KSFT_FAIL"' HUP INT TERM

# Start from unbound devices, without the sample loaded; from then on,
# restore puts back what they had.  The legacy container's IOMMU backend is
# not loaded on demand.
ORIG_STATE=
START_STATE=$(device_state)
restore
ORIG_STATE=$START_STATE
mod_loaded "$EDU_MOD" && rmmod "$EDU_MOD"
modprobe vfio_iommu_type1 2>/dev/null
kmemleak_clear

test_begin
test_autoload
test_end autoload $?

test_begin
test_c_vendor
test_end vendor_device_fd $?

test_begin
test_mig2
test_end mig2 $?

test_begin
test_plain
test_end plain_vfio_pci $?

test_begin
test_refcount_busy
test_end refcount_busy $?

test_begin
test_refcount_release
test_end refcount_release $?

test_begin
test_reload
test_end reload $?

test_begin
test_params
test_end vfio_pci_params $?

test_begin
test_reload_with_override
test_end reload_with_override $?

test_begin
test_reload_with_ids
test_end reload_with_ids $?

test_begin
test_late_vendor
test_end late_vendor $?

test_begin
test_modprobe_cache
test_end modprobe_cache $?

test_begin
test_disable_vendor_ops
test_end disable_vendor_ops $?

test_begin
test_fail_probe
test_end fail_probe $?

test_begin
test_two_devices
test_end two_devices $?

test_begin
test_bind_cycles
test_end bind_cycles $?

test_begin
test_module_cycles
test_end module_cycles $?

test_begin
test_i40e_vf_module
test_end i40e_vf_module $?

test_begin
test_mig_reset
test_end mig_reset $?

test_begin
test_mig2_reset
test_end mig2_reset $?

test_begin
test_kmemleak
test_end kmemleak $?

restore
[ -n "$MP_DIR" ] && rm -rf "$MP_DIR"
ktap_finished
