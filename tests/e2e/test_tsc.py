"""The TSC rate is measured, not taken on trust from CPUID leaf 0x15. Bochs'
TSC runs at its `ips` (100 MHz here) whatever the model; its tigerlake
model's leaf 0x15 announces 2419.2 MHz, corei7_skylake_x has no leaf 0x15.
On both the hypervisor must log the same rate, and charge a CPU-bound
partition the same CPU time for the same TSC ticks of work. It is measured
against the HPET where the machine has one (QEMU's Q35 and Bochs' i440FX
do), else against the PIT: under QEMU's -icount shift=0 the TSC counts one
tick a nanosecond of the clocks both derive from, so either must give
1000 MHz."""
import re

import pytest

import harness
from harness import hv_cfg
from test_boot import BOOT_TIMEOUT, expect_banner

MODELS = {
    "tigerlake": r"MHz measured against the HPET; CPUID 0x15 says 2419\.200 MHz: not used",
    "corei7_skylake_x": r"MHz measured against the HPET; CPUID 0x15 states no rate",
}
WORK_CFG = hv_cfg({"work": {"cmdline": "mode=work", "cpus": 1}})
WORK_REPORT_TICKS = 1 << 29  # guests/selftest/selftest.c: TSC ticks between 'BENCH work' lines
RATE_AGREEMENT = 0.001       # what the hypervisor itself requires of two rates
ICOUNT_TSC_HZ = 1e9          # QEMU -icount shift=0: an instruction, and a TSC tick, a nanosecond
ICOUNT_BOOT_TIMEOUT = 300    # OVMF runs slower under -icount sleep=off (ci/bench.py waits as long)
CPU_MS_AGREEMENT = 0.10      # the console is read between reports, at no exact instant


def rate_and_cpu_ms(boot, model):
    """The logged TSC rate (Hz) and the CPU time (ms) the hypervisor
    charged the partition between two of its work reports."""
    with boot("bochs", WORK_CFG, model=model) as run:
        expect_banner(run, "bochs", model=None if model == harness.BOCHS_CPU_MODEL else model)
        line = run.expect(r"hv: (?:warning: )?tsc: (\d+\.\d{3}) ([^\r\n]*)\r", 30)
        assert re.match(MODELS[model], line.group(2)), f"{model}: {line.group(0)}"
        hz = float(line.group(1)) * 1e6
        run.expect(r"\[work\] BENCH work \d+", BOOT_TIMEOUT["bochs"])
        before = run.cpu_ms(["work"])["work"]
        run.expect(r"\[work\] BENCH work \d+", BOOT_TIMEOUT["bochs"])
        after = run.cpu_ms(["work"])["work"]
        print(f"{model}: {line.group(0).strip()}; cpu_ms {before} -> {after}: {after - before} ms")
        return hz, after - before


def test_tsc_rate_and_cpu_ms_agree_with_and_without_cpuid_leaf_0x15(boot):
    binary, why = harness.bochs_binary()
    if not binary:
        pytest.skip(f"Bochs/VT-x path: {why}")
    measured = {model: rate_and_cpu_ms(boot, model) for model in MODELS}
    (hz_a, ms_a), (hz_b, ms_b) = measured.values()
    assert abs(hz_a - hz_b) <= RATE_AGREEMENT * hz_b, f"rates differ: {measured}"
    for model, (hz, ms) in measured.items():
        expected = WORK_REPORT_TICKS / hz * 1000
        assert abs(ms - expected) <= CPU_MS_AGREEMENT * expected, \
            f"{model}: {ms} ms charged for {WORK_REPORT_TICKS} TSC ticks at {hz / 1e6} MHz " \
            f"({expected:.0f} ms expected)"
    assert abs(ms_a - ms_b) <= CPU_MS_AGREEMENT * ms_b, f"cpu_ms differ: {measured}"


@pytest.mark.parametrize("hpet, reference", [("on", "HPET"), ("off", "PIT")])
def test_tsc_rate_under_qemu_icount_against_the_hpet_or_without_one_the_pit(boot, hpet, reference):
    with boot("qemu", WORK_CFG, extra=("-icount", "shift=0,sleep=off", "-machine", f"hpet={hpet}")) as run:
        line = run.expect(r"hv: (?:warning: )?tsc: (\d+\.\d{3}) MHz measured against the (\w+)", ICOUNT_BOOT_TIMEOUT)
        print(line.group(0))
        assert line.group(2) == reference, line.group(0)
        hz = float(line.group(1)) * 1e6
        assert abs(hz - ICOUNT_TSC_HZ) <= RATE_AGREEMENT * ICOUNT_TSC_HZ, line.group(0)
