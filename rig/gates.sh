#!/bin/bash
# Static gates on the series.  Each prints what it found and exits non-zero
# on failure.
#
#   gates.sh checkpatch   checkpatch.pl --strict on every patch of the series
#   gates.sh bisect       every patch builds (W=1) on top of the previous ones;
#                         the last one's vfio and sample code also for ARCH=i386
#   gates.sh static       W=1 + sparse (C=2) and kernel-doc: no new warning in
#                         the files the series touches, compared with base
set -euo pipefail
. "$(dirname "$0")/common.sh"

touched_files() { kgit diff --name-only --diff-filter=d base HEAD; }

# An extended regex matching the series' files (the full series, even
# while an earlier commit is checked out)
touched_re() {
	kgit diff --name-only base series | sed 's/[.]/[.]/g' | paste -sd'|'
}

# Directories to build for a set of files: those holding touched .c files.
build_dirs() {
	local f d dirs=""
	for f in "$@"; do
		case "$f" in
		*.c) ;;
		*) continue ;;
		esac
		case "$f" in tools/*) continue ;; esac
		d=$(dirname "$f")/
		[ -d "$KSRC/$d" ] || continue
		case " $dirs " in *" $d "*) ;; *) dirs="$dirs $d" ;; esac
	done
	echo "$dirs"
}

# The 32-bit build: its own output directory and config (rig/kernel-i386.config)
KOUT32=$WORK_DIR/kout-i386
kmake32() {
	make -C "$KSRC" O="$KOUT32" ARCH=i386 -j"$JOBS" CC="ccache gcc" \
		HOSTCC="ccache gcc" "$@"
}

config32() {
	local sym
	mkdir -p "$KOUT32"
	kmake32 -s tinyconfig >/dev/null
	"$KSRC"/scripts/kconfig/merge_config.sh -m -O "$KOUT32" "$KOUT32/.config" \
		"$RIG_DIR/kernel-i386.config" >/dev/null
	kmake32 -s olddefconfig >/dev/null
	for sym in CONFIG_X86_32=y CONFIG_VFIO_PCI=m; do
		grep -qx "$sym" "$KOUT32/.config" || die "i386 config: $sym did not stick"
	done
}

# Of build_dirs' output, those the i386 config builds
dirs32() {
	local d out=""
	for d in "$@"; do
		case "$d" in drivers/vfio/* | samples/*) out="$out $d" ;; esac
	done
	echo "$out"
}

# checkpatch's SPDX check runs scripts/spdxcheck.py and treats a script
# that cannot run (say python3-ply missing: a traceback on stderr, nothing
# on stdout) as a valid licence.  Prove it runs, and tells a bad licence
# from a good one, before trusting checkpatch's silence.
spdxcheck_works() {
	local good bad
	good=$(cd "$KSRC" && echo "SPDX-License-Identifier: GPL-2.0-only" | PATH=/usr/bin:$PATH ./scripts/spdxcheck.py - 2>&1) ||
		die "checkpatch: scripts/spdxcheck.py fails to run: $good"
	[ -z "$good" ] || die "checkpatch: scripts/spdxcheck.py rejects GPL-2.0-only: $good"
	bad=$(cd "$KSRC" && echo "SPDX-License-Identifier: Not-A-Licence" | PATH=/usr/bin:$PATH ./scripts/spdxcheck.py - 2>/dev/null || true)
	[ -n "$bad" ] || die "checkpatch: scripts/spdxcheck.py accepts a made-up licence"
	echo "checkpatch: scripts/spdxcheck.py runs and rejects a made-up licence"
}

gate_checkpatch() {
	local p out bad=0 n=0
	spdxcheck_works
	for p in "$PATCH_DIR"/[0-9][0-9][0-9][0-9]-*.patch; do
		case "$(basename "$p")" in 0000-*) continue ;; esac
		n=$((n + 1))
		out=$(cd "$KSRC" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --no-color --show-types "$p" 2>&1 || true)
		if grep -qE '^total: 0 errors, 0 warnings, 0 checks' <<<"$out" &&
			! grep -q 'Traceback' <<<"$out"; then
			echo "checkpatch: $(basename "$p"): clean"
		else
			echo "checkpatch: $(basename "$p"):"
			printf '%s\n' "$out" | sed 's/^/    /'
			bad=1
		fi
	done
	[ $n -gt 0 ] || die "no patches to check"
	return $bad
}

# Build $4... at commit $1 with W=1 through $3 (kmake or kmake32); $2 says
# which build.  Warnings count only in files the series touches: whole
# directories are built, and some have warnings of their own.
build_commit() {
	local c=$1 what=$2 make=$3 out
	shift 3
	if out=$($make W=1 "$@" 2>&1) &&
		! grep 'warning:' <<<"$out" | grep -E "$(touched_re)" >/dev/null; then
		echo "bisect: $(kgit log -1 --format='%h %s' "$c"): builds$what ($* )"
		return 0
	fi
	echo "bisect: $(kgit log -1 --format='%h %s' "$c"): BUILD FAILED$what"
	printf '%s\n' "$out" | grep -E 'error|warning' | head -30 | sed 's/^/    /'
	return 1
}

gate_bisect() {
	local head commits last c dirs bad=0
	head=$(kgit symbolic-ref --short -q HEAD || kgit rev-parse HEAD)
	commits=$(kgit rev-list --reverse base..HEAD)
	last=$(kgit rev-parse HEAD)
	# The configs of HEAD, made once; each commit starts from a copy and
	# olddefconfig drops what it does not know yet (merging the fragment
	# again for each commit would give the same and take much longer).
	"$RIG_DIR/config.sh" >/dev/null
	cp "$KOUT/.config" "$WORK_DIR/bisect-config"
	config32
	cp "$KOUT32/.config" "$WORK_DIR/bisect-config-i386"
	for c in $commits; do
		kgit checkout -q "$c"
		dirs=$(build_dirs $(kgit diff --name-only --diff-filter=d base "$c"))
		# A commit of tools/, Documentation/ or MAINTAINERS only gives
		# the kernel build what the previous commit's build compiled
		if [ "$c" != "$last" ] &&
			! kgit diff --name-only "$c~1" "$c" |
			grep -qvE '^(tools|Documentation)/|^MAINTAINERS$'; then
			echo "bisect: $(kgit log -1 --format='%h %s' "$c"): no file the kernel build reads changed"
		else
			cp "$WORK_DIR/bisect-config" "$KOUT/.config"
			kmake -s olddefconfig >/dev/null
			build_commit "$c" "" kmake $dirs || bad=1
		fi
		# i386 once, at the last commit: every commit on x86_64, the
		# 32-bit build of the end result (a per-commit i386 pass cost
		# as much again as the x86_64 one, for what the x86_64 pass of
		# each commit and the 32-bit pass at the end already prove)
		dirs=$(dirs32 $dirs)
		if [ -n "$dirs" ] && [ "$c" = "$last" ]; then
			cp "$WORK_DIR/bisect-config-i386" "$KOUT32/.config"
			kmake32 -s olddefconfig >/dev/null
			build_commit "$c" " for i386" kmake32 $dirs || bad=1
		fi
		# The selftests build from their sources and the uAPI headers only
		if [ -d "$KSRC/tools/testing/selftests/vfio" ] &&
			grep -qE '^(tools/testing/selftests/vfio|include/uapi)/' \
				<<<"$(kgit diff --name-only "$c~1" "$c")" &&
			! "$RIG_DIR/selftests.sh" >/dev/null 2>&1; then
			echo "bisect: $(kgit log -1 --format='%h' "$c"): selftests do not build"
			bad=1
		fi
	done
	kgit checkout -q "$head"
	"$RIG_DIR/config.sh" >/dev/null
	return $bad
}

# Warnings of a W=1 C=2 build and kernel-doc over the given files, without
# line numbers so base and HEAD compare.  The objects are rebuilt one at a
# time so that each diagnostic can be charged to the object being built:
# a warning reported in a header (say a printk format, reported at
# kern_levels.h) still belongs to the touched .c file that caused it.
collect_warnings() {
	local dirs=$1 d
	shift
	for d in $dirs; do
		[ -d "$KOUT/$d" ] && find "$KOUT/$d" -name '*.o' -delete
	done
	{
		kmake -j1 -k W=1 C=2 $dirs 2>&1 | awk '
			/^  (CC|CHECK)( \[M\])? / { unit = $NF; next }
			/(warning|error):/ {
				line = $0
				sub("^'"$KSRC"'/", "", line)
				gsub(/:[0-9]+(:[0-9]+)?:/, ":", line)
				print unit ": " line
			}' || true
		(cd "$KSRC" && ./scripts/kernel-doc -none -Wall "$@" 2>&1 |
			grep -E 'warning|error' |
			sed -E "s|$KSRC/||; s|:[0-9]+(:[0-9]+)?:|:|") || true
	} | sort -u
}

gate_static() {
	local files dirs head c_files before after new
	head=$(kgit symbolic-ref --short -q HEAD || kgit rev-parse HEAD)
	files=$(touched_files | grep -E '\.(c|h)$' | grep -v '^tools/' || true)
	dirs=$(build_dirs $files)

	after=$(collect_warnings "$dirs" $files)

	# The same files at base: warnings they already had are not ours.
	kgit checkout -q base
	RIG_CONFIG_STRICT=0 "$RIG_DIR/config.sh" >/dev/null
	local base_files="" base_dirs="" f d
	for f in $files; do [ -f "$KSRC/$f" ] && base_files="$base_files $f"; done
	# The same directories as at HEAD, those that exist at base: their
	# own warnings are not the series'.
	for d in $dirs; do [ -d "$KSRC/$d" ] && base_dirs="$base_dirs $d"; done
	before=$(collect_warnings "$base_dirs" $base_files)
	kgit checkout -q "$head"
	"$RIG_DIR/config.sh" >/dev/null

	new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
	echo "static: W=1, sparse and kernel-doc over:" $files
	if [ -n "$before" ]; then
		echo "static: already at base (not counted):"
		printf '%s\n' "$before" | sed 's/^/    /'
	fi
	if [ -n "$new" ]; then
		echo "static: new warnings:"
		printf '%s\n' "$new" | sed 's/^/    /'
		return 1
	fi
	echo "static: no new warnings"
}

case "${1:-}" in
checkpatch) gate_checkpatch ;;
bisect) gate_bisect ;;
static) gate_static ;;
*) die "usage: gates.sh checkpatch|bisect|static" ;;
esac
