#!/bin/bash
# Make the kernel git tree of $BASE: the Debian base as one commit (tag
# "base"), then the series ($PATCH_DIR: patches/ or patches-6.12/) with
# git am.  An existing tree is reused when its base matches; "--force"
# starts over.
set -euo pipefail
. "$(dirname "$0")/common.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

if [ $force -eq 1 ]; then
	rm -rf "$KSRC"
fi

# Commits on "series" that neither tree.sh applied nor export.sh exported
unexported() {
	local cur known
	kgit rev-parse -q --verify series >/dev/null || return 1
	cur=$(kgit rev-parse series)
	known=$(cat "$WORK_DIR/applied-head" "$WORK_DIR/exported-head" 2>/dev/null || true)
	[ "$cur" != "$(kgit rev-parse base)" ] && ! grep -qx "$cur" <<<"$known"
}

"$RIG_DIR/base.sh"
# A tree of another base version (the pin moved) is made again.
if [ -d "$KSRC/.git" ] &&
	! kgit log -1 --format=%s base 2>/dev/null | grep -qF "(Debian $BASE_PKG $BASE_PKG_VERSION)"; then
	[ "${FORCE:-0}" = 1 ] || ! unexported ||
		die "$KSRC has another base and commits not exported; make export first, or FORCE=1 to drop them"
	echo "rig: $KSRC is not on $BASE_PKG $BASE_PKG_VERSION; making it again"
	rm -rf "$KSRC"
fi
if [ ! -d "$KSRC/.git" ]; then
	step "unpacking $BASE_TARBALL"
	mkdir -p "$WORK_DIR"
	rm -rf "$KSRC.tmp"
	mkdir -p "$KSRC.tmp"
	tar -C "$KSRC.tmp" --strip-components=1 -xf "$BASE_TARBALL"
	mv "$KSRC.tmp" "$KSRC"
	kver=$(make -s -C "$KSRC" kernelversion)
	kgit init -q -b master
	kgit config user.name "$TEAM_NAME"
	kgit config user.email "$TEAM_EMAIL"
	kgit config core.abbrev 12
	kgit add -A -f .
	GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
		kgit commit -q -m "Linux $kver (Debian $BASE_PKG $BASE_PKG_VERSION)"
	kgit tag base
fi

kgit config user.name "$TEAM_NAME"
kgit config user.email "$TEAM_EMAIL"

# Debian's .gitignore ignores every top-level entry ("/*"), which would
# hide new files from "git add".  Drop that line in the work tree only.
unhide_new_files() {
	kgit update-index --skip-worktree .gitignore
	sed -i '/^\/\*$/d; /^!\/debian\/$/d' "$KSRC/.gitignore"
}

# Refuse to throw away commits that were never exported.
if [ "${FORCE:-0}" != 1 ] && unexported; then
	die "the tree has commits not in ${PATCH_DIR#"$TOP_DIR"/}/; run make export first, or FORCE=1 to drop them"
fi

# Apply the series on a clean checkout of the base.
step "applying ${PATCH_DIR#"$TOP_DIR"/}/ onto base ($BASE_PKG $BASE_PKG_VERSION)"
kgit am --abort >/dev/null 2>&1 || true
kgit update-index --no-skip-worktree .gitignore 2>/dev/null || true
kgit checkout -q -f -B series base
kgit reset -q --hard base
kgit clean -qfdx
unhide_new_files
n=0
for p in "$PATCH_DIR"/[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in 0000-*) continue ;; esac
	if ! kgit am -q --keep-cr "$p" >/dev/null 2>"$WORK_DIR/am.err"; then
		cat "$WORK_DIR/am.err" >&2
		kgit am --abort >/dev/null 2>&1 || true
		die "git am failed on $(basename "$p")"
	fi
	n=$((n + 1))
done
kgit rev-parse HEAD >"$WORK_DIR/applied-head"
echo "rig: base $(kgit log -1 --format=%s base), $n patches applied"
