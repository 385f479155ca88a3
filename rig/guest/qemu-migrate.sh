#!/bin/sh
# Runs inside the VM: unmodified QEMU 7.2 (the host's, over 9p) migrates an
# edu device driven by the sample vendor driver, through the v1 migration
# region, from one QEMU on edu #1 to another on edu #2.  KTAP on stdout.
#
#   1. migration: set state on edu #1 (registers and a factorial, 5! =
#      120), migrate over a unix socket, and find the same state on edu #2
#      once the destination has loaded it; the sample traps BAR0 from open
#      (trap_bar0=1), since QEMU 7.2 does not know the REMAP_BAR_REGION
#      interrupt, so the guest's DMA commands go through the sample's
#      write path; QEMU 7.2 tracks dirty pages with type1 alone, which
#      counts all guest RAM dirty at every pass (the sample pins nothing),
#      hence the raised downtime limit: with QEMU's default of 300 ms this
#      does not converge.  The protocol the trace shows and the downtime
#      QEMU reports are printed as "# qemu7.2: protocol v1, ..." lines.
#   2. corrupt_stream: save to a file, corrupt the edu stream in it, and
#      see the destination fail to load (exit status 1) while edu #2 keeps
#      its state and still answers
#
#   qemu-migrate.sh [TEST...]   runs the named tests only (make bench)
. /rig/migrate-lib.sh
QEMU=/usr/bin/qemu-system-x86_64	# the host's, inside the chroot

ALL="migration corrupt_stream"
TESTS=${*:-$ALL}
for tn in $TESTS; do
	case " $ALL " in
	*" $tn "*) ;;
	*) echo "qemu-migrate.sh: no test $tn (tests: $ALL)" >&2; exit 2 ;;
	esac
done

echo "TAP version 13"
echo "1..$(echo "$TESTS" | wc -w)"

# qemu NAME BDF [ARGS...]: a paused QEMU 7.2 with the device
qemu() {
	n=$1 bdf=$2
	shift 2
	qemu_bg "$n" "$QEMU" -S \
		-device "vfio-pci,host=$bdf,addr=04.0,x-enable-migration=on" \
		-trace 'enable=vfio_migration_*' -trace 'enable=vfio_save_*' \
		-trace 'enable=vfio_load_*' "$@"
}

test_migration() {
	edu-state "$EDU1" set 0x1234abcd 0x7000 0x80 || return 1
	edu-state "$EDU1" fact 5 >/dev/null || return 1
	edu-state "$EDU2" set 0x0 0x0 0x0 || return 1
	edu-state "$EDU2" fact 3 >/dev/null || return 1
	want=$(edu-state "$EDU1" get) || return 1
	say "edu #1 ($EDU1) before: $want"
	say "edu #2 ($EDU2) before: $(edu-state "$EDU2" get)"
	case "$want" in
	*" factorial=120 "*) ;;
	*) say "edu #1 does not read 5! = 120"; return 1 ;;
	esac

	trap_bar0_set
	qemu dst "$EDU2" -incoming unix:/tmp/mig.sock
	qemu src "$EDU1"
	qmp_migrate --downtime-limit 60000 src unix:/tmp/mig.sock dst
	mrc=$?
	qemu_quit src
	qemu_quit dst
	trap_bar0_restore
	qemu_log src
	qemu_log dst
	say "protocols: source $(protocol src), destination $(protocol dst)"
	say "source states (v1 device_state): $(states src)"
	say "destination states (v1 device_state): $(states dst)"
	say "qemu7.2: protocol $(protocol src), downtime $(mig_field downtime) ms, total $(mig_field total-time) ms, downtime-limit $(mig_field downtime-limit) ms, test migration"
	[ $mrc -eq 0 ] || return 1
	[ "$(protocol src)" = v1 ] && [ "$(protocol dst)" = v1 ] ||
		{ say "QEMU 7.2 did not use the v1 region"; return 1; }

	got=$(edu-state "$EDU2" get) || return 1
	say "edu #2 ($EDU2) after:  $got"
	[ "$got" = "$want" ]
}

test_corrupt_stream() {
	edu-state "$EDU1" set 0x1234abcd 0x7000 0x80 || return 1
	edu-state "$EDU1" fact 5 >/dev/null || return 1
	edu-state "$EDU2" set 0x55 0x1000 0x10 || return 1
	edu-state "$EDU2" fact 4 >/dev/null || return 1
	want=$(edu-state "$EDU2" get) || return 1

	trap_bar0_set
	qemu src "$EDU1"
	qmp_migrate --downtime-limit 60000 src "exec:cat > /tmp/vm.mig"
	mrc=$?
	qemu_quit src
	[ $mrc -eq 0 ] || { trap_bar0_restore; return 1; }

	# The edu stream starts with its magic, "EDUm": make it "EDUx".
	chroot "$HOST" python3 -c "
d = open('/tmp/vm.mig', 'rb').read()
assert d.count(b'EDUm') == 1, 'edu stream not found once'
open('/tmp/vm.mig', 'wb').write(d.replace(b'EDUm', b'EDUx'))" ||
		{ trap_bar0_restore; return 1; }

	qemu dst "$EDU2" -incoming "exec:cat /tmp/vm.mig"
	if ! qemu_wait dst "$TMO"; then
		trap_bar0_restore
		say "the destination did not exit on a corrupt stream"
		return 1
	fi
	trap_bar0_restore
	qemu_log dst
	say "destination exit status $rc"
	grep -q "load of migration failed" "$HOST/tmp/dst.log" || return 1
	[ "$rc" -eq 1 ] || return 1

	got=$(edu-state "$EDU2" get) || return 1
	say "edu #2 after the refused stream: $got"
	[ "$got" = "$want" ] || return 1
	edu-state "$EDU2" fact 6 | grep -qx factorial=720
}

setup_ok=0
mig_setup || setup_ok=1
for tn in $TESTS; do
	if [ $setup_ok -eq 0 ]; then
		"test_$tn"
		result $? "$tn"
	else
		result 1 "$tn"
	fi
done
exit $FAILED
