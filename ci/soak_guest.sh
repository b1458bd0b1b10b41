# The guest's side of `make soak` (ci/soak.py), run by the initramfs's
# busybox sh in each Linux partition:  sh soak.sh NAME DISK BLOCKS
#
# CPU load: a loop at the lowest priority hashing random bytes, which
# takes whatever time the disk loop leaves. Disk load, the foreground:
# forever, a 64 KiB block of random bytes at a random block of DISK,
# written with O_DIRECT and fsync (the virtual disk's flush), read back
# with O_DIRECT (from the disk, not the page cache) and compared; each
# write prints a line, which is the console load too.
#
# Each block starts with a header naming its write: NAME, this boot (the
# first 8 characters of the kernel's boot_id) and the write's number. The
# host reads the image after the run and checks each block whose write it
# saw reported against the checksum printed here; a block whose write
# never reported (the partition restarted or stopped meanwhile) names a
# write the host does not know, and is counted apart, never as a mismatch.
#
# Lines: SOAK-W NAME BOOT N BLOCK SHA256 (written and read back the same),
# SOAK-MISMATCH ... (read back differently), SOAK-ERROR ... (dd failed).
name=$1 disk=$2 blocks=$3
bs=65536
boot=$(cut -c1-8 /proc/sys/kernel/random/boot_id)

nice -n 19 sh -c 'while :; do head -c 262144 /dev/urandom | sha256sum >/dev/null; done' &

n=0
while :; do
	n=$((n + 1))
	block=$((RANDOM % blocks))
	{ printf 'SOAK %s %s %d %d\n' "$name" "$boot" "$n" "$block"; head -c $bs /dev/urandom; } | head -c $bs >/tmp/block
	want=$(sha256sum </tmp/block)
	want=${want%% *}
	if ! dd if=/tmp/block of="$disk" bs=$bs seek=$block oflag=direct conv=notrunc,fsync 2>/tmp/err; then
		echo "SOAK-ERROR $name $boot $n $block write: $(tail -n 1 /tmp/err)"
		continue
	fi
	got=$(dd if="$disk" bs=$bs skip=$block count=1 iflag=direct 2>/tmp/err | sha256sum)
	got=${got%% *}
	if [ "$got" = "$want" ]; then
		echo "SOAK-W $name $boot $n $block $want"
	else
		echo "SOAK-MISMATCH $name $boot $n $block wrote $want read $got"
	fi
done
