# Shared settings for the rig scripts.  Sourced, never executed.
# shellcheck shell=bash

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$RIG_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$TOP_DIR/build}
# The base tree, one variable: BASE=7.3 (mainline, the default; the series
# in patches/ and the overlay) or BASE=6.12 (the 6.12.y LTS backport in
# patches-6.12/, built under build/6.12/).  Each base is a Debian
# linux-source package pinned to the exact version the series was last
# rebased on; rig/base.sh fetches it and says what to do when the archive
# has moved on.  Suite "system" means the machine's own apt sources (Debian
# 12 has linux-source-6.12 in bookworm); any other suite is fetched with a
# private apt configuration under build/ (rig/privapt.sh).
BASE=${BASE:-7.3}
case "$BASE" in
7.3)
	BASE_PKG=linux-source-7.3
	BASE_PKG_VERSION=7.3~rc7-1~exp1
	BASE_SUITE=experimental
	PATCH_DIR=$TOP_DIR/patches
	WORK_DIR=$BUILD_DIR
	;;
6.12)
	BASE_PKG=linux-source-6.12
	BASE_PKG_VERSION=6.12.117-1~deb12u1
	BASE_SUITE=system
	PATCH_DIR=$TOP_DIR/patches-6.12
	WORK_DIR=$BUILD_DIR/6.12
	;;
*) echo "rig: BASE=$BASE: the rig knows 7.3 (mainline) and 6.12 (LTS)" >&2; exit 1 ;;
esac
# The series whose result is the overlay (the one posted upstream)
MAINLINE_BASE=7.3
if [ "$BASE_SUITE" = system ]; then
	BASE_TARBALL=/usr/src/$BASE_PKG.tar.xz
else
	BASE_TARBALL=$BUILD_DIR/base/$BASE_PKG_VERSION/usr/src/$BASE_PKG.tar.xz
fi

KSRC=$WORK_DIR/linux
KOUT=$WORK_DIR/kout
GUEST_DIR=$WORK_DIR/guest
LOG_DIR=$WORK_DIR/logs

# The one team identity used for authorship, sign-offs and MAINTAINERS.
TEAM_NAME="VFIO vendor ops maintainers"
TEAM_EMAIL="vfio-vendor-ops@lists.example.org"

# Files of the overlay: every file the series touches lives under these.
OVERLAY_ROOTS="drivers include samples tools Documentation MAINTAINERS"

JOBS=${JOBS:-$(nproc)}

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/vfio-vendor-ops-ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
export KBUILD_BUILD_TIMESTAMP="2026-01-01"
export KBUILD_BUILD_USER=rig KBUILD_BUILD_HOST=rig

die() { echo "rig: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

kgit() { git -C "$KSRC" "$@"; }

kmake() {
	make -C "$KSRC" O="$KOUT" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" "$@"
}
