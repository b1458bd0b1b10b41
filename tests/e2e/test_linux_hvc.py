"""Debian's kernel with `console=hvc0` in a partition with `virtio_console =
yes`: its messages, its init's ready marker and its shell's output reach
the partition's console stream over the virtio console, what the operator
types at `console NAME` reaches the shell on hvc0, and the boot makes a
small fraction of the port I/O exits the 16550 costs (two a byte).
The kernel's messages from before its virtio_console module loaded come
from the init, which prints them on hvc0 (the kernel's own replay to a
console it registers is lost for hvc0: guests/linux/rootfs/etc/init.d/rcS);
those after it, from the kernel's console.

One boot, on QEMU (the device and the guest's driver are the same on both
backends; test_linux.py boots the UART console on each path)."""
import json
import os
import re

import pytest

import harness
from test_boot import expect_banner
from test_linux import LINUX, READY_TIMEOUT, attach, detach, linux_images, shell

NAME = "linux"
CFG = (f"[hypervisor]\nconsole = com1\n\n[partition {NAME}]\nmemory = 256M\nvcpus = 1\n"
       "kernel = vmlinuz\ninitrd = initrd.img\ncmdline = console=hvc0\nvirtio_console = yes\n")
# At most this many port I/O exits a console byte: the 16550 takes two a byte while Linux boots.
IO_EXITS_PER_BYTE_MAX = 0.2


@pytest.fixture(scope="module")
def hvc():
    """The hypervisor with one Linux partition whose console is hvc0, at its ready marker."""
    images = linux_images("qemu")
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, "test_linux_hvc_qemu.log")
    with harness.Workdir() as workdir:
        medium = harness.make_medium(workdir, "iso", CFG, harness.default_files() + images)
        with harness.boot_qemu("qemu:linux-hvc", medium, log, mem=1024, tcg=harness.QEMU_ONE_THREAD) as run:
            expect_banner(run, "qemu")
            m = run.expect(rf"\[{NAME}\] LINUX-READY kernel=(\S+) cpus=\d+ mem_mib=\d+\r*\n|"
                           rf"partition {NAME}: stopped: [^\r\n]*", READY_TIMEOUT["qemu"])
            assert m.group(1), f"{m.group(0)}; console tail:\n{run.tail()}"
            run.ready_stats = stats(run)
            run.attached = None
            yield run
    print(f"serial log: {log}")


def stats(run):
    run.command(f"stats -j {NAME}")
    return json.loads(run.expect(rf"(\{{\"name\":\"{NAME}\"[^\n]*\}})\r*\n", 60).group(1))


def test_the_kernels_messages_and_the_ready_marker_arrive_over_hvc0(hvc):
    text = hvc.text()
    release = open(os.path.join(LINUX, "kernel.release")).read().strip()
    # The kernel's log from its first line (the init's copy, on hvc0), then its console's own lines.
    assert re.search(rf"\[{NAME}\] \[ *0\.0+\] Linux version {re.escape(release)}", text), hvc.tail()
    assert re.search(rf"\[{NAME}\] \[ *\d+\.\d+\] ACPI: button: Power Button", text), hvc.tail()
    ready = hvc.ready_stats
    io = ready["exits_by_reason"].get("io", 0)
    print(f"ready marker: {ready['exits']} VM exits, io {io}, {ready['console_bytes']} console bytes; by reason: "
          f"{ready['exits_by_reason']}")
    assert ready["console_bytes"] > 10000, ready
    assert io < IO_EXITS_PER_BYTE_MAX * ready["console_bytes"], ready


def test_the_shell_runs_on_hvc0_and_takes_what_is_typed(hvc):
    attach(hvc, NAME)
    out = shell(hvc, "tty; cat /sys/class/tty/console/active; echo $((6*7))")
    assert out.split()[-3:] == ["/dev/hvc0", "hvc0", "42"], out
    # A kernel message printed now reaches the stream over hvc0 too (the console prints it at once).
    out = shell(hvc, "echo hvc-kmsg-check > /dev/kmsg")
    assert re.search(r"^\[ *\d+\.\d+\] hvc-kmsg-check$", out, re.M), out
    detach(hvc)
