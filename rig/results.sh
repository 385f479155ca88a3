#!/bin/bash
# Count the in-VM results in a console log: prints the RIG-TEST lines, the
# RIG-INFO lines (what the nested QEMUs reported: protocol, downtime; not
# counted) and "N passed, M failed"; fails when any failed or none ran.
set -euo pipefail
log=${1:?usage: results.sh console.log}
lines=$(sed -n '/^RIG: results begin/,/^RIG: results end/p' "$log" | grep -E '^RIG-(TEST|INFO): ' || true)
printf '%s\n' "$lines" | sed '/^$/d'
pass=$(printf '%s\n' "$lines" | grep -c '^RIG-TEST: ok ' || true)
fail=$(printf '%s\n' "$lines" | grep -c '^RIG-TEST: not ok ' || true)
echo "vm: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
