"""make bench keeps working: its smoke run (`ci/bench.py --smoke`, one short
iteration of each section, QEMU only) writes a complete report to
build/bench-smoke/, every figure in it a number. Targets are never
asserted: only that each figure was measured and is a number of the
right sign (a count, a cost in instructions, a rate: positive; a share
error: not negative; the idle neighbour's cost, a difference of two
throughputs: any)."""
import json
import math
import os
import re
import subprocess
import sys
import time

import pytest

import harness

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ci", "bench.py")
REPORT = os.path.join(harness.BUILD, "bench-smoke", "report.json")
EXIT_KINDS = ("cpuid", "port_io", "hypercall", "mmio_read", "xapic_eoi", "x2apic_eoi", "apic_timer")
# Each section's figures, by name (regular expressions, each matched by at least one row).
EXPECTED = [
    *(rf"{kind}: instructions per exit round trip" for kind in EXIT_KINDS),
    r"npf: instructions per nested-page fault resolved",
    r"share error, 2:1 on one CPU",
    r"share error, 8 partitions of shares 100 to 400 on two CPUs",
    r"idle neighbour's cost to a busy partition",
    r"Linux boot: first guest instruction after the hypervisor's start",
    r"Linux boot: ready marker after the hypervisor's start",
    r"Linux boot to the ready marker: VM exits$",
    r"Linux boot to the ready marker: VM exits per second of guest time",
    r"Linux boot to the ready marker: VM exits by reason: ",
    r"Linux idle, \d+ s of guest time or more: VM exits$",
    r"Linux idle, \d+ s of guest time or more: VM exits per second of guest time",
    r"Linux idle, \d+ s of guest time or more: VM exits by reason: ",
    r"network: ping round trip",
    r"network: TCP partition to partition",
    r"network: TCP over one partition's loopback",
    r"network: switch's path per frame",
    *(rf"disk {name}: guest : host throughput" for name in ("seq_read", "seq_write", "rand_read qd 1",
                                                            "rand_read qd 32")),
    r"disk: hypervisor instructions per guest request",
    *(rf"size: {top}/" for top in ("boot", "hv", "arch/x86", "drivers", "guests", "tools")),
]
SMOKE_SCALING = (2, (1, 2))  # -smp, partition counts


def sign_ok(row):
    if row["figure"].startswith("idle neighbour's cost"):
        return True
    return row["value"] >= 0 if row["figure"].startswith("share error") else row["value"] > 0


def test_bench_smoke_run_writes_a_complete_report():
    linux = [os.path.join(harness.BUILD, "linux", n) for n in ("vmlinuz", "initrd.img")]
    if not all(os.path.isfile(p) for p in linux):
        pytest.skip("no build/linux images (`make linux` builds them): the bench's Linux sections need them")
    if os.path.exists(REPORT):
        os.remove(REPORT)
    start = time.monotonic()
    done = subprocess.run([sys.executable, BENCH, "--smoke"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=1800)
    print(done.stdout[-6000:])
    print(f"smoke run: {time.monotonic() - start:.0f} s")
    assert done.returncode == 0, f"ci/bench.py --smoke exited with status {done.returncode}"
    assert "SKIP" not in done.stdout, "a section was skipped: the report cannot be complete"
    with open(REPORT) as f:
        rows = json.load(f)
    for pattern in EXPECTED:
        assert any(re.match(pattern, r["figure"]) for r in rows), f"no figure /{pattern}/ in {REPORT}"
    smp, counts = SMOKE_SCALING
    for kind in EXIT_KINDS:
        got = sorted(r["partitions"] for r in rows if r.get("smp") == smp and r["figure"].startswith(f"{kind}:"))
        assert got == list(counts), f"scaling, -smp {smp}, {kind}: figures for {got} partitions, not {counts}"
    for r in rows:
        if r["value"] is None:
            assert r.get("backend") == "VT-x (Bochs)" and r.get("not_measured"), f"a figure without a value: {r}"
            continue
        assert isinstance(r["value"], (int, float)) and not isinstance(r["value"], bool), f"not a number: {r}"
        assert math.isfinite(r["value"]) and sign_ok(r), f"a figure of the wrong sign: {r}"
