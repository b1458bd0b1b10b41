#!/bin/sh
# mkusb.sh OUT.img FILE...: a raw disk image with a GPT and one EFI
# system partition holding the FAT image from mkesp.sh; write it to a
# USB stick as README.md says.
set -eu
out=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$(dirname "$0")/mkesp.sh" "$work/esp.img" "$@"
esp_sectors=$(( $(stat -c %s "$work/esp.img") / 512 ))
# 1 MiB before the partition, 1 MiB after it for the backup GPT.
rm -f "$out"
truncate -s $(( (esp_sectors + 4096) * 512 )) "$out"
printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system"\n' \
	"$esp_sectors" | sfdisk --quiet "$out"
dd if="$work/esp.img" of="$out" bs=512 seek=2048 conv=notrunc status=none
