#!/bin/bash
# Pack the test VM's initramfs: busybox, the kernel's modules, the
# selftests, the guest scripts and tools.
set -euo pipefail
. "$(dirname "$0")/common.sh"

root=$GUEST_DIR/root
[ -d "$GUEST_DIR/modroot/lib/modules" ] || die "no modules; run make build"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,rig,usr/bin,usr/sbin,lib}

cp /bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list-full); do
	[ "$app" = bin/busybox ] && continue
	mkdir -p "$root/$(dirname "$app")"
	ln -sf /bin/busybox "$root/$app"
done
cp -a "$GUEST_DIR/modroot/lib/modules" "$root/lib/"

cp "$RIG_DIR/guest/init" "$root/init"
cp "$RIG_DIR"/guest/*.sh "$root/rig/" 2>/dev/null || true
chmod +x "$root/init"

# The demo's, the benchmark's and the reliability suite's own tools, built
# against the tree's uAPI; vfio-bench and vfio-reliab share vfio-lib.c.
kmake -s headers_install >/dev/null
gcc -static -O2 -Wall -Wextra -Werror -isystem "$KOUT/usr/include" \
	-o "$root/usr/bin/vfio-peek" "$RIG_DIR/guest/vfio-peek.c"
gcc -static -O2 -Wall -Wextra -Werror -isystem "$KOUT/usr/include" \
	-o "$root/usr/bin/edu-state" "$RIG_DIR/guest/edu-state.c"
gcc -static -O2 -Wall -Wextra -Werror -isystem "$KOUT/usr/include" \
	-o "$root/usr/bin/vfio-bench" "$RIG_DIR/guest/vfio-bench.c" \
	"$RIG_DIR/guest/vfio-lib.c"
gcc -static -O2 -Wall -Wextra -Werror -isystem "$KOUT/usr/include" \
	-o "$root/usr/bin/vfio-reliab" "$RIG_DIR/guest/vfio-reliab.c" \
	"$RIG_DIR/guest/vfio-lib.c"
cp "$RIG_DIR/guest/qmp-migrate.py" "$root/rig/"

if [ -d "$GUEST_DIR/selftests" ]; then
	cp -a "$GUEST_DIR/selftests" "$root/selftests"
fi

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$GUEST_DIR/initramfs.gz"
echo "rig: initramfs $(du -h "$GUEST_DIR/initramfs.gz" | cut -f1)"
