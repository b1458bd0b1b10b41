"""The Linux guest images (guests/linux/build.sh) on plain QEMU TCG, no
hypervisor: the reference that runs of the same kernel and initramfs in a
partition are compared with. One QEMU for the module; the tests run in
order on its console and the last one powers it off."""
import os
import re
import subprocess
import time

import pexpect
import pytest

import harness

LINUX = os.path.join(harness.BUILD, "linux")
CPUS, MEM_MIB = 2, 512
PROMPT = r"linux:[^\r\n]*# "
MARKER = r"LINUX-READY kernel=(?P<kernel>\S+) cpus=(?P<cpus>\d+) mem_mib=(?P<mem>\d+)\r*\n"
# Under TCG on a 2-CPU machine shared with other builds the marker takes
# 10 to 25 s; the margin is for a loaded machine.
BOOT_TIMEOUT = 180


def build_images():
    """Builds (or finds up to date) build/linux; fails with the script's words."""
    proc = subprocess.run([os.path.join(harness.ROOT, "guests", "linux", "build.sh"), LINUX],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        pytest.fail(f"guests/linux/build.sh failed:\n{proc.stdout}", pytrace=False)


def read(name):
    with open(os.path.join(LINUX, name)) as f:
        return f.read()


@pytest.fixture(scope="module")
def guest(request):
    """The running QEMU, with `ready` (the marker's match) and `boot_s`."""
    build_images()
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, "test_linux_images.log")
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(MEM_MIB), "-smp", str(CPUS),
            "-kernel", os.path.join(LINUX, "vmlinuz"), "-initrd", os.path.join(LINUX, "initrd.img"),
            "-append", "console=ttyS0", "-nographic"]
    failed_before = request.session.testsfailed
    with harness.Run("qemu:linux", argv, log) as run:
        start = time.monotonic()
        run.ready = run.expect(MARKER, BOOT_TIMEOUT)
        run.boot_s = time.monotonic() - start
        run.expect(PROMPT, 60)
        yield run
    if request.session.testsfailed == failed_before and not os.environ.get("KEEP_LOGS"):
        harness.remove_log(log)
    else:
        print(f"serial log kept: {log}")


def shell(run, line, timeout=60):
    """Runs a command in the guest's shell; returns what it printed."""
    run.command(line)
    run.expect(PROMPT, timeout)
    echoed_and_output = run.child.before.replace("\r", "")
    return echoed_and_output.partition("\n")[2]


def test_ready_marker_names_the_kernel_cpus_and_memory(guest):
    print(f"ready marker after {guest.boot_s:.1f} s under TCG")
    assert guest.ready.group("kernel") == read("kernel.release").strip()
    assert int(guest.ready.group("cpus")) == CPUS
    # MemTotal is what is left once the kernel took its code, data and tables.
    assert 0.8 * MEM_MIB <= int(guest.ready.group("mem")) <= MEM_MIB


def test_shell_commands_answer(guest):
    assert shell(guest, "nproc").strip() == str(CPUS)
    total = re.search(r"^Mem:\s+(\d+)", shell(guest, "free -m"), re.M)
    assert total and int(total.group(1)) == int(guest.ready.group("mem"))
    assert f"Linux version {read('kernel.release').strip()}" in shell(guest, "dmesg")


def test_interrupts_reach_every_cpu(guest):
    text = shell(guest, "cat /proc/interrupts")
    assert text.split()[:CPUS] == [f"CPU{i}" for i in range(CPUS)]
    timer = re.search(r"^\s*LOC:((?:\s+\d+){%d})" % CPUS, text, re.M)
    assert timer, text
    assert all(int(n) > 0 for n in timer.group(1).split()), timer.group(0)
    assert re.search(r"^\s*4:.*ttyS0$", text, re.M), text


def test_guest_modules_are_loaded(guest):
    """Every module the build chose, except a CPU-specific variant the CPU
    may refuse (crc32c-intel without SSE4.2), is in /sys/module."""
    needed = [line.split()[0] for line in read("modules.load").splitlines() if len(line.split()) == 1]
    names = [re.sub(r"\.ko$", "", os.path.basename(p)).replace("-", "_") for p in needed]
    assert {"virtio_pci", "virtio_blk", "virtio_net", "ext4"} <= set(names)
    loaded = set(shell(guest, "ls /sys/module").split())
    assert [n for n in names if n not in loaded] == []


def test_shell_has_job_control_and_ctrl_c_interrupts(guest):
    assert "m" in shell(guest, "echo $-").strip()  # ash's monitor mode: a controlling TTY
    guest.command("sleep 600")
    guest.expect(r"sleep 600\r*\n", 10)
    time.sleep(1)
    guest.send("\x03")
    guest.expect(PROMPT, 10)
    assert shell(guest, "echo status $?").strip() == "status 130"  # 128 + SIGINT


def test_acpid_waits_for_the_power_button(guest):
    """The hypervisor's `stop` presses the ACPI power button: the button's input
    device must exist and acpid must be running to turn it into a poweroff."""
    assert "Power Button" in shell(guest, "cat /proc/bus/input/devices")
    assert re.search(r"^\s*\d+ .*acpid\s*$", shell(guest, "ps"), re.M)


def test_shell_is_respawned_when_it_exits(guest):
    guest.command("exit")
    guest.expect(PROMPT, 30)
    assert shell(guest, "echo again").strip() == "again"


def test_reboot_restarts_the_kernel(guest):
    guest.command("reboot")
    guest.expect(r"reboot: Restarting system", 60)
    m = guest.expect(MARKER, BOOT_TIMEOUT)
    assert m.group("kernel") == guest.ready.group("kernel")
    guest.expect(PROMPT, 60)


def test_poweroff_stops_the_machine(guest):
    guest.command("poweroff")
    guest.expect(r"reboot: Power down", 60)
    guest.expect(pexpect.EOF, 30)  # QEMU exits
