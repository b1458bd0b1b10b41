#!/usr/bin/python3
"""make bench: the self-test guest's micro-benchmarks under QEMU TCG with
-icount shift=0,sleep=off, one vCPU on one CPU. With icount each guest
instruction, the hypervisor's included, advances the virtual clock by
1 ns, and the TSC counts that clock: TSC deltas are instruction counts.

Prints, per exit kind, the instructions of one exit round trip: the
exiting instruction plus the hypervisor's whole exit path, with the
guest's loop overhead (a baseline loop) subtracted. Figures only: the
targets are printed beside them, never asserted.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness  # noqa: E402

CFG = """\
[hypervisor]
console = com1

[partition bench]
memory = 16M
kernel = selftest.elf
cmdline = mode=bench
"""
TARGETS = {"cpuid": 150, "port_io": 400}


def main():
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, "bench.log")
    with harness.Workdir() as work:
        image = harness.make_medium(work, "iso", CFG)
        with harness.boot_qemu("bench", image, log, smp=1,
                               extra=("-icount", "shift=0,sleep=off")) as run:
            base = run.expect(r"BENCH rounds (\d+) repeats (\d+) baseline_ticks (\d+)\s", 300)
            rounds, repeats = int(base.group(1)), int(base.group(2))
            figures = {}
            for name in ("cpuid", "port_io", "hypercall"):
                figures[name] = sorted(int(run.expect(rf"BENCH {name} (-?\d+)\s", 300).group(1))
                                       for _ in range(repeats))
    print(f"bench: QEMU TCG -icount shift=0, {rounds} rounds, {repeats} repeats each, "
          f"baseline loop {int(base.group(3)) // rounds} instructions a round")
    print("bench: instructions per exit round trip (exiting instruction + hypervisor path),")
    print("bench: median of the repeats, then the lowest and highest:")
    for name, values in figures.items():
        target = f"  (target <= {TARGETS[name]})" if name in TARGETS else ""
        print(f"bench:   {name:10} {values[len(values) // 2]:8}   [{values[0]}, {values[-1]}]{target}")
    os.remove(log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
