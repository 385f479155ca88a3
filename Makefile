# vfio-pci vendor ops: the rig.  See README.md.
RIG := rig

# The base tree: 7.3 (mainline, patches/, the default) or 6.12 (the 6.12.y
# LTS backport, patches-6.12/, built under build/6.12/).  make check runs
# both unless CHECK_BASES says otherwise.
BASE ?= 7.3
export BASE
LOGS := build$(if $(filter-out 7.3,$(BASE)),/$(BASE))/logs

.PHONY: demo check deps tree build selftests initramfs test bench stress shell export gates docs qemu10 clean

demo: deps build
	$(RIG)/selftests.sh
	$(RIG)/initramfs.sh
	$(RIG)/qemu10.sh
	$(RIG)/vm.sh demo 2400
	$(RIG)/check-log.sh $(LOGS)/demo.log

check: deps
	$(RIG)/check.sh

deps:
	$(RIG)/deps.sh

tree: deps
	$(RIG)/tree.sh

build: tree
	$(RIG)/build.sh

selftests:
	$(RIG)/selftests.sh

initramfs:
	$(RIG)/initramfs.sh

# Boot the built kernel and run the in-VM tests only (no static gates).
test: selftests initramfs qemu10
	$(RIG)/vm.sh test 2400
	$(RIG)/check-log.sh $(LOGS)/test.log
	$(RIG)/results.sh $(LOGS)/test.log

# One VM boot of benchmarks, each figure a ratio (or, for QEMU's downtime,
# milliseconds) over RIG_BENCH_ROUNDS rounds (5); table in build/bench.txt.
bench: deps build selftests initramfs qemu10
	$(RIG)/bench.sh

# The reliability suite (fault injection, stream fuzzing, concurrency
# stress, surprise removal) at length, in a VM boot of its own; make check
# runs it sized for CI.
stress: deps build selftests initramfs
	RIG_RELIAB=long $(RIG)/vm.sh reliability 5400
	$(RIG)/check-log.sh --faults $(LOGS)/reliability.log
	$(RIG)/results.sh $(LOGS)/reliability.log

shell: selftests initramfs
	$(RIG)/vm.sh shell

export:
	$(RIG)/export.sh

gates:
	$(RIG)/check-overlay.sh
	$(RIG)/gates.sh checkpatch
	$(RIG)/gates.sh bisect
	$(RIG)/gates.sh static
	$(RIG)/docs.sh

# QEMU 10.0 from bookworm-backports, unpacked into build/qemu10 (not
# installed; the system's QEMU 7.2 stays).  demo and check fetch it too
# (once; later runs reuse it without the network).
docs:
	$(RIG)/docs.sh

qemu10:
	$(RIG)/qemu10.sh

clean:
	rm -rf build
