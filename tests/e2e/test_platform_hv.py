"""The platform test kernel (guests/platform) as partitions of the
hypervisor, on both backends: unmodified, it finds the virtual PC as it
finds QEMU's own (test_platform.py, the reference) and every check
passes; two such partitions run side by side, each with two vCPUs, and
neither sees the other's interrupts (their checks count every interrupt
they take). Each mode ends the way the issue asks: ACPI S5 stops the
partition with "powered off", each reset path restarts it (its CMOS
RAM kept, which the kernel checks on its second boot), port 0xF4
stops it with the status, and an INIT/STARTUP/IPI storm at its own
vCPUs stays inside it while a neighbour runs on."""
import re

import harness
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console
from test_platform import SUMMARY, parse_report

CHECKS = harness.hv_cfg({
    name: {"memory": "64M", "vcpus": 2, "kernel": "platform.elf", "test_devices": "yes"}
    for name in ("left", "right")
})
MODES = {
    "off": "mode=poweroff",
    "cf9": "mode=reset-cf9",
    "kbc": "mode=reset-kbc",
    "fadt": "mode=reset-fadt",
    "exit": "mode=exit 21",
    "storm": "mode=ipi-storm",
}
MODES_CFG = harness.hv_cfg({
    name: {"memory": "32M", "vcpus": 2, "kernel": "platform.elf", "test_devices": "yes", "cmdline": cmdline}
    for name, cmdline in MODES.items()
})
# What every check reports on the hypervisor: all pass; nothing is skipped.
ALL_CHECKS = {
    "multiboot", "acpi_rsdp", "acpi_tables", "acpi_madt", "acpi_fadt", "tsc_rate", "pit_calibration",
    "rtc_time", "fw_cfg", "pci_cf8", "pci_ecam", "pci_test_bar", "pci_test_msi", "pic", "ioapic_pit",
    "ioapic_rtc", "smp_startup", "ipi", "mmio64_mov", "mmio32_mov", "mmio64_movx", "mmio32_movx",
    "mmio64_moffs", "mmio32_moffs", "mmio64_string", "mmio32_string", "mmio64_alu", "mmio32_alu",
    "mmio64_test_cmp", "mmio32_test_cmp", "mmio64_rte", "mmio32_rte", "lapic_xapic_oneshot",
    "lapic_xapic_periodic", "lapic_xapic_tsc_deadline", "lapic_x2apic", "lapic_x2apic_oneshot",
    "lapic_x2apic_periodic", "lapic_x2apic_tsc_deadline",
}


def partition_lines(text, name):
    """The platform kernel's lines of one partition, as the console shows them."""
    prefix = f"hv: [{name}] "
    return "\n".join(line[len(prefix):] for line in text.splitlines() if line.startswith(prefix))


def test_every_check_passes_in_two_partitions_side_by_side(boot, path):
    with boot(path, CHECKS) as run:
        expect_banner(run, path)
        # Each prints its summary, then stops through port 0xF4 with 0 (all passed): (0 << 1) | 1.
        run.expect_all({f"{name}_{what}": pattern
                        for name in ("left", "right")
                        for what, pattern in (("summary", rf"\[{name}\] {SUMMARY.pattern}"),
                                              ("stop", rf"partition {name}: stopped: exited through port 0xf4 "
                                                       r"with status \d+ \("))},
                       BOOT_TIMEOUT[path] * 5)
        for name in ("left", "right"):
            lines = parse_report(partition_lines(run.text(), name))
            failed = {c: d for c, (o, d) in lines.items() if o != "PASS"}
            assert set(lines) == ALL_CHECKS, f"{name}: checks {sorted(set(lines) ^ ALL_CHECKS)} differ"
            assert not failed, f"{name}: {failed}"
        assert re.findall(r"partition (?:left|right): stopped: exited through port 0xf4 with status (\d+)",
                          run.text()) == ["1", "1"]


def test_modes_power_off_reset_exit_and_a_contained_ipi_storm(boot, path):
    with boot(path, MODES_CFG) as run:
        expect_banner(run, path)
        # A reset restarts only that partition, its CMOS RAM kept: booted again, each finds
        # its mark, passes and exits with 0: (0 << 1) | 1.
        run.expect_all({
            "off": r"partition off: stopped: powered off",
            "exit": r"partition exit: stopped: exited through port 0xf4 with status 43",
            "storm": rf"\[storm\] {SUMMARY.pattern}",
            **{how: rf"partition {how}: stopped: reset (?:through port 0xCF9 \(0x06\)|by the keyboard "
                    r"controller \(command 0xFE\))" for how in ("cf9", "kbc", "fadt")},
            **{f"{how}_again": rf"\[{how}\] PLATFORM reset PASS booted again after the {how} reset"
               for how in ("cf9", "kbc", "fadt")},
            **{f"{how}_exit": rf"partition {how}: stopped: exited through port 0xf4 with status 1 "
               for how in ("cf9", "kbc", "fadt")},
        }, BOOT_TIMEOUT[path] * 3)
        storm = parse_report(partition_lines(run.text(), "storm"))
        assert storm["smp_startup"][0] == "PASS" and storm["ipi_storm"][0] == "PASS", storm
        assert not re.search(r"\[(?:cf9|kbc|fadt|off|exit)\] PLATFORM \S+ FAIL", run.text()), run.tail()
        expect_console(run)
