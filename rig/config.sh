#!/bin/bash
# Make $KOUT/.config: tinyconfig plus rig/kernel.config, plus
# rig/kernel-$BASE.config when the base has one (options one base needs
# and the other does not: a change of any option makes every object of
# that base's build a ccache miss).
set -euo pipefail
. "$(dirname "$0")/common.sh"

mkdir -p "$KOUT"
kmake -s tinyconfig >/dev/null
frags=("$RIG_DIR/kernel.config")
[ ! -f "$RIG_DIR/kernel-$BASE.config" ] || frags+=("$RIG_DIR/kernel-$BASE.config")
"$KSRC"/scripts/kconfig/merge_config.sh -m -O "$KOUT" "$KOUT/.config" "${frags[@]}" >/dev/null
kmake -s olddefconfig >/dev/null

# Report fragment options that did not stick (ignoring symbols the series
# itself adds, which are absent before their patch).
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*) ;; *) continue ;; esac
	sym=${line%%=*}
	want=${line#*=}
	got=$(grep -E "^$sym=|^# $sym is not set" "$KOUT/.config" || true)
	case "$want:$got" in
	n:"# $sym is not set" | n:) ;;
	*:"$sym=$want") ;;
	*)
		if grep -rqsE "^(menu)?config ${sym#CONFIG_}\$" --include='Kconfig*' "$KSRC"; then
			echo "rig: config $sym=$want did not stick (have: ${got:-unset})" >&2
			bad=1
		fi
		;;
	esac
done < <(cat "${frags[@]}")
[ "${RIG_CONFIG_STRICT:-1}" = 1 ] && [ $bad -ne 0 ] && die "config fragment does not apply cleanly"
echo "rig: config ready ($KOUT/.config)"
