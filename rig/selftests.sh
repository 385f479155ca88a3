#!/bin/bash
# Build the series' selftests statically against the tree's uAPI headers
# and stage them for the guest in $GUEST_DIR/selftests/vfio.
set -euo pipefail
. "$(dirname "$0")/common.sh"

src=$KSRC/tools/testing/selftests/vfio
out=$GUEST_DIR/selftests/vfio
rm -rf "$GUEST_DIR/selftests"
if [ ! -d "$src" ]; then
	echo "rig: no selftests in this tree"
	exit 0
fi
kmake -s headers_install >/dev/null
mkdir -p "$out"
make -s -C "$src" OUTPUT="$out" KHDR_INCLUDES="-isystem $KOUT/usr/include" \
	USERCFLAGS=-Werror USERLDFLAGS=-static
# The scripts and their helpers run from the same directory in the guest.
make -s -C "$src" OUTPUT="$out" KHDR_INCLUDES="-isystem $KOUT/usr/include" \
	USERCFLAGS=-Werror USERLDFLAGS=-static INSTALL_PATH="$out" install >/dev/null
cp "$KSRC/tools/testing/selftests/kselftest/ktap_helpers.sh" "$out/"
echo "rig: selftests staged in $out"
