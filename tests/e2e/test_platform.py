"""The platform test kernel (guests/platform, build/platform.elf) on QEMU's
own PC, booted directly with -kernel: the reference behaviour the
hypervisor's virtual PC must match. Every check must PASS, or SKIP with a
reason where the table below says so; each mode ends the way QEMU ends it.

The expectations are one table, EXPECTED: a column per run. A run on the
hypervisor is a new column (and an entry in RUNS or its own runner) whose
lines are read by the same parse_report()."""
import os
import re

import pexpect
import pytest

import harness

KERNEL = os.path.join(harness.BUILD, "platform.elf")

# QEMU's options for each reference run.
RUNS = {
    "q35": ["-machine", "q35"],
    "pc": ["-machine", "pc"],
    "q35-edu": ["-machine", "q35", "-device", "edu"],
}

# What each check reports in each run: P = PASS, S = SKIP (with its reason),
# - = no line. QEMU 7.2's TCG offers neither x2APIC nor the TSC-deadline
# timer nor a hypervisor CPUID leaf; the pc machine has no MCFG; only
# q35-edu has a test device.
EXPECTED = """
check                    q35  pc  q35-edu
multiboot                P    P   P
acpi_rsdp                P    P   P
acpi_tables              P    P   P
acpi_madt                P    P   P
acpi_fadt                P    P   P
tsc_rate                 P    P   P
pit_calibration          P    P   P
rtc_time                 P    P   P
fw_cfg                   P    P   P
pci_cf8                  P    P   P
pci_ecam                 P    S   P
pci_test_device          S    S   -
pci_test_bar             -    -   P
pci_test_msi             -    -   P
pic                      P    P   P
ioapic_pit               P    P   P
ioapic_rtc               P    P   P
smp_startup              P    P   P
ipi                      P    P   P
mmio64_mov               P    P   P
mmio32_mov               P    P   P
mmio64_movx              P    P   P
mmio32_movx              P    P   P
mmio64_moffs             P    P   P
mmio32_moffs             P    P   P
mmio64_string            P    P   P
mmio32_string            P    P   P
mmio64_alu               P    P   P
mmio32_alu               P    P   P
mmio64_test_cmp          P    P   P
mmio32_test_cmp          P    P   P
mmio64_rte               P    P   P
mmio32_rte               P    P   P
lapic_xapic_oneshot      P    P   P
lapic_xapic_periodic     P    P   P
lapic_xapic_tsc_deadline S    S   S
lapic_x2apic             S    S   S
"""
OUTCOME = {"P": "PASS", "S": "SKIP"}
# Checks that time the emulator against the TSC. TCG on a busy 2-core
# machine stalls now and then for milliseconds; the kernel measures
# typical values and tries ATTEMPTS times itself, and a run where one of
# these still fails is run again, up to RUNS_FOR_TIMING runs: such a
# check counts as passed when it passed in one of them. A wrong rate
# fails every run; every other check must be right in every run.
TIMING = {"tsc_rate", "pit_calibration", "rtc_time", "pic", "ioapic_pit", "ioapic_rtc",
          "lapic_xapic_oneshot", "lapic_xapic_periodic", "lapic_xapic_tsc_deadline",
          "lapic_x2apic_oneshot", "lapic_x2apic_periodic", "lapic_x2apic_tsc_deadline"}
RUNS_FOR_TIMING = 3
LINE = re.compile(r"^PLATFORM (\S+) (PASS|FAIL|SKIP) ?(.*?)\r?$", re.M)
SUMMARY = re.compile(r"PLATFORM summary (\d+) passed (\d+) failed (\d+) skipped")
RUN_TIMEOUT = 240  # TCG on a busy 2-core machine; a run takes 10-30 s


def expected(run):
    """check -> 'PASS' or 'SKIP' for the run's column of EXPECTED."""
    rows = [line.split() for line in EXPECTED.strip().splitlines()]
    column = rows[0].index(run)
    return {row[0]: OUTCOME[row[column]] for row in rows[1:] if row[column] != "-"}


def parse_report(text):
    """check -> (outcome, detail) from the kernel's lines; a check twice is an error."""
    lines = {}
    for check, outcome, detail in LINE.findall(text):
        assert check not in lines, f"{check} reported twice"
        lines[check] = (outcome, detail)
    return lines


def qemu_argv(machine, append=None, reboot=False):
    argv = ["qemu-system-x86_64", *machine, "-accel", "tcg", "-smp", "2", "-m", "256",
            "-kernel", KERNEL, "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
            "-serial", "stdio", "-display", "none", "-monitor", "none"]
    if append:
        argv += ["-append", append]
    return argv + ([] if reboot else ["-no-reboot"])


@pytest.fixture
def qemu(request):
    """qemu(machine, append=None, reboot=False) starts QEMU on the kernel and
    returns the Run; killed after, its log kept only when the test failed."""
    os.makedirs(harness.LOGS, exist_ok=True)
    runs = []

    def start(machine, append=None, reboot=False):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        log = os.path.join(harness.LOGS, f"{name}.{len(runs)}.log")
        run = harness.Run(f"qemu:{request.node.name}", qemu_argv(machine, append, reboot), log)
        runs.append(run)
        return run

    yield start
    failed = any(getattr(request.node, "report_" + w, None) is not None and
                 getattr(request.node, "report_" + w).failed for w in ("setup", "call"))
    for run in runs:
        run.kill()
        if failed or os.environ.get("KEEP_LOGS"):
            print(f"serial log kept: {run.log_path}")
        else:
            os.remove(run.log_path)


def exit_status(run, timeout):
    """Waits for QEMU to end; its exit status."""
    try:
        run.child.expect(pexpect.EOF, timeout=timeout)
    except pexpect.TIMEOUT:
        raise AssertionError(f"{run.name}: QEMU still running after {timeout} s; tail:\n{run.tail()}") from None
    run.child.close()
    return run.child.exitstatus


def reference_run(qemu, run_name):
    """One run: its lines, its summary counts, QEMU's exit status, the console's tail."""
    run = qemu(RUNS[run_name])
    summary = run.expect(SUMMARY.pattern, RUN_TIMEOUT)
    status = exit_status(run, 30)
    return parse_report(run.text()), summary.group(1, 2, 3), status, run.tail(60)


@pytest.mark.parametrize("run_name", list(RUNS))
def test_reference_checks(qemu, run_name):
    """Every check reports what EXPECTED says; the kernel exits through
    isa-debug-exit with 0 when all passed, which QEMU turns into status 1."""
    want = expected(run_name)
    timing_failed = set()
    for attempt in range(1, RUNS_FOR_TIMING + 1):
        lines, counts, status, tail = reference_run(qemu, run_name)
        wrong = {c: lines.get(c, ("no line",))[0] for c in want if lines.get(c, ("",))[0] != want[c]}
        extra = sorted(set(lines) - set(want))
        assert not (set(wrong) - TIMING) and not extra, \
            f"{run_name}: expected {want}\nwrong: {wrong}, unexpected lines: {extra}\n{tail}"
        for check, (outcome, detail) in lines.items():
            assert outcome != "SKIP" or detail.strip(), f"{check} skipped without a reason"
        timing_failed = (timing_failed if attempt > 1 else set(wrong)) & set(wrong)
        if not wrong:
            passes = sum(1 for o in want.values() if o == "PASS")
            assert counts == (str(passes), "0", str(len(want) - passes)), counts
            assert status == 1, f"exit status {status}, want (0 << 1) | 1"
        if not timing_failed:
            return
        print(f"{run_name} run {attempt}: timing checks failed: {sorted(wrong)}")
    raise AssertionError(f"{run_name}: failed in each of {RUNS_FOR_TIMING} runs: {sorted(timing_failed)}\n{tail}")


def test_exit_port_status(qemu):
    """mode=exit N writes N to port 0xF4 at once: QEMU ends with (N << 1) | 1."""
    run = qemu(RUNS["q35"], "mode=exit 21")
    run.expect(r"PLATFORM exit writing 21 to port 0xf4", RUN_TIMEOUT)
    assert exit_status(run, 30) == (21 << 1) | 1


def test_acpi_poweroff(qemu):
    """S5 with the DSDT's SLP_TYP powers QEMU off: it ends with status 0."""
    run = qemu(RUNS["q35"], "mode=poweroff")
    run.expect(r"PLATFORM poweroff SLP_TYPa=\d+", RUN_TIMEOUT)
    assert exit_status(run, 30) == 0
    assert "FAIL" not in run.text()


@pytest.mark.parametrize("how", ["cf9", "kbc", "fadt"])
def test_reset(qemu, how):
    """Each reset path restarts the machine: the firmware boots the kernel again,
    which finds what it wrote to CMOS RAM before the reset, passes and exits."""
    run = qemu(RUNS["q35"], f"mode=reset-{how}", reboot=True)
    run.expect(rf"PLATFORM reset {how}", RUN_TIMEOUT)
    run.expect(r"PLATFORM boot", RUN_TIMEOUT)
    run.expect(rf"PLATFORM reset PASS booted again after the {how} reset", RUN_TIMEOUT)
    assert exit_status(run, 30) == 1
    assert "FAIL" not in run.text()


def test_ipi_storm(qemu):
    """The hostile INIT/STARTUP/IPI storm at its own vCPUs ends, and the kernel reports."""
    run = qemu(RUNS["q35"], "mode=ipi-storm")
    run.expect(SUMMARY.pattern, RUN_TIMEOUT)
    assert exit_status(run, 30) == 1
    lines = parse_report(run.text())
    assert lines["smp_startup"][0] == "PASS" and lines["ipi_storm"][0] == "PASS", lines
