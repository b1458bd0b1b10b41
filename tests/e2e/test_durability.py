"""Durability under a kill: a Linux partition whose virtual disk is a GPT
partition of a disk image on QEMU's NVMe controller writes blocks of
random bytes at random places of its disk, each with fsync (the virtual
disk's flush), prints each write's place and checksum once its fsync
returned, then a marker; at the marker the test kills QEMU with SIGKILL,
by its PID, and reads the image: every write reported holds its bytes.
A hypervisor that completed a write or a flush to the guest before the
host disk had them loses them here (QEMU writes to the image as the
NVMe commands come, and a killed QEMU takes nothing of the file with it).

DURABILITY_TRIALS trials (default 2; `make durability` runs 20), each a
fresh image and a fresh boot."""
import hashlib
import os
import re
import time

import harness
from test_boot import expect_banner
from test_host_disks import SECTOR, linux_section, make_image, read_range
from test_linux import READY_TIMEOUT, attach, linux_images

TRIALS = int(os.environ.get("DURABILITY_TRIALS", "2"))
PARTS = {"data": (2048, 65536)}  # 32 MiB: 8192 blocks of 4 KiB
PAGE = 4096
WRITES = 12
# Each write: 1 to 16 blocks of 4 KiB in a zone of 512 blocks of its own (no write overwrites
# another), through the page cache, then fsync. Typed into the guest's shell.
WRITE_LOOP = ("for i in $(seq 0 %d); do b=$((i * 512 + RANDOM %% 496)) c=$((1 + RANDOM %% 16)); "
              "head -c $((c * 4096)) /dev/urandom >/tmp/b; "
              "dd if=/tmp/b of=/dev/vda bs=4k seek=$b conv=notrunc,fsync 2>/dev/null && "
              "echo \"W $b $c $(sha256sum </tmp/b)\"; done; echo FSYNC-DONE-$((6 * 7))" % (WRITES - 1))
DONE = r"FSYNC-DONE-42"
WRITTEN = r"W (\d+) (\d+) ([0-9a-f]{64})  -"


def config():
    return "[hypervisor]\nconsole = com1\nlog_level = info\n" + linux_section("linux1", 0, ["part:data"])


def trial(number, medium, tmp):
    """One boot, the writes, the kill; the writes' (block, count, sha256) as the guest reported them."""
    image = os.path.join(tmp, f"disk{number}.img")
    make_image(image, PARTS, 100 + number)
    log = os.path.join(harness.LOGS, f"test_durability_{number}.log")
    run = harness.boot_qemu(f"qemu:durability{number}", medium, log, mem=512, tcg=harness.QEMU_ONE_THREAD,
                            extra=("-drive", f"file={image},format=raw,if=none,id=d0",
                                   "-device", "nvme,drive=d0,serial=hvdurable"))
    with run:
        expect_banner(run, "qemu")
        run.expect(r"\[linux1\] LINUX-READY kernel=\S+", READY_TIMEOUT["qemu"])
        attach(run, "linux1")
        run.command(WRITE_LOOP)
        run.expect(DONE, 300)
        run.kill()  # SIGKILL by its PID, right after the last fsync returned
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    harness.remove_log(log)
    return image, [(int(b), int(c), sha) for b, c, sha in re.findall(WRITTEN, text)]


def test_fsynced_writes_survive_kill_9(tmp_path):
    images = linux_images("qemu")
    os.makedirs(harness.LOGS, exist_ok=True)
    first = PARTS["data"][0]
    checked, began = 0, time.monotonic()
    with harness.Workdir() as workdir:
        medium = harness.make_medium(workdir, "iso", config(), harness.default_files() + images)
        for number in range(TRIALS):
            image, writes = trial(number, medium, str(tmp_path))
            assert len(writes) == WRITES, f"trial {number}: {len(writes)} writes reported of {WRITES}"
            for block, count, sha in writes:
                got = read_range(image, first + block * PAGE // SECTOR, count * PAGE // SECTOR)
                assert hashlib.sha256(got).hexdigest() == sha, f"trial {number}: write at block {block} lost"
                checked += 1
            os.remove(image)
            print(f"trial {number}: {len(writes)} fsynced writes found; {time.monotonic() - began:.0f} s so far",
                  flush=True)
    print(f"{TRIALS} trials, {checked} fsynced writes, none lost, in {time.monotonic() - began:.0f} s")
