"""Linux guests on GPT partitions of a host disk the hypervisor drives with
its own driver: NVMe, AHCI and virtio-blk (modern only: disable-legacy=on)
on QEMU, the IDE disk on Bochs (VT-x) when BOCHS is set. On QEMU the boot
medium is a CD-ROM on q35's own AHCI controller whatever the controller
under test (an ATAPI device, which the AHCI driver skips): the test's two
disks are the only disks.

The host disk holds a GPT of three partitions, data1, data2 and spare,
with gaps between them, everything but the GPT a random pattern. linux1
gets data1 and spare (read-only), linux2 gets data2. Each makes an ext4
filesystem on its disk with the initramfs's mkfs.ext4, writes files,
syncs, reads them back with checksums, reboots and reads them again.
spare reads back as the host wrote it and refuses writes; a write past
the end of a disk fails. On QEMU a second disk on the same controller,
behind blkdebug, fails reads and writes of one sector each and the first
flush: linux1 sees EIO for each, the hypervisor's `stats` counts each
failed request against that host disk by operation, as many as the guest
kernel reported, and both partitions and the hypervisor carry on. Then
QEMU holds every request to that disk (a throttle of 1 byte a second,
set over its QMP socket) as a controller that stopped answering would:
linux1's read gets EIO once the request's deadline passes, while the
console and linux2 carry on, and `stats` shows the timeout and the disk
failed until a request succeeds again. Last, linux1 writes a file, fsyncs it and prints a marker, at
which the test kills the emulator (SIGKILL); then it reads the host image
itself: each partition's filesystem passes e2fsck -fn (linux1's after its
journal is replayed, as a mount would) and debugfs finds every file with
the guest's checksum, the fsynced one included; spare, the GPT and every
region outside data1 and data2 are byte for byte what they were.

One boot per controller; the tests run in order."""
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import time

import pytest

import harness
from test_boot import expect_banner, expect_console
from test_console_cmds import answer, json_lines
from test_linux import LINUX, READY_TIMEOUT, attach, detach, linux_images, shell

SECTOR = 512
IMAGE_MIB = 64
# name: (first LBA, sectors); 1 MiB gaps between them and a tail after.
PARTS = {"data1": (2048, 32768), "data2": (36864, 32768), "spare": (71680, 16384)}
FAULTY = {"faulty": (2048, 8192)}  # the blkdebug disk's one partition
# The hypervisor's name of the host disk behind blkdebug, as its warnings and `stats` give it.
FAULTY_DISK = {"nvme": "nvme1n1", "ahci": "ahci0p1", "virtio": "vblk1"}
# ... and of its controller, as the driver's warnings about the controller give it.
FAULTY_CONTROLLER = {"nvme": "nvme1", "ahci": "ahci0p1", "virtio": "vblk1"}
# Sectors of the faulty partition (its virtual disk's numbering) that fail.
BAD_READ, BAD_WRITE = 1000, 2000
MARKER = r"\[{}\] LINUX-READY kernel=\S+"
NAMES = ("linux1", "linux2")
FILES = ("/big", "/d/small", "/hello")


def linux_section(name, cpu, disks):
    return (f"\n[partition {name}]\nmemory = 256M\ncpus = {cpu}\nkernel = vmlinuz\ninitrd = initrd.img\n"
            "cmdline = console=ttyS0\n" + "".join(f"disk = {disk}\n" for disk in disks))


def config(path):
    """linux1 on CPU 0 with data1, spare read-only (and, on QEMU, faulty),
    linux2 on CPU 1 with data2."""
    faulty = ["part:faulty"] if path == "qemu" else []
    return ("[hypervisor]\nconsole = com1\nlog_level = info\n" +
            linux_section("linux1", 0, ["part:data1", "part:spare ro"] + faulty) +
            linux_section("linux2", 1, ["part:data2"]))


# blkdebug's rules take effect on the events the raw format above it
# raises (read_aio before each read, write_aio before each write,
# flush_to_disk before each flush). The flush fails once: a fsync after a
# good write then succeeds.
BLKDEBUG = """\
[inject-error]
event = "read_aio"
iotype = "read"
errno = "5"
sector = "{read}"

[inject-error]
event = "write_aio"
iotype = "write"
errno = "5"
sector = "{write}"

[inject-error]
event = "flush_to_disk"
iotype = "flush"
errno = "5"
once = "on"
"""


def make_image(path, parts, seed):
    """A 64 MiB raw image, a random pattern under a GPT (sfdisk's) of parts."""
    with open(path, "wb") as f:
        f.write(random.Random(seed).randbytes(IMAGE_MIB << 20))
    layout = "label: gpt\n" + "".join(f"start={first}, size={n}, name={name}\n"
                                      for name, (first, n) in parts.items())
    subprocess.run(["sfdisk", "--quiet", "--wipe", "never", path], input=layout.encode(), check=True,
                   stdout=subprocess.DEVNULL)


def read_range(path, first, sectors):
    with open(path, "rb") as f:
        f.seek(first * SECTOR)
        return f.read(sectors * SECTOR)


def outside(path, parts):
    """The image's bytes outside the named partitions, in order."""
    with open(path, "rb") as f:
        data = f.read()
    kept, at = [], 0
    for first, n in sorted(parts):
        kept.append(data[at:first * SECTOR])
        at = (first + n) * SECTOR
    kept.append(data[at:])
    return b"".join(kept)


def emulator_options(controller, image, faulty, qmp):
    """QEMU's options for the disk (and the blkdebug disk) on the controller;
    its QMP monitor on the socket qmp."""
    debug = (f"driver=raw,file.driver=blkdebug,file.config={faulty}.cfg,"
             f"file.image.filename={faulty},if=none")
    monitor = ("-qmp", f"unix:{qmp},server=on,wait=off")
    if controller in ("nvme", "virtio"):
        device = "nvme" if controller == "nvme" else "virtio-blk-pci,disable-legacy=on"
        return monitor + ("-drive", f"file={image},format=raw,if=none,id=d0",
                          "-device", f"{device},drive=d0,serial=hvdata",
                          "-drive", f"{debug},id=d1", "-device", f"{device},drive=d1,serial=hvfaulty")
    return monitor + ("-device", "ahci,id=ahci,addr=05.0",
            "-drive", f"file={image},format=raw,if=none,id=d0", "-device", "ide-hd,drive=d0,bus=ahci.0",
            "-drive", f"{debug},id=d1", "-device", "ide-hd,drive=d1,bus=ahci.1")


def paced(send):
    """send, 8 bytes at a time: on Bochs, CPU 0's console reads the serial
    line between a guest's time slices, and a line typed at once overran
    the emulated UART's 16-byte receive FIFO (bytes lost before the
    hypervisor saw them)."""
    def slowly(text):
        for at in range(0, len(text), 8):
            send(text[at:at + 8])
            time.sleep(0.2)
    return slowly


@pytest.fixture(scope="module", params=["nvme", "ahci", "virtio", "ide"])
def hostdisk(request, tmp_path_factory):
    """Both Linux partitions at their shell on the host disk's partitions."""
    controller = request.param
    path = "bochs" if controller == "ide" else "qemu"
    images = linux_images(path)
    tmp = tmp_path_factory.mktemp(controller)
    image, faulty, qmp = str(tmp / "disk.img"), str(tmp / "faulty.img"), str(tmp / "qmp.sock")
    make_image(image, PARTS, 13)
    before = str(tmp / "before.img")
    subprocess.run(["cp", "--sparse=never", image, before], check=True)
    cfg = config(path)
    if path == "qemu":
        make_image(faulty, FAULTY, 14)
        first = FAULTY["faulty"][0]
        with open(faulty + ".cfg", "w") as f:
            f.write(BLKDEBUG.format(read=first + BAD_READ, write=first + BAD_WRITE))
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, f"test_host_disks_{controller}.log")
    failed_before = request.session.testsfailed
    with harness.Workdir() as workdir:
        medium = harness.make_medium(workdir, "usb" if path == "bochs" else "iso", cfg,
                                     harness.default_files() + images)
        if path == "bochs":
            run = harness.boot_bochs(f"bochs:{controller}", medium, log, mem=1024, slave_disk=image)
        else:
            run = harness.boot_qemu(f"qemu:{controller}", medium, log, mem=1024, tcg=harness.QEMU_ONE_THREAD,
                                    extra=emulator_options(controller, image, faulty, qmp))
        with run:
            run.path, run.controller, run.image, run.before, run.qmp = path, controller, image, before, qmp
            if path == "bochs":
                run.send = paced(run.send)
            run.sums = {}
            expect_banner(run, path)
            start = time.monotonic()
            run.expect_all({n: MARKER.format(n) for n in NAMES}, READY_TIMEOUT[path])
            print(f"{controller}: both ready after {time.monotonic() - start:.0f} s")
            yield run
    if request.session.testsfailed == failed_before and not os.environ.get("KEEP_LOGS"):
        harness.remove_log(log)
    else:
        print(f"serial log kept: {log}")


def status(out):
    m = re.search(r"^status (\d+)$", out, re.M)
    assert m, out
    return int(m.group(1))


def checksums(out):
    return dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})\s+/mnt(\S+)$", out, re.M))


# How each controller's completions come, as the boot log names it.
MODE = {
    "nvme": r"^hv: nvme0: [^\n]*, MSI-X$",
    "virtio": r"^hv: vblk0: [^\n]*, MSI-X$",
    "ahci": r"^hv: ahci0: 00:05\.0: AHCI [^\n]*, MSI$",
    "ide": r"^hv: ide0s: [^\n]*, polled \(IDE has no MSI\)$",
}


def test_completion_mode_logged(hostdisk):
    """QEMU's NVMe and virtio-blk controllers interrupt by MSI-X, its AHCI
    by MSI, Bochs' IDE is polled."""
    assert re.search(MODE[hostdisk.controller], hostdisk.text(), re.M), MODE[hostdisk.controller]


def test_partitions_are_the_guests_disks(hostdisk):
    text = hostdisk.text()
    for name, (first, n) in PARTS.items():
        owner = "linux2" if name == "data2" else "linux1"
        ro = ", read-only" if name == "spare" else ""
        assert re.search(rf"hv: partition {owner}: disk part:{name} is \S+ partition \d+ '{name}', "
                         rf"LBA {first}-{first + n - 1} \(\d+ [KM]iB\){ro}", text), name
    sizes = {"linux1": {"vda": PARTS["data1"][1], "vdb": PARTS["spare"][1]},
             "linux2": {"vda": PARTS["data2"][1]}}
    if hostdisk.path == "qemu":
        sizes["linux1"]["vdc"] = FAULTY["faulty"][1]
    for name in NAMES:
        attach(hostdisk, name)
        for vd, sectors in sizes[name].items():
            assert shell(hostdisk, f"cat /sys/block/{vd}/size").strip() == str(sectors), (name, vd)
        detach(hostdisk)


WRITE_FILES = ("mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt && mkdir /mnt/d && "
               "dd if=/dev/urandom of=/mnt/big bs=64k count=48 2>/dev/null && "
               "dd if=/dev/urandom of=/mnt/d/small bs=1000 count=3 2>/dev/null && "
               "echo hello from $(hostname) > /mnt/hello && sync && echo status $?")
READ_FILES = "sha256sum " + " ".join("/mnt" + f for f in FILES)


def test_mkfs_write_sync_read_back(hostdisk):
    for name in NAMES:
        attach(hostdisk, name)
        out = shell(hostdisk, WRITE_FILES, 300)
        assert status(out) == 0, out
        written = checksums(shell(hostdisk, READ_FILES))
        assert sorted(written) == sorted(FILES), written
        # From the disk, not the page cache.
        shell(hostdisk, "echo 3 > /proc/sys/vm/drop_caches")
        assert checksums(shell(hostdisk, READ_FILES)) == written
        hostdisk.sums[name] = written
        detach(hostdisk)


def test_files_read_again_after_reboot(hostdisk):
    for name in NAMES:
        attach(hostdisk, name)
        hostdisk.send("reboot\r")
        hostdisk.expect(r"reboot: Restarting system", 120)
        detach(hostdisk)
    hostdisk.expect_all({n: MARKER.format(n) for n in NAMES}, READY_TIMEOUT[hostdisk.path])
    for name in NAMES:
        attach(hostdisk, name)
        assert status(shell(hostdisk, "mount -t ext4 /dev/vda /mnt; echo status $?", 120)) == 0
        assert checksums(shell(hostdisk, READ_FILES)) == hostdisk.sums[name], name
        detach(hostdisk)


def test_read_only_disk_reads_as_the_host_wrote_it_and_refuses_writes(hostdisk):
    first, n = PARTS["spare"]
    attach(hostdisk, "linux1")
    out = shell(hostdisk, "dd if=/dev/vdb bs=64k 2>/dev/null | sha256sum")
    assert hashlib.sha256(read_range(hostdisk.before, first, n)).hexdigest() in out, out
    assert shell(hostdisk, "cat /sys/block/vdb/ro").strip() == "1"
    # Linux honours VIRTIO_BLK_F_RO and refuses the write itself (EPERM); the
    # device's own IOERR for a write that comes anyway is in test_virtio_blk.c.
    out = shell(hostdisk, "dd if=/dev/zero of=/dev/vdb bs=4k count=1 conv=fsync; echo status $?")
    assert status(out) == 1 and "Operation not permitted" in out, out
    detach(hostdisk)


def test_write_past_the_end_fails(hostdisk):
    attach(hostdisk, "linux2")
    sectors = PARTS["data2"][1]
    # Linux checks the end itself: a write at the end is ENOSPC, a seek past it EINVAL. (The
    # device's IOERR for a request past the end that comes anyway is in test_virtio_blk.c.)
    for seek, how, error in ((sectors, "", "No space left on device"),
                             (sectors, " oflag=direct", "No space left on device"),
                             (sectors + 1000, "", "Invalid argument")):
        out = shell(hostdisk, f"dd if=/dev/urandom of=/dev/vda bs=512 seek={seek} count=8{how} "
                              "conv=notrunc,fsync; echo status $?")
        assert status(out) == 1 and error in out, (seek, how, out)
    detach(hostdisk)


DISK_STATS = (r"^  disk {}: (\d+) requests, (\d+) KiB read, (\d+) KiB written, (\d+) errors, "
              r"latency p50 <= (\d+) us, p90 <= (\d+) us, p99 <= (\d+) us$")


def disk_stats(run, name, source):
    """requests, KiB read, KiB written, errors, p50, p90, p99 of name's disk
    source, as 'stats NAME' prints them."""
    text = answer(run, f"stats {name}")
    m = re.search(DISK_STATS.format(re.escape(source)), text, re.M)
    assert m, text
    return [int(g) for g in m.groups()]


def test_stats_count_a_guest_write_and_its_latency(hostdisk):
    """'stats NAME': a synced 256 KiB write of the guest's grows its disk's
    requests and KiB written; the latency percentiles are bucket bounds
    (powers of two), in order; 'stats -j NAME' has the same disk."""
    expect_console(hostdisk)
    before = disk_stats(hostdisk, "linux2", "part:data2")
    attach(hostdisk, "linux2")
    out = shell(hostdisk, "dd if=/dev/urandom of=/mnt/stats bs=64k count=4 conv=fsync 2>/dev/null; echo status $?")
    assert status(out) == 0, out
    detach(hostdisk)
    after = disk_stats(hostdisk, "linux2", "part:data2")
    assert after[0] > before[0] and after[2] >= before[2] + 256, (before, after)
    p50, p90, p99 = after[4:]
    assert all(p & (p - 1) == 0 for p in (p50, p90, p99)) and p50 <= p90 <= p99, after
    row = json_lines(answer(hostdisk, "stats -j linux2"))[0]
    disk, = row["disks"]
    assert disk["source"] == "part:data2" and disk["requests"] >= after[0], row
    assert disk["written_kib"] >= after[2] and disk["latency_p99_us"] >= p99, row
    assert [d["source"] for d in json_lines(answer(hostdisk, "stats -j linux1"))[0]["disks"]] == \
        ["part:data1", "part:spare"] + (["part:faulty"] if hostdisk.path == "qemu" else [])


def host_faults(run, disk):
    """disk's faults as 'stats -j' reports them; 'stats' says the same in text."""
    rows = [r["host_disk"] for r in json_lines(answer(run, "stats -j")) if "host_disk" in r]
    row, = [r for r in rows if r["name"] == disk]
    text = (f"host disk {disk}: read errors {row['read_errors']}, write errors {row['write_errors']}, "
            f"flush errors {row['flush_errors']}, other errors {row['other_errors']}, timeouts {row['timeouts']}"
            + ("; failed: its controller stopped answering" if row["failed"] else "") + "\n")
    assert text in answer(run, "stats"), text
    return row


# The guest kernel's report of each failed request: a flush is a write of no data.
KERNEL_ERROR = r"I/O error, dev vdc, sector \d+ op 0x(\d):\((READ|WRITE)\) flags 0x[0-9a-f]+ phys_seg (\d+) "


def kernel_errors(dmesg):
    """Reads, writes and flushes of vdc that the guest kernel saw fail."""
    ops = [("flush" if op == "WRITE" and segs == "0" else op.lower())
           for _, op, segs in re.findall(KERNEL_ERROR, dmesg)]
    return {op: ops.count(op) for op in ("read", "write", "flush")}


def test_injected_errors_reach_the_guest_and_no_one_else(hostdisk):
    if hostdisk.path != "qemu":
        pytest.skip("blkdebug is QEMU's")
    expect_console(hostdisk)
    before = host_faults(hostdisk, FAULTY_DISK[hostdisk.controller])
    assert not before["failed"], before
    attach(hostdisk, "linux1")
    shell(hostdisk, "dmesg -c >/dev/null")
    # busybox's dd goes through the page cache: Linux reads the 4 KiB around
    # a sector, and a write reaches the disk with the fsync (which, after a
    # failed write, issues no flush).
    for command, op, kernel_says in (
            (f"dd if=/dev/vdc of=/dev/null bs=512 skip={BAD_READ} count=1", "read",
             rf"I/O error, dev vdc, sector {BAD_READ} op 0x0:\(READ\)"),
            (f"dd if=/dev/zero of=/dev/vdc bs=512 seek={BAD_WRITE} count=1 conv=notrunc,fsync", "write",
             rf"I/O error, dev vdc, sector {BAD_WRITE} op 0x1:\(WRITE\)"),
            ("dd if=/dev/zero of=/dev/vdc bs=512 seek=3000 count=1 conv=notrunc,fsync", "flush",
             r"I/O error, dev vdc, sector 0 op 0x1:\(WRITE\) flags 0x[0-9a-f]+ phys_seg 0 ")):
        out = shell(hostdisk, f"{command}; echo status $?")
        assert status(out) == 1 and "Input/output error" in out, (op, out)
        assert re.search(kernel_says, out), (op, out)
    # The next 4 KiB after each bad sector reads and writes, and a flush
    # succeeds (blkdebug failed the first only).
    out = shell(hostdisk, f"dd if=/dev/vdc of=/dev/null bs=512 skip={BAD_READ + 8} count=8 && "
                          f"dd if=/dev/zero of=/dev/vdc bs=512 seek={BAD_WRITE + 8} count=8 conv=notrunc,fsync; "
                          "echo status $?")
    assert status(out) == 0, out
    seen = kernel_errors(shell(hostdisk, "dmesg"))
    assert checksums(shell(hostdisk, READ_FILES)) == hostdisk.sums["linux1"]
    detach(hostdisk)
    # Each failed request counted once against the host disk, by operation, and nothing else.
    after = host_faults(hostdisk, FAULTY_DISK[hostdisk.controller])
    counted = {op: after[f"{op}_errors"] - before[f"{op}_errors"] for op in ("read", "write", "flush")}
    assert counted == seen and all(seen.values()), (seen, before, after)
    assert after["other_errors"] == before["other_errors"] and after["timeouts"] == before["timeouts"], after
    assert not after["failed"], after
    print(f"{hostdisk.controller}: errors the guest saw and stats counted: {counted}")
    attach(hostdisk, "linux2")
    assert status(shell(hostdisk, "echo 3 > /proc/sys/vm/drop_caches; sync /mnt/hello; echo status $?")) == 0
    assert checksums(shell(hostdisk, READ_FILES)) == hostdisk.sums["linux2"]
    detach(hostdisk)
    # The hypervisor's warnings name the faulty disk alone.
    warned = set(re.findall(r"hv: warning: (\w+): ", hostdisk.text()))
    faulty = {FAULTY_DISK[hostdisk.controller], FAULTY_CONTROLLER[hostdisk.controller]}
    assert warned and warned <= faulty, warned
    expect_console(hostdisk)
    hostdisk.command("list")
    hostdisk.expect_all({n: rf"{n}\s+running on cpu" for n in NAMES}, 30)


def test_no_controller_turned_to_polling(hostdisk):
    """After all the guests' I/O and errors above, no controller's
    interrupts went missing (the block layer would have logged its turn to
    polling)."""
    assert not re.search(r"hv: warning: \S+: requests completed and no \S+ interrupt came", hostdisk.text())


def qmp(run, command, **arguments):
    """One QMP command on the emulator's monitor; its return value."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(run.qmp)
        lines = s.makefile("rw")
        json.loads(lines.readline())  # the greeting
        reply = None
        for request in ({"execute": "qmp_capabilities"}, {"execute": command, "arguments": arguments}):
            lines.write(json.dumps(request) + "\n")
            lines.flush()
            reply = json.loads(lines.readline())
            while "event" in reply:
                reply = json.loads(lines.readline())
            assert "return" in reply, (request, reply)
        return reply["return"]


def throttle(run, bps):
    """QEMU's limit on the faulty disk's bytes a second, reads and writes
    together; 0 lifts it. Its leaky bucket lets the first request after
    a quiet time through at once and holds each later one until the bytes
    before it have leaked at that rate: at 1 byte a second, a 4 KiB
    request waits more than an hour. (blkdebug's `break`, which holds a
    request until `resume`, does not serve: QEMU's NVMe reset waits for
    the held request with the emulator stopped, QMP included, so nothing
    can resume it; a drain lets a throttled request through.)"""
    qmp(run, "block_set_io_throttle", device="d1", bps=bps, bps_rd=0, bps_wr=0, iops=0, iops_rd=0, iops_wr=0)


BLK_TIMEOUT_S = 30  # hv/blk.h: a request's deadline from the time the device gets it
HUNG = "/tmp/hung"
# A direct read of one 4 KiB block, bracketed by the guest's uptime.
TIMED_READ = ("a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vdc of=/dev/null bs=4k skip={} count=1 iflag=direct; "
              "echo \"timed status $? from $a to $(cut -d' ' -f1 /proc/uptime)\"")


def timed(out):
    """The exit status of TIMED_READ's dd, and the seconds it took."""
    m = re.search(r"^timed status (\d+) from ([\d.]+) to ([\d.]+)$", out, re.M)
    assert m, out
    return int(m.group(1)), float(m.group(3)) - float(m.group(2))


def test_a_controller_that_stops_answering_ends_in_errors(hostdisk):
    """The faulty disk's controller stops answering: QEMU holds every
    request to it (a throttle of 1 byte a second). linux1's direct read
    gets EIO after the request's 30 s deadline, not a hang: the driver
    resets the controller (which ends the held request inside QEMU: its
    reset drains the disk, and a drain lifts the throttle) and fails the
    late request with a timeout. Meanwhile the console answers and linux2
    reads its disk. `stats` counts one timeout, a read error, and shows
    the disk failed until a request succeeds again once the limit is
    lifted."""
    if hostdisk.path != "qemu":
        pytest.skip("the throttle is QEMU's")
    if hostdisk.controller == "ahci":
        pytest.skip("QEMU 7.2's AHCI waits in its CPU thread for a held request to end when the port is "
                    "reset (blk_aio_cancel, which a throttle does not release): the whole emulator stops")
    disk = FAULTY_DISK[hostdisk.controller]
    expect_console(hostdisk)
    before = host_faults(hostdisk, disk)
    throttle(hostdisk, 1)
    attach(hostdisk, "linux1")
    # The throttle's first request goes through; the next is held.
    out = shell(hostdisk, TIMED_READ.format(10))
    assert timed(out)[0] == 0, out
    hostdisk.send(f"({TIMED_READ.format(20)}) >{HUNG} 2>&1 &\r")
    started = time.monotonic()
    detach(hostdisk)
    # While the request is held: the console answers, linux2 reads its own disk.
    hostdisk.command("list")
    hostdisk.expect_all({n: rf"{n}\s+running on cpu" for n in NAMES}, 30)
    attach(hostdisk, "linux2")
    out = shell(hostdisk, "dd if=/dev/vda of=/dev/null bs=64k count=16 iflag=direct; echo status $?")
    assert status(out) == 0, out
    detach(hostdisk)
    held = time.monotonic() - started
    assert held < BLK_TIMEOUT_S, f"linux2's read took until {held:.0f} s: the test's timing does not hold"
    assert host_faults(hostdisk, disk)["timeouts"] == before["timeouts"]
    # The request times out; the console answers all along.
    while host_faults(hostdisk, disk)["timeouts"] == before["timeouts"]:
        assert time.monotonic() - started < BLK_TIMEOUT_S + 60, "no timeout counted"
        time.sleep(5)
    # The guest's read ended with EIO.
    attach(hostdisk, "linux1")
    out = shell(hostdisk, f"while ! grep -q timed {HUNG}; do sleep 1; done; cat {HUNG}", 60)
    code, seconds = timed(out)
    assert code == 1 and "Input/output error" in out, out
    print(f"{hostdisk.controller}: seconds to EIO for a request the controller never completed: {seconds:.1f} "
          f"(the deadline is {BLK_TIMEOUT_S} s)")
    assert BLK_TIMEOUT_S <= seconds < BLK_TIMEOUT_S + 15, out
    detach(hostdisk)
    failed = host_faults(hostdisk, disk)
    assert failed["timeouts"] == before["timeouts"] + 1 and failed["failed"], failed
    assert failed["read_errors"] == before["read_errors"] + 1, failed
    # The limit lifted, the disk answers again and is no longer failed.
    throttle(hostdisk, 0)
    attach(hostdisk, "linux1")
    out = shell(hostdisk, TIMED_READ.format(30))
    assert timed(out)[0] == 0, out
    detach(hostdisk)
    after = host_faults(hostdisk, disk)
    assert not after["failed"] and after["timeouts"] == failed["timeouts"], after
    hostdisk.command("list")
    hostdisk.expect_all({n: rf"{n}\s+running on cpu" for n in NAMES}, 30)


def test_fsynced_file_survives_a_kill(hostdisk):
    attach(hostdisk, "linux2")  # its filesystem clean on the host
    assert status(shell(hostdisk, "umount /mnt; echo status $?")) == 0
    detach(hostdisk)
    attach(hostdisk, "linux1")
    hostdisk.send("dd if=/dev/urandom of=/mnt/durable bs=4k count=64 conv=fsync 2>/dev/null && "
                  "sha256sum /mnt/durable && echo DURABLE-$((6 * 7))\r")
    m = hostdisk.expect(r"([0-9a-f]{64})\s+/mnt/durable\r*\nDURABLE-42", 120)
    hostdisk.kill()  # SIGKILL, by its PID
    hostdisk.sums["linux1"]["/durable"] = m.group(1)


def extract(image, tmp, name):
    first, n = PARTS[name]
    path = os.path.join(tmp, f"{name}.ext4")
    with open(path, "wb") as f:
        f.write(read_range(image, first, n))
    return path


def fsck(path, *flags):
    return subprocess.run(["e2fsck", "-f", *flags, path], capture_output=True, text=True)


def debugfs_cat(path, name):
    return subprocess.run(["debugfs", "-R", f"cat {name}", path], capture_output=True, check=True).stdout


def test_host_image_holds_every_file_and_nothing_else_changed(hostdisk, tmp_path):
    assert hostdisk.pid is None, "the emulator was to be killed by the test before"
    for name, data in (("linux1", "data1"), ("linux2", "data2")):
        fs = extract(hostdisk.image, tmp_path, data)
        if name == "linux1":
            # Killed while mounted: the journal is replayed first, as the next mount would.
            replay = fsck(fs, "-y")
            assert replay.returncode in (0, 1), replay.stdout + replay.stderr
        check = fsck(fs, "-n")
        assert check.returncode == 0, check.stdout + check.stderr
        for file, digest in hostdisk.sums[name].items():
            assert hashlib.sha256(debugfs_cat(fs, file)).hexdigest() == digest, (name, file)
    assert "/durable" in hostdisk.sums["linux1"]
    written = [PARTS["data1"], PARTS["data2"]]
    assert outside(hostdisk.image, written) == outside(hostdisk.before, written)


def test_make_run_disk_image_and_config(tmp_path):
    """What `make run` adds (tools/mkrundisk.sh), on the host alone: a GPT
    of linux1-data and linux2-data, each an ext4 filesystem that e2fsck
    passes, and the default config with each Linux partition naming its
    own, which hvcfg accepts. A second call keeps the image."""
    out = tmp_path / "run"
    subprocess.run([os.path.join(harness.ROOT, "tools", "mkrundisk.sh"), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    image = str(out / "disk.img")
    layout = subprocess.run(["sfdisk", "--json", image], capture_output=True, text=True, check=True).stdout
    parts = re.findall(r'"start":\s*(\d+),\s*"size":\s*(\d+),.*?"name":\s*"([^"]+)"', layout, re.S)
    assert [name for _, _, name in parts] == ["linux1-data", "linux2-data"], layout
    for start, size, name in parts:
        fs = str(tmp_path / name)
        with open(fs, "wb") as f:
            f.write(read_range(image, int(start), int(size)))
        check = fsck(fs, "-n")
        assert check.returncode == 0 and name in subprocess.run(
            ["e2label", fs], capture_output=True, text=True).stdout, check.stdout + check.stderr
    cfg = (out / "hv.cfg").read_text()
    for name in NAMES:
        assert re.search(rf"^\[partition {name}\]\n(?:[^\[\n].*\n|\n)*disk = part:{name}-data$", cfg, re.M), cfg
    files = tmp_path / "files"
    files.mkdir()
    for path in (os.path.join(harness.BUILD, "selftest.elf"), os.path.join(harness.BUILD, "platform.elf"),
                 os.path.join(LINUX, "vmlinuz"), os.path.join(LINUX, "initrd.img")):
        os.symlink(path, files / os.path.basename(path))
    check = subprocess.run([os.path.join(harness.BUILD, "hvcfg"), "check", "--dir", str(files), str(out / "hv.cfg")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with open(image, "r+b") as f:  # a guest's write, which the next `make run` keeps
        f.seek(int(parts[0][0]) * SECTOR + (1 << 20))
        f.write(b"guest data")
    subprocess.run([os.path.join(harness.ROOT, "tools", "mkrundisk.sh"), str(out)], check=True)
    assert b"guest data" in read_range(image, int(parts[0][0]) + 2048, 1)
