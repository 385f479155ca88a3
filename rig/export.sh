#!/bin/bash
# Export the kernel tree's commits (base..HEAD) to the base's series
# directory (patches/ for mainline, patches-6.12/ for the LTS backport)
# and, for mainline only, the overlay (every touched file as it is after
# the series).
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -d "$KSRC/.git" ] || die "no kernel tree"
n=$(kgit rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "no commits on top of base"

step "exporting $n patches to ${PATCH_DIR#"$TOP_DIR"/}/"
mkdir -p "$PATCH_DIR"
rm -f "$PATCH_DIR"/*.patch
prefix=PATCH
[ "$BASE" = "$MAINLINE_BASE" ] || prefix="PATCH $BASE.y"
kgit format-patch -q --cover-letter --no-signature --subject-prefix="$prefix" \
	--zero-commit -o "$PATCH_DIR" base..HEAD

cover=$(ls "$PATCH_DIR"/0000-cover-letter.patch)
base_desc="$(kgit log -1 --format=%s base)"
# A backport's cover letter opens with rig/cover-letter-<base>.txt.
note=$RIG_DIR/cover-letter-$BASE.txt
[ "$BASE" = "$MAINLINE_BASE" ] || [ -f "$note" ] || die "$note missing"
[ "$BASE" != "$MAINLINE_BASE" ] || note=/dev/null
python3 - "$cover" "$RIG_DIR/cover-letter.txt" "$base_desc" "$note" <<'PY'
import sys
path, tmpl, base, note = sys.argv[1:]
text = open(path).read()
subject, _, body = open(tmpl).read().partition("\n\n")
note = open(note).read()
if note:
    body = note.rstrip("\n") + "\n\n" + body
# Lines marked [mainline] are the mainline series' only.
# Lines marked [6.12] are the backport's only.
mark, mark12 = "[mainline]", "[6.12]"
body = "".join(l[len(mark):] if l.startswith(mark) else
               l[len(mark12):] if l.startswith(mark12) else l
               for l in body.splitlines(True)
               if not (note and l.startswith(mark)) and
               not (not note and l.startswith(mark12)))
body = body.replace("BASE_DESCRIPTION", base)
text = text.replace("*** SUBJECT HERE ***", subject.strip())
text = text.replace("*** BLURB HERE ***\n", body)
open(path, "w").write(text)
PY

if [ "$BASE" != "$MAINLINE_BASE" ]; then
	kgit rev-parse HEAD >"$WORK_DIR/exported-head"
	echo "rig: the $BASE series is exported; the overlay stays the $MAINLINE_BASE result"
	exit 0
fi

step "exporting the overlay"
for r in $OVERLAY_ROOTS; do
	rm -rf "${TOP_DIR:?}/$r"
done
kgit diff --name-only --diff-filter=d base HEAD | while read -r f; do
	mkdir -p "$TOP_DIR/$(dirname "$f")"
	cp "$KSRC/$f" "$TOP_DIR/$f"
done
kgit rev-parse HEAD >"$WORK_DIR/exported-head"
"$RIG_DIR/check-overlay.sh"
