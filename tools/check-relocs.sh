#!/bin/sh
# The loader applies only R_X86_64_RELATIVE relocations; refuse an hv.elf
# that needs any other kind at build time rather than at boot.
set -eu
bad=$(readelf -rW "$1" | awk '/^[0-9a-f]+ / && $3 != "R_X86_64_RELATIVE" { print $3 }' | sort -u)
if [ -n "$bad" ]; then
	echo "$1: relocations the loader cannot apply: $bad" >&2
	exit 1
fi
