#!/bin/sh
# Installs the Debian packages the project needs, when any is missing.
# Non-interactive; says what it installs. `make run`, `make test` and
# .ci/run call it, so a fresh Debian 12 machine needs nothing else.
set -eu

packages="gcc make binutils git nasm gnu-efi qemu-system-x86 ovmf mtools dosfstools
xorriso fdisk libcmocka-dev clang libclang-rt-14-dev python3 python3-pytest python3-pexpect acpica-tools
cpio kmod e2fsprogs"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then
	as_root=""
elif command -v sudo >/dev/null 2>&1; then
	as_root="sudo"
else
	echo "deps: root is needed to install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -q
# shellcheck disable=SC2086 # one word per package
$as_root apt-get install -y -q --no-install-recommends $missing
