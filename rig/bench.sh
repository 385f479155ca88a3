#!/bin/bash
# The benchmark ("make bench"): boot the built kernel in bench mode
# (rig/guest/bench.sh runs in the VM) and make its figures a table in
# $WORK_DIR/bench.txt (build/bench.txt for the default base), printed at
# the end: the cost of vendor ops on binding and on trapped accesses, the
# v1 and v2 migration data paths against memcpy(), and the downtime of a
# nested QEMU 7.2 and QEMU 10 migration.
#
#   RIG_BENCH_ROUNDS=N        rounds (default 5); each figure is the min,
#                             median and max over them
#   RIG_BENCH_SIZES=1,16,64   the edu sample's synthetic state sizes (MiB)
#                             for the migration figures (the default)
#   RIG_BENCH_TIMEOUT=S       the VM's time limit (default 3600 s)
#
# rig/vm.sh puts the first two on the kernel command line
# (rig.bench_rounds=, rig.bench_sizes=).  Fails when the VM's job failed,
# when a figure is missing from the table or when the console log has a
# kernel splat; a goal not met is not a failure.
set -euo pipefail
. "$(dirname "$0")/common.sh"

export RIG_BENCH_ROUNDS=${RIG_BENCH_ROUNDS:-5}
[[ $RIG_BENCH_ROUNDS =~ ^[1-9][0-9]*$ ]] ||
	die "RIG_BENCH_ROUNDS=$RIG_BENCH_ROUNDS: not a number of rounds"
if [ -n "${RIG_BENCH_SIZES:-}" ]; then
	[[ $RIG_BENCH_SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] ||
		die "RIG_BENCH_SIZES=$RIG_BENCH_SIZES: not a list of MiB like 1,16,64"
	export RIG_BENCH_SIZES
fi
limit=${RIG_BENCH_TIMEOUT:-3600}
log=$LOG_DIR/bench.log
out=$WORK_DIR/bench.txt

rm -f "$log" "$out"
vm_rc=0
"$RIG_DIR/vm.sh" bench "$limit" || vm_rc=$?
[ -f "$log" ] || die "no console log $log"

kernel=$(sed -n 's/^RIG: guest up, kernel \([^,]*\), mode bench$/\1/p' "$log" | head -n 1)
rounds=$(sed -n 's/^RIG-BENCH-ROUNDS: \([0-9]*\)$/\1/p' "$log" | head -n 1)
announced=$(sed -n 's/^RIG-BENCH-FIGURES: //p' "$log" | head -n 1)
accel=$(cat "$BUILD_DIR/accel" 2>/dev/null || echo unknown)

{
	echo "vfio-pci vendor ops benchmark: kernel ${kernel:-unknown}, $(date -u '+%Y-%m-%d %H:%M UTC'), rounds ${rounds:-?}, $accel"
	grep -a '^RIG-BENCH-TABLE: ' "$log" | sed 's/^RIG-BENCH-TABLE: //' |
		awk -F ' [|] ' '
		BEGIN {
			n = 1
			split("figure|min|median|max|goal|met", h, "|")
			for (i = 1; i <= 6; i++) {
				cell[1, i] = h[i]
				w[i] = length(h[i])
			}
		}
		NF == 6 {
			n++
			for (i = 1; i <= 6; i++) {
				cell[n, i] = $i
				if (length($i) > w[i])
					w[i] = length($i)
			}
		}
		END {
			for (r = 1; r <= n; r++) {
				line = ""
				for (i = 1; i <= 6; i++) {
					# numbers to the right, words to the left
					if (i >= 2 && i <= 4)
						c = sprintf("%" w[i] "s", cell[r, i])
					else
						c = sprintf("%-" w[i] "s", cell[r, i])
					line = line (i > 1 ? "  " : "") c
				}
				sub(/ +$/, "", line)
				print line
			}
		}'
} >"$out"

# Every figure the guest announced, and at least these
have=$(grep -a '^RIG-BENCH-TABLE: ' "$log" | sed 's/^RIG-BENCH-TABLE: \([^ ]*\) .*/\1/')
missing=
for fig in bind_edu bind_testdev access_bar0_read access_bar0_write \
	   access_cfg_read access_cfg_write qemu7.2_downtime qemu10_downtime \
	   $announced; do
	grep -qxF "$fig" <<<"$have" || missing="$missing $fig"
done
# (the migration figures by name when the guest said nothing)
if [ -z "$announced" ]; then
	for proto in v1rw v1mmap v2; do
		for side in save restore; do
			grep -qx "mig_[0-9]*MiB_${proto}_$side" <<<"$have" ||
				missing="$missing mig_<N>MiB_${proto}_$side"
		done
	done
fi
missing=$(tr ' ' '\n' <<<"$missing" | awk 'NF && !seen[$0]++' | tr '\n' ' ')

echo
cat "$out"
echo "rig: the table is in $out; the console log in $log"

failed=0
if grep -aq '^RIG-BENCH-FAIL: ' "$log"; then
	echo "rig: measurements that failed:" >&2
	grep -a '^RIG-BENCH-FAIL: ' "$log" | sed 's/^RIG-BENCH-FAIL: /  /' >&2
fi
if [ -n "$missing" ]; then
	echo "rig: figures missing from the table: $missing" >&2
	failed=1
fi
if [ "${rounds:-}" != "$RIG_BENCH_ROUNDS" ]; then
	echo "rig: the VM ran ${rounds:-no} rounds, RIG_BENCH_ROUNDS asked for $RIG_BENCH_ROUNDS: does rig/vm.sh put rig.bench_rounds= on the kernel command line?" >&2
	failed=1
fi
[ "$vm_rc" -eq 0 ] || { echo "rig: the VM's bench job failed (see $log)" >&2; failed=1; }
"$RIG_DIR/check-log.sh" "$log" || failed=1
exit "$failed"
