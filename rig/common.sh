# Shared settings for the rig scripts.  Sourced, never executed.
# shellcheck shell=bash

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$RIG_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$TOP_DIR/build}
KSRC=$BUILD_DIR/linux
KOUT=$BUILD_DIR/kout
GUEST_DIR=$BUILD_DIR/guest
LOG_DIR=$BUILD_DIR/logs

# The base tree: Debian's linux-source-6.12, pinned so every run builds the
# same thing.
BASE_PKG=linux-source-6.12
BASE_PKG_VERSION=6.12.117-1~deb12u1
BASE_TARBALL=/usr/src/linux-source-6.12.tar.xz

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
