#!/bin/bash
# Fail when a console log holds a kernel splat: BUG, WARNING, KASAN,
# lockdep, kmemleak, hung task, Oops or panic.
#
#   check-log.sh [--faults] console.log
#
# --faults (the reliability suite's log): between the lines "reliability:
# faults begin" and "reliability: faults end", the reports of the
# allocation failures the suite injects on purpose ("page allocation
# failure", "vmalloc error", and with rig.fault_verbose=1 "FAULT_INJECTION:
# forcing a failure") are no splat, from that line to the end of
# its stack ("</TASK>"); everything else there still is.
set -euo pipefail
faults=0
if [ "${1:-}" = --faults ]; then
	faults=1
	shift
fi
log=${1:?usage: check-log.sh [--faults] console.log}
pattern='BUG:|WARNING:|Oops|general protection fault|Kernel panic|KASAN:|UBSAN:|INFO: possible|INFO: task .* blocked|possible circular locking|inconsistent lock state|unreferenced object|suspected memory leak|Call Trace:|kernel BUG'

filtered() {
	if [ "$faults" -eq 0 ]; then
		cat "$log"
		return
	fi
	awk '
		/reliability: faults begin/ { win = 1 }
		/reliability: faults end/ { win = 0 }
		win && /page allocation failure|vmalloc error|FAULT_INJECTION: forcing a failure/ { skip = 1; dropped++ }
		skip { if (/<\/TASK>/) skip = 0; next }
		{ print }
		END { if (dropped) printf "rig: %d injected allocation failure report(s) left out\n", dropped > "/dev/stderr" }
	' "$log"
}

if filtered | grep -nE "$pattern" >/dev/null; then
	echo "rig: kernel splat in $log:" >&2
	filtered | grep -nE -A12 "$pattern" | head -80 >&2
	# One line for the summary at the end of make check
	echo "rig: first splat: $(filtered | grep -m1 -E "$pattern" | cut -c1-200)" >&2
	exit 1
fi
echo "rig: no splat in $(basename "$log")"
