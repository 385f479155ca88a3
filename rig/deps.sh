#!/bin/bash
# Install what the rig needs from Debian's archive.  Idempotent.
set -euo pipefail
. "$(dirname "$0")/common.sh"

# The base from the system's own suite (6.12 on Debian 12), for make
# check's backport run and BASE=6.12; mainline's base comes from
# rig/base.sh (a private apt configuration, nothing installed).
lts=$(BASE=6.12 bash -c '. "$1/common.sh"; echo "$BASE_PKG=$BASE_PKG_VERSION"' _ "$RIG_DIR")
PKGS=(
	"$lts"
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	rsync perl python3 python3-ply python3-git git ccache sparse
	debian-archive-keyring
	qemu-system-x86 busybox-static
	python3-sphinx graphviz
)

missing=()
for p in "${PKGS[@]}"; do
	name=${p%%=*}
	want=${p#*=}
	have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
	case "$have" in
	"install ok installed "*)
		[ "$want" = "$p" ] || [ "${have##* }" = "$want" ] || missing+=("$p")
		;;
	*) missing+=("$p") ;;
	esac
done

[ ${#missing[@]} -eq 0 ] && { echo "rig: all packages present"; exit 0; }

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
step "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
