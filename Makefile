# vfio-pci vendor ops: the rig.  See README.md.
RIG := rig

.PHONY: demo check deps tree build selftests initramfs test shell export gates docs qemu10 clean

demo: deps build
	$(RIG)/selftests.sh
	$(RIG)/initramfs.sh
	$(RIG)/qemu10.sh
	$(RIG)/vm.sh demo 2400
	$(RIG)/check-log.sh build/logs/demo.log

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
	$(RIG)/check-log.sh build/logs/test.log
	$(RIG)/results.sh build/logs/test.log

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
