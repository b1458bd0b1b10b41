"""Debian's own kernel in two partitions at once, as `make run` boots them
(guests/hv.cfg, the default configuration the images carry): each boots to
its shell with its configured vCPUs and memory, its timer and serial
interrupts advance on every vCPU, it takes the TSC's rate from the
hypervisor (no calibration) and keeps the host's time, its kernel logs
nothing at warning level or above but what ALLOWED explains, and
`reboot` and `poweroff` act on that partition alone; the two ping each
other over the switch lan; typed at once into a partition that prints,
a line reaches its shell and the console stays the operator's.

One boot per emulator for the module; the tests run in order and the last
ones reboot one partition and power the other off."""
import itertools
import os
import re
import time

import pytest

import harness
from test_boot import expect_banner, expect_console

DEFAULT_CFG = os.path.join(harness.ROOT, "guests", "hv.cfg")
LINUX = os.path.join(harness.BUILD, "linux")
NAMES = ("linux1", "linux2")
VCPUS, MEM_MIB = 2, 256
PROMPT = r"linux:[^\r\n]*# "
# To the line's end: on Bochs the line comes in pieces, and "mem_mib=20" is not "mem_mib=205".
MARKER = r"\[{}\] LINUX-READY kernel=\S+ cpus=\d+ mem_mib=\d+\r*\n"
FIELDS = r"LINUX-READY kernel=(?P<kernel>\S+) cpus=(?P<cpus>\d+) mem_mib=(?P<mem>\d+)"
ESCAPE = "\x1d"  # Ctrl-]
# Two kernels boot at once on two emulated CPUs; Bochs runs some 20 times slower than TCG.
READY_TIMEOUT = {"qemu": 400, "bochs": 5400}

# Kernel messages at warning level or above that are not the platform's fault, each with why.
ALLOWED = [
    # The host CPU's own vulnerability state (QEMU's EPYC is a Zen 1 without the microcode
    # that extends IBPB): the guest is told the truth about the CPU it runs on.
    (r"Speculative Return Stack Overflow: IBPB-extending microcode not applied!", "the host CPU's microcode"),
    (r"Speculative Return Stack Overflow: WARNING: See https://kernel.org/doc/html/latest/admin-guide/"
     r"hw-vuln/srso.html for mitigation options.", "the line after the one above"),
    # Bochs' Skylake-X: retpolines do not cover RETBleed on that CPU, the guest being told so.
    (r"RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!",
     "the host CPU's vulnerability"),
    # Machine checks are the host's: CPUID hides MCE and MCA, and Linux 6.1 says so at error level.
    (r"mce: Unable to init MCE device \(rc: -5\)", "machine checks are not virtualized"),
    # A vCPU preempted inside its timer interrupt (four vCPUs take turns on the host's two CPUs,
    # and an emulator on a loaded host stops a whole vCPU for tens of ms) sees the interrupt take
    # as long as the pause: Linux notes it once and raises its minimum timer delta.
    (r"hrtimer: interrupt took \d+ ns", "a vCPU preempted inside its timer interrupt"),
]


def default_cfg_text():
    with open(DEFAULT_CFG) as f:
        return f.read()


def linux_images(path):
    """The Linux guest's vmlinuz and initrd.img, to boot on path; skips the
    Bochs path where it cannot run, fails where `make linux` was not run."""
    if path == "bochs":
        binary, why = harness.bochs_binary()
        if not binary:
            pytest.skip(f"Bochs/VT-x path: {why}")
    images = [os.path.join(LINUX, name) for name in ("vmlinuz", "initrd.img")]
    if not all(os.path.isfile(p) for p in images):
        pytest.fail(f"no Linux guest images in {LINUX}: `make linux` builds them", pytrace=False)
    return images


@pytest.fixture(scope="module", params=["qemu", "bochs"])
def linux(request):
    """The hypervisor running the default configuration, both kernels at their shell."""
    path = request.param
    images = linux_images(path)
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, f"test_linux_{path}.log")
    failed_before = request.session.testsfailed
    with harness.Workdir() as workdir:
        medium = harness.make_medium(workdir, "usb" if path == "bochs" else "iso", default_cfg_text(),
                                     harness.default_files() + images)
        if path == "bochs":
            boot = harness.boot_bochs(f"{path}:linux", medium, log, mem=1024)
        else:
            boot = harness.boot_qemu(f"{path}:linux", medium, log, mem=1024, tcg=harness.QEMU_ONE_THREAD)
        with boot as run:
            run.path = path
            expect_banner(run, path)
            start = time.monotonic()
            found = expect_ready(run, READY_TIMEOUT[path])
            run.ready = {n: re.search(FIELDS, m.group(n)) for n, m in found.items()}
            print(f"both ready after {time.monotonic() - start:.0f} s")
            run.tsc_mhz = float(re.search(r"hv: tsc: ([\d.]+) MHz", run.text()).group(1))
            yield run
    if request.session.testsfailed == failed_before and not os.environ.get("KEEP_LOGS"):
        harness.remove_log(log)
    else:
        print(f"serial log kept: {log}")


def expect_ready(run, timeout):
    """Both kernels' ready markers (name -> match). A partition that stops
    first fails it at once, with its reason; when one does not come, the
    failure says what each partition printed last and what the console
    says of them (a kernel stuck early prints little, its neighbour much)."""
    try:
        return wait_ready(run, timeout)
    except AssertionError:
        explain(run)
        raise


def explain(run):
    """Prints, for a kernel that did not come up: each partition's last
    lines on the console, then what the hypervisor's console says of them
    (its log has the lines of a partition muted while another was attached)."""
    text = run.text().replace("\r", "")
    for name in NAMES:
        lines = [line for line in text.splitlines() if line.startswith(f"hv: [{name}] ")]
        print(f"{name}: {len(lines)} lines; the last:\n" + "\n".join(lines[-12:]))
    for line in ("list", "stats", *(f"info {name}" for name in NAMES), "log -n 60"):
        try:
            print(answer(run, line))
        except AssertionError as silent:
            print(f"{line}: no answer ({silent})")
            break


def wait_ready(run, timeout):
    ready, deadline = {}, time.monotonic() + timeout
    while len(ready) < len(NAMES):
        waiting = "|".join(f"(?P<{n}>{MARKER.format(n)})" for n in NAMES if n not in ready)
        m = run.expect(rf"{waiting}|(?P<stop>partition linux\d: stopped: [^\r\n]*)", max(deadline - time.monotonic(), 0.1))
        if m.group("stop"):
            raise AssertionError(f"{m.group('stop')}, before both kernels were ready; console tail:\n{run.tail()}")
        ready.update({n: m for n in NAMES if m.groupdict().get(n)})
    return ready


def attach(run, name):
    """Attached to name's shell, its recent output shown again: a marker
    the shell computes ends the replay (a prompt in it is an old one; on
    Bochs the replay takes longer than typing a command)."""
    run.command(f"console {name}")
    run.expect(rf"\[attached to {name}", 30)
    run.attached = name
    n = next(MARKS)
    run.command(f"echo @$(({n}+0))@")
    run.expect(rf"@{n}@\r*\n", 120)
    run.expect(PROMPT, 60)


def detach(run):
    run.send(ESCAPE)
    run.expect(r"\[back at the hypervisor console", 30)
    run.attached = None


@pytest.fixture(autouse=True)
def back_at_the_hypervisor_console(request):
    """A test that failed while attached to a guest leaves the next one at
    the hypervisor's console, not typing into that guest's shell; what the
    console then says of the partitions is printed with the failure."""
    yield
    run = request.node.funcargs.get("linux")
    if run is None or not getattr(run, "attached", None):
        return
    print(f"{run.name}: the test ended attached to {run.attached}; detaching")
    detach(run)
    for line in ("list", "stats", *(f"info {name}" for name in NAMES)):
        print(answer(run, line))


def answer(run, line):
    """A console command's output, up to the next prompt, without CRs."""
    run.command(line)
    run.expect(re.escape(line) + r"\r*\n", 30)
    run.expect(r"\nhv> ", 30)
    return run.child.before.replace("\r", "")


MARKS = itertools.count(1000, 2)


def shell(run, line, timeout=120, seen=None):
    """Runs a command in the attached guest's shell; returns what it printed.
    Its output lies between two markers the shell computes, so that the echo
    of a long line, which the line editor wraps, is never taken for output;
    each call's are new, as attaching shows the guest's recent output again.
    With `seen` (a list), the host's monotonic times at which the two markers
    came are appended to it: the command ran in between."""
    n = next(MARKS)
    run.command(f"echo @$(({n}+0))@; {line}; echo @$(({n}+1))@")  # typed: a burst overruns the polled UART
    run.expect(rf"@{n}@\r*\n", 30)
    before = time.monotonic()
    run.expect(rf"@{n + 1}@\r*\n", timeout)
    if seen is not None:
        seen.append((before, time.monotonic()))
    out = run.child.before.replace("\r", "")
    run.expect(PROMPT, 30)
    return out


def in_each(run, line, timeout=120):
    """The command's output in each partition, attaching to each in turn."""
    out = {}
    for name in NAMES:
        attach(run, name)
        out[name] = shell(run, line, timeout)
        detach(run)
    return out


def test_each_kernel_has_its_vcpus_and_memory(linux):
    for name in NAMES:
        ready = linux.ready[name]
        assert ready.group("kernel") == open(os.path.join(LINUX, "kernel.release")).read().strip()
        assert int(ready.group("cpus")) == VCPUS
        # MemTotal: what is left once the kernel took its code, data and tables.
        assert 0.75 * MEM_MIB <= int(ready.group("mem")) <= MEM_MIB, ready.group(0)
    for name, out in in_each(linux, "nproc; free -m").items():
        assert out.split()[0] == str(VCPUS), out
        total = re.search(r"^Mem:\s+(\d+)", out, re.M)
        assert total and abs(int(total.group(1)) - int(linux.ready[name].group("mem"))) <= 1, out  # rounding


def test_info_shows_each_vcpu_and_the_uart_as_linux_set_them(linux):
    """'info' shows what to look at when a guest seems stuck: each vCPU's
    state and APIC, its UART's interrupt side and the I/O APIC pin."""
    text = answer(linux, f"info {NAMES[0]}")
    vcpus = re.findall(r"^vcpu (\d): cpu \d, (?:halted|runnable), exits \d+, injected \d+; apic: tpr 0x[0-9a-f]{2}, "
                       r"requested (?:-|0x[0-9a-f]{2}), in service (?:-|0x[0-9a-f]{2})", text, re.M)
    assert vcpus == ["0", "1"], text
    uart = re.search(r"^uart: ier 0x(\w\w), mcr 0x(\w\w), iir 0x\w, irq (?:high|low), \d+ bytes received not read; "
                     r"I/O APIC pin 4: vector 0x(\w\w), edge, line (?:high|low)$", text, re.M)
    assert uart, text
    ier, mcr, vector = (int(g, 16) for g in uart.groups())
    assert ier & 0x01 and mcr & 0x08, text  # Linux's 8250 driver: receive interrupt on, OUT2 gating IRQ 4
    assert vector >= 0x20, text


def counts(text, label):
    m = re.search(r"^\s*%s:((?:\s+\d+){%d})" % (label, VCPUS), text, re.M)
    assert m, text
    return [int(n) for n in m.group(1).split()]


# An idle vCPU takes no ticks (the kernel is tickless when idle): one busy loop per vCPU
# between the two readings keeps every local timer going.
BUSY_BETWEEN = ("cat /proc/interrupts; for c in %s; do (i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done) & "
                "done; wait; echo SECOND; cat /proc/interrupts" % " ".join(str(c) for c in range(VCPUS)))


def test_timer_and_serial_interrupts_advance_on_every_vcpu(linux):
    for name, out in in_each(linux, BUSY_BETWEEN).items():
        first, _, second = out.partition("SECOND\n")
        before, after = counts(first, "LOC"), counts(second, "LOC")
        assert all(b > a for a, b in zip(before, after)), (name, before, after)
        # The first table's own output went through the UART's transmit interrupt.
        assert sum(counts(second, "4")) > sum(counts(first, "4")), second
        assert re.search(r"^\s*4:.*IO-APIC\s+4-edge\s+ttyS0$", second, re.M), second


def test_tsc_is_the_clocksource_at_the_hypervisors_rate(linux):
    for name, out in in_each(linux, "dmesg | grep -i -E 'tsc|clocksource|calibrat'").items():
        detected = re.search(r"tsc: Detected ([\d.]+) MHz processor", out)
        assert detected, out
        assert abs(float(detected.group(1)) - linux.tsc_mhz) <= 0.001 * linux.tsc_mhz, (detected, linux.tsc_mhz)
        assert re.search(r"clocksource: Switched to clocksource tsc$", out, re.M), out
        # No fallback: neither the PIT/HPET/PM-timer calibration nor the refinement after it
        # ("Calibrating delay loop (skipped)" is the delay loop's, preset from the rate).
        assert not re.search(r"TSC calibrat|calibrat\w* TSC|Refined TSC|TSC.*unstable|Marking TSC", out, re.I), out


def test_date_advances_at_the_hosts_rate(linux):
    if linux.path == "bochs":
        pytest.skip("Bochs runs with `clock: sync=none` (deterministic, as fast as it can): "
                    "its emulated time has no relation to the host's")
    for name in NAMES:
        attach(linux, name)
        readings = []
        for _ in range(2):
            # busybox's date shows whole seconds; adjtimex shows the same clock to the
            # microsecond (nanosecond with STA_NANO, 0x2000, in its status). The host's
            # moment is the middle of the time between the markers around the command,
            # which a loaded host delays less than the whole round trip.
            seen = []
            out = shell(linux, "adjtimex | grep -E 'status|time.tv'", seen=seen)
            fields = dict(re.findall(r"(status|tv_sec|tv_usec):\s+(\d+)", out))
            fraction = 1e9 if int(fields["status"]) & 0x2000 else 1e6
            readings.append((sum(seen[0]) / 2, int(fields["tv_sec"]) + int(fields["tv_usec"]) / fraction))
            if not readings[1:]:
                time.sleep(20)
        detach(linux)
        host = readings[1][0] - readings[0][0]
        guest = readings[1][1] - readings[0][1]
        assert abs(guest - host) <= 0.01 * host, f"{name}: {guest:.3f} s of date in {host:.3f} s"
        assert abs(readings[1][1] - time.time()) < 5, f"{name}: date is {readings[1][1]}, the host's {time.time()}"


def uptime(run):
    """Linux's monotonic clock (/proc/uptime, in s) and the host's moment it was read at."""
    seen = []
    out = shell(run, "cat /proc/uptime", seen=seen)
    return float(out.split()[0]), sum(seen[0]) / 2


PAUSE_S = 8


def test_a_pause_is_no_jump_in_linux_clocks(linux):
    """Paused for several seconds, Linux's monotonic clock moves by the time
    it ran, not by the pause, and a sleep after the resume takes its time.
    (Its date, which stands still with it, is behind the host's after; a
    clocksource watchdog, a soft lockup or an RCU stall that a jump would
    cause is a kernel warning the next test looks for.)"""
    if linux.path == "bochs":
        pytest.skip("Bochs runs with `clock: sync=none`: its emulated time has no relation to the host's "
                    "(test_console_cmds.py's pause test runs there)")
    name = NAMES[0]
    attach(linux, name)
    before = uptime(linux)
    detach(linux)
    linux.command(f"pause {name}")
    linux.expect(rf"\n{name}: paused\r", 20)
    time.sleep(PAUSE_S)
    linux.command(f"resume {name}")
    paused = int(linux.expect(rf"partition {name}: running after (\d+) ms paused", 20).group(1)) / 1000
    attach(linux, name)
    after = uptime(linux)
    around = [float(line.split()[0]) for line in shell(linux, "cat /proc/uptime; sleep 2; cat /proc/uptime")
              .strip().splitlines()]
    slept = around[1] - around[0]
    detach(linux)
    ran = after[1] - before[1] - paused
    print(f"{name}: paused {paused:.3f} s; uptime moved {after[0] - before[0]:.3f} s in {ran:.3f} s of running")
    assert paused >= PAUSE_S - 1, paused
    assert abs(after[0] - before[0] - ran) < 1.5, (before, after, paused)
    assert 2 <= slept < 3, slept


def test_kernel_warnings_are_only_the_allowed_ones(linux):
    for name, out in in_each(linux, "dmesg -r | grep -E '^<[0-4]>' | cut -c4-").items():
        lines = [re.sub(r"^\[\s*[\d.]+\] ", "", line) for line in out.splitlines() if line.strip()]
        unexplained = [line for line in lines if not any(re.fullmatch(p, line) for p, _ in ALLOWED)]
        assert not unexplained, f"{name}: kernel messages at warning level or above:\n" + "\n".join(unexplained)


ADDRS = {"linux1": "10.0.0.1", "linux2": "10.0.0.2"}


def test_the_two_ping_each_other_over_the_switch(linux):
    for name in NAMES:
        attach(linux, name)
        shell(linux, f"ip link set eth0 up && ip addr add {ADDRS[name]}/24 dev eth0")
        detach(linux)
    attach(linux, "linux1")
    out = shell(linux, f"ping -c 3 -W 5 {ADDRS['linux2']}", 90)
    detach(linux)
    assert re.search(r"3 packets transmitted, 3 packets received", out), out


def test_typing_at_once_into_a_printing_partition(linux):
    """The operator attaches to a partition that is printing and types at
    once, before reading what the attach shows first (its recent 64 KiB):
    the shell answers, Ctrl-] returns and the prompt answers. (The console
    once took the line that stopped draining meanwhile for a UART gone, and
    went deaf for good.)"""
    attach(linux, "linux1")
    linux.send("(for i in $(seq 600); do echo PRINTING $i; sleep 0.1; done) &\r")
    linux.expect(r"PRINTING 3\r*\n", 60)
    detach(linux)
    linux.command("console linux1")
    linux.expect(r"\[attached to linux1", 30)
    linux.command("echo SYNC-$((6 * 7))")
    linux.expect(r"SYNC-42\r*\n", 120)
    linux.send("kill $!\r")
    detach(linux)
    expect_console(linux)


def test_reboot_restarts_one_partition_while_the_other_runs(linux):
    attach(linux, "linux2")
    linux.send("reboot\r")
    # The hypervisor's lines are printed at once, the guest's as the attached
    # line drains its ring: on Bochs they overtake the kernel's last line.
    linux.expect_all({"kernel": r"reboot: Restarting system", "stop": r"partition linux2: stopped: reset",
                      "start": r"partition linux2: started on cpu"}, 120)
    detach(linux)
    attach(linux, "linux1")  # answers while linux2 boots again
    assert shell(linux, "echo still here").strip() == "still here"
    detach(linux)
    try:
        linux.expect(MARKER.format("linux2"), READY_TIMEOUT[linux.path])
    except AssertionError:
        explain(linux)
        raise


def test_poweroff_stops_one_partition_while_the_other_runs(linux):
    attach(linux, "linux1")
    linux.send("poweroff\r")
    linux.expect_all({"kernel": r"reboot: Power down", "stop": r"partition linux1: stopped: powered off"}, 120)
    detach(linux)
    attach(linux, "linux2")
    assert shell(linux, "echo alive").strip() == "alive"
    detach(linux)
    expect_console(linux)
    linux.command("list")
    linux.expect(r"linux1\s+stopped [^\r\n]*powered off", 30)


def test_stop_presses_the_power_button_and_linux_powers_off(linux):
    """`stop` without -f: the ACPI power button, which the guest's acpid
    turns into a clean poweroff long before the forced-off timeout."""
    expect_console(linux)
    linux.command("stop linux2")
    linux.expect(r"linux2: power button pressed; forced off in 30 s", 30)
    linux.expect(r"partition linux2: stopped: powered off", 25)


def test_linux_whose_vcpu0_runs_on_cpu1_boots_on_bochs():
    """The kernel's first page faults (its early page tables are built on
    demand) are taken natively on the second host CPU. A Bochs whose SMP
    loop does not commit the faulting CPU's instruction pointer after the
    exception rewinds the next VM exit to the faulting instruction with
    the exception's frame already pushed: the kernel then returns into
    that frame and halts in its early-exception loop (see README.md,
    "Images", on the Bochs build)."""
    images = linux_images("bochs")
    cfg = ("[hypervisor]\nconsole = com1\n\n[partition linux]\nmemory = 256M\nvcpus = 1\ncpus = 1\n"
           "kernel = vmlinuz\ninitrd = initrd.img\ncmdline = console=ttyS0\n")
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, "test_linux_vcpu0_on_cpu1_bochs.log")
    with harness.Workdir() as workdir:
        medium = harness.make_medium(workdir, "usb", cfg, harness.default_files() + images)
        with harness.boot_bochs("bochs:linux-cpu1", medium, log, mem=1024) as run:
            run.expect(r"partition linux: started on cpu 1\b", 900)
            m = run.expect(r"\[linux\] LINUX-READY kernel=\S+ cpus=(\d+) mem_mib=|partition linux: stopped: [^\r\n]*\r*\n",
                           READY_TIMEOUT["bochs"])
            assert m.group(1) == "1", f"{m.group(0).strip()} (a Bochs without the SMP-loop fix of README.md?)"
    harness.remove_log(log)
