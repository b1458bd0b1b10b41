"""The self-test guest passes every check on each backend; hostile guests
are stopped with the reason while the hypervisor and its console go on."""
import re
import time

from harness import hv_cfg
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

CHECKS = ["fpu_initial", "cpuid_policy", "msr_policy", "uart_io", "hypercall", "virt_insn_ud",
          "xsetbv", "hlt_wakeup", "smp", "ram_pattern"]
ALL_PASS = rf"SELFTEST summary {len(CHECKS)} passed 0 failed"
# A stopped partition's line in the console's 'list', up to its reason.
STOPPED = r"{}\s+stopped on cpu \d, cpu_ms \d+, exits \d+: "

SELFTEST_CFG = """\
[hypervisor]
console = com1

[partition selftest]
memory = 64M
kernel = selftest.elf
cmdline = console=ttyS0
"""

HOSTILE_CFG = """\
[hypervisor]
console = com1

[partition tf]
memory = 16M
kernel = selftest.elf
cmdline = mode=triple-fault

[partition wild]
memory = 16M
kernel = selftest.elf
cmdline = mode=unmapped-write

[partition virt]
memory = 16M
kernel = selftest.elf
cmdline = mode=virt-insn

[partition after]
memory = 16M
kernel = selftest.elf
"""


def test_selftest_guest_passes_every_check(boot, path):
    with boot(path, SELFTEST_CFG) as run:
        expect_banner(run, path)
        run.expect(r"partition selftest: started", 30)
        results = {}
        for _ in CHECKS:
            m = run.expect(r"SELFTEST (\w+) (PASS|FAIL) ([^\r\n]*)", BOOT_TIMEOUT[path])
            results[m.group(1)] = (m.group(2), m.group(3))
        failed = {k: v for k, v in results.items() if v[0] != "PASS"}
        assert not failed, f"checks failed: {failed}"
        assert sorted(results) == sorted(CHECKS)
        run.expect(ALL_PASS, 30)
        # The guest then reads past its RAM: stopped, with the address, not crashed.
        run.expect(r"partition selftest: stopped: read of unmapped guest-physical address "
                   r"0x4200000 at rip 0x[0-9a-f]+", 30)
        expect_console(run)


def test_hostile_guests_are_stopped_and_others_run(boot, path):
    with boot(path, HOSTILE_CFG) as run:
        expect_banner(run, path)
        run.expect_all({
            "tf": r"partition tf: stopped: triple fault \(shutdown\) at rip 0x[0-9a-f]+",
            "wild": r"partition wild: stopped: write of unmapped guest-physical address 0xf0000000",
            "ud": r"partition virt: (VMRUN|VMXON) at rip 0x[0-9a-f]+: #UD injected",
            "virt": r"partition virt: stopped: triple fault",
            # A partition beside them runs in full: the hypervisor was not disturbed.
            "after": r"\[after\] " + ALL_PASS,
            "after_stop": r"partition after: stopped: read of unmapped guest-physical address",
        }, BOOT_TIMEOUT[path] * 2)
        expect_console(run)
        # The console keeps each partition's fate.
        run.command("list")
        run.expect_all({
            "tf": STOPPED.format("tf") + r"triple fault",
            "wild": STOPPED.format("wild") + r"write of unmapped guest-physical address 0xf0000000",
            "virt": STOPPED.format("virt") + r"triple fault",
            "after": STOPPED.format("after") + r"read of unmapped",
        }, 20)


FLOOD_CFG = hv_cfg({"flood": {"cmdline": "mode=insn-flood"}})
FLOOD_INSNS = 5000  # INSN_FLOOD in guests/selftest/selftest.c
FLOOD_BURST = 10    # GUEST_LOG_BURST in hv/partition.c; then one line a second
UD_LINE = r"partition flood: (?:VMRUN|VMXON) at rip 0x[0-9a-f]+: #UD injected(?: \((\d+) similar lines suppressed\))?"


def test_guest_caused_log_lines_are_rate_limited(boot, path):
    """A guest looping on a forbidden instruction gets its #UD each time,
    but the console shows a burst of lines and then about one a second,
    and says how many it held back: every one is accounted for."""
    with boot(path, FLOOD_CFG) as run:
        expect_banner(run, path)
        run.expect(r"partition flood: started", 60)
        started = time.monotonic()
        run.expect(rf"\[flood\] SELFTEST hostile insn-flood done: {FLOOD_INSNS} of {FLOOD_INSNS} raised #UD",
                   BOOT_TIMEOUT[path] * 2)
        stop = run.expect(r"partition flood: stopped: exited with status 0 \(\d+ exits"
                          r"(?:; (\d+) similar lines suppressed)?\)", 30)
        seconds = time.monotonic() - started
        expect_console(run)
        shown = re.findall(UD_LINE, run.text())
        # A burst, then one a second of the guest's own clock (here: the host's, or faster on Bochs).
        assert FLOOD_BURST <= len(shown) <= FLOOD_BURST + 2 * seconds + 2, (len(shown), seconds)
        held_back = sum(int(n) for n in shown if n) + int(stop.group(1) or 0)
        assert held_back > 0, "no line says what was suppressed"
        assert len(shown) + held_back == FLOOD_INSNS, (len(shown), held_back)


def test_partition_memory_is_zeroed_and_reused(boot):
    """A partition started after another stopped runs in the memory it gave
    back, and sees only zeroes of it (its pattern check covers all RAM)."""
    cfg = (SELFTEST_CFG + "\n" +
           SELFTEST_CFG.split("\n\n", 1)[1].replace("[partition selftest]", "[partition second]") +
           "autostart = no\n")
    with boot("qemu", cfg) as run:
        first = run.expect(r"partition selftest: started on cpu \d, 64 MiB at (0x[0-9a-f]+),", 60).group(1)
        run.expect(r"partition selftest: stopped", 120)
        expect_console(run)
        run.command("start second")
        second = run.expect(r"partition second: started on cpu \d, 64 MiB at (0x[0-9a-f]+),", 30).group(1)
        assert first == second, "the second partition should reuse the memory the first gave back"
        run.expect(r"\[second\] SELFTEST ram_pattern PASS .* nonzero_at_start=0 ", 120)
        run.expect(r"\[second\] " + ALL_PASS, 120)


SIDE_BY_SIDE_CFG = """\
[hypervisor]
console = com1

[partition long]
memory = 128M
kernel = selftest.elf
cpus = 0

[partition crash]
memory = 16M
kernel = selftest.elf
cmdline = mode=triple-fault
cpus = 1

[partition next]
memory = 16M
kernel = selftest.elf
cpus = 1
"""


def test_partitions_run_side_by_side_on_both_cpus(boot, path):
    """Three partitions on two CPUs: the crash on CPU 1 stops, and CPU 1
    starts its next partition, while CPU 0's is still running."""
    with boot(path, SIDE_BY_SIDE_CFG) as run:
        expect_banner(run, path)
        run.expect_all({
            "long": r"\[long\] " + ALL_PASS,
            "next": r"\[next\] " + ALL_PASS,
            "crash": r"partition crash: stopped: triple fault",
        }, BOOT_TIMEOUT[path] * 3)
        log = run.text()
        assert re.search(r"partition long: started on cpu 0", log)
        assert re.search(r"partition crash: started on cpu 1", log)
        assert re.search(r"partition next: started on cpu 1", log)
        long_done = log.index("[long] SELFTEST summary")
        assert log.index("partition crash: stopped: triple fault") < long_done
        assert log.index("partition next: started on cpu 1") < long_done, \
            "CPU 1 should start its next partition while CPU 0's is still running"


def test_restart_runs_a_stopped_partition_again_from_scratch(boot, path):
    cfg = SELFTEST_CFG.replace("memory = 64M", "memory = 32M") + "cpus = 1\n"
    with boot(path, cfg) as run:
        expect_banner(run, path)
        run.expect(r"partition selftest: started on cpu 1", 60)
        run.expect(r"\[selftest\] " + ALL_PASS, BOOT_TIMEOUT[path])
        run.expect(r"partition selftest: stopped: read of unmapped", 30)
        run.command("start nosuch")
        run.expect(r"no partition named 'nosuch'", 20)
        run.command("restart selftest")
        run.expect_all({"said": r"selftest: restarting", "done": r"partition selftest: started on cpu 1"}, 20)
        # From scratch: its memory reads as zeroes again, and every check passes again.
        run.expect(r"\[selftest\] SELFTEST ram_pattern PASS .* nonzero_at_start=0 ", BOOT_TIMEOUT[path])
        run.expect(r"\[selftest\] " + ALL_PASS, 30)
        run.expect(r"partition selftest: stopped: read of unmapped", 30)
