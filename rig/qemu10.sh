#!/bin/bash
# Fetch QEMU 10.0 (qemu-system-x86 from Debian bookworm-backports) into
# $BUILD_DIR/qemu10 without installing it: the system's apt configuration
# and its QEMU 7.2 stay as they are.
#
# A private apt configuration under $BUILD_DIR/qemu10/apt names only
# bookworm-backports and reads the system's dpkg status (read-only), so a
# simulated install of qemu-system-x86 from bookworm-backports lists exactly
# the packages the system does not already satisfy.  Those are downloaded
# with "apt-get download" and unpacked with "dpkg -x" into
# $BUILD_DIR/qemu10/root.  The link root/usr/bin/qemu-bundle -> ../.. makes
# QEMU relocate every compiled-in path (data, firmware, modules) into root/
# (QEMU's get_relocated_path()), so it never sees the system's 7.2 data or
# modules and needs no -L option or environment variable.  The link is
# relative and build/ has the same path in the VM's chroot into the 9p host
# root, so it works there too.  The entry point is the wrapper
# $BUILD_DIR/qemu10/qemu-system-x86_64; the version fetched is recorded in
# $BUILD_DIR/qemu10/VERSION.
#
# Idempotent and fast when already there: an unpack that passed the checks
# at the end ($BUILD_DIR/qemu10/OK) is reused without asking the network.
# QEMU10_REFRESH=1 asks the archive again and refetches when the package
# set changed.  Needs the network (deb.debian.org) the first time; root is
# not required.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$RIG_DIR/privapt.sh"

SUITE=bookworm-backports
MIRROR=$PRIVAPT_MIRROR
SERIES=10.0				# the upstream series the rig expects

Q=$BUILD_DIR/qemu10
A=$Q/apt
qemu=$Q/qemu-system-x86_64

# The checks of a finished unpack, through the wrapper.
check() {
	local out n rc d
	out=$("$qemu" --version) || die "qemu10: --version failed: $out"
	echo "$out" | head -1
	echo "$out" | grep -q "version $SERIES\." || die "qemu10: not QEMU $SERIES: $out"
	# Every data, firmware and module path is inside root/ (the bundle).
	out=$("$qemu" -L help) || die "qemu10: -L help failed: $out"
	while read -r d; do
		case "$(readlink -f "$d")" in
		"$Q"/root/* | /usr/lib/ipxe/* | /usr/share/seabios) ;;
		*) die "qemu10: data path $d is outside $Q/root: $out" ;;
		esac
	done <<<"$out"
	n=$("$qemu" -machine q35 -device help 2>"$A/help.log" | grep -c vfio-pci) || {
		cat "$A/help.log" >&2
		die "qemu10: -device help failed or lists no vfio-pci"
	}
	if [ -s "$A/help.log" ]; then
		cat "$A/help.log" >&2
		die "qemu10: -device help complained"
	fi
	echo "vfio-pci devices: $n"
	set +e
	timeout 5 "$qemu" -accel tcg -machine q35 -nographic -nodefaults -S \
		-display none -monitor none -serial none </dev/null >"$A/start.log" 2>&1
	rc=$?
	set -e
	if [ "$rc" -ne 124 ]; then
		cat "$A/start.log" >&2
		die "qemu10: q35 + TCG exited with status $rc before the 5 s timeout"
	fi
	if grep -qiE 'shared librar|module|firmware|bios' "$A/start.log"; then
		cat "$A/start.log" >&2
		die "qemu10: q35 + TCG complained while starting"
	fi
	echo "q35 + TCG starts (stopped after 5 s)"
}

if [ "${QEMU10_REFRESH:-0}" != 1 ] && [ -f "$Q/OK" ] && [ -f "$Q/VERSION" ] &&
	[ -x "$qemu" ] && [ -L "$Q/root/usr/bin/qemu-bundle" ] &&
	"$qemu" --version 2>/dev/null | grep -q "version $SERIES\."; then
	echo "rig: QEMU $(cat "$Q/VERSION") already in $Q (QEMU10_REFRESH=1 asks the archive again)"
	exit 0
fi
rm -f "$Q/OK"

mkdir -p "$Q/debs"
privapt_init "$A" "$SUITE"
apt() { papt "$@"; }

step "qemu10: package lists of $SUITE from $MIRROR"
if ! apt -q update >"$A/update.log" 2>&1 || grep -q '^[WE]:' "$A/update.log"; then
	cat "$A/update.log" >&2
	die "qemu10: could not fetch the $SUITE package lists; QEMU $SERIES is not available"
fi

# What a real install would bring in: qemu-system-x86 from the suite and
# every dependency the installed system does not satisfy.
if ! apt -s -t "$SUITE" --no-install-recommends install qemu-system-x86 \
	>"$A/simulate.log" 2>&1; then
	cat "$A/simulate.log" >&2
	die "qemu10: apt cannot resolve qemu-system-x86 from $SUITE against this system"
fi
# Inst NAME [OLD] (VERSION LABEL:ARCHIVE [ARCH]) [...]; the archive is the
# suite's current name (oldstable-backports for bookworm-backports).
mapfile -t pkgs < <(sed -n 's/^Inst \([^ ]*\) \(\[[^]]*\] \)\{0,1\}(\([^ ]*\) \([^)]*\)).*/\1=\3 \4/p' \
	"$A/simulate.log" | sort)
[ ${#pkgs[@]} -gt 0 ] || { cat "$A/simulate.log" >&2; die "qemu10: apt planned no install"; }
want=()
version=
for p in "${pkgs[@]}"; do
	nv=${p%% *}
	case "$p" in
	*" Debian Backports:"*-backports" "*) ;;
	*) die "qemu10: $nv would not come from Debian's $SUITE: $p" ;;
	esac
	want+=("$nv")
	[ "${nv%%=*}" = qemu-system-x86 ] && version=${nv#*=}
done
[ -n "$version" ] || die "qemu10: qemu-system-x86 is not in the install set (already installed from $SUITE?)"
case "$version" in
*:"$SERIES".*) ;;
*) die "qemu10: $SUITE has qemu-system-x86 $version, not $SERIES.x" ;;
esac
manifest=$(printf '%s\n' "${want[@]}")

if [ -x "$Q/root/usr/bin/qemu-system-x86_64" ] && [ -f "$Q/MANIFEST" ] &&
	[ "$(cat "$Q/MANIFEST")" = "$manifest" ] &&
	[ "$(cat "$Q/VERSION" 2>/dev/null)" = "$version" ]; then
	step "qemu10: qemu-system-x86 $version already unpacked in $Q/root"
	printf '  %s\n' "${want[@]}"
else
	step "qemu10: fetching qemu-system-x86 $version and ${#want[@]} package(s) in all"
	printf '  %s\n' "${want[@]}"
	rm -f "$Q/VERSION" "$Q/MANIFEST"
	rm -rf "$Q/debs" "$Q/root.new"
	mkdir -p "$Q/debs" "$Q/root.new"
	if ! papt_download "$Q/debs" "${want[@]}" >"$A/download.log" 2>&1; then
		cat "$A/download.log" >&2
		die "qemu10: downloading from $SUITE failed"
	fi
	for deb in "$Q"/debs/*.deb; do
		echo "  unpacking $(basename "$deb")"
		dpkg -x "$deb" "$Q/root.new" || die "qemu10: dpkg -x $deb failed"
	done
	n=$(find "$Q/debs" -name '*.deb' | wc -l)
	[ "$n" -eq ${#want[@]} ] || die "qemu10: downloaded $n packages, wanted ${#want[@]}"
	rm -rf "$Q/root"
	mv "$Q/root.new" "$Q/root"
	echo "$manifest" >"$Q/MANIFEST"
	echo "$version" >"$Q/VERSION"
fi

# The relocation: QEMU finds <dir of its binary>/qemu-bundle and prefixes
# every compiled-in path with it (data /usr/share/qemu, firmware
# /usr/share/seabios:/usr/lib/ipxe/qemu, modules
# /usr/lib/x86_64-linux-gnu/qemu).  Modules of this build whose packages
# were not fetched (qemu-system-modules-opengl and -spice want libraries
# the system lacks) are then absent, never the system's 7.2 ones (which
# QEMU refuses, then aborts on an assertion).  Firmware the system
# satisfied (ipxe-qemu; seabios when it is new enough) is linked by its
# absolute path, which is the same in the VM's chroot into the host root.
ln -sfn ../.. "$Q/root/usr/bin/qemu-bundle"
for d in usr/lib/ipxe usr/share/seabios; do
	if [ ! -e "$Q/root/$d" ] && [ -d "/$d" ]; then
		mkdir -p "$(dirname "$Q/root/$d")"
		ln -sfn "/$d" "$Q/root/$d"
	fi
done
rm -rf "$Q/modules"	# empty modules of an older version of this script

# The wrapper.  The libraries are the system's (the simulated install found
# them all installed); if a later package set brings some, they go on the
# library path.
cat >"$qemu.new" <<'EOF'
#!/bin/sh
# QEMU 10.0 from bookworm-backports, unpacked by rig/qemu10.sh.  It finds
# its data, firmware and modules through root/usr/bin/qemu-bundle.
root=$(dirname "$(readlink -f "$0")")/root
lib=
for d in "$root/usr/lib/x86_64-linux-gnu" "$root/lib/x86_64-linux-gnu"; do
	for f in "$d"/lib*.so*; do
		if [ -e "$f" ]; then
			lib=${lib:+$lib:}$d
			break
		fi
	done
done
if [ -n "$lib" ]; then
	LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
fi
exec "$root/usr/bin/qemu-system-x86_64" "$@"
EOF
chmod +x "$qemu.new"
mv "$qemu.new" "$qemu"

step "qemu10: checking $qemu"
check
touch "$Q/OK"
echo "rig: QEMU $(cat "$Q/VERSION") ready: $qemu"
