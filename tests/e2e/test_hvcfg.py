"""`hvcfg check` on the host (no emulator): the files a config names are
looked for beside it (or in --dir), kernels are checked as the hypervisor
checks them, and --no-files checks the text alone."""
import os
import shutil
import subprocess

import harness

HVCFG = os.path.join(harness.BUILD, "hvcfg")
SELFTEST = os.path.join(harness.BUILD, "selftest.elf")

CFG = """\
[partition a]
memory = 16M
kernel = selftest.elf
initrd = initrd.img   # beside the config
disk = ramdisk:data.img
"""


def check(*args):
    proc = subprocess.run([HVCFG, "check", *map(str, args)], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def write_medium(directory, cfg=CFG):
    shutil.copy(SELFTEST, directory / "selftest.elf")
    (directory / "initrd.img").write_bytes(b"initrd")
    (directory / "data.img").write_bytes(b"data")
    (directory / "hv.cfg").write_text(cfg)
    return directory / "hv.cfg"


def test_files_beside_the_config_pass(tmp_path):
    status, out = check(write_medium(tmp_path))
    assert status == 0, out
    assert "ok, 1 partition" in out


def test_missing_file_and_directory_are_refused_with_their_lines(tmp_path):
    cfg = write_medium(tmp_path)
    (tmp_path / "initrd.img").unlink()
    (tmp_path / "data.img").unlink()
    (tmp_path / "data.img").mkdir()
    status, out = check(cfg)
    assert status == 1
    assert f"{cfg}:4: initrd 'initrd.img' is not on the boot medium: No such file or directory\n" in out
    assert f"{cfg}:5: ramdisk 'data.img' is a directory, not a file\n" in out


def test_dir_option_and_no_files(tmp_path):
    files = tmp_path / "medium"
    files.mkdir()
    write_medium(files)
    cfg = tmp_path / "elsewhere.cfg"
    cfg.write_text(CFG)
    assert check(cfg)[0] == 1
    status, out = check("--dir", files, cfg)
    assert status == 0, out
    status, out = check("--no-files", cfg)
    assert status == 0, out


def test_kernels_are_checked_as_the_hypervisor_does(tmp_path):
    cfg = write_medium(tmp_path, CFG + "[partition b]\nmemory = 16M\nkernel = hv.elf\n"
                       "[partition c]\nmemory = 16M\nkernel = notes.txt\n")
    shutil.copy(os.path.join(harness.BUILD, "hv.elf"), tmp_path / "hv.elf")
    (tmp_path / "notes.txt").write_text("not a kernel\n" * 10)
    status, out = check(cfg)
    assert status == 1
    assert f"{cfg}:8: kernel 'hv.elf': the kernel is position-independent; an executable is expected" in out
    assert f"{cfg}:11: kernel 'notes.txt': not an ELF64 executable, a Multiboot kernel or a Linux bzImage\n" in out
    assert ":3:" not in out  # the self-test guest is a good kernel


MB_CFG = """\
[partition good]
memory = 16M
kernel = mb_hello.elf
module = mod.txt some args
module = mod.txt

[partition lost]
memory = 16M
kernel = mb_hello.bin
module = missing.txt

[partition small]
memory = 2M
kernel = mb_hello.bin
module = big.img

[partition linuxish]
memory = 16M
kernel = mb_hello.elf
initrd = mod.txt

[partition elf64]
memory = 16M
kernel = selftest.elf
module = mod.txt

[partition late]
memory = 16M
kernel = late.bin
"""


def test_multiboot_kernels_are_checked_with_their_modules(tmp_path):
    """A Multiboot kernel is placed with its modules as the hypervisor will
    place them; its modules must be there; and each format is given only
    what it takes."""
    write_medium(tmp_path)
    for name in ("mb_hello.elf", "mb_hello.bin"):
        shutil.copy(os.path.join(harness.BUILD, name), tmp_path / name)
    (tmp_path / "mod.txt").write_text("a module\n")
    (tmp_path / "big.img").write_bytes(bytes(1 << 20))
    # The test kernel with its header moved past the first 8 KiB, where no loader looks.
    kernel = (tmp_path / "mb_hello.bin").read_bytes()
    (tmp_path / "late.bin").write_bytes(bytes(0x2000) + kernel)
    cfg = tmp_path / "hv.cfg"
    cfg.write_text(MB_CFG)
    status, out = check(cfg)
    assert status == 1
    assert f"{cfg}:10: module 'missing.txt' is not on the boot medium: No such file or directory\n" in out
    assert (f"{cfg}:14: kernel 'mb_hello.bin': module 0 (1024 KiB) does not fit above the kernel: the partition's "
            f"RAM ends at 0x200000\n") in out
    assert (f"{cfg}:19: kernel 'mb_hello.elf': a Multiboot kernel takes no initrd: name its files as modules "
            f"(module = FILE ARGS)\n") in out
    assert f"{cfg}:24: kernel 'selftest.elf': modules are for Multiboot kernels, and this kernel is not one\n" in out
    assert (f"{cfg}:29: kernel 'late.bin': its Multiboot header at offset 0x2000 lies past the first 8 KiB, where "
            f"loaders look for it\n") in out
    assert ":3:" not in out and ":9:" not in out  # the good partition and the missing module's kernel
    assert out.count("\n") == 5, out


def test_path_names_are_refused_by_the_parser(tmp_path):
    cfg = write_medium(tmp_path, CFG.replace("initrd.img", "../initrd.img") + "[partition b]\nmemory = 2M\nkernel = ..\n")
    status, out = check("--no-files", cfg)
    assert status == 1
    assert f"{cfg}:4: initrd '../initrd.img' may hold only letters" in out
    assert f"{cfg}:8: kernel '..' names a directory" in out


def test_readme_example_checks_without_its_files(tmp_path):
    with open(os.path.join(harness.ROOT, "README.md")) as f:
        readme = f.read()
    example = readme.split("## hv.cfg\n", 1)[1].split("```ini\n", 1)[1].split("```\n", 1)[0]
    cfg = tmp_path / "example.cfg"
    cfg.write_text(example)
    status, out = check("--no-files", cfg)
    assert status == 0, out
    assert "ok, 2 partitions" in out


def test_ports_are_listed_with_their_macs_and_bad_ones_refused(tmp_path):
    """A port without mac= gets the address derived from its name: the same in every config."""
    cfg = tmp_path / "net.cfg"
    cfg.write_text("[switch lan]\n[partition a]\nmemory = 16M\nkernel = k\nnet = lan\n"
                   "net = lan mac=02:00:00:00:00:01\n")
    status, out = check("--no-files", cfg)
    assert status == 0, out
    derived = [line for line in out.splitlines() if line.strip().startswith("port a.0: switch lan, mac 02:")]
    assert len(derived) == 1, out
    assert "    port a.1: switch lan, mac 02:00:00:00:00:01" in out.splitlines()
    cfg.write_text("[partition z]\nmemory = 16M\nkernel = k\n[switch lan]\n[partition a]\nmemory = 16M\n"
                   "kernel = k\nnet = lan\n")
    status, again = check("--no-files", cfg)
    assert status == 0 and derived[0] in again.splitlines(), again
    cfg.write_text("[switch lan]\n[partition a]\nmemory = 16M\nkernel = k\nnet = wan\n"
                   "net = lan mac=01:00:00:00:00:01\n")
    status, out = check("--no-files", cfg)
    assert status == 1
    assert out.splitlines() == [
        f"{cfg}:5: net 'wan': no [switch wan] in this file",
        f"{cfg}:6: net 'lan mac=01:00:00:00:00:01': expected SWITCH, then optionally "
        "mac=XX:XX:XX:XX:XX:XX with a unicast address"], out
