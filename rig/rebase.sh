#!/bin/bash
# Rebase the mainline series onto another Debian linux-source package:
#
#   rig/rebase.sh linux-source-7.N=VERSION [SUITE]    (SUITE: experimental,
#                                                     the default, or unstable)
#
# Fetches the package like rig/base.sh, makes build/rebase/linux with it as
# "base", brings in the current tree (build/linux: its base as "base-old",
# its series as "series-old") and runs a three-way "git rebase --onto base
# base-old series".  Conflicts stop the rebase there for a person to
# resolve (never fuzz); when it is done, the last lines say how to make
# the result the rig's tree and pin the new version.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ "$BASE" = "$MAINLINE_BASE" ] || die "rebase.sh rebases the mainline series (BASE=$MAINLINE_BASE)"
spec=${1:?usage: rig/rebase.sh linux-source-7.N=VERSION [SUITE]}
suite=${2:-experimental}
pkg=${spec%%=*}
ver=${spec#*=}
[ "$pkg" != "$spec" ] && [ -n "$ver" ] || die "usage: rig/rebase.sh linux-source-7.N=VERSION [SUITE]"
[ -d "$KSRC/.git" ] || die "no current tree; run make tree first"
kgit diff --quiet HEAD || die "$KSRC has uncommitted changes"

tarball=$("$RIG_DIR/base.sh" "$pkg" "$ver" "$suite")
new=$BUILD_DIR/rebase/linux
rm -rf "$BUILD_DIR/rebase"
mkdir -p "$new"
step "unpacking $tarball into $new"
tar -C "$new" --strip-components=1 -xf "$tarball"
ngit() { git -C "$new" "$@"; }
ngit init -q -b master
ngit config user.name "$TEAM_NAME"
ngit config user.email "$TEAM_EMAIL"
ngit config core.abbrev 12
ngit add -A -f .
kver=$(make -s -C "$new" kernelversion)
GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
	ngit commit -q -m "Linux $kver (Debian $pkg $ver)"
ngit tag base
ngit update-index --skip-worktree .gitignore
sed -i '/^\/\*$/d; /^!\/debian\/$/d' "$new/.gitignore"

step "three-way rebase of $(kgit rev-list --count base..series) patches"
ngit fetch -q "$KSRC" "+refs/heads/series:refs/heads/series-old" "+refs/tags/base:refs/tags/base-old"
ngit checkout -q -B series series-old
if ! ngit rebase --onto base base-old series; then
	echo "rig: the rebase stopped on a conflict in $new." >&2
	echo "rig: resolve it there (git status; git rebase --continue), then:" >&2
fi
echo "rig: when $new is on branch series with the rebase done:"
echo "  1. set BASE_PKG=$pkg and BASE_PKG_VERSION=$ver (BASE_SUITE=$suite) in rig/common.sh"
echo "  2. mv $KSRC $KSRC.old && mv $new $KSRC"
echo "  3. make export && make check"
