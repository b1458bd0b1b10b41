"""The self-test guest passes every check on each backend; hostile guests
are stopped with the reason while the hypervisor and its console go on."""
import re

from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

CHECKS = ["cpuid_policy", "msr_policy", "uart_io", "hypercall", "virt_insn_ud", "xsetbv",
          "hlt_wakeup", "ram_pattern"]

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
        run.expect(r"SELFTEST summary 8 passed 0 failed", 30)
        # The guest then reads past its RAM: stopped, with the address, not crashed.
        run.expect(r"partition selftest: stopped: read of unmapped guest-physical address "
                   r"0x4200000 at rip 0x[0-9a-f]+", 30)
        expect_console(run)


def test_hostile_guests_are_stopped_and_others_run(boot, path):
    with boot(path, HOSTILE_CFG) as run:
        expect_banner(run, path)
        run.expect(r"partition tf: stopped: triple fault \(shutdown\) at rip 0x[0-9a-f]+", 60)
        run.expect(r"partition wild: stopped: write of unmapped guest-physical address "
                   r"0xf0000000", 60)
        run.expect(r"partition virt: (VMRUN|VMXON) at rip 0x[0-9a-f]+: #UD injected", 60)
        run.expect(r"partition virt: stopped: triple fault", 60)
        # A partition after them runs in full: the hypervisor was not disturbed.
        run.expect(r"\[after\] SELFTEST summary 8 passed 0 failed", BOOT_TIMEOUT[path])
        run.expect(r"partition after: stopped: read of unmapped guest-physical address", 30)
        expect_console(run)


def test_partition_memory_is_zeroed_and_reused(boot):
    """Partitions run one after another in the same host memory; each sees
    only zeroes from the one before (its pattern check covers all RAM)."""
    cfg = SELFTEST_CFG + SELFTEST_CFG.split("\n\n", 1)[1].replace("[partition selftest]",
                                                                  "[partition second]")
    with boot("qemu", cfg) as run:
        first = run.expect(r"partition selftest: started, 64 MiB at (0x[0-9a-f]+),", 60).group(1)
        run.expect(r"partition selftest: stopped", 120)
        second = run.expect(r"partition second: started, 64 MiB at (0x[0-9a-f]+),", 30).group(1)
        assert first == second, "the second partition should reuse the memory the first gave back"
        run.expect(r"\[second\] SELFTEST summary 8 passed 0 failed", 120)
