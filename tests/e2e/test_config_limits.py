"""A config at the parser's file limit boots: the loader reads every file it
names and the hypervisor accepts it. The same boot shows an MMIO console in
RAM refused for the default console."""
import os
import shutil

import harness

PARTITIONS = 16   # CFG_PARTITIONS_MAX
RAMDISKS = 8      # CFG_DISKS_MAX
MODULES = 8       # CFG_MODULES_MAX
FILES = PARTITIONS * (2 + RAMDISKS + MODULES)  # CFG_FILES_MAX: kernel, initrd, ramdisks, modules


def limit_config(workdir):
    """hv.cfg naming FILES distinct files, and those files; returns (text, paths)."""
    text = "[hypervisor]\nconsole = mmio:0x100000   # RAM on every PC, not a UART\n"
    paths = []
    for p in range(PARTITIONS):
        kernel = os.path.join(workdir, f"k{p}.elf")
        shutil.copy(os.path.join(harness.BUILD, "selftest.elf"), kernel)
        paths.append(kernel)
        text += f"\n[partition p{p}]\nmemory = 16M\nkernel = k{p}.elf\ninitrd = i{p}.img\nautostart = no\n"
        ramdisks = [f"r{p}-{d}.img" for d in range(RAMDISKS)]
        modules = [f"m{p}-{m}.img" for m in range(MODULES)]
        text += "".join(f"disk = ramdisk:{n}\n" for n in ramdisks)
        # Modules are a Multiboot kernel's: never started here, they are only read and counted.
        text += "".join(f"module = {n} arg\n" for n in modules)
        names = [f"i{p}.img"] + ramdisks + modules
        for name in names:
            path = os.path.join(workdir, name)
            with open(path, "w") as f:
                f.write(f"{name}\n")
            paths.append(path)
    assert len(paths) == FILES
    return text, paths


def test_config_naming_the_most_files_boots(boot, tmp_path):
    text, paths = limit_config(str(tmp_path))
    with boot("qemu", text, files=harness.default_files() + paths) as run:
        # hv.cfg and every file it names; hv.elf is placed, not counted.
        run.expect(rf"hv loader: hv.elf at 0x[0-9A-Fa-f]+, {1 + FILES} files, leaving boot services", 60)
        run.expect(r"hv: warning: console mmio:0x100000 refused: inside RAM the memory map calls usable "
                   r"\(\d+-bit physical addresses\); using the default console", 20)
        run.expect(rf"hv: config: hv.cfg accepted, {PARTITIONS} partitions", 20)
        for p in range(PARTITIONS):
            # Ramdisks are loaded and checked for, not yet served: each counts as a disk.
            run.expect(rf"partition p{p}: 16 MiB, 1 vCPUs, kernel k{p}.elf, {RAMDISKS} disks, autostart no", 10)
        run.command("version")
        run.expect(r"hv 0\.1\.0-[\w.-]+\r*\n", 30)
