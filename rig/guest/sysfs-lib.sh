# Sourced by the guest's bench.sh and reliability.sh: the sysfs helpers
# both use.  Messages go out as "# ..." (TAP diagnostics).
PCI=/sys/bus/pci

say() { echo "# $*"; }

# wr VALUE FILE: write a sysfs file, saying so when that fails
wr() {
	if ! { echo "$1" >"$2"; } 2>/dev/null; then
		say "cannot write '$1' to $2"
		return 1
	fi
}

# read_file FILE: its first line, or nothing when it cannot be read
read_file() {
	rf_line=
	{ read -r rf_line <"$1"; } 2>/dev/null
	echo "$rf_line"
}

# driver_of BDF: the driver bound to BDF, if any
driver_of() {
	do_link=$(readlink "$PCI/devices/$1/driver" 2>/dev/null)
	echo "${do_link##*/}"
}

# vendor_of BDF: what vfio-pci says drives BDF
vendor_of() {
	vo=$(read_file "$PCI/devices/$1/vfio_vendor_driver")
	echo "${vo:-(no vfio_vendor_driver)}"
}

# expect_vendor BDF VENDOR: BDF is driven by VENDOR ("none": plain vfio-pci)
expect_vendor() {
	ev=$(vendor_of "$1")
	[ "$ev" = "$2" ] && return 0
	say "$1: vfio_vendor_driver says $ev, expected $2"
	return 1
}
