#!/bin/bash
# Make sure the base tarball of $BASE is there, at the pinned version.
#
# BASE_SUITE=system: the package comes from the machine's own apt sources
# (rig/deps.sh installs it) and the tarball is in /usr/src.
# Any other suite: the pinned package is downloaded with a private apt
# configuration (rig/privapt.sh) into build/base/ and unpacked there with
# dpkg -x; nothing is installed.  Reused without the network once there.
#
# When the archive no longer has the pinned version (experimental moves on
# with every upload), this says so, names the version it has, and the one
# command that rebases the series onto it.
#
#   base.sh                     the pinned base of $BASE
#   base.sh PKG VERSION SUITE   another (rig/rebase.sh): prints the tarball
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$RIG_DIR/privapt.sh"

if [ $# -eq 3 ]; then
	BASE_PKG=$1 BASE_PKG_VERSION=$2 BASE_SUITE=$3
	BASE_TARBALL=$BUILD_DIR/base/$BASE_PKG_VERSION/usr/src/$BASE_PKG.tar.xz
	exec 3>&1 1>&2
else
	exec 3>/dev/null
fi

if [ "$BASE_SUITE" = system ]; then
	have=$(dpkg-query -W -f='${Version}' "$BASE_PKG" 2>/dev/null || true)
	[ "$have" = "$BASE_PKG_VERSION" ] ||
		die "$BASE_PKG is ${have:-not installed}, the rig wants $BASE_PKG_VERSION (run rig/deps.sh)"
	[ -f "$BASE_TARBALL" ] || die "$BASE_TARBALL missing; run rig/deps.sh"
	echo "rig: base $BASE_PKG $BASE_PKG_VERSION: $BASE_TARBALL"
	exit 0
fi

dest=$BUILD_DIR/base/$BASE_PKG_VERSION
if [ -f "$dest/OK" ] && [ -f "$BASE_TARBALL" ]; then
	echo "rig: base $BASE_PKG $BASE_PKG_VERSION already in $dest"
	echo "$BASE_TARBALL" >&3
	exit 0
fi

A=$BUILD_DIR/base/apt-$BASE_SUITE
privapt_init "$A" "$BASE_SUITE"
step "base: package lists of $BASE_SUITE"
if ! papt -q update >"$A/update.log" 2>&1 || grep -q '^[WE]:' "$A/update.log"; then
	cat "$A/update.log" >&2
	die "base: could not fetch the package lists of Debian $BASE_SUITE"
fi
avail=$(papt_versions "$BASE_PKG" 2>/dev/null || true)
if ! grep -qxF "$BASE_PKG_VERSION" <<<"$avail"; then
	echo "rig: the series was last rebased on $BASE_PKG $BASE_PKG_VERSION," >&2
	echo "rig: which Debian $BASE_SUITE no longer has." >&2
	if [ -n "$avail" ]; then
		echo "rig: $BASE_SUITE has $BASE_PKG $(echo $avail)." >&2
		echo "rig: to rebase onto it: rig/rebase.sh $BASE_PKG=$(head -1 <<<"$avail")" >&2
	else
		newer=$({ papt_cache -q search --names-only '^linux-source-[0-9.]+$' || true; } |
			awk '{print $1}' | sort -V | tail -1)
		echo "rig: $BASE_SUITE has no $BASE_PKG at all${newer:+; its newest is $newer}." >&2
		[ -z "$newer" ] ||
			echo "rig: to rebase onto it: rig/rebase.sh $newer=$(papt_versions "$newer" | head -1)" >&2
	fi
	exit 1
fi

step "base: downloading $BASE_PKG $BASE_PKG_VERSION from $BASE_SUITE"
rm -rf "$dest"
if ! papt_download "$dest.debs" "$BASE_PKG=$BASE_PKG_VERSION" >"$A/download.log" 2>&1; then
	cat "$A/download.log" >&2
	die "base: downloading $BASE_PKG $BASE_PKG_VERSION failed"
fi
deb=$(ls "$dest.debs"/"$BASE_PKG"_*.deb)
dpkg-deb -x "$deb" "$dest"
[ -f "$BASE_TARBALL" ] || die "base: $deb has no ${BASE_TARBALL#"$dest"}"
rm -rf "$dest.debs"
touch "$dest/OK"
echo "rig: base $BASE_PKG $BASE_PKG_VERSION in $dest"
echo "$BASE_TARBALL" >&3
