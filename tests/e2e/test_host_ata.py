"""The hypervisor's own AHCI and ATA/IDE drivers. On QEMU (q35) an AHCI
controller carries a SATA disk with a GPT, while the boot ISO sits on the
chipset's own AHCI controller as an ATAPI CD-ROM, which must be skipped.
On Bochs (VT-x) the boot disk is the PIIX IDE primary master and a second
disk is its slave. Each disk is listed with its size, LBA 0 and 1 are read
through the driver at boot (LBA 1 holding the GPT header sfdisk wrote),
and disk_selftest writes, flushes and reads back the second disk's last
block, which the test then finds in the image."""
import pytest

import harness
from test_boot import BOOT_TIMEOUT
from test_host_nvme import last_sector

IMAGE_MIB = 64
SECTOR = 512
BLOCKS = (IMAGE_MIB << 20) // SECTOR
CFG = """\
[hypervisor]
console = com1
log_level = info
disk_selftest = {disk}
"""
BOOT_READ_GPT = r"read LBA 0-1 at boot: ok, LBA 1 starts with \"EFI PART\" \(GPT\)"


def make_disk(path):
    """A raw image with a GPT of three partitions."""
    harness.make_gpt_image(path, IMAGE_MIB, ["alpha", "beta", "gamma"], 16)


def expect_selftest_in_image(run, name, disk):
    run.expect(rf"hv: {name}: selftest: wrote, flushed and read back LBA {BLOCKS - 1}: ok", 120)
    run.expect(r"hv> ", 60)
    run.kill()
    data = last_sector(disk)
    assert data.startswith(b"hv disk selftest"), data[:32]


def test_ahci_disk_listed_read_and_written_atapi_skipped(boot, tmp_path):
    disk = str(tmp_path / "disk.img")
    make_disk(disk)
    run = boot("qemu", CFG.format(disk="ahci0p0"), extra=(
        "-device", "ahci,id=ahci,addr=05.0",
        "-drive", f"if=none,id=d0,file={disk},format=raw",
        "-device", "ide-hd,drive=d0,bus=ahci.0"))
    run.expect_all({
        "disk": rf"hv: ahci0p0: 00:05\.0 port 0: \"QEMU HARDDISK\", {BLOCKS} blocks of 512 bytes "
                rf"\({IMAGE_MIB} MiB\), write cache on, LBA48",
        "atapi": r"hv: ahci1: 00:1f\.2 port \d+: an ATAPI device, skipped",
        "msi": r"hv: ahci0: 00:05\.0: AHCI [^\r\n]*, MSI\r",
    }, BOOT_TIMEOUT["qemu"])
    run.expect(rf"hv: ahci0p0: {BOOT_READ_GPT}", 30)
    expect_selftest_in_image(run, "ahci0p0", disk)


def test_ide_disks_on_bochs_listed_read_and_written(boot, tmp_path):
    binary, why = harness.bochs_binary()
    if not binary:
        pytest.skip(f"Bochs/VT-x path: {why}")
    disk = str(tmp_path / "disk.img")
    make_disk(disk)
    run = boot("bochs", CFG.format(disk="ide0s"), slave_disk=disk)
    run.expect(r"hv: pci: [0-9a-f:.]+ 8086:7010 class 01\.01\.[0-9a-f]{2} IDE", BOOT_TIMEOUT["bochs"])
    run.expect(r"hv: ide0m: [^\r\n]* channel 0x1f0 master: \"[^\"]+\", \d+ blocks of 512 bytes", 60)
    run.expect(rf"hv: ide0s: [^\r\n]* channel 0x1f0 slave: \"[^\"]+\", {BLOCKS} blocks of 512 bytes "
               rf"\({IMAGE_MIB} MiB\)", 30)
    run.expect_all({"master": rf"hv: ide0m: {BOOT_READ_GPT}", "slave": rf"hv: ide0s: {BOOT_READ_GPT}"}, 120)
    expect_selftest_in_image(run, "ide0s", disk)
