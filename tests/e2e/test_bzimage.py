"""Linux bzImage kernels: damaged ones are refused with their reason by
`hvcfg check` and at partition start, a partition too small for a kernel's
init_size too; Debian's own kernel, booted directly through the 64-bit
entry, prints its first lines on the partition's UART.

The small kernels are built from the bzimage fuzz seeds: `tiny-with-initrd`
is a valid header (4 KiB protected-mode part, init_size 512 KiB) whose
code is filler, so it is only ever checked, never run;
`debian-init-size-small-pm` keeps Debian's init_size (63.6 MiB)."""
import os
import re
import shutil
import subprocess

import pytest

import harness
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

HVCFG = os.path.join(harness.BUILD, "hvcfg")
SEEDS = os.path.join(harness.ROOT, "tests", "fuzz", "corpus", "bzimage")
# Debian 12's kernel (linux-image-6.1.0-*-amd64), as `make linux` fetches it.
DEBIAN_KERNEL = os.environ.get("LINUX_KERNEL", os.path.join(harness.BUILD, "linux", "vmlinuz"))

REASONS = {
    "trunc": "truncated: 1976 bytes of its 4096-byte protected-mode kernel",
    "k32": "no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags): a 32-bit kernel?",
    "small": "the partition's memory is too small for the kernel: it needs 64 MiB above 1 MiB (init_size)",
}

REFUSED_CFG = """\
[hypervisor]
console = com1

[partition trunc]
memory = 16M
kernel = trunc.bzimage

[partition k32]
memory = 16M
kernel = k32.bzimage

[partition small]
memory = 64M
kernel = big.bzimage

[partition after]
memory = 16M
kernel = selftest.elf
"""


def seed(name):
    with open(os.path.join(SEEDS, name), "rb") as f:
        return f.read()


def write_kernels(directory):
    """The kernels REFUSED_CFG names, and a good tiny one; their paths."""
    tiny = seed("tiny-with-initrd")
    k32 = bytearray(tiny)
    k32[0x236] &= ~1  # xloadflags: XLF_KERNEL_64 cleared
    files = {"tiny.bzimage": tiny, "trunc.bzimage": tiny[:3000], "k32.bzimage": bytes(k32),
             "big.bzimage": seed("debian-init-size-small-pm")}
    paths = []
    for name, data in files.items():
        path = os.path.join(directory, name)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths


def test_hvcfg_check_refuses_bad_bzimages_with_their_reason(tmp_path):
    write_kernels(tmp_path)
    shutil.copy(os.path.join(harness.BUILD, "selftest.elf"), tmp_path / "selftest.elf")
    cfg = tmp_path / "hv.cfg"
    # The tiny kernel fits in 2 MiB, Debian's init_size in 128 MiB.
    cfg.write_text(REFUSED_CFG + "\n[partition tiny]\nmemory = 2M\nkernel = tiny.bzimage\n"
                   "\n[partition fits]\nmemory = 128M\nkernel = big.bzimage\n")
    proc = subprocess.run([HVCFG, "check", str(cfg)], capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert out.splitlines() == [f"{cfg}:6: kernel 'trunc.bzimage': {REASONS['trunc']}",
                                f"{cfg}:10: kernel 'k32.bzimage': {REASONS['k32']}",
                                f"{cfg}:14: kernel 'big.bzimage': {REASONS['small']}"], out


def test_bad_bzimages_are_refused_at_start(boot, path):
    """Each refused with its reason; the partition after them runs."""
    with harness.Workdir() as directory:
        files = harness.default_files() + write_kernels(directory)
        with boot(path, REFUSED_CFG, files=files) as run:
            expect_banner(run, path)
            run.expect_all({name: rf"partition {name}: not started: {re.escape(reason)}"
                            for name, reason in REASONS.items()}, 60)
            run.expect(r"partition after: started on cpu", 30)
            expect_console(run)
            run.command("list")
            run.expect_all({name: rf"{name}\s+not running \(could not start: see 'log'\)"
                            for name in REASONS}, 20)


def test_debian_kernel_prints_its_first_lines(boot, path):
    """Debian's kernel, entered at startup_64 with an initrd, reaches its
    console through the partition's UART: its version, the e820 map the
    hypervisor gave, the initrd where the hypervisor put it."""
    if not os.path.isfile(DEBIAN_KERNEL):
        pytest.skip(f"no Debian kernel at {DEBIAN_KERNEL} (LINUX_KERNEL names one; see this file)")
    cfg = ("[hypervisor]\nconsole = com1\n\n[partition linux]\nmemory = 256M\nkernel = vmlinuz\n"
           "initrd = initrd.img\ncmdline = console=ttyS0 earlyprintk=serial,ttyS0,115200\n")
    with harness.Workdir() as directory:
        kernel, initrd = os.path.join(directory, "vmlinuz"), os.path.join(directory, "initrd.img")
        shutil.copy(DEBIAN_KERNEL, kernel)
        with open(initrd, "wb") as f:
            f.write(os.urandom(3 << 20))  # placed and reserved; never unpacked this far
        with boot(path, cfg, files=harness.default_files() + [kernel, initrd]) as run:
            expect_banner(run, path)
            run.expect(r"partition linux: bzImage at 0x1000000 \(at or above its preferred address\)", 60)
            m = run.expect(r"partition linux: initrd initrd.img, 3072 KiB at 0x([0-9a-f]+)\r*\n", 10)
            initrd_at = int(m.group(1), 16)
            assert initrd_at == 256 * 2**20 - (3 << 20)  # as high as it goes: the top of the RAM
            run.expect(r"partition linux: started on cpu \d+, 256 MiB at 0x[0-9a-f]+, entry 0x1000200", 10)
            timeout = BOOT_TIMEOUT[path] * 2
            m = run.expect(r"\[linux\] \[ *[\d.]+\] Linux version 6\.\d+\.\d+-\S+-amd64|"
                           r"partition linux: stopped: [^\r\n]*", timeout)
            assert "Linux version" in m.group(0), m.group(0)
            run.expect(r"\[linux\] \[ *[\d.]+\] BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable",
                       timeout)
            run.expect(r"\[linux\] \[ *[\d.]+\] BIOS-e820: \[mem 0x0000000000100000-0x000000000fffffff\] usable",
                       timeout)
            run.expect(rf"\[linux\] \[ *[\d.]+\] RAMDISK: \[mem 0x{initrd_at:08x}-0x0fffffff\]", timeout)
            run.expect(r"\[linux\] \[ *[\d.]+\] Kernel command line: console=ttyS0 earlyprintk=serial,ttyS0,115200",
                       timeout)
