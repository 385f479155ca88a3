#!/bin/bash
# Fail when a console log holds a kernel splat: BUG, WARNING, KASAN,
# lockdep, kmemleak, hung task, Oops or panic.
set -euo pipefail
log=${1:?usage: check-log.sh console.log}
pattern='BUG:|WARNING:|Oops|general protection fault|Kernel panic|KASAN:|UBSAN:|INFO: possible|INFO: task .* blocked|possible circular locking|inconsistent lock state|unreferenced object|suspected memory leak|Call Trace:|kernel BUG'
if grep -nE "$pattern" "$log" >/dev/null; then
	echo "rig: kernel splat in $log:" >&2
	grep -nE -A12 "$pattern" "$log" | head -80 >&2
	exit 1
fi
echo "rig: no splat in $(basename "$log")"
