#!/bin/sh
# mkiso.sh OUT.iso FILE...: an El Torito ISO whose EFI boot image is
# the FAT image from mkesp.sh (UEFI spec 2.10, 13.3.2: "no emulation").
set -eu
out=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
"$(dirname "$0")/mkesp.sh" "$work/root/efiboot.img" "$@"
xorriso -as mkisofs -quiet -V HVBOOT -o "$out" -e efiboot.img -no-emul-boot "$work/root"
