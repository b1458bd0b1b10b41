#!/bin/sh
# mkrundisk.sh OUT_DIR: what `make run` adds to the default configuration.
# OUT_DIR/disk.img, a host disk image with a GPT of two partitions,
# linux1-data and linux2-data, each holding an empty ext4 filesystem, made
# when missing (what the guests wrote on it stays from run to run; delete
# it for a fresh one); and OUT_DIR/hv.cfg, guests/hv.cfg with one disk
# line for each of linux1 and linux2 naming its partition. guests/hv.cfg
# itself names no host partition, so that the images boot on any machine.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: mkrundisk.sh OUT_DIR}
disk=$out/disk.img
part_mib=64
names="linux1 linux2"

mkdir -p "$out"
if [ ! -f "$disk" ]; then
	rm -f "$disk.new"
	# Two partitions from 1 MiB on, and 1 MiB for the backup GPT.
	truncate -s $((1 + 2 * part_mib + 1))M "$disk.new"
	for name in $names; do echo "size=${part_mib}MiB, name=$name-data"; done |
		{ echo "label: gpt"; cat; } | sfdisk --quiet "$disk.new" >/dev/null
	n=0
	for name in $names; do
		# Partition n starts 1 MiB + n partitions in: mke2fs writes there, at offset=.
		mkfs.ext4 -q -F -L "$name-data" -E offset=$(((1 + n * part_mib) << 20)) "$disk.new" "${part_mib}M"
		n=$((n + 1))
	done
	mv "$disk.new" "$disk"
	echo "run: $disk: partitions linux1-data and linux2-data, ${part_mib} MiB each, ext4"
fi

awk '{ print }
     /^\[partition linux[12]\]/ { name = substr($2, 1, length($2) - 1); print "disk = part:" name "-data" }' \
	"$here/guests/hv.cfg" > "$out/hv.cfg"
