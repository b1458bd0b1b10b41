"""End-to-end harness: builds a boot medium, boots it in an emulator, reads
the serial console, enforces timeouts and kills the emulator by its PID.

Two paths, one interface:
- QEMU TCG with `-cpu EPYC`: AMD-V with NPT. Always available.
- Bochs built with VMX: VT-x with EPT. Used when BOCHS names its binary.

A run's serial log is written under build/test-logs/ and kept when the
test fails (conftest.py removes those of passing tests).
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pexpect
import pexpect.fdpexpect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
LOGS = os.path.join(BUILD, "test-logs")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
OVMF_COMBINED = "/usr/share/ovmf/OVMF.fd"
# EPYC less what TCG cannot emulate (QEMU warns about each otherwise).
QEMU_CPU = ("EPYC,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,"
            "-topoext,-nrip-save,-xsavec")
# QEMU 7.2's multi-threaded TCG lets one emulated CPU's XRSTOR rewrite the
# first CPU's hidden flags from another thread, which can hand a partition's
# #VMEXIT the host's state (host_state_came_back, arch/x86/svm/svm.c); with
# every emulated CPU in one thread that race cannot happen. Linux guests
# restore FPU state at every context switch: the runs that boot Linux use
# it (test_linux's two kernels take 15 % longer: 256 s against 222 s).
QEMU_ONE_THREAD = "tcg,thread=single"


def default_files():
    """The loader, the hypervisor and the guests every medium carries."""
    return [os.path.join(BUILD, name) for name in ("BOOTX64.EFI", "hv.elf", "selftest.elf", "platform.elf", "attack.elf")]


def make_medium(workdir, kind, cfg_text, files=None):
    """Builds an 'iso' or a 'usb' (raw GPT disk) image carrying cfg_text as
    hv.cfg (none when cfg_text is None) plus files; returns its path."""
    files = list(files or default_files())
    if cfg_text is not None:
        cfg = os.path.join(workdir, "hv.cfg")
        with open(cfg, "w") as f:
            f.write(cfg_text)
        files.append(cfg)
    out = os.path.join(workdir, "hv.iso" if kind == "iso" else "hv-usb.img")
    tool = os.path.join(ROOT, "tools", "mkiso.sh" if kind == "iso" else "mkusb.sh")
    subprocess.run([tool, out] + files, check=True, stdout=subprocess.DEVNULL)
    return out


def make_gpt_image(path, mib, names, part_mib):
    """A raw disk image of `mib` MiB, zero but for a GPT (sfdisk's) of one
    partition of part_mib MiB for each name in names, in order."""
    with open(path, "wb") as f:
        f.truncate(mib << 20)
    layout = "label: gpt\n" + "".join(f"size={part_mib}MiB, name={name}\n" for name in names)
    subprocess.run(["sfdisk", "--quiet", path], input=layout.encode(), check=True,
                   stdout=subprocess.DEVNULL)


def hv_cfg(partitions):
    """hv.cfg text: the console on COM1, then a section for each partition
    in `partitions` (name: its settings over 16M of memory and the
    self-test guest)."""
    text = "[hypervisor]\nconsole = com1\n"
    for name, settings in partitions.items():
        text += f"\n[partition {name}]\n"
        for key, value in {"memory": "16M", "kernel": "selftest.elf", **settings}.items():
            text += f"{key} = {value}\n"
    return text


def bochs_binary():
    """The Bochs binary to use, or None with the reason it cannot be used."""
    path = os.environ.get("BOCHS")
    if not path:
        return None, "BOCHS is not set (it names a Bochs 3.x binary built with VMX)"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None, f"BOCHS={path} is not an executable file"
    return path, None


class Run:
    """One emulator run. Use as a context manager; the emulator is killed
    by its PID on exit, whatever happened."""

    def __init__(self, name, argv, log_path, serial_fd=None, cwd=None):
        """Without serial_fd the emulator's stdio is its serial console;
        with it, the console is that pty and stdio goes to LOG.emulator."""
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "w", encoding="utf-8", errors="replace")
        self.emulator_out = None
        self.keep_open = None
        self.proc = None
        if serial_fd is None:
            self.child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8",
                                       codec_errors="replace", cwd=cwd, timeout=None)
            self.pid = self.child.pid
        else:
            self.emulator_out = open(log_path + ".emulator", "w")
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.emulator_out,
                                         stderr=subprocess.STDOUT, cwd=cwd,
                                         start_new_session=True)
            self.pid = self.proc.pid
            self.child = pexpect.fdpexpect.fdspawn(serial_fd, encoding="utf-8",
                                                   codec_errors="replace", timeout=None)
        self.child.logfile_read = self.log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def expect(self, pattern, timeout):
        """Waits for a regex on the serial console; returns the match.
        Fails with the tail of the console when it does not come in time."""
        try:
            self.child.expect(pattern, timeout=timeout)
        except pexpect.TIMEOUT:
            raise AssertionError(f"{self.name}: no /{pattern}/ within {timeout} s; "
                                 f"console tail:\n{self.tail()}") from None
        except pexpect.EOF:
            raise AssertionError(f"{self.name}: emulator exited before /{pattern}/ ({self.how_it_ended()}); "
                                 f"console tail:\n{self.tail()}") from None
        return self.child.match

    def expect_all(self, patterns, timeout):
        """Waits until each regex in patterns (a dict name -> regex) has
        appeared, in any order; returns name -> match. Partitions on
        different CPUs print in an order nobody chooses."""
        found, deadline = {}, time.monotonic() + timeout
        while len(found) < len(patterns):
            waiting = {k: v for k, v in patterns.items() if k not in found}
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name}: never saw {sorted(waiting)} within {timeout} s; "
                                     f"console tail:\n{self.tail()}")
            m = self.expect("|".join(f"(?P<{k}>{v})" for k, v in waiting.items()), left)
            found.update({k: m for k in waiting if m.group(k) is not None})
        return found

    def expect_absent(self, pattern, seconds):
        """Asserts that pattern does not appear within the given time."""
        try:
            self.child.expect(pattern, timeout=seconds)
        except (pexpect.TIMEOUT, pexpect.EOF):
            return
        raise AssertionError(f"{self.name}: unexpected /{pattern}/; console tail:\n{self.tail()}")

    def wait_in_log(self, pattern, since, timeout):
        """Waits for a regex in what the console printed from offset since
        on, whatever expect() consumed meanwhile; returns the match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.compile(pattern).search(self.text(), since)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no /{pattern}/ within {timeout} s; console tail:\n{self.tail()}")
            try:
                self.child.expect(pexpect.TIMEOUT, timeout=0.5)
            except pexpect.EOF:
                raise AssertionError(f"{self.name}: emulator exited before /{pattern}/ ({self.how_it_ended()}); "
                                     f"console tail:\n{self.tail()}") from None

    def send(self, text):
        self.child.send(text)

    def command(self, line):
        """Types a console command, a byte every 10 ms, reading the line
        meanwhile as a terminal does (what comes stays for expect()), then
        its Enter; does not wait for its echo. A line left unread fills, and
        the hypervisor drops what it prints while it stays full."""
        for ch in line:  # one byte at a time: the console polls the UART
            self.child.send(ch)
            try:
                self.child.expect(pexpect.TIMEOUT, timeout=0.01)
            except pexpect.EOF:
                return  # the next expect() says how the emulator ended
        # Not read here: the command may end the emulator, and pexpect empties its buffer at the end of file.
        self.child.send("\r")

    def cpu_ms(self, names, state="running"):
        """Each named partition's CPU time in ms, as the console's 'list' reports it."""
        self.command("list")
        found = self.expect_all({n: rf"{n}\s+{state} on cpu \d, cpu_ms (?P<{n}_ms>\d+)," for n in names}, 20)
        return {n: int(found[n].group(f"{n}_ms")) for n in names}

    def text(self):
        """Everything the console printed so far."""
        self.log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def how_it_ended(self):
        """After EOF: the emulator's exit status or the signal that killed
        it, and what QEMU logged of resets (a triple fault says so there)."""
        if self.proc:
            self.proc.wait()
            status, sig = self.proc.returncode, None
        else:
            self.child.close()
            status, sig = self.child.exitstatus, self.child.signalstatus
        self.pid = None
        how = f"killed by signal {sig}" if sig else f"exit status {status}"
        resets = self.log_path + ".qemu"
        if os.path.exists(resets):
            with open(resets, encoding="utf-8", errors="replace") as f:
                triple = "Triple fault" in f.read()
            how += ", a triple fault in QEMU's log" if triple else ", no triple fault in QEMU's log"
        return how

    def tail(self, lines=25):
        return "".join(self.text().splitlines(keepends=True)[-lines:])

    def kill(self):
        """Kills the emulator by PID, never by name."""
        if self.log.closed:
            return
        try:
            if self.pid is not None:  # None once how_it_ended() reaped it
                os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.pid = None
        if self.proc:
            self.proc.wait()
            os.close(self.child.child_fd)
            os.close(self.keep_open)
        else:
            self.child.close(force=True)  # reaps the killed child
        self.log.close()
        if self.emulator_out:
            self.emulator_out.close()


def boot_qemu(name, medium, log_path, smp=2, mem=1024, extra=(), serial="stdio", tcg="tcg"):
    """Boots a medium in QEMU TCG with an AMD-V CPU and OVMF; its COM1 is
    the Run's console unless serial names another QEMU chardev; tcg is the
    -accel value."""
    vars_copy = os.path.join(os.path.dirname(medium), "OVMF_VARS.fd")
    shutil.copyfile(OVMF_VARS, vars_copy)
    if medium.endswith(".iso"):
        drive = f"file={medium},media=cdrom,readonly=on,if=ide"
    else:
        drive = f"file={medium},format=raw,if=ide"
    argv = ["qemu-system-x86_64", "-machine", "q35", "-accel", tcg, "-cpu", QEMU_CPU,
            "-smp", str(smp), "-m", str(mem),
            "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,file={vars_copy}",
            "-drive", drive, "-display", "none", "-serial", serial, "-monitor", "none",
            "-no-reboot", "-d", "cpu_reset", "-D", log_path + ".qemu", *extra]
    return Run(name, argv, log_path)


BOCHSRC = """\
megs: {mem}
cpu: model={model}, count={cpus}, ips=100000000, reset_on_triple_fault=0
romimage: file={rom}, address=0xffe00000
vgaromimage: file={vgarom}
pci: enabled=1, chipset=i440fx
fw_cfg: enabled=1
ata0-master: type=disk, path={disk}, mode=flat
{extra_disk}boot: disk
com1: enabled=1, mode=term, dev={pty}
display_library: nogui
clock: sync=none, time0=local
log: {log}
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
"""
BOCHS_CPU_MODEL = os.environ.get("BOCHS_CPU", "corei7_skylake_x")


def remove_log(log_path):
    """A run's serial log and the emulator's files beside it (LOG.emulator, LOG.bochs)."""
    for path in glob.glob(glob.escape(log_path) + "*"):
        os.remove(path)


def bochs_vga_rom(binary):
    """The VGA BIOS that ships with the Bochs build in use."""
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(binary)))
    for name in ("VGABIOS-lgpl-latest.bin", "VGABIOS-lgpl-latest"):
        path = os.path.join(prefix, "share", "bochs", name)
        if os.path.exists(path):
            return path
    raise AssertionError(f"no VGABIOS-lgpl-latest.bin under {prefix}/share/bochs")


def boot_bochs(name, disk, log_path, cpus=2, mem=512, model=None, slave_disk=None):
    """Boots a raw disk image on Bochs' IDE controller with OVMF as its ROM,
    on CPU model `model` (default: BOCHS_CPU, else corei7_skylake_x);
    slave_disk, a raw image, becomes the primary channel's slave."""
    binary, why = bochs_binary()
    assert binary, why
    master, slave = os.openpty()
    workdir = os.path.dirname(disk)
    rc = os.path.join(workdir, "bochsrc")
    with open(rc, "w") as f:
        f.write(BOCHSRC.format(mem=mem, model=model or BOCHS_CPU_MODEL, cpus=cpus, rom=OVMF_COMBINED,
                               vgarom=bochs_vga_rom(binary), disk=disk, pty=os.ttyname(slave),
                               extra_disk=f"ata0-slave: type=disk, path={slave_disk}, mode=flat\n" if slave_disk else "",
                               log=log_path + ".bochs"))
    run = Run(name, [binary, "-q", "-f", rc], log_path, serial_fd=master, cwd=workdir)
    # Held open until the run ends: with no process on the slave side, reading
    # the master fails at once, before Bochs has opened the terminal.
    run.keep_open = slave
    return run


class Workdir:
    """A scratch directory for media, removed afterwards."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="hv-e2e-")

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False

