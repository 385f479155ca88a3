#!/bin/bash
# Fetch QEMU 10.0 (qemu-system-x86 from Debian bookworm-backports) into
# $BUILD_DIR/qemu10 without installing it: the system's apt configuration
# and its QEMU 7.2 stay as they are.
#
# A private apt configuration under $BUILD_DIR/qemu10/apt names only
# bookworm-backports and reads the system's dpkg status (read-only), so a
# simulated install of qemu-system-x86 from bookworm-backports lists exactly
# the packages the system does not already satisfy.  Those are downloaded
# with "apt-get download", unpacked with "dpkg -x" into $BUILD_DIR/qemu10/root
# and run through the wrapper $BUILD_DIR/qemu10/qemu-system-x86_64, which
# finds its libraries, modules and firmware next to itself at run time (so
# it works from the VM's chroot into the host root too).  Modules of the
# 10.0 build that could not be fetched are replaced by empty ones in
# $BUILD_DIR/qemu10/modules (see below).  The version fetched is recorded
# in $BUILD_DIR/qemu10/VERSION.  Idempotent: nothing is downloaded when the
# same package set is already unpacked.  Needs the network (deb.debian.org)
# for the package lists and a C compiler for the empty modules; root is not
# required.
set -euo pipefail
. "$(dirname "$0")/common.sh"

SUITE=bookworm-backports
MIRROR=http://deb.debian.org/debian	# the host the system's sources use
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SERIES=10.0				# the upstream series the rig expects

Q=$BUILD_DIR/qemu10
A=$Q/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/state" \
	"$A/empty" "$A/log" "$Q/debs"
[ -r "$KEYRING" ] || die "qemu10: $KEYRING missing (package debian-archive-keyring)"

echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" >"$A/sources.list"
: >"$A/preferences"
# Read before any -o option: keeps the system's apt.conf.d (its hooks, its
# settings) out.  Everything else is set with -o below.
cat >"$A/apt.conf" <<EOF
Dir::Etc::Parts "$A/empty";
Dir::Etc::main "/dev/null";
EOF
export APT_CONFIG=$A/apt.conf LC_ALL=C

APT=(
	-o "Dir::Etc::SourceList=$A/sources.list"
	-o "Dir::Etc::SourceParts=$A/empty"
	-o "Dir::Etc::Preferences=$A/preferences"
	-o "Dir::Etc::PreferencesParts=$A/empty"
	-o "Dir::Etc::Trusted=$A/trusted.gpg"
	-o "Dir::Etc::TrustedParts=$A/empty"
	-o "Dir::Etc::netrc=$A/auth.conf"
	-o "Dir::Etc::netrcparts=$A/empty"
	-o "Dir::State=$A/state"
	-o "Dir::State::Lists=$A/lists"
	-o "Dir::State::extended_states=$A/state/extended_states"
	-o "Dir::State::status=/var/lib/dpkg/status"
	-o "Dir::Cache=$A/cache"
	-o "Dir::Cache::archives=$A/cache/archives"
	-o "Dir::Log=$A/log"
	-o "Acquire::Languages=none"
	-o "Debug::NoLocking=true"
)
apt() { apt-get "${APT[@]}" "$@"; }

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
	# As root apt downloads as _apt: let it write there.
	if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
		chown _apt "$Q/debs"
	fi
	if ! (cd "$Q/debs" && apt -q download "${want[@]}") >"$A/download.log" 2>&1; then
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

# QEMU_MODULE_DIR is searched first, then the system's module dir, which
# holds QEMU 7.2's modules.  A module of the 10.0 build that was not fetched
# (its package needs libraries the system lacks: qemu-system-modules-opengl
# wants libvirglrenderer1, and -spice needs -opengl) would be taken from
# there, refused ("Only modules from the same build can be loaded") and then
# QEMU aborts on an assertion.  So $Q/modules links the fetched modules and,
# for every other name in the system's dir, holds an empty module with this
# build's stamp: it loads and provides nothing, as if not installed.  Redone
# on every run (the system's dir may change).
sysmod=/usr/lib/x86_64-linux-gnu/qemu
mod=$Q/root/usr/lib/x86_64-linux-gnu/qemu
rm -rf "$Q/modules.new"
mkdir -p "$Q/modules.new"
for f in "$mod"/*.so; do
	if [ -e "$f" ]; then
		ln -s "../root/usr/lib/x86_64-linux-gnu/qemu/${f##*/}" "$Q/modules.new/"
	fi
done
stubs=()
for f in "$sysmod"/*.so; do
	if [ -e "$f" ] && [ ! -e "$Q/modules.new/${f##*/}" ]; then
		stubs+=("${f##*/}")
	fi
done
if [ ${#stubs[@]} -gt 0 ]; then
	stamp=$(grep -ao 'qemu_stamp_[0-9a-f]*' "$Q/root/usr/bin/qemu-system-x86_64" | head -1) ||
		die "qemu10: no module stamp in the QEMU binary"
	command -v cc >/dev/null || die "qemu10: needs a C compiler (build-essential)"
	echo "void $stamp(void) {}" >"$Q/modules.new/stub.c"
	cc -shared -fPIC -nostdlib -o "$Q/modules.new/stub.so" "$Q/modules.new/stub.c" ||
		die "qemu10: cannot build the empty module"
	for m in "${stubs[@]}"; do
		cp "$Q/modules.new/stub.so" "$Q/modules.new/$m"
	done
	rm "$Q/modules.new/stub.c" "$Q/modules.new/stub.so"
	echo "  empty modules over the system's 7.2 ones: ${stubs[*]%.so}"
fi
rm -rf "$Q/modules"
mv "$Q/modules.new" "$Q/modules"

# The wrapper: every path comes from where it lives, at run time.  The
# firmware QEMU links to (seabios, ipxe) is the unpacked one when it had to
# be fetched and the system's otherwise (it satisfied the dependency).
cat >"$Q/qemu-system-x86_64.new" <<'EOF'
#!/bin/sh
# QEMU 10.0 from bookworm-backports, unpacked by rig/qemu10.sh.
here=$(dirname "$(readlink -f "$0")")
root=$here/root
lib=
for d in "$root/usr/lib/x86_64-linux-gnu" "$root/lib/x86_64-linux-gnu" "$root/usr/lib"; do
	[ -d "$d" ] && lib=${lib:+$lib:}$d
done
# Prepended, so in reverse: usr/share/qemu, then seabios, then ipxe.
for d in usr/lib/ipxe/qemu usr/share/seabios; do
	if [ -d "$root/$d" ]; then
		set -- -L "$root/$d" "$@"
	elif [ -d "/$d" ]; then
		set -- -L "/$d" "$@"
	fi
done
set -- -L "$root/usr/share/qemu" "$@"
LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
QEMU_MODULE_DIR=$here/modules \
	exec "$root/usr/bin/qemu-system-x86_64" "$@"
EOF
chmod +x "$Q/qemu-system-x86_64.new"
mv "$Q/qemu-system-x86_64.new" "$Q/qemu-system-x86_64"

step "qemu10: checking $Q/qemu-system-x86_64"
qemu=$Q/qemu-system-x86_64
out=$("$qemu" --version) || die "qemu10: --version failed: $out"
echo "$out" | head -1
echo "$out" | grep -q "version $SERIES\." || die "qemu10: not QEMU $SERIES: $out"
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
echo "rig: QEMU $(cat "$Q/VERSION") ready: $qemu"
