"""Multiboot test kernels built for QEMU run unmodified as partitions: the
test kernel (tests/e2e/mb_hello.asm, as ELF32 and with the a.out kludge)
prints what QEMU's own -kernel/-initrd loader gives it, and as a partition
it prints the same command line, modules and fw_cfg answers, the memory
map of its partition, and its exit status through port 0xF4 ends up in
the stop reason."""
import os
import re
import shutil
import subprocess

import harness
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

KERNELS = ["mb_hello.elf", "mb_hello.bin"]
MODULES = {"mod1.txt": b"first module\n", "mod2.txt": b"second\x01\n"}
# Lines about what the kernel was given, the same under QEMU and as a partition;
# mem, mmap and loader lines describe the machine, which differs.
SAME = re.compile(r"MB (magic|cmdline|mods|mod \d|fw_cfg|exit) ")

MB_CFG = """\
[hypervisor]
console = com1

[partition mbelf]
memory = 16M
kernel = mb_hello.elf
cmdline = exit=5 hello
module = mod1.txt a b
module = mod2.txt
test_devices = yes

[partition mbaout]
memory = 16M
kernel = mb_hello.bin
cmdline = exit=7
module = mod1.txt c
test_devices = yes

[partition nodev]
memory = 16M
kernel = mb_hello.bin
cmdline = exit=9
"""
# What each partition's kernel is given: (kernel, -initrd's modules, -append's command line).
GIVEN = {
    "mbelf": ("mb_hello.elf", ["mod1.txt a b", "mod2.txt"], "exit=5 hello"),
    "mbaout": ("mb_hello.bin", ["mod1.txt c"], "exit=7"),
}
# A 16 MiB partition's memory as its e820 map has it: RAM below 640 KiB and
# from 1 MiB, the ACPI tables' area (type 3), the PCI configuration space
# (reserved).
MMAP_16M = ["MB mem lower 639 upper 15360",
            "MB mmap 4 entries",
            "MB mmap 0x0000000000000000 0x000000000009fc00 1",
            "MB mmap 0x00000000000e0000 0x0000000000020000 3",
            "MB mmap 0x0000000000100000 0x0000000000f00000 1",
            "MB mmap 0x00000000e0000000 0x0000000001000000 2",
            "MB loader 'hv'"]


def medium_files(directory):
    """The test kernels and their modules in directory; returns their paths."""
    paths = []
    for name in KERNELS:
        shutil.copy(os.path.join(harness.BUILD, name), os.path.join(directory, name))
        paths.append(os.path.join(directory, name))
    for name, data in MODULES.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
        paths.append(os.path.join(directory, name))
    return paths


def under_qemu(directory, kernel, modules, append):
    """Runs the kernel with QEMU's own Multiboot loader, 16 MiB and one CPU like
    the partitions; returns (QEMU's exit status, the kernel's lines)."""
    argv = ["qemu-system-x86_64", "-m", "16", "-kernel", kernel, "-initrd", ",".join(modules),
            "-append", append, "-device", "isa-debug-exit,iobase=0xf4", "-serial", "stdio",
            "-display", "none", "-monitor", "none", "-no-reboot"]
    proc = subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=60)
    return proc.returncode, [line.rstrip("\r") for line in proc.stdout.splitlines() if line.startswith("MB ")]


def partition_lines(text, name):
    return [m.group(1) for m in re.finditer(rf"\[{name}\] (MB [^\r\n]*)", text)]


def test_mb_hello_under_qemu_itself(tmp_path):
    """The test kernels work with QEMU's loader, the reference the partitions are held to."""
    medium_files(tmp_path)
    for kernel in KERNELS:
        status, lines = under_qemu(tmp_path, kernel, ["mod1.txt a b", "mod2.txt"], "exit=5 hello")
        assert status == 11, lines
        assert f"MB cmdline '{kernel} exit=5 hello'" in lines
        assert "MB mods 2" in lines
        assert "MB mod 0 'mod1.txt a b' size 13 aligned yes: first module." in lines
        assert "MB mod 1 'mod2.txt' size 8 aligned yes: second.." in lines
        assert "MB fw_cfg cpus 1 ram_mib 16" in lines
        assert lines[-1] == "MB exit 5"


def test_multiboot_kernels_run_as_partitions(boot, path, tmp_path):
    files = harness.default_files() + medium_files(tmp_path)
    with boot(path, MB_CFG, files=files) as run:
        expect_banner(run, path)
        run.expect_all({
            "mbelf": r"partition mbelf: stopped: exited through port 0xf4 with status 11 ",
            "mbaout": r"partition mbaout: stopped: exited through port 0xf4 with status 15 ",
            # Without test_devices the port is nobody's: the kernel halts with interrupts off.
            "nodev": r"partition nodev: stopped: every vCPU halted with interrupts disabled",
        }, BOOT_TIMEOUT[path])
        expect_console(run)
        text = run.text()
    # Its ELF headers' segment below 1 MiB (ld -Ttext) is left out.
    assert re.search(r"partition mbelf: Multiboot kernel \(ELF32\) at 0x100000-0x10[0-9a-f]{4}, 2 modules", text)
    assert re.search(r"partition mbaout: Multiboot kernel \(a.out kludge\) at 0x100000-0x10[0-9a-f]{4}, 1 module,",
                     text)
    for name, (kernel, modules, append) in GIVEN.items():
        lines = partition_lines(text, name)
        status, reference = under_qemu(tmp_path, kernel, modules, append)
        assert [l for l in lines if SAME.match(l)] == [l for l in reference if SAME.match(l)], (lines, reference)
        assert [l for l in lines if not SAME.match(l)] == MMAP_16M, lines
        assert f"exited through port 0xf4 with status {status} " in text
    nodev = partition_lines(text, "nodev")
    assert "MB fw_cfg none" in nodev and nodev[-1] == "MB exit 9", nodev
