#!/bin/bash
# Prove the overlay equals the files the series touches, byte for byte, in
# the tree made from patches/ (run tree.sh first).
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -d "$KSRC/.git" ] || die "no kernel tree; run make tree"
bad=0
touched=$(kgit diff --name-only --diff-filter=d base HEAD)
for f in $touched; do
	case " $OVERLAY_ROOTS " in
	*" ${f%%/*} "*) ;;
	*) echo "overlay: $f is outside the overlay roots" >&2; bad=1; continue ;;
	esac
	if ! cmp -s "$KSRC/$f" "$TOP_DIR/$f"; then
		echo "overlay: $f differs from the series" >&2
		bad=1
	fi
done
for r in $OVERLAY_ROOTS; do
	[ -e "$TOP_DIR/$r" ] || continue
	while read -r f; do
		f=${f#"$TOP_DIR"/}
		grep -qxF "$f" <<<"$touched" || {
			echo "overlay: $f is not touched by the series" >&2
			bad=1
		}
	done < <(find "$TOP_DIR/$r" -type f)
done
[ $bad -eq 0 ] || die "overlay and series differ"
echo "rig: overlay matches the series ($(printf '%s\n' "$touched" | wc -l) files)"
