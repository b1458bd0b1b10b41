"""The hypervisor's own AHCI and ATA/IDE drivers. On QEMU (q35) an AHCI
controller carries a SATA disk with a GPT, while the boot ISO sits on the
chipset's own AHCI controller as an ATAPI CD-ROM, which must be skipped.
On Bochs (VT-x) the boot disk is the PIIX IDE primary master and a second
disk is its slave. Each disk is listed with its size, and LBA 0 and 1 are
read through the driver at boot, LBA 1 holding the GPT header sfdisk
wrote."""
import subprocess

import pytest

import harness
from test_boot import BOOT_TIMEOUT

IMAGE_MIB = 64
SECTOR = 512
CFG = """\
[hypervisor]
console = com1
log_level = info
"""
BOOT_READ_GPT = r"read LBA 0-1 at boot: ok, LBA 1 starts with \"EFI PART\" \(GPT\)"


def make_disk(path):
    """A raw image with a GPT of three partitions."""
    with open(path, "wb") as f:
        f.truncate(IMAGE_MIB << 20)
    layout = "label: gpt\nsize=16MiB, name=alpha\nsize=16MiB, name=beta\nsize=16MiB, name=gamma\n"
    subprocess.run(["sfdisk", "--quiet", path], input=layout.encode(), check=True,
                   stdout=subprocess.DEVNULL)


def expect_disk_line(run, name, model):
    blocks = (IMAGE_MIB << 20) // SECTOR
    return run.expect(rf"hv: {name}: [^\r\n]*\"{model}\", {blocks} blocks of 512 bytes \({IMAGE_MIB} MiB\)", 30)


def test_ahci_disk_listed_and_read_atapi_skipped(boot, tmp_path):
    disk = str(tmp_path / "disk.img")
    make_disk(disk)
    run = boot("qemu", CFG, extra=(
        "-device", "ahci,id=ahci",
        "-drive", f"if=none,id=d0,file={disk},format=raw",
        "-device", "ide-hd,drive=d0,bus=ahci.0"))
    found = run.expect_all({
        "disk": rf"hv: (?P<name>ahci\d+p0): [0-9a-f:.]+ port 0: \"QEMU HARDDISK\", {(IMAGE_MIB << 20) // SECTOR} "
                rf"blocks of 512 bytes \({IMAGE_MIB} MiB\), write cache on, LBA48",
        "atapi": r"hv: ahci\d+: 00:1f\.2 port \d+: an ATAPI device, skipped",
    }, BOOT_TIMEOUT["qemu"])
    name = found["disk"].group("name")
    run.expect(rf"hv: {name}: {BOOT_READ_GPT}", 30)
    run.expect(r"hv> ", 30)


def test_ide_disks_on_bochs_listed_and_read(boot, tmp_path):
    binary, why = harness.bochs_binary()
    if not binary:
        pytest.skip(f"Bochs/VT-x path: {why}")
    disk = str(tmp_path / "disk.img")
    make_disk(disk)
    run = boot("bochs", CFG, slave_disk=disk)
    run.expect(r"hv: pci: [0-9a-f:.]+ 8086:7010 class 01\.01\.[0-9a-f]{2} IDE", BOOT_TIMEOUT["bochs"])
    run.expect(r"hv: ide0m: [^\r\n]* channel 0x1f0 master: \"[^\"]+\", \d+ blocks of 512 bytes", 60)
    expect_disk_line(run, "ide0s", r"[^\"]+")
    run.expect_all({"master": rf"hv: ide0m: {BOOT_READ_GPT}", "slave": rf"hv: ide0s: {BOOT_READ_GPT}"}, 120)
    run.expect(r"hv> ", 60)
