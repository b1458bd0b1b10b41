#!/usr/bin/python3
"""make bench: figures measured under QEMU TCG with -icount
shift=0,sleep=off. With icount each guest instruction, the hypervisor's
included, advances the virtual clock by 1 ns, and the TSC counts that
clock: TSC deltas are instruction counts, and "guest time" is virtual.

1. Exit costs (one CPU): per exit kind, the instructions of one exit
   round trip, the exiting instruction plus the hypervisor's whole exit
   path, with the guest's loop overhead (a baseline loop) subtracted:
   CPUID, port I/O, a hypercall, a read of the I/O APIC's window (an
   MMIO read the hypervisor decodes and emulates), an xAPIC EOI (an MMIO
   write it decodes), an x2APIC EOI (an MSR write); and a local APIC
   timer interrupt, from the write that arms it for one tick to its
   handler, the vCPU halting meanwhile. Two columns, one per backend:
   AMD-V under QEMU, and VT-x under Bochs when BOCHS names its binary
   (one CPU and `clock: sync=none`, as the e2e tests boot it: its TSC
   advances one tick per instruction, so the figures count instructions
   as under -icount); without BOCHS that column says why it is missing.
   With tools/insnprof (a QEMU plugin, build/insnprof.so), where each
   AMD-V round trip's instructions go: per hypervisor function, from the
   first repeat of each.
2. Shares: two CPU-bound partitions with shares 2:1 on one CPU; the
   error of the split the hypervisor's accounting shows over 10 s of
   guest time.
3. The cost of an idle neighbour: a busy partition's throughput (its own
   work reports) alone, then with an idle partition (halting, woken by a
   timer tick every 8M TSC ticks) started beside it on its CPU; one run.
   Per 2^29 TSC ticks and, with tools/insnprof, per instruction executed
   on its CPU (the measure test_console_cmds judges a flooding neighbour
   by, which QEMU's split of its one thread between CPUs does not move).
4. One Linux boot (Debian's kernel and initramfs, `make linux`; one vCPU,
   one CPU): instructions from the hypervisor's start to the guest's
   first instruction (the hypervisor logs the TSC ticks) and to the
   guest's ready marker (that, plus the partition's uptime when the
   marker is seen, as `stats -j` gives it), and its VM exits by reason.
5. The network (two Linux partitions on one switch, a vCPU and a CPU
   each; checksum offload on): ping's round trip between them (guest
   time: under -icount a microsecond is a thousand instructions); TCP
   throughput (busybox nc) from one to the other, in wall-clock and in
   guest time; the same transfer over the loopback of one partition, and
   the wall-clock ratio of the two; the hypervisor's instructions per
   frame on the switch's path (the devices' notifications, switching and
   the copy, as `net` counts them in TSC ticks; the VM exits around them
   cost what section 1 says).
6. Disks (one Linux partition, one vCPU, one CPU, its virtual disk on a
   32 MiB GPT partition of a QEMU NVMe disk image): the guest's blkbench
   (guests/linux/blkbench.c: O_DIRECT, sequential read and write of
   16 MiB in 128 KiB requests, 4 KiB random reads at queue depth 1 and
   32 through Linux native AIO) on its virtual disk, then, in the same
   boot with the partition stopped, the hypervisor's own `diskbench`
   with the same patterns through the same block layer and NVMe driver
   (no virtio device) on the same extent; the ratios guest : host of
   their throughputs. Each side times its own patterns: blkbench with
   clock_gettime(CLOCK_MONOTONIC) in the guest (the partition's clock,
   which runs at the host TSC's rate), diskbench with the host TSC from
   its first submission to its last completion; both wait for the disk
   the same way, asleep in HLT until the NVMe's MSI-X message wakes
   CPU 0 (the guest's vCPU halted meanwhile). This section runs with
   -icount shift=0,sleep=on (BENCH_DISK_SLEEP=off for sleep=off): with
   sleep=off a CPU waiting for the disk skips ahead to its next timer at
   once while QEMU's disk works in wall-clock time, so a wait's length
   in guest time is arbitrary; with sleep=on the clock counts
   instructions while a CPU runs and wall-clock time while every CPU is
   idle. What that clock makes of the throughputs: QEMU's NVMe reads
   and writes its image in wall-clock time (the block layer's thread
   pool), which counts in full while the CPU idles and is hidden while
   it runs instructions (TCG takes several wall-clock nanoseconds over
   an instruction the clock counts as one). The guest runs some 15,000
   instructions of its own kernel between its kick and its halt, over
   which the disk's work goes unseen; diskbench idles through all of
   it. So the ratios move with the machine's load (several-fold between
   runs on a shared machine) and can pass 1; they say little about the
   hypervisor.
   With tools/insnprof (build/insnprof.so), a second boot counts the
   instructions instead, which no wall-clock time enters: per 4 KiB
   random read, the guest path's (its kernel and blkbench, and the
   hypervisor under it, VM exits included, between marks in blkbench)
   against the host path's (between marks in diskbench), their ratio
   host / guest (what guest : host throughput would be with a disk that
   took no time), and where the guest path's hypervisor instructions go,
   by function. Without the profiler, the hypervisor's instructions per
   guest request come from `disks`' counters only: its TSC ticks in
   virtio-blk notifications (taking, checking and mapping the chain,
   submitting to the NVMe queue) and in the disk polls that completed
   requests (the driver's completion, the used ring, the interrupt),
   over the guest's requests of every pattern; the VM exits around them
   (the notifying MMIO write, the interrupt's delivery, the halts) are
   not in it. No idle time falls inside those paths, so their ticks
   count instructions with either sleep setting.

Figures only: targets are printed beside them, never asserted. The same
figures go to build/bench/report.md (a table: figure, value, target,
whether it is met) and build/bench/report.json (a list of the same rows).
`ci/bench.py NAME...` runs only the named sections: exits, shares,
neighbour, linux, net, disk.
"""
import bisect
import collections
import glob
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness  # noqa: E402
from test_partitions import SHARES_CFG  # noqa: E402
from test_net import ADDRS, MACS, Guests  # noqa: E402
from test_host_disks import make_image  # noqa: E402
from test_linux import attach, detach, shell  # noqa: E402
from test_console_cmds import on_its_cpu, profiler_fails, work_marks, work_reports  # noqa: E402

CFG = harness.hv_cfg({"bench": {"cmdline": "mode=bench"}})
# The self-test's exit kinds (guests/selftest/selftest.c, bench), in the order it measures them.
EXIT_KINDS = ("cpuid", "port_io", "hypercall", "mmio_read", "xapic_eoi", "x2apic_eoi", "apic_timer")
# Instructions per exit round trip (issue 15), per backend: AMD-V under QEMU 7.2 TCG (no NRIP save, no
# decode assists: the hypervisor reads each exiting instruction), VT-x under Bochs (the exit gives the
# instruction's length; an EPT violation's MMIO access is still decoded).
EXIT_TARGETS = {
    "AMD-V (QEMU)": {"cpuid": 300, "port_io": 200, "hypercall": 300},
    "VT-x (Bochs)": {"cpuid": 150, "port_io": 150, "hypercall": 150, "x2apic_eoi": 150, "mmio_read": 600},
}
# The exit list has one more kind, which has no path to measure.
NO_RESOLVED_NPF = ("No figure for a nested-page fault the hypervisor resolves: it has none to resolve. Guest RAM "
                   "is mapped whole when its partition is created (hv/partition.c, map_ram); a fault in RAM stops "
                   "the partition, and one outside RAM is an MMIO access, decoded and emulated (mmio_read, "
                   "xapic_eoi).")
SHARES_GUEST_MS = 10000

NEIGHBOUR_CFG = harness.hv_cfg({
    "busy": {"cmdline": "mode=work", "cpus": 1},
    "idle": {"cmdline": "mode=idle", "cpus": 1, "autostart": "no"},
})
WORK_REPORTS = 8  # per phase, after one dropped (it may straddle the change)
REPORT_DIR = os.path.join(harness.BUILD, "bench")
# QEMU TCG plugin that counts instructions per address between the self-test's marks (tools/insnprof).
PROFILER = os.path.join(harness.BUILD, "insnprof.so")
BREAKDOWN_SHOWN = 12  # functions per exit kind (or per disk request); the rest are summed as "other"
rows = []
breakdowns = []  # (exit kind, instructions per round trip, [(where, instructions per round trip)])
vtx_steps = []  # (exit kind, "+instructions" per round trip beyond the hypercall's), the hypercall's own first
VTX_STEPS_TEXT = ("the hypercall's round trip is the bare exit path (VM exit and entry with the guest's registers "
                  "saved and loaded, vmx_run's checks before each entry, the scheduler's loop, the dispatch, "
                  "stepping RIP over the instruction with the exit's length); each other kind, what it adds "
                  "(its own handler: the CPUID policy, the device bus, the local APIC, the decoder and emulator "
                  "for MMIO):")
# What would shorten the VT-x exit path, by reading arch/x86/vmx/vmx.c and hv/ (Bochs gives no profile).
VTX_CUTS = ("What would cut the bare path: simple exits (CPUID, VMCALL, port I/O, x2APIC EOI) handled in "
            "vmx_run's loop without returning to the scheduler's loop (vcpu_irq_inject, the dispatch, "
            "keeps_running, and vmx_run's per-call checks of the current VMCS, SYSCALL MSRs and TSC offset); "
            "the preemption timer armed only when the slice end changes, not with a TSC read each entry. "
            "For MMIO: emulating on the vCPU's registers in place instead of copying all sixteen "
            "in and out, and keeping the last decoded instruction with the cached code page.")
disk_breakdowns = []  # (pattern, hypervisor instructions per request, [(where, instructions per request)])


def figure(name, value, unit, target=None, at_least=False, **per_backend):
    """One row of the report: target is an upper bound (a lower one with at_least), or None. An exit
    cost's row names its backend, and, with value None, why it was not measured (per_backend)."""
    met = None if target is None or value is None else value >= target if at_least else value <= target
    rows.append({"figure": name, "value": value, "unit": unit, "target": target,
                 "bound": ">=" if at_least else "<=", "met": met, **per_backend})


def boot(work, cfg, log, smp, extra=()):
    image = harness.make_medium(work, "iso", cfg)
    return harness.boot_qemu("bench", image, log, smp=smp, extra=("-icount", "shift=0,sleep=off", *extra))


def hv_functions():
    """hv.elf's functions (its assembly's labels too) as (sorted start offsets, names), and the end of its code."""
    elf = os.path.join(harness.BUILD, "hv.elf")
    listing = subprocess.run(["nm", "-n", "--defined-only", elf], capture_output=True, text=True, check=True).stdout
    sections = subprocess.run(["objdump", "-h", elf], capture_output=True, text=True, check=True).stdout
    text = next(line.split() for line in sections.splitlines() if line.split()[1:2] == [".text"])
    starts, names = [], []
    for line in listing.splitlines():
        address, kind, name = line.split()
        if kind in "tTW":
            starts.append(int(address, 16))
            names.append(name)
    return starts, names, int(text[3], 16) + int(text[2], 16)


def profile_windows(path):
    """The profiler's windows, in order: each a {address: instructions}."""
    windows = []
    with open(path) as f:
        for line in f:
            if line.startswith("window"):
                windows.append({})
            else:
                address, n = line.split()
                windows[-1][int(address, 16)] = int(n)
    return windows


def breakdown(window, hv_base, rounds):
    """One window's instructions per round trip by hypervisor function, the
    guest's own (its loop and the exiting instruction) as "guest"."""
    starts, names, end = hv_functions()
    where = collections.Counter()
    for address, n in window.items():
        offset = address - hv_base
        if 0 <= offset < end and offset >= starts[0]:
            where[names[bisect.bisect_right(starts, offset) - 1]] += n
        else:
            where["guest"] += n
    shown = where.most_common(BREAKDOWN_SHOWN)
    other = sum(where.values()) - sum(n for _, n in shown)
    return [(name, n / rounds) for name, n in shown] + ([("other", other / rounds)] if other else [])


def middle(values):
    """The median of an odd number of sorted repeats."""
    return values[len(values) // 2]


def exit_figures(run):
    """The bench partition's BENCH lines: rounds, repeats, the baseline loop's ticks a round, and
    each exit kind's figures over its repeats, sorted."""
    base = run.expect(r"BENCH rounds (\d+) repeats (\d+) baseline_ticks (\d+)\s", 300)
    rounds, repeats = int(base.group(1)), int(base.group(2))
    figures = {name: sorted(int(run.expect(rf"BENCH {name} (-?\d+)\s", 300).group(1)) for _ in range(repeats))
               for name in EXIT_KINDS}
    return rounds, repeats, int(base.group(3)) // rounds, figures


def qemu_exit_figures(work, log):
    """AMD-V: exit_figures on QEMU, and with tools/insnprof where each kind's instructions go (breakdowns)."""
    profile = os.path.join(work, "insnprof.txt")
    profiled = os.path.isfile(PROFILER)
    with boot(work, CFG, log, 1, ("-plugin", f"{PROFILER},out={profile}") if profiled else ()) as run:
        hv_base = int(run.expect(r"hv\.elf at 0x([0-9A-Fa-f]+),", 300).group(1), 16)
        rounds, repeats, baseline, figures = exit_figures(run)
    print(f"bench: AMD-V: QEMU TCG -icount shift=0, {rounds} rounds, {repeats} repeats each, "
          f"baseline loop {baseline} instructions a round")
    if not profiled:
        print(f"bench: no breakdown of the AMD-V exit costs: no {os.path.relpath(PROFILER)} (make bench builds it)")
        return figures
    windows = profile_windows(profile)
    for i, (name, values) in enumerate(figures.items()):
        breakdowns.append((name, middle(values), breakdown(windows[i * repeats], hv_base, rounds)))
    return figures


def bochs_exit_figures(work, log):
    """VT-x: exit_figures on Bochs (one CPU, clock sync=none: its TSC counts instructions), or why not."""
    binary, why = harness.bochs_binary()
    if not binary:
        return f"not measured: {why}"
    image = harness.make_medium(work, "usb", CFG)
    with harness.boot_bochs("bench", image, log, cpus=1) as run:
        rounds, repeats, baseline, figures = exit_figures(run)
    print(f"bench: VT-x: Bochs, one CPU, clock sync=none, {rounds} rounds, {repeats} repeats each, "
          f"baseline loop {baseline} instructions a round")
    return figures


def beyond_hypercall(figures):
    """Bochs has no profiler here: the hypercall's round trip (its handler returns a constant) is the bare
    exit path, and each other kind's median less the hypercall's is what its own handling costs."""
    bare = middle(figures["hypercall"])
    return [("hypercall", f"{bare}")] + [(name, f"+{middle(values) - bare}")
                                         for name, values in figures.items() if name != "hypercall"]


def exit_costs(work, log):
    measured = {"AMD-V (QEMU)": qemu_exit_figures(work, log), "VT-x (Bochs)": bochs_exit_figures(work, log)}
    print("bench: instructions per exit round trip (exiting instruction + hypervisor path),")
    print("bench: median of the repeats, [lowest, highest], (target):")
    print("bench:   " + f"{'':10}" + "".join(f"  {backend:34}" for backend in measured))
    for name in EXIT_KINDS:
        cells = []
        for backend, figures in measured.items():
            target = EXIT_TARGETS[backend].get(name)
            values = None if isinstance(figures, str) else figures[name]
            value = None if values is None else middle(values)
            cells.append(figures if values is None else f"{value} [{values[0]}, {values[-1]}]"
                         + (f" (<= {target})" if target else ""))
            figure(f"{name}: instructions per exit round trip", value, "instructions", target, backend=backend,
                   not_measured=figures if values is None else None)
        print(f"bench:   {name:10}" + "".join(f"  {cell:34}" for cell in cells))
    print(f"bench: {NO_RESOLVED_NPF}")
    if not isinstance(measured["VT-x (Bochs)"], str):
        vtx_steps.extend(beyond_hypercall(measured["VT-x (Bochs)"]))
        print(f"bench: VT-x: {VTX_STEPS_TEXT} " + ", ".join(f"{name} {n}" for name, n in vtx_steps))
    if breakdowns:
        print("bench: AMD-V: where a round trip's instructions go (first repeat; guest: its loop and the "
              "exiting instruction):")
    for name, _, parts in breakdowns:
        print(f"bench:   {name}: " + ", ".join(f"{where} {n:.0f}" for where, n in parts))


def share_error(work, log):
    with boot(work, SHARES_CFG, log, 2) as run:
        run.expect_all({n: rf"\[{n}\] SELFTEST start mode=spin" for n in ("heavy", "light")}, 300)
        start = run.cpu_ms(["heavy", "light"])
        now = start
        while sum(now.values()) - sum(start.values()) < SHARES_GUEST_MS:
            time.sleep(2)
            now = run.cpu_ms(["heavy", "light"])
    heavy, light = now["heavy"] - start["heavy"], now["light"] - start["light"]
    got = heavy / (heavy + light)
    print(f"bench: shares 200:100 on one CPU over {heavy + light} ms of guest time: "
          f"{heavy} ms : {light} ms = {heavy / light:.3f} : 1")
    error = abs(got - 2 / 3) / (2 / 3) * 100
    print(f"bench:   share error {error:.2f} % of the heavy partition's due (target <= 2 %)")
    figure("share error, 2:1 on one CPU", round(error, 2), "%", 2)


def per_instruction_cost(alone, beside, marks_path):
    """The same cost as work per instruction executed on the busy one's CPU
    (tools/insnprof's marks, as test_console_cmds judges a flooding
    neighbour): what QEMU's split of its one thread between CPUs does not move."""
    (alone_rate, alone_part, _), (beside_rate, beside_part, _) = (
        on_its_cpu(r, work_marks(marks_path)) for r in (alone, beside))
    cost = (1 - beside_rate / alone_rate) * 100
    print(f"bench:   per million instructions of its CPU: alone {alone_rate * 1e6:.3f}, beside the idle one "
          f"{beside_rate * 1e6:.3f}: {cost:.3f} % less (its CPU's part of all instructions "
          f"{alone_part * 100:.1f} % and {beside_part * 100:.1f} %)")
    figure("idle neighbour's cost, per instruction of the busy one's CPU", round(cost, 3), "%", 1)


def idle_neighbour_cost(work, log):
    marks_path = os.path.join(work, "marks.txt")
    why = profiler_fails(marks_path)
    with boot(work, NEIGHBOUR_CFG, log, 2, () if why else ("-plugin", f"{PROFILER},marks={marks_path}")) as run:
        alone = work_reports(run, WORK_REPORTS)
        run.command("start idle")
        run.expect(r"\[idle\] SELFTEST start mode=idle", 300)
        beside = work_reports(run, WORK_REPORTS)
        ms = run.cpu_ms(["busy", "idle"])
    mean_alone, mean_beside = sum(alone.values()) / len(alone), sum(beside.values()) / len(beside)
    print(f"bench: busy partition's work per 2^29 TSC ticks (mean of {WORK_REPORTS} reports): "
          f"alone {mean_alone:.0f}, beside an idle partition {mean_beside:.0f}")
    cost = (1 - mean_beside / mean_alone) * 100
    print(f"bench:   the idle neighbour costs it {cost:.2f} % "
          f"(the idle one's CPU time so far: {ms['idle']} ms, the busy one's {ms['busy']} ms)")
    figure("idle neighbour's cost to a busy partition", round(cost, 2), "%", 1)
    if why:
        print(f"bench:   not counted per instruction of its CPU: {why}")
    else:
        per_instruction_cost(alone, beside, marks_path)


LINUX_CFG = ("[hypervisor]\nconsole = com1\n\n[partition linux]\nmemory = 256M\nvcpus = 1\n"
             "kernel = vmlinuz\ninitrd = initrd.img\ncmdline = console=ttyS0\n")


def linux_boot(work, log):
    images = [os.path.join(harness.BUILD, "linux", name) for name in ("vmlinuz", "initrd.img")]
    if not all(os.path.isfile(p) for p in images):
        print("bench: Linux boot: SKIP, no build/linux images (`make linux` builds them)")
        return
    image = harness.make_medium(work, "iso", LINUX_CFG, harness.default_files() + images)
    with harness.boot_qemu("bench", image, log, smp=1, extra=("-icount", "shift=0,sleep=off")) as run:
        mhz = float(run.expect(r"hv: tsc: ([\d.]+) MHz", 300).group(1))
        first = int(run.expect(r"partition linux: its first instruction comes (\d+) TSC ticks", 300).group(1))
        run.expect(r"\[linux\] LINUX-READY", 3600)
        run.command("stats -j linux")
        stats = json.loads(run.expect(r"(\{\"name\":\"linux\"[^\n]*\})\r*\n", 60).group(1))
    ready = first + int(stats["uptime_ms"] * mhz * 1000)
    print(f"bench: Linux boot, one vCPU: first guest instruction {first} instructions after the hypervisor's "
          f"start (target <= 5000000); ready marker after {ready} (to within a millisecond's)")
    by_reason = sorted(((n, c) for n, c in stats["exits_by_reason"].items() if c), key=lambda x: -x[1])
    print(f"bench:   {stats['exits']} VM exits to the ready marker, by reason: "
          + ", ".join(f"{n} {c}" for n, c in by_reason))
    figure("Linux boot: first guest instruction after the hypervisor's start", first, "instructions", 5000000)
    figure("Linux boot: ready marker after the hypervisor's start", ready, "instructions")
    figure("Linux boot: VM exits to the ready marker", stats["exits"], "exits")


def report_cells(r):
    """A row's value (or why it has none), target and whether it is met, as report.md's cells."""
    value = r["not_measured"] if r["value"] is None else f"{r['value']} {r['unit']}".rstrip()
    target = "" if r["target"] is None else f"{r['bound']} {r['target']} {r['unit']}".rstrip()
    met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
    return value, target, met


def write_report():
    """build/bench/report.md and report.json from the rows so far."""
    os.makedirs(REPORT_DIR, exist_ok=True)
    with open(os.path.join(REPORT_DIR, "report.json"), "w") as f:
        json.dump(rows, f, indent=1)
    lines = ["# make bench"]
    single = [r for r in rows if "backend" not in r]
    if single:
        lines += ["", "| figure | value | target | met |", "| --- | ---: | ---: | --- |"]
        lines += [f"| {r['figure']} | " + " | ".join(report_cells(r)) + " |" for r in single]
    per_backend = collections.defaultdict(dict)
    for r in rows:
        if "backend" in r:
            per_backend[r["figure"]][r["backend"]] = r
    if per_backend:
        lines += ["", "## Exit round trips, per backend", "",
                  "| figure | " + " | ".join(f"{b} | target | met" for b in EXIT_TARGETS) + " |",
                  "| --- |" + " ---: | ---: | --- |" * len(EXIT_TARGETS)]
        lines += [f"| {name} | " + " | ".join(" | ".join(report_cells(by[b])) for b in EXIT_TARGETS) + " |"
                  for name, by in per_backend.items()]
        lines += ["", NO_RESOLVED_NPF]
    if breakdowns:
        lines += ["", "## Where the exit costs go (AMD-V, QEMU)", "",
                  "Instructions per round trip by hypervisor function (`guest`: the guest's loop and the",
                  "exiting instruction), from tools/insnprof over the first repeat of each.", ""]
        for name, value, parts in breakdowns:
            lines.append(f"- **{name}** ({value}): " + ", ".join(f"{where} {n:.0f}" for where, n in parts))
    if vtx_steps:
        lines += ["", "## Where the exit costs go (VT-x, Bochs)", "",
                  "Instructions per round trip: " + VTX_STEPS_TEXT, ""]
        lines += [f"- **{name}**: {n}" for name, n in vtx_steps]
        lines += ["", VTX_CUTS]
    if disk_breakdowns:
        lines += ["", "## Where a guest's 4 KiB read goes (virtio-blk on NVMe, AMD-V, QEMU)", "",
                  "Instructions per request by hypervisor function, VM exits included (`guest`: the guest's",
                  "kernel and blkbench), from tools/insnprof over blkbench's random reads.", ""]
        for name, value, parts in disk_breakdowns:
            lines.append(f"- **{name}** (hypervisor {value:.0f}): " +
                         ", ".join(f"{where} {n:.0f}" for where, n in parts))
    with open(os.path.join(REPORT_DIR, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"bench: report in {os.path.relpath(REPORT_DIR)}/report.md and report.json")


NET_MIB = int(os.environ.get("BENCH_NET_MIB", "16"))
# a on CPU 0 (which also runs the console), b on CPU 1.
NET_CFG = "[hypervisor]\nconsole = com1\n\n[switch lan]\n" + "".join(
    f"\n[partition {n}]\nmemory = 160M\nvcpus = 1\ncpus = {cpu}\nkernel = vmlinuz\ninitrd = initrd.img\n"
    f"cmdline = console=ttyS0 quiet\nnet = lan mac={MACS[n]}\n" for n, cpu in (("a", 0), ("b", 1)))


def timed_transfer(guests, addr, port):
    """a sends NET_MIB over TCP to a listener at addr:port; (MiB per wall-clock second, per second of a's clock)."""
    stream = f"for i in $(seq {NET_MIB}); do cat /tmp/block; done"
    uptime = "$(cut -d' ' -f1 /proc/uptime)"
    guests.attach("a")
    start = time.monotonic()
    status, begin, end = guests.value("a", "NC", f"s={uptime}; {stream} | nc {addr} {port} >/dev/null 2>&1; "
                                      f"echo $? $s {uptime}", 60 + 60 * NET_MIB).split()
    wall = time.monotonic() - start
    if status != "0":
        print(f"bench:   the transfer to {addr} failed (nc's status {status})")
    return NET_MIB / wall, NET_MIB / (float(end) - float(begin))


# A listener for one connection, its data to nowhere; its stdin never ends (nc stops at the end of
# its stdin as at the end of the stream it receives).
LISTEN = "(sleep 3600 | nc -l -p {} > /dev/null 2>&1 &)"


def switch_ticks(run):
    run.command("net")
    return int(run.expect(r"switching: (\d+) TSC ticks", 20).group(1))


def network(work, log):
    images = [os.path.join(harness.BUILD, "linux", name) for name in ("vmlinuz", "initrd.img")]
    if not all(os.path.isfile(p) for p in images):
        print("bench: network: SKIP, no build/linux images (`make linux` builds them)")
        return
    image = harness.make_medium(work, "iso", NET_CFG, harness.default_files() + images)
    # BENCH_NET_ICOUNT=0: without -icount (then ticks are TSC ticks, not instructions; see the comment below).
    icount = os.environ.get("BENCH_NET_ICOUNT", "1") != "0"
    extra = ("-icount", "shift=0,sleep=off") if icount else ()
    with harness.boot_qemu("bench", image, log, smp=2, extra=extra) as run:
        run.expect_all({n: rf"\[{n}\] LINUX-READY" for n in ("a", "b")}, 3600)
        guests = Guests(run)
        # Each partition's console attached once, b's then a's. (A partition that stopped answering
        # under -icount was QEMU 7.2 delivering an injected timer interrupt twice; the hypervisor
        # prevents it: arch/x86/svm/svm.c, end_run_after_injection.) The counters are read before
        # a's console and after it: a's loopback adds no frame and no tick.
        guests.status("b", f"ip link set eth0 up && ip addr add {ADDRS['b']}/24 dev eth0 && " + LISTEN.format(6000))
        guests.detach()
        frames, ticks = guests.ports(("a", "b")), switch_ticks(run)
        guests.status("a", f"ip link set lo up && ip link set eth0 up && ip addr add {ADDRS['a']}/24 dev eth0 && "
                      + LISTEN.format(6000) + " && dd if=/dev/urandom of=/tmp/block bs=64k count=16")
        rtt = guests.value("a", "RTT", f"ping -c 20 -i 0.2 {ADDRS['b']} | sed -n 's|.*= ||p'", 600)
        loop_wall, loop_guest = timed_transfer(guests, "127.0.0.1", 6000)
        wall, guest = timed_transfer(guests, ADDRS["b"], 6000)
        frames2, ticks2 = guests.ports(("a", "b")), switch_ticks(run)
    sent = sum(frames2[n]["tx"] - frames[n]["tx"] for n in ("a", "b"))
    unit = "hypervisor instructions" if icount else "TSC ticks in the hypervisor (no -icount)"
    print(f"bench: network, two Linux partitions on one switch (a vCPU and a CPU each), {NET_MIB} MiB over TCP:")
    print(f"bench:   ping round trip a -> b, min/avg/max: {rtt} (guest time)")
    print(f"bench:   partition to partition {wall:.2f} MiB/s wall-clock, {guest:.2f} MiB/s in guest time")
    print(f"bench:   loopback of one partition {loop_wall:.2f} MiB/s wall-clock, {loop_guest:.2f} MiB/s in guest time")
    print(f"bench:   wall-clock ratio, partition to partition : loopback = {loop_wall / wall:.2f} : 1 (time taken)")
    print(f"bench:   {sent} frames switched (the transfer, ARP and pings): {(ticks2 - ticks) / max(sent, 1):.0f} "
          f"{unit} per frame on the switch's path")


DISK_PARTS = {"bench": (2048, 65536)}  # first LBA, sectors: 32 MiB, the disk's only partition
DISK_CFG = ("[hypervisor]\nconsole = com1\nlog_level = info\n\n[partition linux]\nmemory = 256M\nvcpus = 1\n"
            "cpus = 0\nkernel = vmlinuz\ninitrd = initrd.img\ncmdline = console=ttyS0 quiet\ndisk = part:bench\n")
# Ratios at least these, guest : host; hypervisor instructions per request at most.
DISK_TARGETS = {"seq_read": 0.95, "seq_write": 0.95, "rand_read qd 1": 0.90, "rand_read qd 32": 0.90}
DISK_INSTRUCTIONS = 3000
BENCH_LINE = r"{} (seq_read|seq_write|rand_read) qd (\d+) bs (\d+) requests (\d+) bytes (\d+) ns (\d+) "


def bench_lines(text, prefix):
    """{"seq_read": (bytes, ns), "rand_read qd 1": ...} from blkbench's or diskbench's lines."""
    found = {}
    for name, qd, _, _, size, ns in re.findall(BENCH_LINE.format(prefix), text):
        found[name if name != "rand_read" else f"{name} qd {qd}"] = (int(size), int(ns))
    return found


def block_counters(run):
    """The guest's requests on its disk, the hypervisor's ticks in notifications and in polls, from `disks`."""
    run.command("disks")
    requests = int(run.expect(r"partition linux: part:bench, [^\n]*?: (\d+) requests", 20).group(1))
    m = run.expect(r"block path: (\d+) TSC ticks in virtio-blk notifications, (\d+) in disk polls", 20)
    return requests, int(m.group(1)), int(m.group(2))


def host_bench(run):
    """The hypervisor's diskbench on the stopped partition's disk: its figures, as bench_lines gives them."""
    run.command("stop -f linux")
    run.expect(r"partition linux: stopped", 120)
    run.command("diskbench -y linux")
    found = {}
    for _ in range(4):
        m = run.expect(BENCH_LINE.format("diskbench:") + r"|diskbench: [^\n]*failed[^\n]*", 1800)
        if m.group(1) is None:
            print(f"bench:   the hypervisor's bench stopped: {m.group(0).strip()}")
            break
        name = m.group(1) if m.group(1) != "rand_read" else f"rand_read qd {m.group(2)}"
        found[name] = (int(m.group(5)), int(m.group(6)))
    return found


def disk_figures(guest, host, before, after):
    print("bench: disks, one Linux partition's virtio-blk disk on a 32 MiB NVMe partition (QEMU), guest time:")
    for name, target in DISK_TARGETS.items():
        if name not in guest or name not in host:
            print(f"bench:   {name}: no figure (guest {name in guest}, host {name in host})")
            continue
        rates = [size / 2 ** 20 / (ns / 1e9) for size, ns in (guest[name], host[name])]
        ratio = rates[0] / rates[1]
        iops = [size / 4096 / (ns / 1e9) for size, ns in (guest[name], host[name])]
        extra = f", {iops[0]:.0f} : {iops[1]:.0f} IOPS" if name.startswith("rand") else ""
        print(f"bench:   {name:16} guest {rates[0]:8.2f} MiB/s, host {rates[1]:8.2f} MiB/s{extra}: "
              f"ratio {ratio:.3f} (target >= {target})")
        figure(f"disk {name}: guest : host throughput", round(ratio, 3), "", target, at_least=True)
    requests = max(after[0] - before[0], 1)
    notify, poll = ((after[i] - before[i]) / requests for i in (1, 2))
    per_request = notify + poll
    print(f"bench:   {per_request:.0f} hypervisor instructions per guest request ({requests} requests): "
          f"{notify:.0f} in the notification, {poll:.0f} in the completing polls; the VM exits not included "
          f"(target <= {DISK_INSTRUCTIONS})")
    figure("disk: hypervisor instructions per guest request", round(per_request), "instructions",
           DISK_INSTRUCTIONS)


# The random-read patterns, in the order the profiler's marks bracket them in blkbench and in diskbench.
DISK_PROFILED = (("rand_read qd 1", 1024), ("rand_read qd 32", 4096))


def disk_profile(medium, image, log, extra):
    """With tools/insnprof, a boot of its own (the profiler slows QEMU, which moves the throughputs): the
    instructions of each 4 KiB random read, the guest's (its kernel, blkbench and the hypervisor under it)
    and the hypervisor's own diskbench, and where the guest's go in the hypervisor."""
    if not os.path.isfile(PROFILER):
        print(f"bench:   no instructions per request: no {os.path.relpath(PROFILER)} (make bench builds it)")
        return
    profile = os.path.join(os.path.dirname(image), "insnprof-disk.txt")
    with harness.boot_qemu("bench", medium, log, smp=1, extra=(*extra, "-plugin", f"{PROFILER},out={profile}")) as run:
        hv_base = int(run.expect(r"hv\.elf at 0x([0-9A-Fa-f]+),", 300).group(1), 16)
        run.expect(r"\[linux\] LINUX-READY", 3600)
        attach(run, "linux")
        shell(run, "blkbench /dev/vda", 3600)
        detach(run)
        host_bench(run)
    windows = profile_windows(profile)
    if len(windows) != 2 * len(DISK_PROFILED):
        print(f"bench:   no instructions per request: {len(windows)} profiler windows, not {2 * len(DISK_PROFILED)}")
        return
    for (name, requests), guest_window, host_window in zip(DISK_PROFILED, windows, windows[len(DISK_PROFILED):]):
        parts = breakdown(guest_window, hv_base, requests)
        total = sum(n for _, n in parts)
        hypervisor = total - sum(n for where, n in parts if where == "guest")
        host = sum(host_window.values()) / requests
        disk_breakdowns.append((name, hypervisor, parts))
        print(f"bench:   {name}: instructions per 4 KiB request: guest path {total:.0f} (the hypervisor's "
              f"{hypervisor:.0f}, VM exits included; target <= {DISK_INSTRUCTIONS}), host path {host:.0f}: "
              f"ratio {host / total:.3f}; the guest's in the hypervisor: "
              + ", ".join(f"{where} {n:.0f}" for where, n in parts if where != "guest"))
        figure(f"disk {name}: hypervisor instructions per 4 KiB request, VM exits included", round(hypervisor),
               "instructions", DISK_INSTRUCTIONS)
        figure(f"disk {name}: guest : host by instructions per request (host / guest)", round(host / total, 3),
               "", DISK_TARGETS[name], at_least=True)


def disk(work, log):
    images = [os.path.join(harness.BUILD, "linux", name) for name in ("vmlinuz", "initrd.img")]
    if not all(os.path.isfile(p) for p in images):
        print("bench: disks: SKIP, no build/linux images (`make linux` builds them)")
        return
    image = os.path.join(work, "bench-disk.img")
    make_image(image, DISK_PARTS, 6)
    medium = harness.make_medium(work, "iso", DISK_CFG, harness.default_files() + images)
    sleep = os.environ.get("BENCH_DISK_SLEEP", "on")
    print(f"bench: disks: -icount shift=0,sleep={sleep}")
    extra = ("-icount", f"shift=0,sleep={sleep}", "-drive", f"file={image},format=raw,if=none,id=d0",
             "-device", "nvme,drive=d0,serial=hvbench")
    with harness.boot_qemu("bench", medium, log, smp=1, extra=extra) as run:
        run.expect(r"\[linux\] LINUX-READY", 3600)
        before = block_counters(run)
        # The console attached once (see network() on partitions that stopped answering under -icount).
        attach(run, "linux")
        guest = bench_lines(shell(run, "blkbench /dev/vda", 3600), "BLKBENCH")
        detach(run)
        after = block_counters(run)
        host = host_bench(run)
    disk_figures(guest, host, before, after)
    disk_profile(medium, image, log, extra)


SECTIONS = {"exits": exit_costs, "shares": share_error, "neighbour": idle_neighbour_cost, "linux": linux_boot,
            "net": network, "disk": disk}


def main():
    chosen = sys.argv[1:] or list(SECTIONS)
    unknown = [n for n in chosen if n not in SECTIONS]
    if unknown:
        print(f"bench: no section {', '.join(unknown)}; there are {', '.join(SECTIONS)}")
        return 2
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, "bench.log")
    with harness.Workdir() as work:
        for name in chosen:
            SECTIONS[name](work, log)
    write_report()
    for path in glob.glob(log + "*"):  # Bochs' own log and its output beside the console's
        os.remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
