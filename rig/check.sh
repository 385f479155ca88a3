#!/bin/bash
# make check: every gate and test.  Each gate counts as one result, each
# in-VM test as one more; ends with "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/common.sh"

mkdir -p "$LOG_DIR"
pass=0
fail=0
failed=()

gate() {
	local name=$1
	shift
	local log=$LOG_DIR/gate-$name.log start=$SECONDS
	printf '==> %-12s ' "$name"
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "ok ($((SECONDS - start))s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAILED ($((SECONDS - start))s), log: $log"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
}

gate tree "$RIG_DIR/tree.sh"
if [ "$fail" -ne 0 ]; then
	echo "$pass passed, $fail failed"
	exit 1
fi
gate overlay "$RIG_DIR/check-overlay.sh"
gate checkpatch "$RIG_DIR/gates.sh" checkpatch
# The full build first: the per-patch and static gates then only rebuild
# the directories the series touches, and the build of HEAD after them
# puts back HEAD's objects for the VM.
gate build "$RIG_DIR/build.sh"
gate bisect "$RIG_DIR/gates.sh" bisect
gate static "$RIG_DIR/gates.sh" static
# Sphinx on the driver-api document, with the kernel-doc of the headers.
gate docs "$RIG_DIR/docs.sh"
gate build-head "$RIG_DIR/build.sh"
gate selftests "$RIG_DIR/selftests.sh"
gate initramfs "$RIG_DIR/initramfs.sh"
# QEMU 10.0 for the VM's QEMU 10 tests (fetched once, then reused).
gate qemu10 "$RIG_DIR/qemu10.sh"
gate vm-boot "$RIG_DIR/vm.sh" test 2400
gate vm-splat "$RIG_DIR/check-log.sh" "$LOG_DIR/test.log"

# The in-VM tests, one result each.
if [ -f "$LOG_DIR/test.log" ]; then
	"$RIG_DIR/results.sh" "$LOG_DIR/test.log" >"$LOG_DIR/vm-results.log" 2>&1
	cat "$LOG_DIR/vm-results.log"
	vp=$(grep -c '^RIG-TEST: ok ' "$LOG_DIR/vm-results.log" || true)
	vf=$(grep -c '^RIG-TEST: not ok ' "$LOG_DIR/vm-results.log" || true)
	if [ "$vp" -eq 0 ] && [ "$vf" -eq 0 ]; then
		vf=1
		failed+=("vm-tests: none ran")
	fi
	pass=$((pass + vp))
	fail=$((fail + vf))
	[ "$vf" -eq 0 ] || failed+=("vm-tests")
fi

[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
