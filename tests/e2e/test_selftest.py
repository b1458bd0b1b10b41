"""The self-test guest passes every check on each backend; hostile guests
are stopped with the reason while the hypervisor and its console go on."""
import re
import time

from harness import hv_cfg
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

CHECKS = ["fpu_initial", "boot_state", "tsc", "cpuid_policy", "msr_policy", "uart_io", "hypercall",
          "virt_insn_ud", "xsetbv", "pat", "cr8", "cr_writes", "io_width", "single_step", "rdpmc",
          "kernel_half", "compat_code", "remapped_code", "rewritten_code", "rewritten_mmio_code", "hlt_wakeup",
          "smp", "apic_xapic_timer", "apic_x2apic_timer", "apic_priority", "apic_ipi", "ram_pattern",
          "mmio_read", "mmio_movzx_movsx", "mmio_alu_flags", "mmio_write_vanish", "mmio_string",
          "mmio_long_insn", "mmio_single_step"]
# Where the hypervisor itself performs MOV to CR0/CR4 (VT-x); AMD-V leaves them to the CPU.
VMX_ONLY = ["cr_writes"]


def checks(path):
    """The checks the self-test runs on this emulator path."""
    return [c for c in CHECKS if path == "bochs" or c not in VMX_ONLY]


def all_pass(path):
    return rf"SELFTEST summary {len(checks(path))} passed 0 failed"

# A stopped partition's line in the console's 'list', up to its reason.
STOPPED = r"{}\s+stopped on cpu \d, cpu_ms \d+, exits \d+: "

SELFTEST_CFG = """\
[hypervisor]
console = com1

[partition selftest]
memory = 64M
vcpus = 2
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
cmdline = mode=mmio-unsupported

[partition virt]
memory = 16M
kernel = selftest.elf
cmdline = mode=virt-insn

[partition after]
memory = 16M
kernel = selftest.elf
"""


# mode=mmio-unsupported: ADDL $1, [RBX] (83 03 01) on the first page above its 16 MiB; the
# exit of a read-modify-write is a read on AMD-V, a write on VT-x (its qualification has both).
UNSUPPORTED_MMIO = (r"MMIO (read|write) of 0x1000000 at rip 0x[0-9a-f]+: an instruction not emulated on MMIO "
                    r"\(bytes 83 03 01\)")


# mode=mmio-cross-page: 8B 03 at 0x...fff of a linear page whose next page is mapped above RAM.
CROSSING = (r"instruction fetch of unmapped guest-physical address 0x1000000 at rip 0x[0-9a-f]+fff|"
            r"MMIO read of 0x1000000 at rip 0x[0-9a-f]+fff: the instruction crosses into an unmapped page "
            r"\(bytes 8b\)")


def test_selftest_guest_passes_every_check(boot, path):
    with boot(path, SELFTEST_CFG) as run:
        expect_banner(run, path)
        used = run.expect(r"tsc: (\d+)\.(\d{3}) MHz (from|measured)", 30)
        run.expect(r"partition selftest: started", 30)
        results = {}
        for _ in checks(path):
            m = run.expect(r"SELFTEST (\w+) (PASS|FAIL) ([^\r\n]*)\r*\n", BOOT_TIMEOUT[path])
            results[m.group(1)] = (m.group(2), m.group(3))
        failed = {k: v for k, v in results.items() if v[0] != "PASS"}
        assert not failed, f"checks failed: {failed}"
        assert sorted(results) == sorted(checks(path))
        # The guest is told the very rate the hypervisor uses.
        told = re.search(r"khz=(\d+)", results["tsc"][1])
        assert told and int(told.group(1)) == int(used.group(1)) * 1000 + int(used.group(2)), results["tsc"]
        run.expect(all_pass(path), 30)
        # The guest then runs code past its RAM: stopped, with the address, not crashed.
        run.expect(r"partition selftest: stopped: instruction fetch of unmapped guest-physical address "
                   r"0x4200000 at rip 0x4200000", 30)
        expect_console(run)


def test_hostile_guests_are_stopped_and_others_run(boot, path):
    with boot(path, HOSTILE_CFG) as run:
        expect_banner(run, path)
        run.expect_all({
            "tf": r"partition tf: stopped: triple fault \(shutdown\) at rip 0x[0-9a-f]+",
            # ADD is not emulated on MMIO: stopped with the bytes and RIP.
            "wild": r"partition wild: stopped: " + UNSUPPORTED_MMIO,
            "ud": r"partition virt: (VMRUN|VMXON) at rip 0x[0-9a-f]+: #UD injected",
            "virt": r"partition virt: stopped: triple fault",
            # A partition beside them runs in full: the hypervisor was not disturbed.
            "after": r"\[after\] " + all_pass(path),
            "after_stop": r"partition after: stopped: instruction fetch of unmapped guest-physical address",
        }, BOOT_TIMEOUT[path] * 2)
        expect_console(run)
        # The console keeps each partition's fate.
        run.command("list")
        run.expect_all({
            "tf": STOPPED.format("tf") + r"triple fault",
            "wild": STOPPED.format("wild") + UNSUPPORTED_MMIO,
            "virt": STOPPED.format("virt") + r"triple fault",
            "after": STOPPED.format("after") + r"instruction fetch of unmapped",
        }, 20)


MMIO_HOSTILE_CFG = hv_cfg({
    "tables": {"cmdline": "mode=mmio-tables"},
    "cross": {"cmdline": "mode=mmio-cross-page"},
    "long": {"cmdline": "mode=mmio-prefixes"},
    "after": {},
})


def test_hostile_mmio_guests_are_stopped_and_others_run(boot, path):
    """Guests that point their page tables above RAM, run an instruction
    whose bytes go on into a page above RAM, or run a 16-byte instruction
    on MMIO: each is stopped with the reason (or gets the CPU's #GP), and
    a partition beside them passes every check."""
    with boot(path, MMIO_HOSTILE_CFG) as run:
        expect_banner(run, path)
        run.expect_all({
            # A read, or (QEMU) the write of an accessed bit.
            "tables": r"partition tables: stopped: (read|write) of unmapped guest-physical address 0x1000000 "
                      r"at rip 0x[0-9a-f]+ \(a guest page-table entry\)",
            "cross": r"partition cross: stopped: " + CROSSING,
            "long": r"\[long\] SELFTEST mmio_too_long PASS 16 bytes on MMIO: #GP",
            "long_stop": r"partition long: stopped: exited with status 0",
            "after": r"\[after\] " + all_pass(path),
        }, BOOT_TIMEOUT[path] * 2)
        expect_console(run)


# On the console's CPU: one guest raises its TPR to 15 and spins, one takes
# a #DB on every instruction, one an #AC again and again at CPL 3; a
# partition started after them must still run.
CPU0_HOSTILE = {
    "tpr": {"cpus": "0", "cmdline": "mode=cr8-spin"},
    "storm": {"cpus": "0", "cmdline": "mode=db-storm"},
    "after": {"cpus": "0", "autostart": "no"},
}
# QEMU's TCG does not emulate alignment checking (#AC never happens): Bochs only.
AC_STORM = {"acstorm": {"cpus": "0", "cmdline": "mode=ac-storm"}}
STORM_TRAPS = 50000


def test_guest_tpr_and_exception_storms_leave_the_host_cpu_alone(boot, path):
    ac = path == "bochs"
    with boot(path, hv_cfg({**CPU0_HOSTILE, **(AC_STORM if ac else {})})) as run:
        expect_banner(run, path)
        storms = {
            "tpr": r"\[tpr\] SELFTEST hostile cr8-spin tpr=15",
            "storm": r"\[storm\] SELFTEST hostile db-storm traps=(?P<traps>\d+)\r*\n",
        }
        if ac:
            storms["acstorm"] = r"\[acstorm\] SELFTEST hostile ac-storm faults=(?P<faults>\d+)\r*\n"
        found = run.expect_all(storms, BOOT_TIMEOUT[path] * 3)
        traps = int(found["storm"].group("traps"))
        assert traps >= STORM_TRAPS, f"the guest's own handler saw {traps} of its {STORM_TRAPS} #DB traps"
        if ac:
            faults = int(found["acstorm"].group("faults"))
            assert faults == STORM_TRAPS, f"the guest's own handler saw {faults} of {STORM_TRAPS} #AC faults"
        # The host CPU still takes its timer and the console's input: a new partition runs beside them.
        expect_console(run)
        run.command("start after")
        run.expect(r"\[after\] " + all_pass(path), BOOT_TIMEOUT[path] * 2)
        # Each #DB and #AC was a VM exit (the intercept that keeps a storm from holding the CPU).
        run.command("list")
        lines = {"storm": r"\bstorm\s+running on cpu 0, cpu_ms \d+, exits (?P<db>\d+)\D"}
        if ac:
            lines["acstorm"] = r"acstorm\s+running on cpu 0, cpu_ms \d+, exits (?P<ac>\d+)\D"
        exits = run.expect_all(lines, 20)
        assert int(exits["storm"].group("db")) >= traps, f"fewer exits than {traps} #DB traps"
        if ac:
            assert int(exits["acstorm"].group("ac")) >= faults, f"fewer exits than {faults} #AC faults"


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
        run.expect(r"\[second\] SELFTEST ram_pattern PASS [^\n]* nonzero_at_start=0 ", 120)
        run.expect(r"\[second\] " + all_pass("qemu"), 120)


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
            "long": r"\[long\] " + all_pass(path),
            "next": r"\[next\] " + all_pass(path),
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
        run.expect(r"\[selftest\] " + all_pass(path), BOOT_TIMEOUT[path])
        run.expect(r"partition selftest: stopped: instruction fetch of unmapped", 30)
        run.command("start nosuch")
        run.expect(r"no partition named 'nosuch'", 20)
        run.command("restart selftest")
        run.expect_all({"said": r"selftest: restarting", "done": r"partition selftest: started on cpu 1"}, 20)
        # From scratch: its memory reads as zeroes again, and every check passes again.
        run.expect(r"\[selftest\] SELFTEST ram_pattern PASS [^\n]* nonzero_at_start=0 ", BOOT_TIMEOUT[path])
        run.expect(r"\[selftest\] " + all_pass(path), 30)
        run.expect(r"partition selftest: stopped: instruction fetch of unmapped", 30)
