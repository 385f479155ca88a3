#!/bin/bash
# Documentation gate: build Documentation/driver-api/vfio-pci-vendor-ops.rst
# alone with the kernel's own Sphinx setup and fail on any warning.
#
#   docs.sh [FILE.rst]
#
# The document is FILE, or $DOC, or the tree's copy in build/linux, or
# the work copy in build/wt-docs.  Sphinx runs with the kernel's
# Documentation/conf.py (-c build/linux/Documentation: its extensions,
# kerneldoc among them, and its settings) on a scratch source directory,
# build/docs/src, holding only an index and the document at its place in
# driver-api/, so that all of driver-api is not built.  kernel-doc reads
# the sources of build/linux (kerneldoc_srctree), with KDOC_WERROR=1 so
# that a kernel-doc warning fails its directive (Sphinx alone only prints
# them).  Nothing is written into build/linux: Python writes no bytecode
# there, and the output goes to build/docs.
#
# Then, with no Sphinx:
#  - scripts/kernel-doc -none -Wall on every file a kernel-doc directive
#    names: no warning allowed;
#  - every function(), struct and VFIO_/IOMMU_ constant the text names
#    must exist in build/linux (include/, drivers/vfio/, samples/vfio-pci/),
#    except those in $DOCS_PENDING (names of work not yet in the tree,
#    reported and not failed);
#  - once the document is in the tree, driver-api/index.rst lists it.
#
# Prints "rig: docs ok" on success.  Needs python3-sphinx and graphviz
# (rig/deps.sh): the kernel's kfigure extension warns without dot(1).
set -euo pipefail
. "$(dirname "$0")/common.sh"

REL=driver-api/vfio-pci-vendor-ops.rst
DOCS_DIR=$WORK_DIR/docs
# Named by the document, not yet in build/linux (the issue 11 work)
DOCS_PENDING=""

start=$(date +%s%N)

doc=${1:-${DOC:-}}
if [ -z "$doc" ]; then
	for doc in "$KSRC/Documentation/$REL" "$WORK_DIR/wt-docs/Documentation/$REL" ""; do
		[ -z "$doc" ] || [ -f "$doc" ] && break
	done
fi
[ -n "$doc" ] && [ -f "$doc" ] || die "docs: no $REL (in build/linux or build/wt-docs; or give a file)"
doc=$(cd "$(dirname "$doc")" && pwd)/$(basename "$doc")
[ -f "$KSRC/Documentation/conf.py" ] || die "docs: no kernel tree in $KSRC (make tree)"
command -v sphinx-build >/dev/null || die "docs: sphinx-build missing: run rig/deps.sh (python3-sphinx)"
command -v dot >/dev/null || die "docs: dot(1) missing: run rig/deps.sh (graphviz)"

echo "docs: $doc"
echo "docs: srctree $KSRC, $(sphinx-build --version 2>&1)"

fail=0
bad() { echo "docs: $*"; fail=1; }

# Relative paths of the files the kernel-doc directives read
kdoc_files() {
	sed -n 's/^\.\. kernel-doc::[[:space:]]*\([^[:space:]]*\).*/\1/p' "$doc" | sort -u
}

# --- Sphinx --------------------------------------------------------------
rm -rf "$DOCS_DIR"
mkdir -p "$DOCS_DIR/Documentation/$(dirname "$REL")"
cp "$doc" "$DOCS_DIR/Documentation/$REL"
# Sphinx extensions of 7.x find the tree from a source directory named
# Documentation, and MAINTAINERS beside it.
ln -s "$KSRC/MAINTAINERS" "$DOCS_DIR/MAINTAINERS"
cat >"$DOCS_DIR/Documentation/index.rst" <<EOF
.. SPDX-License-Identifier: GPL-2.0

vfio-pci vendor ops documentation gate
======================================

.. toctree::

   ${REL%.rst}
EOF

stamp=$DOCS_DIR/.stamp
touch "$stamp"

log=$DOCS_DIR/sphinx.log
rc=0
# 6.12's conf.py runs scripts/kernel-doc (kerneldoc_bin); 7.x's has the
# Python kernel-doc built in and warns about the unknown setting.
kdoc_bin=()
grep -q '^kerneldoc_bin' "$KSRC/Documentation/conf.py" &&
	kdoc_bin=(-D "kerneldoc_bin=$KSRC/scripts/kernel-doc")
(
	cd "$DOCS_DIR"
	srctree=$KSRC PYTHONDONTWRITEBYTECODE=1 KDOC_WERROR=1 \
		sphinx-build -b html -E -a -q -W --keep-going \
		-c "$KSRC/Documentation" -d "$DOCS_DIR/doctrees" \
		-D kerneldoc_srctree="$KSRC" \
		"${kdoc_bin[@]}" \
		"$DOCS_DIR/Documentation" "$DOCS_DIR/html"
) >"$log" 2>&1 || rc=$?

# What Sphinx said, less the kernel conf.py's theme line; paths of the
# scratch copy shown as the document's own
sed -i -e "s|$DOCS_DIR/Documentation/$REL|$doc|g" "$log"
said=$(grep -v -e '^Using [a-z_]* theme$' "$log" || true)
# The tree's own ABI files (read by every kernel conf.py) may warn in a
# release candidate; those warnings are shown, not charged to the series.
# Anything else Sphinx says fails the gate.
tree_own=$(grep -E "^WARNING: .* is defined [0-9]+ times: $KSRC/Documentation/ABI/" <<<"$said" || true)
if [ -n "$tree_own" ]; then
	echo "docs: warnings of the tree's own Documentation/ABI (not counted):"
	printf '%s\n' "$tree_own" | sed 's/^/    /'
	said=$(grep -vxF -f <(printf '%s\n' "$tree_own") <<<"$said" || true)
	# -W turned them into a failure; with nothing else said, they are all
	[ "$rc" -eq 1 ] && [ -z "$said" ] && rc=0
fi
if [ "$rc" -ne 0 ] || [ -n "$said" ]; then
	bad "sphinx-build failed (exit $rc):"
	printf '%s\n' "$said" | sed 's/^/    /'
fi
[ -f "$DOCS_DIR/html/$(dirname "$REL")/$(basename "$REL" .rst).html" ] ||
	bad "no HTML output for $REL"

# Sphinx must not have left Python bytecode in the kernel tree
wrote=$(find "$KSRC/Documentation" "$KSRC/scripts" -name __pycache__ -newer "$stamp" 2>/dev/null || true)
[ -z "$wrote" ] || bad "wrote into $KSRC: $wrote"

# --- kernel-doc on each referenced file ----------------------------------
while read -r f; do
	[ -n "$f" ] || continue
	if [ ! -f "$KSRC/$f" ]; then
		bad "kernel-doc directive names $f, not in $KSRC"
		continue
	fi
	out=$(cd "$KSRC" && scripts/kernel-doc -none -Wall "$f" 2>&1 || true)
	if [ -n "$out" ]; then
		bad "kernel-doc -none -Wall $f:"
		printf '%s\n' "$out" | sed 's/^/    /'
	else
		echo "docs: kernel-doc -none -Wall $f: clean"
	fi
done < <(kdoc_files)

# --- names in the text ---------------------------------------------------
# function() outside literal blocks (skipping system calls), struct NAME,
# and VFIO_/IOMMU_ constants
names=$(
	{
		grep -oE '\b[A-Za-z_][A-Za-z0-9_]*\(\)' "$doc" | sed 's/()$//' |
			grep -vxE 'read|write|pread|mmap|ioctl|open|close'
		grep -oE '\bstruct +[a-z_][a-z0-9_]*' "$doc" | awk '{print $2}' |
			grep -v '^foo_'
		grep -oE '\b(VFIO|IOMMU)_[A-Z0-9_]*[A-Z0-9]\b' "$doc"
	} | sort -u || true
)
found=$(grep -RhowE -e "$(paste -sd'|' <<<"$names")" \
	"$KSRC/include" "$KSRC/drivers/vfio" "$KSRC/samples/vfio-pci" 2>/dev/null |
	sort -u || true)
missing=$(comm -23 <(printf '%s\n' "$names") <(printf '%s\n' "$found"))
pending=""
for n in $missing; do
	case " $DOCS_PENDING " in
	*" $n "*) pending="$pending $n" ;;
	*) bad "the text names $n, which is not in $KSRC" ;;
	esac
done
for n in $DOCS_PENDING; do
	case " $pending " in
	*" $n "*) ;;
	*) echo "docs: note: $n is in the tree now: drop it from DOCS_PENDING in rig/docs.sh" ;;
	esac
done
[ -z "$pending" ] ||
	echo "docs: note: named but not in the tree yet (DOCS_PENDING):$pending"
echo "docs: $(wc -l <<<"$names") names checked against the tree"

# --- the toctree, once the document is in the tree -----------------------
if [ -f "$KSRC/Documentation/$REL" ] &&
	! grep -qxE '[[:space:]]+vfio-pci-vendor-ops' "$KSRC/Documentation/driver-api/index.rst"; then
	bad "Documentation/driver-api/index.rst does not list vfio-pci-vendor-ops"
fi

ms=$((($(date +%s%N) - start) / 1000000))
printf 'docs: %d.%d s\n' $((ms / 1000)) $((ms % 1000 / 100))
[ "$fail" -eq 0 ] || die "docs: FAILED (Sphinx log: $log)"
echo "rig: docs ok"
