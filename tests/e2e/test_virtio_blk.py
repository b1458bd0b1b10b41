"""virtio-blk disks in a Linux partition: Debian's kernel and initramfs
(`make linux`) boot with two RAM disks from the boot medium, one of them
read-only; Linux's virtio_blk driver finds both at their sizes, reads the
first back with the checksum of the file it was loaded from, writes and
reads back through the device, and is refused a write to the read-only
one, whose content stays as it was. (Linux refuses that write itself,
EPERM, since the device offers VIRTIO_BLK_F_RO; the device's own I/O error
for a write that comes anyway is in tests/unit/test_virtio_blk.c.) The
partition then stops, its disks closed and their requests' memory given
back, and starts again with its disks."""
import hashlib
import os
import random
import re
import shutil

import pytest

import harness
from test_boot import expect_banner, expect_console

LINUX = os.environ.get("LINUX_IMAGES", os.path.join(harness.BUILD, "linux"))
PROMPT = r"linux:[^\r\n]*# "
DATA_SECTORS, RO_SECTORS = 8192, 2048
# The kernel, its modules and the shell under TCG inside the hypervisor, on a
# busy two-core machine.
LINUX_TIMEOUT = 900
ESCAPE = "\x1d"  # Ctrl-]


def pattern(size, seed):
    return random.Random(seed).randbytes(size)


def shell(run, line, timeout=120):
    """A command typed into the attached guest's shell; what it printed."""
    run.command(line)
    run.expect(PROMPT, timeout)
    return run.child.before.replace("\r", "").partition("\n")[2]


def sha256_of(run, command):
    m = re.search(r"^([0-9a-f]{64})\s", shell(run, command + " | sha256sum"), re.M)
    assert m, run.tail()
    return m.group(1)


def test_linux_reads_writes_and_is_refused_on_virtio_disks(boot):
    for name in ("vmlinuz", "initrd.img"):
        if not os.path.isfile(os.path.join(LINUX, name)):
            pytest.skip(f"no {name} in {LINUX}: `make linux` builds them (LINUX_IMAGES names another directory)")
    data, ro = pattern(DATA_SECTORS * 512, 1), pattern(RO_SECTORS * 512, 2)
    cfg = ("[hypervisor]\nconsole = com1\n\n[partition linux]\nmemory = 256M\nvcpus = 2\nkernel = vmlinuz\n"
           "initrd = initrd.img\ncmdline = console=ttyS0\n"
           "disk = ramdisk:data.img\ndisk = ramdisk:ro.img ro\n")
    with harness.Workdir() as directory:
        files = harness.default_files()
        for name in ("vmlinuz", "initrd.img"):
            shutil.copy(os.path.join(LINUX, name), directory)
            files.append(os.path.join(directory, name))
        for name, content in (("data.img", data), ("ro.img", ro)):
            with open(os.path.join(directory, name), "wb") as f:
                f.write(content)
            files.append(os.path.join(directory, name))
        with boot("qemu", cfg, files=files, tcg=harness.QEMU_ONE_THREAD) as run:
            expect_banner(run, "qemu")
            run.expect(r"partition linux: disk ramdisk:data.img as virtio-blk 00:02.0, 8192 sectors", 60)
            run.expect(r"partition linux: disk ramdisk:ro.img as virtio-blk 00:03.0, 2048 sectors, read-only", 10)
            run.expect_all({
                "vda": rf"\[linux\] \[[ \d.]+\] virtio_blk virtio\d: \[vda\] {DATA_SECTORS} 512-byte logical blocks",
                "vdb": rf"\[linux\] \[[ \d.]+\] virtio_blk virtio\d: \[vdb\] {RO_SECTORS} 512-byte logical blocks",
            }, LINUX_TIMEOUT)
            run.expect(r"\[linux\] LINUX-READY", LINUX_TIMEOUT)
            expect_console(run)
            run.command("console linux")
            run.expect(r"\[attached to linux", 20)
            run.command("echo SYNC-$((6 * 7))")  # past the prompts its recent output shows again
            run.expect(r"SYNC-42\r*\n", 60)
            run.expect(PROMPT, 60)

            assert sha256_of(run, f"dd if=/dev/vda bs=4096 count={DATA_SECTORS // 8} 2>/dev/null") == \
                hashlib.sha256(data).hexdigest()
            assert shell(run, "cat /sys/block/vdb/ro").strip() == "1"
            # What Linux took of what was offered (bit i is character i): VERSION_1, EVENT_IDX and indirect
            # descriptors, SEG_MAX, BLK_SIZE and FLUSH; RO on the second disk only.
            features = [shell(run, f"cat /sys/block/{d}/device/features").strip() for d in ("vda", "vdb")]
            for bit in (32, 29, 28, 2, 6, 9):
                assert features[0][bit] == "1" and features[1][bit] == "1", (bit, features)
            assert features[0][5] == "0" and features[1][5] == "1", features
            # GET_ID answers with the disk's name in hv.cfg; with FLUSH, Linux flushes the write cache on fsync.
            assert shell(run, "cat /sys/block/vda/serial").strip() == "ramdisk:data.img"
            assert shell(run, "cat /sys/block/vda/queue/write_cache").strip() == "write back"

            # Four readers at once on two vCPUs: requests in flight together, completed in any order.
            sums = shell(run, "for i in 1 2 3 4; do (dd if=/dev/vda bs=64k iflag=direct 2>/dev/null | sha256sum) & "
                              "done; wait", 300)
            assert re.findall(r"^([0-9a-f]{64})\s", sums, re.M) == [hashlib.sha256(data).hexdigest()] * 4, sums
            shell(run, "dd if=/dev/urandom of=/tmp/w bs=4096 count=16 2>/dev/null")
            local = sha256_of(run, "cat /tmp/w")
            shell(run, "dd if=/tmp/w of=/dev/vda bs=4096 seek=100 conv=fsync 2>/dev/null; echo 3 > "
                       "/proc/sys/vm/drop_caches")
            assert sha256_of(run, "dd if=/dev/vda bs=4096 skip=100 count=16 2>/dev/null") == local
            # The sectors around the write are untouched.
            assert sha256_of(run, "dd if=/dev/vda bs=4096 count=100 2>/dev/null") == \
                hashlib.sha256(data[:100 * 4096]).hexdigest()

            out = shell(run, "dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync; echo status $?")
            assert "Operation not permitted" in out and "status 1" in out, out
            shell(run, "echo 3 > /proc/sys/vm/drop_caches")
            assert sha256_of(run, f"dd if=/dev/vdb bs=4096 count={RO_SECTORS // 8} 2>/dev/null") == \
                hashlib.sha256(ro).hexdigest()
            run.send(ESCAPE)
            run.expect(r"\[back at the hypervisor console", 20)
            run.command("stop -f linux")  # forced: this initramfs does not handle the power button
            run.expect(r"partition linux: stopped: stopped by the operator", 60)
            # Started again, it has its disks again: new devices over freshly opened disks.
            run.command("start linux")
            run.expect(rf"\[linux\] \[[ \d.]+\] virtio_blk virtio\d: \[vda\] {DATA_SECTORS} 512-byte logical blocks",
                       LINUX_TIMEOUT)
