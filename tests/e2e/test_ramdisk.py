"""Disks: a partition's `disk = ramdisk:FILE` holding a GPT image from the
boot medium (the log lists the RAM disk and its partitions, `disks` shows
them and who uses them), and a config naming a GPT partition no host disk
has, refused with its line."""
import os
import subprocess

from harness import default_files, hv_cfg
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

SFDISK = "/sbin/sfdisk"
# Bochs boots from a disk image on its IDE controller, which the hypervisor's
# IDE driver takes as a host disk (ide0m, one 'EFI system' partition); QEMU
# boots from a CD, which the drivers skip.
HOST_DISKS_FOUND = {"qemu": r"hv: disks: no host block device", "bochs": r"hv: disk ide0m: GPT with 1 partition"}


def gpt_image(path):
    """A 2 MiB disk image with two GPT partitions, 'alpha' and 'beta'."""
    with open(path, "wb") as f:
        f.truncate(2 << 20)
    layout = "label: gpt\nstart=2048, size=1024, name=alpha\nstart=3072, size=512, name=beta\n"
    subprocess.run([SFDISK, "-q", path], input=layout.encode(), check=True)
    return path


def test_ramdisk_with_a_gpt_is_listed(boot, path, tmp_path):
    image = gpt_image(os.path.join(tmp_path, "disk.img"))
    cfg = hv_cfg({"demo": {"cmdline": "mode=idle", "disk": "ramdisk:disk.img"}})
    with boot(path, cfg, files=default_files() + [image]) as run:
        expect_banner(run, path)
        run.expect(HOST_DISKS_FOUND[path], 30)
        run.expect_all({
            "gpt": r"hv: partition demo: RAM disk ram0: GPT with 2 partitions",
            "alpha": r"hv:   ram0 partition 1 'alpha' [0-9A-F-]{36}, LBA 2048-3071, 512 KiB",
            "beta": r"hv:   ram0 partition 2 'beta' [0-9A-F-]{36}, LBA 3072-3583, 256 KiB",
            "open": r"hv: partition demo: disk ramdisk:disk.img on ram0 \(RAM disk\), LBA 0, 4096 sectors \(2048 KiB\)",
            "started": r"hv: partition demo: started on cpu",
        }, BOOT_TIMEOUT[path])
        expect_console(run)
        run.command("disks")
        run.expect_all({
            "dev": r"ram0 \(RAM disk\), 2048 KiB, 512-byte blocks, write cache off, polled\r",
            "alpha": r"  ram0 partition 1 'alpha' [0-9A-F-]{36}, LBA 2048-3071, 512 KiB\r+\n"
                     r"      used by partition demo \(ramdisk:disk.img\)\r",
            "vdisk": r"    partition demo: ramdisk:disk.img, LBA 0, 4096 sectors: 0 requests, 0 KiB read, "
                     r"0 KiB written, 0 errors, 0 in flight\r",
        }, 20)
        run.command("stop -f demo")  # forced: the self-test ignores its power button
        run.expect(r"partition demo: stopped: stopped by the operator", 20)
        expect_no_ram_disk(run, path)
        run.command("start demo")  # a fresh copy of the file, in the slot the first one gave back
        run.expect(r"hv: partition demo: disk ramdisk:disk.img on ram0 \(RAM disk\)", 20)
        run.command("disks")
        run.expect(r"    partition demo: ramdisk:disk.img, LBA 0, 4096 sectors: 0 requests", 20)


def test_missing_partition_is_refused_with_its_line(boot, path):
    cfg = hv_cfg({"web": {"disk": "part:web-root"}})
    line = cfg.splitlines().index("disk = part:web-root") + 1
    with boot(path, cfg) as run:
        expect_banner(run, path)
        run.expect(rf"hv: error: hv.cfg:{line}: disk part:web-root: no GPT partition named 'web-root' "
                   r"on the host's disks", 30)
        run.expect(r"hv: error: configuration refused: no partition is started", 10)
        expect_console(run)
        expect_no_ram_disk(run, path)


def expect_no_ram_disk(run, path):
    """`disks` lists no RAM disk, and no host disk but Bochs' boot medium."""
    run.command("disks")
    if path == "qemu":
        run.expect(r"no host disks and no RAM disks\r", 20)
        return
    listing = run.expect(r"disks\r*\n([\s\S]*?)block path: ", 20).group(1)  # from its echo
    assert listing.startswith("ide0m (Generic 1234), ") and "ram0" not in listing, listing
