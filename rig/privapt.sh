# A private apt configuration for one Debian suite the system's apt is not
# set up for.  Sourced, never executed.  The system's sources, preferences,
# keyrings and apt.conf.d stay out; the system's dpkg status is read (never
# written) so a simulated install lists only what the system lacks.
#
#   privapt_init DIR SUITE   DIR/{sources.list,lists,cache,...}; sets PRIVAPT
#   papt ARGS...             apt-get with that configuration (papt_cache:
#                            apt-cache)
# shellcheck shell=bash

PRIVAPT_MIRROR=${PRIVAPT_MIRROR:-http://deb.debian.org/debian}
PRIVAPT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

privapt_init() {
	local a=$1 suite=$2
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/state" \
		"$a/empty" "$a/log"
	[ -r "$PRIVAPT_KEYRING" ] ||
		die "$PRIVAPT_KEYRING missing (package debian-archive-keyring)"
	echo "deb [signed-by=$PRIVAPT_KEYRING] $PRIVAPT_MIRROR $suite main" >"$a/sources.list"
	: >"$a/preferences"
	# Read before any -o option: keeps the system's apt.conf.d out.
	cat >"$a/apt.conf" <<EOT
Dir::Etc::Parts "$a/empty";
Dir::Etc::main "/dev/null";
EOT
	PRIVAPT=(
		-o "Dir::Etc::SourceList=$a/sources.list"
		-o "Dir::Etc::SourceParts=$a/empty"
		-o "Dir::Etc::Preferences=$a/preferences"
		-o "Dir::Etc::PreferencesParts=$a/empty"
		-o "Dir::Etc::Trusted=$a/trusted.gpg"
		-o "Dir::Etc::TrustedParts=$a/empty"
		-o "Dir::Etc::netrc=$a/auth.conf"
		-o "Dir::Etc::netrcparts=$a/empty"
		-o "Dir::State=$a/state"
		-o "Dir::State::Lists=$a/lists"
		-o "Dir::State::extended_states=$a/state/extended_states"
		-o "Dir::State::status=/var/lib/dpkg/status"
		-o "Dir::Cache=$a/cache"
		-o "Dir::Cache::archives=$a/cache/archives"
		-o "Dir::Log=$a/log"
		-o "Acquire::Languages=none"
		-o "Debug::NoLocking=true"
	)
	# Experimental's Release is signed but its Valid-Until lapses between
	# uploads; the signature is still checked.
	case "$suite" in
	experimental | rc-buggy) PRIVAPT+=(-o "Acquire::Check-Valid-Until=false") ;;
	esac
	PRIVAPT_DIR=$a
	export APT_CONFIG=$a/apt.conf LC_ALL=C
}

papt() { apt-get "${PRIVAPT[@]}" "$@"; }
papt_cache() { apt-cache "${PRIVAPT[@]}" "$@"; }

# The versions of package $1 the suite has, one per line, newest first
papt_versions() {
	papt_cache -q madison "$1" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'
}

# Download into DIR (as root apt downloads as _apt: let it write there).
papt_download() {
	local dir=$1
	shift
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
		chown _apt "$dir"
	fi
	(cd "$dir" && papt -q download "$@")
}
