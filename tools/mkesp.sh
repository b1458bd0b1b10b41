#!/bin/sh
# mkesp.sh OUT FILE...: a FAT image with each FILE in \EFI\BOOT\ under its
# own name: BOOTX64.EFI (the loader), hv.elf, hv.cfg and guest images.
# Built with mtools: no mounting, no root.
set -eu
out=$1
shift
# Size: contents plus room for FAT metadata, at least 8 MiB, in whole MiB.
kib=$(du -ckL "$@" | tail -n 1 | cut -f 1)
mib=$(( (kib * 11 / 10 + 1023) / 1024 + 4 ))
[ "$mib" -lt 8 ] && mib=8
rm -f "$out"
mkfs.fat -C -n HVBOOT "$out" $((mib * 1024)) >/dev/null
mmd -i "$out" ::/EFI ::/EFI/BOOT
for f in "$@"; do
	mcopy -i "$out" "$f" "::/EFI/BOOT/$(basename "$f")"
done
