#!/bin/bash
# Export the kernel tree's commits (base..HEAD) to patches/ and the overlay
# (every touched file as it is after the series).
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -d "$KSRC/.git" ] || die "no kernel tree"
n=$(kgit rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "no commits on top of base"

step "exporting $n patches to patches/"
rm -f "$TOP_DIR"/patches/*.patch
kgit format-patch -q --cover-letter --no-signature --subject-prefix=PATCH \
	--zero-commit -o "$TOP_DIR/patches" base..HEAD

cover=$(ls "$TOP_DIR"/patches/0000-cover-letter.patch)
base_desc="$(kgit log -1 --format=%s base)"
python3 - "$cover" "$RIG_DIR/cover-letter.txt" "$base_desc" <<'PY'
import sys
path, tmpl, base = sys.argv[1:]
text = open(path).read()
subject, _, body = open(tmpl).read().partition("\n\n")
body = body.replace("BASE_DESCRIPTION", base)
text = text.replace("*** SUBJECT HERE ***", subject.strip())
text = text.replace("*** BLURB HERE ***\n", body)
open(path, "w").write(text)
PY

step "exporting the overlay"
for r in $OVERLAY_ROOTS; do
	rm -rf "${TOP_DIR:?}/$r"
done
kgit diff --name-only --diff-filter=d base HEAD | while read -r f; do
	mkdir -p "$TOP_DIR/$(dirname "$f")"
	cp "$KSRC/$f" "$TOP_DIR/$f"
done
kgit rev-parse HEAD >"$BUILD_DIR/exported-head"
"$RIG_DIR/check-overlay.sh"
