#!/bin/bash
# Build the test kernel and its modules (ccache), then install the modules
# into $GUEST_DIR/modroot for the initramfs.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -d "$KSRC/.git" ] || die "no kernel tree; run make tree"
"$RIG_DIR/config.sh"
step "building bzImage and modules (-j$JOBS)"
start=$(date +%s)
if ! kmake -s bzImage modules >"$WORK_DIR/build.log" 2>&1; then
	grep -E 'error|Error' "$WORK_DIR/build.log" | head -40 >&2
	die "kernel build failed (see $WORK_DIR/build.log)"
fi
echo "rig: kernel built in $(($(date +%s) - start))s"

rm -rf "$GUEST_DIR/modroot"
mkdir -p "$GUEST_DIR/modroot"
kmake -s INSTALL_MOD_PATH="$GUEST_DIR/modroot" INSTALL_MOD_STRIP=1 \
	DEPMOD=/sbin/depmod modules_install >/dev/null
cp "$KOUT/arch/x86/boot/bzImage" "$GUEST_DIR/bzImage"
echo "rig: kernel $(cat "$KOUT/include/config/kernel.release") ready"
