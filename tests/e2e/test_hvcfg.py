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
    assert f"{cfg}:11: kernel 'notes.txt': not an ELF file" in out
    assert ":3:" not in out  # the self-test guest is a good kernel


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
