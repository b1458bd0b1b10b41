"""The hypervisor's own NVMe driver on QEMU's NVMe controller: host PCI
enumeration lists it (ECAM on q35, ports 0xCF8/0xCFC on the i440fx PC),
the controller's completions come by MSI-X, the namespace is identified
with its size, LBA 0 and
1 are read at boot (LBA 1 holding the GPT header sfdisk wrote), and with
disk_selftest the last LBA is written, flushed and read back; after QEMU
exits the test finds the pattern in the image's last sector."""
import os

import harness

IMAGE_MIB = 32
SECTOR = 512
CFG = """\
[hypervisor]
console = com1
log_level = info
{extra}
[partition demo]
memory = 16M
kernel = selftest.elf
autostart = no
"""


def make_disk(path):
    """A raw image with a GPT of two partitions (its last sector holds the backup GPT header)."""
    harness.make_gpt_image(path, IMAGE_MIB, ["first", "second"], 8)


def last_sector(path):
    with open(path, "rb") as f:
        f.seek(-SECTOR, os.SEEK_END)
        return f.read(SECTOR)


def boot_with_disk(boot, disk, extra="", machine=()):
    return boot("qemu", CFG.format(extra=extra), extra=(
        *machine, "-drive", f"file={disk},if=none,id=nv0,format=raw",
        "-device", "nvme,drive=nv0,serial=hvtest"))


def expect_controller_and_disk(run, ecam=True):
    if ecam:
        run.expect(r"hv: pci: ECAM at 0x[0-9a-f]+, buses 0-\d+ \(ACPI MCFG\)", 120)
    else:
        run.expect(r"hv: pci: no usable ACPI MCFG; configuration mechanism #1", 120)
    run.expect(r"hv: pci: [0-9a-f]{2}:[0-9a-f]{2}\.\d 1b36:0010 class 01\.08\.02 NVMe, MSI-X", 60)
    # QEMU's NVMe controller has MSI-X: the I/O completion queue interrupts.
    run.expect(r"hv: nvme0: [^\r\n]*QEMU NVMe Ctrl[^\r\n]*, MSI-X\r", 60)
    blocks = (IMAGE_MIB << 20) // SECTOR
    run.expect(rf"hv: nvme0n1: {blocks} blocks of 512 bytes \({IMAGE_MIB} MiB\)", 60)


def test_nvme_boot_read_sees_gpt(boot, tmp_path):
    disk = str(tmp_path / "disk.img")
    make_disk(disk)
    run = boot_with_disk(boot, disk)
    expect_controller_and_disk(run)
    run.expect(r"hv: nvme0n1: read LBA 0-1 at boot: ok, LBA 1 starts with \"EFI PART\" \(GPT\)", 60)


def test_nvme_found_through_port_io_without_mcfg(boot, tmp_path):
    """QEMU's i440fx PC has no MCFG: the scan falls back to ports 0xCF8/0xCFC."""
    disk = str(tmp_path / "disk.img")
    make_disk(disk)
    run = boot_with_disk(boot, disk, machine=("-machine", "pc"))
    expect_controller_and_disk(run, ecam=False)
    run.expect(r"hv: nvme0n1: read LBA 0-1 at boot: ok, LBA 1 starts with \"EFI PART\" \(GPT\)", 60)


def test_nvme_selftest_write_reaches_the_image(boot, tmp_path):
    disk = str(tmp_path / "disk.img")
    make_disk(disk)
    assert last_sector(disk).startswith(b"EFI PART")
    run = boot_with_disk(boot, disk, extra="disk_selftest = nvme0n1\n")
    expect_controller_and_disk(run)
    run.expect(r"hv: nvme0n1: selftest: wrote, flushed and read back LBA \d+: ok", 60)
    run.kill()
    data = last_sector(disk)
    assert data.startswith(b"hv disk selftest"), data[:32]
