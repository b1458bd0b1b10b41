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
   marker is seen, as `stats -j` gives it), and its VM exits by reason;
   then a second boot of the same kernel with `cmdline = console=hvc0`
   and `virtio_console = yes` (its console a virtio-console, not the
   16550): its VM exits to the ready marker by reason (not with --smoke).
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
   instructions instead, which no wall-clock time enters: per request
   of each pattern, the guest path's (its kernel and blkbench, and the
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

7. Scaling: the exit benchmark of section 1 in 1, 2, 4 and 8 partitions
   started at once on QEMU -smp 4 and -smp 8, partition i on CPU i mod
   the CPU count. TCG runs all emulated CPUs in turn in one thread, so
   their TSC deltas count every CPU's instructions; tools/insnprof
   (marks=) counts instead the instructions of the loop's own CPU
   between its marks. Per exit kind and count, the median over every
   partition's loops, baseline loop subtracted: a figure that grows with
   the count is a cost that grows with the CPUs busy.
8. Mixed shares: 8 CPU-bound partitions, shares 100, 200, 300 and 400 on
   each of two CPUs; the largest error of a partition's part of its CPU.
9. Size: lines of source per top-level directory.
Section 4 also counts the Linux partition's VM exits per second of guest
time and by reason, to its ready marker and then idle for 10 s.

--smoke: one short iteration of each section (tests/e2e/test_bench.py
runs it in make test), its report in build/bench-smoke/: QEMU only, two
boots (the self-test sections in one, -smp 2 with the profiler's marks=;
the Linux sections in the other, -icount sleep=off: the network's two
partitions, a with the disk's virtual disk), no exit-cost breakdown nor
profiled disk boot, 1 and 2 partitions for scaling (on -smp 2), 1 s of shares, 2
work reports, 1 MiB and 3 pings on the network.

Figures only: targets are printed beside them, never asserted. The same
figures go to build/bench/report.md (a table: figure, value, target,
whether it is met) and build/bench/report.json (a list of the same rows).
`ci/bench.py NAME...` runs only the named sections: exits, scaling,
shares, mixed-shares, neighbour, linux, net, disk, size.
"""
import bisect
import collections
import contextlib
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
# The nested-page fault the hypervisor resolves, measured once per chunk after the exit kinds.
NPF = "npf"
NPF_FIGURE = "npf: instructions per nested-page fault resolved (a 2 MiB chunk's first touch: zeroed, mapped)"
NPF_TEXT = ("npf: the only nested-page faults the hypervisor resolves are the first touch of each 2 MiB chunk of a "
            "partition's RAM, which it zeroes and maps then (arch/x86/space.c, fill_chunk; at most 128 for "
            "256 MiB); the self-test touches one new chunk a repeat, less a second touch of it. Zeroing 2 MiB "
            "with REP STOSQ is 262,144 of its instructions (each repetition counts as one). A fault outside RAM "
            "is an MMIO access, decoded and emulated (mmio_read, xapic_eoi).")
# --smoke: one iteration of each section, short, to build/bench-smoke (make test runs it: tests/e2e/test_bench.py).
SMOKE = "--smoke" in sys.argv[1:]
SHARES_GUEST_MS = 1000 if SMOKE else 10000

NEIGHBOUR_CFG = harness.hv_cfg({
    "busy": {"cmdline": "mode=work", "cpus": 1},
    "idle": {"cmdline": "mode=idle", "cpus": 1, "autostart": "no"},
})
WORK_REPORTS = 2 if SMOKE else 8  # per phase, after one dropped (it may straddle the change)
REPORT_DIR = os.path.join(harness.BUILD, "bench-smoke" if SMOKE else "bench")
# QEMU TCG plugin that counts instructions per address between the self-test's marks (tools/insnprof).
PROFILER = os.path.join(harness.BUILD, "insnprof.so")
BREAKDOWN_SHOWN = 12  # functions per exit kind (or per disk request); the rest are summed as "other"
rows = []
breakdowns = []  # (exit kind, instructions per round trip, [(where, instructions per round trip)])
step_breakdowns = []  # AMD-V: (exit kind, instructions per round trip, [(AMDV_STEPS' step, instructions)])
vtx_steps = []  # (exit kind, "+instructions" per round trip beyond the hypercall's), the hypercall's own first
VTX_STEPS_TEXT = ("the hypercall's round trip is the bare exit path (VM exit and entry with the guest's registers "
                  "saved and loaded, vmx_run's loop around them, an instruction exit's handler in hv/ called from "
                  "that loop, stepping RIP over the instruction with the exit's length, the test that nothing asked "
                  "for the vCPU's attention); each other kind, what it adds (its own "
                  "handler: the kept CPUID answer, the UART, the local APIC, the decoder and emulator for MMIO):")
# Bochs has no profiler: where a VT-x round trip goes was counted (2026-12-07) along the path the hypercall
# takes in the disassemblies of build/hv.elf and of the self-test guest (objdump -d), branch by branch, at 278;
# the three steps cut since (the same day) are that count less each cut's saving as this bench measured it. What
# would remove each part, by reading arch/x86/vmx/vmx.c, hv/scheduler.c, hv/exits.c and the handlers.
VTX_BARE_STEPS = ("The bare path, by step (instructions of the hypercall's round trip, counted along the path it "
                  "takes in the disassemblies of build/hv.elf and the self-test guest at 278, then less what each "
                  "cut since saved as measured here: they add up to its {total}): {steps}.")
# What the cuts saved on the hypercall's round trip, measured with this bench before and after each commit.
VTX_TIMER_CUT, VTX_ATTENTION_CUT, VTX_FRAME_CUT, VTX_STUB_CUT, VTX_ENTRY_MSR_CUT = 17, 43, 8, 4, 4
# The last cut, by the disassembly: 4 before the entry (the timer's count tested first, the VMCS compare), 2 after.
VTX_VMCS_COMPARE_CUT = (4, 2)
# Then 2 after the exit (the entry's result tested once, not turned into a flag) and step_over's call and return.
VTX_RESULT_CUT, VTX_STEP_INLINE_CUT = 2, 2
VTX_SHARED_VPID_CUT = 2  # the shared VPID's test moved to the run's flag
VTX_EXIT_DONE_INLINE_CUT = 16  # scheduler_exit_done inlined: its call, frame and return
# Then the VMCS compare before each entry (the one after the handler stays) and the total exit count, which is
# now the sum of the counts by reason (measured together: 155 -> 150; the compare by the disassembly).
VTX_VMCS_ONCE_CUT, VTX_EXITS_SUM_CUT = 4, 1
VTX_BARE_STEP_LIST = (("VM entry and exit: vmx_run_guest and vmx_exit_stub (15 guest registers loaded and saved, "
                       "RBP, RBX, R12 and R13 pushed and popped, HOST_RSP written)", 56 - VTX_STUB_CUT),
                      ("the guest's side, its baseline loop's 2 taken off: the VMCALL and the load of RAX, "
                       "the function's number, which the VMCALL's result overwrites (the loop holds nothing else)",
                       2),
                      ("before each entry (vmx_run, prepare_entry): the count of "
                       "entries left before the preemption timer is armed from a TSC read again (each exit saves "
                       "its count; it was 23 instructions of a TSC read at every entry), the EPT/VPID flush "
                       "check (the space's generation), the test of the run's one flag for more work around the "
                       "entry (the PAT by hand, the L1D flush, a shared VPID's flush)",
                       47 - VTX_TIMER_CUT - VTX_ENTRY_MSR_CUT - VTX_VMCS_COMPARE_CUT[0] - VTX_SHARED_VPID_CUT
                       - VTX_VMCS_ONCE_CUT),
                      ("after each exit: GUEST_RSP and the exit reason read, the instruction exit translated, "
                       "the current VMCS checked after the handler (and after a look at the vCPU, when one runs)",
                       38 - VTX_VMCS_COMPARE_CUT[1] - VTX_RESULT_CUT),
                      ("the handler: vcpu_instruction_exit's switch, a tail call of the hypercall's handler, its "
                       "frame (the register that keeps the vCPU) and its switch", 35 - VTX_FRAME_CUT),
                      ("stepping over the instruction (step_over, inlined: RIP, the exit's length, the interruptibility "
                       "state, RFLAGS.TF)", 15 - VTX_STEP_INLINE_CUT),
                      ("whether the guest goes on (scheduler_exit_done, inlined: the exit counters, then one "
                       "test of the vCPU's attention and its CPU's scheduler_look_again; keeps_running and "
                       "vcpu_irq_inject run only when a kick, a write of its APIC or an interrupt still waiting "
                       "asked for it)", 66 - VTX_ATTENTION_CUT - VTX_EXIT_DONE_INLINE_CUT - VTX_EXITS_SUM_CUT))
# Per exit kind whose VT-x target is missed: what its cost is made of beyond the bare path, and what would remove it.
VTX_MISSED = {
    "hypercall": "The bare path itself (above): its VM entry and exit take 52 of the 150, 54 with the guest's "
                 "side. What would remove more: the guest's RSP read after the exits whose handling uses it, "
                 "not after every exit (a VMREAD and a store; the slice's end and everything that reads the "
                 "vCPU's registers from hv/ would then have to read it first).",
    "cpuid": "The bare path, plus the answer the vCPU keeps for the leaf: cpuid_done's frame around the call "
             "(it returns that the instruction is done), then arch_guest_cpuid, a leaf function: the slot "
             "found, its valid flag, leaf and sub-leaf compared, the four registers written; the policy runs "
             "once per leaf. What would remove it: the bare path's cuts; a tail call of the answer from the "
             "dispatch (no frame) and slots that cannot match when empty (no valid flag).",
    "port_io": "The bare path, plus port_out_done's decoding of the access and the UART's own work: its lock and "
               "the register write (the UART is reached without the bus's claim table, and a write of the "
               "scratch register the bench writes leaves the interrupt line alone, already). What would remove "
               "it: the bare path's cuts.",
    "x2apic_eoi": "The bare path, plus the EOI's own way: msr_done's frame around it (a refused write is a "
                  "#GP injected after the call), arch_guest_msr's test for the EOI and the value from EDX:EAX "
                  "(a tail call), vcpu_apic_eoi_msr (x2APIC mode and a zero value checked, the APIC's lock "
                  "taken and released) and vlapic_eoi (the highest vector in service, found from the words "
                  "isr_words names). What would remove it: the bare path's cuts; the #GP injected by the "
                  "MSR's own way, so that msr_done needs no frame.",
    "mmio_read": "The bare path, plus (by the AMD-V breakdown of the same code) the EPT violation's "
                 "guest-physical address and qualification; the code's mode (vmx_guest_mode: CR0, CR3, CR4, "
                 "EFER, RFLAGS, CS base and rights, SS rights) and RIP; the check that the instruction kept "
                 "decoded still holds (space_kept_insn: its linear address and mode, the code page's walk with "
                 "each guest page-table entry re-read, its bytes as two masked words: about 120); the emulator "
                 "on the vCPU's own registers (the decoded form's checks, the operand size, the access: about "
                 "170); the bus (the RAM and APIC page tests, the recent claim for the address read without the "
                 "bus lock, checked whole and against the table's change count, and the device called with it; "
                 "the I/O APIC's register read: about 180); RIP stepped with "
                 "the interrupt shadow and RFLAGS.TF. What would remove more: the bare path's cuts; the "
                 "emulator's dispatch done once and kept with the decoded instruction (its handler and operand "
                 "size); the claim for the faulting address kept with it too, good while the bus's change "
                 "count is unchanged (one compare instead of the recent claim's read and checks).",
}
disk_breakdowns = []  # (pattern, hypervisor instructions per request, [(where, instructions per request)])
disk_missed = []  # report.md's lines on what a request's cost is made of, when a disk target is missed
# In a profiled pattern: how often each function was entered, per request; what each count is.
DISK_EXIT_COUNTS = (("svm_vmrun_return", "VM exits"), ("arch_guest_mmio", "MMIO exits"),
                    ("arch_guest_msr", "MSR exits"), ("svm_event_inject", "events injected"))
DISK_MISSED_TEXT = (
    "**{name}**: a request's guest path is {total:.0f} instructions: the guest's own {guest:.0f} (Linux's block "
    "layer and virtio-blk driver, its interrupt handler, blkbench's system call) and the hypervisor's "
    "{hypervisor:.0f} over {exits:.1f} VM exits ({per_exit:.0f} an exit; {counts}; the rest are HLT, the host's "
    "interrupts and interrupt windows); the host path (diskbench: the block layer and the NVMe driver, no guest "
    "kernel) is {host:.0f}. A hypervisor that took no instructions would leave the ratio by instructions at "
    "{ceiling:.3f}: {verdict}")
# DISK_MISSED_TEXT's verdict: whether the guest's own path alone keeps the ratio under its target.
DISK_VERDICT = {
    True: "with an emulated disk that takes no time, the guest kernel's own block path, not the hypervisor, keeps "
          "this ratio under its target (the throughput ratio sits higher because QEMU's NVMe takes real time "
          "under sleep=on). On a disk whose read takes tens of microseconds it is that time the two paths share; "
          "not measured here.",
    False: "the hypervisor's part is what keeps this ratio under its target.",
}
DISK_MISSED_CUTS = (
    "What would remove the hypervisor's part: fewer exits a request. The completion's interrupt and its EOI "
    "without an exit (posted interrupts and APIC virtualisation on VT-x, AVIC on AMD-V: neither emulated here); "
    "the notification's MMIO write without decoding (AMD-V decode assists or NRIP save, absent in QEMU 7.2; "
    "VT-x gives the instruction's length but the access is still decoded); at queue depth 32, the notifications "
    "left: the device asks for none while requests are in flight (EVENT_IDX's avail_event) and takes the chains "
    "added meanwhile as each completes, so a notification comes only after the queue ran dry, which an emulated "
    "disk that completes at once makes frequent. The halt between requests at queue depth 1 (and between the "
    "sequential patterns' requests, one at a time) is the guest's own. Each exit's own cost: the exit round trips "
    "above.")
# The steps of an AMD-V round trip, each by the hypervisor functions it runs, and what would shorten it; what no
# step names is the exit's own handler (the CPUID policy, the device bus, the local APIC) or the guest's loop.
AMDV_STEPS = (
    ("VMRUN and #VMEXIT", ("svm_run", "svm_run_guest", "svm_vmrun_return", "part_clock_tsc_offset",
                           "translate_exit", "translate_instruction_exit", "translate_io"),
     "the switch itself (VMLOAD, VMRUN, VMSAVE and VMLOAD again, 13 general registers each way) and the VMCB "
     "fields svm_run's loop moves and checks at each VMRUN (RAX, RSP, the TLB flush, the event to inject "
     "again, the lost-state check, the exit code's translation; the TSC offset once per slice), and for an "
     "instruction exit the exit counted and the test that nothing asked for the vCPU's attention "
     "(scheduler_exit_done, inlined into svm_run); little left to cut: clean bits save the CPU work, not "
     "instructions"),
    ("stepping over the instruction", ("svm_skip_instruction", "next_rip_of", "kept_step",
                                       "space_code_walk_unchanged",
                                       "next_rip_by_decode", "remember_step", "space_read_code", "code_page_current",
                                       "read_code_elsewhere", "guest_code_address", "guest_rip_advance"),
     "without NRIP save, an exit from a place the vCPU stepped over before (four steps kept, by RIP) checks "
     "that step still holds (RIP, CS base and attributes, CPL, RFLAGS.VM, CR0, CR3, CR4, EFER, the nested "
     "tables' generation, each guest page-table entry of the code page's walk re-read, the instruction's "
     "bytes) and reuses its next RIP; elsewhere, the bytes at RIP are read through the code cache and "
     "decoded; what is left is that check, which only NRIP save removes. With NRIP "
     "save (CPUID 0x8000000A EDX bit 3: AMD CPUs, newer QEMU; not QEMU 7.2 TCG) this step is one VMCB read, as "
     "for port I/O (EXITINFO2)"),
    ("common exit path", ("vcpu_handle_exit", "skip", "scheduler_main", "scheduler_exit_look",
                          "scheduler_exit_step", "vcpu_irq_inject", "vlapic_takes_extint", "svm_can_inject"),
     "hv/: the exit counted, the checks that the vCPU goes on (its slice, a kick, its timer, its partition's "
     "state) and the interrupt check, from svm_run's loop; CPUID, VMMCALL, port I/O and MSR exits skip "
     "vcpu_handle_exit's dispatch (vcpu_instruction_exit, as VT-x's do) and, unless the vCPU's attention "
     "was asked for, these checks (scheduler_exit_look); little left to cut"),
)
# What would shorten the handler of each exit kind with an AMD-V target (the rest of its round trip).
AMDV_HANDLER_CUTS = {
    "cpuid": "arch/x86/guest_cpu.c compares the vCPU's kept answer for the leaf and sub-leaf and writes the "
             "four registers (each answer computed once, by the host's CPUID and the policy; leaves 1, 0xB, "
             "0x1F, 0xD and 0x8000001E, whose answers follow the guest's state or the host CPU, every time): "
             "little left to cut",
    "port_io": "hv/exits.c: vcpu_instruction_exit's test that the exit is an OUT, port_out_done (the value "
               "masked to the access's size and passed in a register, the UART's ports told from the rest: the "
               "UART is reached without the bus's claim table), then the UART's write (hv/vdev/uart.c bus_write: "
               "its lock, the register's switch; a byte takes no loop, and the scratch register "
               "the bench writes leaves the interrupt line alone); the steps above take most of the target, "
               "leaving the handler fewer instructions than the UART's lock, the decode and a register write "
               "need; little left to cut in the handler (a byte's register is written by bus_write itself, "
               "write_reg inlined)",
    "hypercall": "the hypercall's own switch: little to cut",
}
startup_steps = []  # (step of the hypervisor's start-up, instructions), to the Linux partition's first instruction
FIRST_INSN_TARGET = 5000000
# What is left of the start-up and what would remove it, from the steps' figures and arch/x86/tsc.c.
STARTUP_CUTS = ("What is left: `partitions`, mostly copying the kernel and initrd into the partition's RAM (a REP "
                "MOVSQ iteration, one instruction under -icount, per 8 bytes; the chunks under them are zeroed only "
                "around the copy) and zeroing the chunk of its boot structures; `tsc rate`, one HPET window as long "
                "as its error bound takes to reach 0.01 % (arch/x86/tsc.c), or, on a machine without an HPET, three "
                "10 ms windows against the PIT; `cpus`, the local APIC timer's calibration (until its bound is "
                "0.1 %) and the 0.1 ms wait for its first interrupt. What would remove more: the kernel's pages "
                "handed to the guest without a copy, which needs the boot medium's modules 2 MiB aligned; the TSC's "
                "rate measured while the partitions start, their guests told it once it is known.")


def figure(name, value, unit, target=None, at_least=False, **per_backend):
    """One row of the report: target is an upper bound (a lower one with at_least), or None. An exit
    cost's row names its backend, and, with value None, why it was not measured (per_backend)."""
    met = None if target is None or value is None else value >= target if at_least else value <= target
    rows.append({"figure": name, "value": value, "unit": unit, "target": target,
                 "bound": ">=" if at_least else "<=", "met": met, **per_backend})


def boot(work, cfg, log, smp, extra=()):
    image = harness.make_medium(work, "iso", cfg)
    return harness.boot_qemu("bench", image, log, smp=smp, extra=("-icount", "shift=0,sleep=off", *extra))


def partitions_of(cfg):
    """hv_cfg text's partitions: [(name, its settings' lines, whether it starts at boot)]."""
    found = []
    for section in cfg.split("\n[partition ")[1:]:
        name, _, body = section.partition("]\n")
        lines = [line for line in body.splitlines() if line.strip()]
        settings = [line for line in lines if not line.startswith("autostart")]
        found.append((name, settings, "autostart = no" not in lines))
    return found


# --smoke: the self-test sections share one boot (-smp 2, the profiler's marks=), each starting its partitions
# (the ones its own boot would start) and forcing them all off when done.
shared = {}


def shared_boot(work, log, cfgs):
    """The one boot of cfgs' partitions, none started."""
    text = "[hypervisor]\nconsole = com1\n" + "".join(
        f"\n[partition {name}]\n" + "".join(f"{line}\n" for line in lines) + "autostart = no\n"
        for cfg in cfgs for name, lines, _ in partitions_of(cfg))
    run = boot(work, text, log, SCALING_SMP[0], ("-plugin", f"{PROFILER},marks={os.path.join(work, 'marks.txt')}"))
    run.expect(r"hv> ", 300)
    return run


class SharedPartitions:
    """A section's partitions in the shared boot, for the length of a with statement."""

    def __init__(self, cfg):
        self.partitions = partitions_of(cfg)

    def __enter__(self):
        for name, _, starts in self.partitions:
            if starts:
                shared["selftest"].command(f"start {name}")
        return shared["selftest"]

    def __exit__(self, *exc):
        run = shared["selftest"]
        for name, _, _ in self.partitions:
            run.command(f"stop -f {name}")
            run.expect(rf"partition {name}: stopped|{name}: refused: it is not running", 60)


def selftest_boot(work, cfg, log, smp, extra=()):
    """A self-test section's boot of cfg: its own, or its partitions in the shared one (--smoke)."""
    return SharedPartitions(cfg) if SMOKE else boot(work, cfg, log, smp, extra)


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


def by_function(window, hv_base):
    """One window's instructions by hypervisor function, the guest's own (its loop and the exiting
    instruction) as "guest"."""
    starts, names, end = hv_functions()
    where = collections.Counter()
    for address, n in window.items():
        offset = address - hv_base
        if 0 <= offset < end and offset >= starts[0]:
            where[names[bisect.bisect_right(starts, offset) - 1]] += n
        else:
            where["guest"] += n
    return where


def amdv_steps(where, rounds):
    """AMDV_STEPS' instructions per round trip from by_function's counts; the rest as the handler's."""
    def step_of(name):
        # Assembly's local labels (..@N.name) are inside svm_run_guest; GCC's clones (name.isra.0) are name.
        function = name if name.startswith("..@") else name.split(".")[0]
        return next((step for step, functions, _ in AMDV_STEPS
                     if function in functions or (name.startswith("..@") and "svm_run_guest" in functions)), None)
    steps = collections.Counter()
    for name, n in where.items():
        steps[step_of(name) or ("guest" if name == "guest" else "the exit's handler")] += n
    order = [step for step, _, _ in AMDV_STEPS] + ["the exit's handler", "guest"]
    return [(step, steps[step] / rounds) for step in order if steps[step]]


def breakdown(window, hv_base, rounds):
    """One window's instructions per round trip by hypervisor function, the
    guest's own (its loop and the exiting instruction) as "guest"."""
    where = by_function(window, hv_base)
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
    chunks = int(run.expect(r"BENCH npf chunks (\d+)\s", 300).group(1))
    figures[NPF] = sorted(int(run.expect(r"BENCH npf (-?\d+)\s", 300).group(1)) for _ in range(chunks))
    return rounds, repeats, int(base.group(3)) // rounds, figures


def qemu_exit_figures(work, log):
    """AMD-V: exit_figures on QEMU, and with tools/insnprof where each kind's instructions go (breakdowns)."""
    profile = os.path.join(work, "insnprof.txt")
    profiled = os.path.isfile(PROFILER) and not SMOKE  # the profiler slows QEMU several-fold
    with selftest_boot(work, CFG, log, 1, ("-plugin", f"{PROFILER},out={profile}") if profiled else ()) as run:
        hv_base = int(run.expect(r"hv\.elf at 0x([0-9A-Fa-f]+),", 300).group(1), 16) if profiled else None
        rounds, repeats, baseline, figures = exit_figures(run)
    print(f"bench: AMD-V: QEMU TCG -icount shift=0, {rounds} rounds, {repeats} repeats each, "
          f"baseline loop {baseline} instructions a round")
    if not profiled:
        why = "--smoke" if SMOKE else f"no {os.path.relpath(PROFILER)} (make bench builds it)"
        print(f"bench: no breakdown of the AMD-V exit costs: {why}")
        return figures
    windows = profile_windows(profile)
    for i, name in enumerate(EXIT_KINDS):
        values, window = figures[name], windows[i * repeats]
        breakdowns.append((name, middle(values), breakdown(window, hv_base, rounds)))
        step_breakdowns.append((name, middle(values), amdv_steps(by_function(window, hv_base), rounds)))
    if figures[NPF]:
        breakdowns.append((NPF, middle(figures[NPF]), breakdown(windows[len(EXIT_KINDS) * repeats], hv_base, 1)))
    return figures


def bochs_exit_figures(work, log):
    """VT-x: exit_figures on Bochs (one CPU, clock sync=none: its TSC counts instructions), or why not."""
    binary, why = harness.bochs_binary()
    if SMOKE:
        return "not measured: --smoke runs QEMU only"
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
    return [("hypercall", f"{bare}")] + [(name, f"+{middle(figures[name]) - bare}")
                                         for name in EXIT_KINDS if name != "hypercall"]


def vtx_bare_steps():
    return VTX_BARE_STEPS.format(total=sum(n for _, n in VTX_BARE_STEP_LIST),
                                 steps="; ".join(f"{what}: {n}" for what, n in VTX_BARE_STEP_LIST))


def vtx_missed():
    """The VT-x exit kinds whose target the figures so far miss: (kind, figure, target)."""
    return [(r["figure"].split(":")[0], r["value"], r["target"]) for r in rows
            if r.get("backend") == "VT-x (Bochs)" and r["met"] is False]


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
    npf_figures(measured)
    if not isinstance(measured["VT-x (Bochs)"], str):
        vtx_steps.extend(beyond_hypercall(measured["VT-x (Bochs)"]))
        print(f"bench: VT-x: {VTX_STEPS_TEXT} " + ", ".join(f"{name} {n}" for name, n in vtx_steps))
        print(f"bench: VT-x: {vtx_bare_steps()}")
        for name, value, target in vtx_missed():
            print(f"bench: VT-x: {name} {value} (target <= {target}): {VTX_MISSED[name]}")
    if breakdowns:
        print("bench: AMD-V: where a round trip's instructions go (first repeat; guest: its loop and the "
              "exiting instruction):")
    for name, _, parts in breakdowns:
        print(f"bench:   {name}: " + ", ".join(f"{where} {n:.0f}" for where, n in parts))
    for line in amdv_missed_lines():
        print(f"bench: {line}")


def npf_figures(measured):
    """Instructions per nested-page fault resolved, per backend: the median over the chunks touched."""
    cells = []
    for backend, figures in measured.items():
        values = figures if isinstance(figures, str) else figures[NPF]
        if not isinstance(values, str) and not values:
            values = "not measured: no 2 MiB chunk of the partition's RAM above its image and page tables"
        value = None if isinstance(values, str) else middle(values)
        cells.append(values if value is None else f"{value} [{values[0]}, {values[-1]}]")
        figure(NPF_FIGURE, value, "instructions", backend=backend, not_measured=values if value is None else None)
    print(f"bench:   {NPF:10}" + "".join(f"  {cell:34}" for cell in cells))
    print(f"bench: {NPF_TEXT}")


def amdv_missed_lines():
    """For each AMD-V target missed: its round trip in AMDV_STEPS' steps; then what would shorten each step."""
    targets = EXIT_TARGETS["AMD-V (QEMU)"]
    missed = [(name, value, steps) for name, value, steps in step_breakdowns
              if name in targets and value > targets[name]]
    if not missed:
        return []
    lines = ["AMD-V targets missed, each round trip in steps (instructions):"]
    lines += [f"  {name} {value} (<= {targets[name]}): " + ", ".join(f"{step} {n:.0f}" for step, n in steps)
              for name, value, steps in missed]
    lines += ["What would shorten each step:"] + [f"  {step}: {cut}" for step, _, cut in AMDV_STEPS]
    lines += [f"  the exit's handler, {name}: {AMDV_HANDLER_CUTS[name]}" for name, _, _ in missed]
    return lines


def share_error(work, log):
    with selftest_boot(work, SHARES_CFG, log, 2) as run:
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


# Scaling: the exit benchmark in 1, 2, 4 and 8 partitions at once, partition i on CPU (i + 1) mod smp: CPU 0
# runs the console too, whose polling would count in a loop there, so it gets a partition last.
SCALING_SMP = (2,) if SMOKE else (4, 8)  # --smoke: the CPUs of its shared boot
SCALING_COUNTS = (1, 2) if SMOKE else (1, 2, 4, 8)
SCALING_ROUND_SECONDS = 900  # all partitions of a round done (measured: under 3 min with 8 on a loaded machine)


def scaling_cfg(smp):
    return harness.hv_cfg({f"b{i}": {"cmdline": "mode=bench", "cpus": (i + 1) % smp, "autostart": "no"}
                           for i in range(max(SCALING_COUNTS))})


def loops_on_their_cpus(lines):
    """{exit kind: [each measured loop's instructions on its CPU]} from the profiler's start and stop lines. A
    start's kind is the number of kind marks before it; a stop pairs with its CPU's last start. A stop with no
    start open is dropped (another partition's loop began on that CPU meanwhile and took the start)."""
    open_at, loops = {}, collections.defaultdict(list)
    for fields in (line.split() for line in lines):
        if fields[0] == "start":
            kind = int(fields[3])
            open_at[fields[1]] = (int(fields[2]), EXIT_KINDS[kind - 1]) if 1 <= kind <= len(EXIT_KINDS) else None
        elif fields[0] == "stop" and open_at.get(fields[1]):
            began, kind = open_at.pop(fields[1])
            loops[kind].append(int(fields[2]) - began)
    return loops


def scaling_round(run, marks_path, count):
    """count bench partitions started at once, to their exit: per exit kind, the median over all their loops
    of the instructions their CPU executed per round, the baseline loop not subtracted."""
    with open(marks_path) as f:
        seen = len(f.readlines())
    for i in range(count):
        run.command(f"start b{i}")
    run.expect_all({f"b{i}": rf"partition b{i}: stopped: exited" for i in range(count)}, SCALING_ROUND_SECONDS)
    with open(marks_path) as f:
        loops = loops_on_their_cpus(f.readlines()[seen:])
    return {kind: middle(sorted(loops[kind])) / 1000 for kind in EXIT_KINDS}


def scaling(work, log):
    marks_path = os.path.join(work, "marks.txt")
    why = profiler_fails(os.path.join(work, "probe.txt"))
    if why:
        print(f"bench: scaling: SKIP, the instructions of each CPU are counted by tools/insnprof: {why}")
        return
    for smp in SCALING_SMP:
        with selftest_boot(work, scaling_cfg(smp), log, smp, ("-plugin", f"{PROFILER},marks={marks_path}")) as run:
            if not SMOKE:
                run.expect(r"hv> ", 300)
            per_round = {}
            for count in SCALING_COUNTS:
                try:
                    per_round[count] = scaling_round(run, marks_path, count)
                except AssertionError as stuck:  # a partition still runs (or hangs): the next round cannot start
                    print(f"bench: scaling, -smp {smp}, {count} partitions: not all done within "
                          f"{SCALING_ROUND_SECONDS} s, no figures for {count} or more: {str(stuck).splitlines()[0]}")
                    break
            # The first round's, b0 alone: its ticks count instructions.
            baseline = int(re.search(r"\[b0\] BENCH rounds \d+ repeats \d+ baseline_ticks (\d+)", run.text()).group(1))
        if per_round:
            scaling_figures(smp, per_round, baseline)


def scaling_figures(smp, per_round, baseline_ticks):
    """Per exit kind and partition count, instructions per round trip on the partition's CPU, less the baseline
    loop's (measured by the guest in ticks in the first round, alone: instructions then)."""
    baseline = baseline_ticks / 1000
    print(f"bench: scaling, -smp {smp}, partition i on CPU (i + 1) mod {smp}, instructions per exit round trip on its "
          f"CPU (tools/insnprof; median over the partitions' loops, baseline loop {baseline:.0f} subtracted):")
    print("bench:   " + f"{'partitions':12}" + "".join(f"{count:>9}" for count in per_round) + "   growth 1 ->"
          f" {max(per_round)}")
    for kind in EXIT_KINDS:
        values = [round(figures[kind] - baseline) for figures in per_round.values()]
        growth = (values[-1] - values[0]) / values[0] * 100
        print(f"bench:   {kind:12}" + "".join(f"{v:>9}" for v in values) + f"   {growth:+.1f} %")
        for count, value in zip(per_round, values):
            figure(f"{kind}: instructions per exit round trip", value, "instructions", smp=smp, partitions=count)


MIXED_SHARES = (100, 200, 300, 400)
# Each CPU runs one partition of each share (a* on CPU 0, b* on CPU 1): each is due share / 1000 of its CPU.
MIXED_CFG = harness.hv_cfg({f"{side}{share}": {"cmdline": "mode=spin", "cpus": cpu, "share": share}
                            for cpu, side in enumerate("ab") for share in MIXED_SHARES})


def mixed_share_error(work, log):
    names = [f"{side}{share}" for side in "ab" for share in MIXED_SHARES]
    with selftest_boot(work, MIXED_CFG, log, 2) as run:
        run.expect_all({n: rf"\[{n}\] SELFTEST start mode=spin" for n in names}, 300)
        start = run.cpu_ms(names)
        now = start
        while sum(now.values()) - sum(start.values()) < 2 * SHARES_GUEST_MS:
            time.sleep(2)
            now = run.cpu_ms(names)
    used = {n: now[n] - start[n] for n in names}
    errors = {}
    for side in "ab":
        cpu_total = sum(used[f"{side}{share}"] for share in MIXED_SHARES)
        for share in MIXED_SHARES:
            due = share / sum(MIXED_SHARES)
            errors[f"{side}{share}"] = abs(used[f"{side}{share}"] / cpu_total - due) / due * 100
    print(f"bench: shares 100, 200, 300, 400 on each of two CPUs (8 partitions), over "
          f"{sum(used.values())} ms of guest time: " + ", ".join(f"{n} {used[n]} ms" for n in names))
    worst = max(errors, key=errors.get)
    print("bench:   share error, each of its CPU's due: " + ", ".join(f"{n} {errors[n]:.2f} %" for n in names)
          + f"; the largest {errors[worst]:.2f} % ({worst}) (target <= 2 %)")
    figure("share error, 8 partitions of shares 100 to 400 on two CPUs (the largest)", round(errors[worst], 2),
           "%", 2)


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
    why = profiler_fails(os.path.join(work, "probe.txt"))
    profiler = () if why else ("-plugin", f"{PROFILER},marks={marks_path}")
    with selftest_boot(work, NEIGHBOUR_CFG, log, 2, profiler) as run:
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
# The same boot, its console the paravirtual one.
LINUX_HVC_CFG = LINUX_CFG.replace("console=ttyS0", "console=hvc0") + "virtio_console = yes\n"


# The first measurement's VM exits of a Linux boot to its ready marker (2026-12-06: 48,706, io 42,258);
# issue 15's target is half of it.
LINUX_BOOT_EXITS_TARGET = 48706 // 2
LINUX_IDLE_MS = 10000
# What the boot's port I/O exits are made of, for the report (filled by linux_figures).
linux_boot_notes = []
LINUX_IO_TEXT = (
    "{io} of the boot's {exits} VM exits are port I/O, and the guest wrote {console} bytes to its console "
    "(ttyS0) by then: {per_byte:.2f} port I/O exits a byte. Until its tty is opened, Linux's 8250 console "
    "writes one byte per OUT to THR and reads LSR before each (two exits a byte, whatever the virtual UART "
    "answers); once it is open, it fills the transmit FIFO after one LSR read. The hypervisor cannot take "
    "these exits away while the guest's console is an emulated UART; a paravirtual console does (below), "
    "as would fewer boot messages (`quiet`, as Debian's installed systems boot).")
LINUX_HVC_TEXT = (
    "With `cmdline = console=hvc0` and `virtio_console = yes` (the same kernel and initramfs, its console "
    "a virtio-console) the boot to the ready marker makes {exits} VM exits ({ratio:.0%} of the ttyS0 boot's "
    "{uart_exits}), {io} of them port I/O, for {console} console bytes: {per_byte:.3f} port I/O exits a byte. "
    "Each notification of the transmit queue is one MMIO write, its chains given back before the write "
    "returns: {mmio} mmio exits, {mmio_more} more than the ttyS0 boot's (the device's setup among them): at "
    "least {per_notify:.0f} console bytes a notification on average. The port I/O left is not the console's: the ttyS0 boot makes about as many ({uart_other}) "
    "beyond its two a console byte. The kernel's messages from before its virtio_console module loaded are "
    "printed on hvc0 by the guest's init, counted in the console bytes.")


def linux_stats(run, name):
    """The partition's `stats -j`."""
    run.command(f"stats -j {name}")
    return json.loads(run.expect(rf"(\{{\"name\":\"{name}\"[^\n]*\}})\r*\n", 60).group(1))


def exit_figures_over(label, stats, since=None):
    """The VM exits between two `stats -j` (or since the partition's start): their number, per second of
    guest time (the partition's uptime) and by reason, printed and as figures."""
    since = since or {"exits": 0, "uptime_ms": 0, "exits_by_reason": {}}
    exits = stats["exits"] - since["exits"]
    seconds = (stats["uptime_ms"] - since["uptime_ms"]) / 1000
    by_reason = sorted(((reason, n - since["exits_by_reason"].get(reason, 0))
                        for reason, n in stats["exits_by_reason"].items()), key=lambda x: -x[1])
    by_reason = [(reason, n) for reason, n in by_reason if n]
    print(f"bench:   {label}: {exits} VM exits over {seconds:.3f} s of guest time, {exits / seconds:.0f} a second; "
          "by reason: " + ", ".join(f"{reason} {n}" for reason, n in by_reason))
    figure(f"{label}: VM exits", exits, "exits", LINUX_BOOT_EXITS_TARGET if label.endswith("ready marker") else None)
    figure(f"{label}: VM exits per second of guest time", round(exits / seconds, 1), "exits/s")
    for reason, n in by_reason:
        figure(f"{label}: VM exits by reason: {reason}", n, "exits")


def io_figures(ready):
    """The console bytes a booting Linux wrote, beside its port I/O exits: a figure and the report's note."""
    console, io = ready["console_bytes"], ready["exits_by_reason"].get("io", 0)
    per_byte = io / console if console else 0
    print(f"bench:   {console} console bytes written by the ready marker: {per_byte:.2f} port I/O exits a byte")
    figure("Linux boot to the ready marker: console bytes written", console, "bytes")
    linux_boot_notes.append(LINUX_IO_TEXT.format(io=io, exits=ready["exits"], console=console, per_byte=per_byte))


def linux_figures(run, name):
    """A Linux partition, one vCPU, booting from the hypervisor's start: instructions to its first
    instruction and to its ready marker, its exits to the marker, then its exits idle over LINUX_IDLE_MS of
    its guest time (nobody attached: its console's shell waits for input). Returns its `stats -j` at the
    ready marker."""
    mhz = float(run.expect(r"hv: tsc: ([\d.]+) MHz", 300).group(1))
    steps = run.expect(r"hv: start-up, TSC ticks a step: ([^\r\n]*)\r", 300).group(1)
    first = int(run.expect(rf"partition {name}: its first instruction comes (\d+) TSC ticks", 300).group(1))
    startup_steps[:] = [(step, int(n)) for step, n in (part.strip().rsplit(" ", 1) for part in steps.split(","))]
    startup_steps.append(("the scheduler to the first instruction", first - sum(n for _, n in startup_steps)))
    run.expect(rf"\[{name}\] LINUX-READY", 3600)
    ready = linux_stats(run, name)
    idle = ready
    while idle["uptime_ms"] - ready["uptime_ms"] < LINUX_IDLE_MS:
        time.sleep(1)
        idle = linux_stats(run, name)
    at_ready = first + int(ready["uptime_ms"] * mhz * 1000)
    print(f"bench: Linux boot, one vCPU: first guest instruction {first} instructions after the hypervisor's "
          f"start (target <= {FIRST_INSN_TARGET}); ready marker after {at_ready} (to within a millisecond's)")
    print("bench:   the start-up's steps: " + ", ".join(f"{step} {n}" for step, n in startup_steps))
    figure("Linux boot: first guest instruction after the hypervisor's start", first, "instructions",
           FIRST_INSN_TARGET)
    figure("Linux boot: ready marker after the hypervisor's start", at_ready, "instructions")
    exit_figures_over("Linux boot to the ready marker", ready)
    io_figures(ready)
    exit_figures_over(f"Linux idle, {LINUX_IDLE_MS // 1000} s of guest time or more", idle, ready)
    return ready


def linux_images(section):
    """The Linux guest's kernel and initramfs, or None (and the section says why it skips)."""
    images = [os.path.join(harness.BUILD, "linux", name) for name in ("vmlinuz", "initrd.img")]
    if all(os.path.isfile(p) for p in images):
        return images
    print(f"bench: {section}: SKIP, no build/linux images (`make linux` builds them)")
    return None


def hvc_figures(run, name, uart_ready):
    """The Linux boot with console=hvc0: its exits to the ready marker by reason, beside the ttyS0 boot's
    (uart_ready: its `stats -j` at the marker)."""
    run.expect(rf"\[{name}\] LINUX-READY", 3600)
    ready = linux_stats(run, name)
    console, io = ready["console_bytes"], ready["exits_by_reason"].get("io", 0)
    per_byte = io / console if console else 0
    exit_figures_over("Linux boot, console=hvc0 (virtio-console), to the ready marker", ready)
    print(f"bench:   {console} console bytes written by the ready marker: {per_byte:.3f} port I/O exits a byte")
    figure("Linux boot, console=hvc0 (virtio-console), to the ready marker: console bytes written", console, "bytes")
    mmio, uart_mmio = ready["exits_by_reason"].get("mmio", 0), uart_ready["exits_by_reason"].get("mmio", 0)
    uart_other = uart_ready["exits_by_reason"].get("io", 0) - 2 * uart_ready["console_bytes"]
    linux_boot_notes.extend(["", LINUX_HVC_TEXT.format(
        exits=ready["exits"], ratio=ready["exits"] / uart_ready["exits"], uart_exits=uart_ready["exits"], io=io,
        console=console, per_byte=per_byte, mmio=mmio, mmio_more=mmio - uart_mmio,
        per_notify=console / max(mmio - uart_mmio, 1), uart_other=uart_other)])


def linux_boot(work, log):
    images = linux_images("Linux boot")
    if not images:
        return
    if SMOKE:
        linux_figures(shared["linux"], LINUX_NAME)
        print("bench:   no console=hvc0 boot (a second Linux boot, its own): --smoke")
        return
    image = harness.make_medium(work, "iso", LINUX_CFG, harness.default_files() + images)
    with harness.boot_qemu("bench", image, log, smp=1, extra=("-icount", "shift=0,sleep=off")) as run:
        uart_ready = linux_figures(run, "linux")
    image = harness.make_medium(work, "iso", LINUX_HVC_CFG, harness.default_files() + images)
    with harness.boot_qemu("bench", image, log, smp=1, extra=("-icount", "shift=0,sleep=off")) as run:
        hvc_figures(run, "linux", uart_ready)


def report_cells(r):
    """A row's value (or why it has none), target and whether it is met, as report.md's cells."""
    value = r["not_measured"] if r["value"] is None else f"{r['value']} {r['unit']}".rstrip()
    target = "" if r["target"] is None else f"{r['bound']} {r['target']} {r['unit']}".rstrip()
    met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
    return value, target, met


def scaling_tables():
    """report.md's scaling section: per -smp, instructions per exit round trip per number of busy partitions."""
    by_smp = collections.defaultdict(lambda: collections.defaultdict(dict))
    for r in rows:
        if "smp" in r:
            by_smp[r["smp"]][r["figure"].split(":")[0]][r["partitions"]] = r["value"]
    lines = []
    for smp, kinds in by_smp.items():
        counts = sorted(next(iter(kinds.values())))
        lines += ["", f"## Scaling: instructions per exit round trip with N partitions busy at once (AMD-V, QEMU "
                  f"-smp {smp})", "", f"Partition i on CPU (i + 1) mod {smp}; each figure counts the "
                  "instructions executed on the partition's own CPU (tools/insnprof), the median over all the "
                  "partitions' loops, baseline loop subtracted. A figure that grows along its row is a cost that "
                  "grows with the CPUs busy.", "",
                  "| exit kind | " + " | ".join(f"N = {n}" for n in counts) + " |",
                  "| --- |" + " ---: |" * len(counts)]
        lines += [f"| {kind} | " + " | ".join(str(per[n]) for n in counts) + " |" for kind, per in kinds.items()]
    return lines


def startup_lines():
    """report.md's breakdown of the start-up to the Linux partition's first instruction, and, when that misses
    its target, what is left and what would remove it."""
    if not startup_steps:
        return []
    first = sum(n for _, n in startup_steps)
    lines = ["", "## Where the start-up goes (AMD-V, QEMU, one CPU)", "",
             f"Instructions from the hypervisor's start to the Linux partition's first ({first}), per step of "
             "the start-up (the hypervisor's `start-up` log line; `pci`: the host's PCI functions found and their "
             "BARs sized, before the other CPUs start; `disks (later)`: no partition names a host disk, so their "
             "drivers start once the partition runs), then the scheduler to the partition's first "
             "instruction.", ""]
    lines += [f"- **{step}**: {n}" for step, n in startup_steps]
    if first > FIRST_INSN_TARGET:
        lines += ["", STARTUP_CUTS]
    return lines


def write_report():
    """build/bench/report.md and report.json from the rows so far."""
    os.makedirs(REPORT_DIR, exist_ok=True)
    with open(os.path.join(REPORT_DIR, "report.json"), "w") as f:
        json.dump(rows, f, indent=1)
    lines = ["# make bench"]
    single = [r for r in rows if "backend" not in r and "smp" not in r]
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
        lines += ["", NPF_TEXT]
    lines += scaling_tables()
    if breakdowns:
        lines += ["", "## Where the exit costs go (AMD-V, QEMU)", "",
                  "Instructions per round trip by hypervisor function (`guest`: the guest's loop and the",
                  "exiting instruction), from tools/insnprof over the first repeat of each.", ""]
        for name, value, parts in breakdowns:
            lines.append(f"- **{name}** ({value}): " + ", ".join(f"{where} {n:.0f}" for where, n in parts))
        missed = amdv_missed_lines()
        if missed:
            lines += ["", missed[0], ""] + [f"- {line.strip()}" if line.startswith("  ") else f"\n{line}\n"
                                            for line in missed[1:]]
    if vtx_steps:
        lines += ["", "## Where the exit costs go (VT-x, Bochs)", "",
                  "Instructions per round trip: " + VTX_STEPS_TEXT, ""]
        lines += [f"- **{name}**: {n}" for name, n in vtx_steps]
        lines += ["", vtx_bare_steps()]
        missed = vtx_missed()
        if missed:
            lines += ["", "Targets missed: what each cost is made of, and what would remove it.", ""]
            lines += [f"- **{name}** ({value}, target <= {target}): {VTX_MISSED[name]}"
                      for name, value, target in missed]
    if linux_boot_notes:
        lines += ["", "## What a Linux boot's VM exits are made of", ""] + linux_boot_notes
    if disk_breakdowns:
        lines += ["", "## Where a guest's disk request goes (virtio-blk on NVMe, AMD-V, QEMU)", "",
                  "Instructions per request by hypervisor function, VM exits included (`guest`: the guest's",
                  "kernel and blkbench), from tools/insnprof over each of blkbench's patterns.", ""]
        for name, value, parts in disk_breakdowns:
            lines.append(f"- **{name}** (hypervisor {value:.0f}): " +
                         ", ".join(f"{where} {n:.0f}" for where, n in parts))
    if any(r["figure"].startswith("disk") and r["met"] is False for r in rows) and disk_missed:
        lines += ["", "Disk targets missed: what a request's cost is made of, and what would remove it.", ""]
        lines += [f"- {text}" for text in disk_missed] + ["", DISK_MISSED_CUTS]
    lines += startup_lines()
    with open(os.path.join(REPORT_DIR, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"bench: report in {os.path.relpath(REPORT_DIR)}/report.md and report.json")


NET_MIB = int(os.environ.get("BENCH_NET_MIB", "1" if SMOKE else "16"))
NET_PINGS = 3 if SMOKE else 20
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
    images = linux_images("network")
    if not images:
        return
    # BENCH_NET_ICOUNT=0: without -icount (then ticks are TSC ticks, not instructions; see the comment below).
    icount = os.environ.get("BENCH_NET_ICOUNT", "1") != "0" or SMOKE
    extra = ("-icount", "shift=0,sleep=off") if icount else ()
    with linux_run(lambda: harness.boot_qemu("bench", harness.make_medium(work, "iso", NET_CFG, harness.default_files()
                                                                         + images), log, smp=2, extra=extra)) as run:
        for n in ("a", "b"):  # in the whole log: --smoke's Linux section may have read past them
            run.wait_in_log(rf"\[{n}\] LINUX-READY", 0, 3600)
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
        rtt = guests.value("a", "RTT", f"ping -c {NET_PINGS} -i 0.2 {ADDRS['b']} | sed -n 's|.*= ||p'", 600)
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
    per_frame = (ticks2 - ticks) / max(sent, 1)
    print(f"bench:   {sent} frames switched (the transfer, ARP and pings): {per_frame:.0f} "
          f"{unit} per frame on the switch's path")
    figure("network: ping round trip between two partitions, average (guest time)", float(rtt.split("/")[1]), "ms")
    figure("network: TCP partition to partition, guest time", round(guest, 2), "MiB/s")
    figure("network: TCP over one partition's loopback, guest time", round(loop_guest, 2), "MiB/s")
    figure("network: wall-clock time partition to partition over loopback's", round(loop_wall / wall, 2), "")
    figure("network: switch's path per frame", round(per_frame), "instructions" if icount else "TSC ticks")


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
    requests = int(run.expect(rf"partition {LINUX_NAME}: part:bench, [^\n]*?: (\d+) requests", 20).group(1))
    m = run.expect(r"block path: (\d+) TSC ticks in virtio-blk notifications, (\d+) in disk polls", 20)
    return requests, int(m.group(1)), int(m.group(2))


def host_bench(run):
    """The hypervisor's diskbench on the stopped partition's disk: its figures, as bench_lines gives them."""
    run.command(f"stop -f {LINUX_NAME}")
    run.expect(rf"partition {LINUX_NAME}: stopped", 120)
    run.command(f"diskbench -y {LINUX_NAME}")
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


# The patterns, in the order the profiler's marks bracket them in blkbench and in diskbench: name, requests
# (a write's flush not counted), a request's size; the 3,000 instructions' target is a 4 KiB request's.
DISK_PROFILED = (("seq_read", 128, "128 KiB"), ("seq_write", 128, "128 KiB"), ("rand_read qd 1", 1024, "4 KiB"),
                 ("rand_read qd 32", 4096, "4 KiB"))


def disk_profile(medium, image, log, extra):
    """With tools/insnprof, a boot of its own (the profiler slows QEMU, which moves the throughputs): the
    instructions of each pattern's requests, the guest's (its kernel, blkbench and the hypervisor under it)
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
    for (name, requests, size), guest_window, host_window in zip(DISK_PROFILED, windows,
                                                                 windows[len(DISK_PROFILED):]):
        parts = breakdown(guest_window, hv_base, requests)
        total = sum(n for _, n in parts)
        hypervisor = total - sum(n for where, n in parts if where == "guest")
        host = sum(host_window.values()) / requests
        disk_breakdowns.append((name, hypervisor, parts))
        target = DISK_INSTRUCTIONS if size == "4 KiB" else None
        print(f"bench:   {name}: instructions per {size} request: guest path {total:.0f} (the hypervisor's "
              f"{hypervisor:.0f}, VM exits included" + (f"; target <= {target}" if target else "") +
              f"), host path {host:.0f}: "
              f"ratio {host / total:.3f}; the guest's in the hypervisor: "
              + ", ".join(f"{where} {n:.0f}" for where, n in parts if where != "guest"))
        figure(f"disk {name}: hypervisor instructions per {size} request, VM exits included", round(hypervisor),
               "instructions", target)
        figure(f"disk {name}: guest : host by instructions per request (host / guest)", round(host / total, 3),
               "", DISK_TARGETS[name], at_least=True)
        counts, ceiling = exit_counts(guest_window, hv_base, requests), host / (total - hypervisor)
        disk_missed.append(DISK_MISSED_TEXT.format(
            name=name, total=total, guest=total - hypervisor, hypervisor=hypervisor, host=host, ceiling=ceiling,
            per_exit=hypervisor / counts["exits"], verdict=DISK_VERDICT[ceiling < DISK_TARGETS[name]], **counts))
        print(f"bench:   {disk_missed[-1]}")
    print(f"bench:   {DISK_MISSED_CUTS}")


def exit_counts(window, hv_base, requests):
    """A profiled window's VM exits per request, and of which kind (DISK_EXIT_COUNTS), for DISK_MISSED_TEXT."""
    starts, names, _ = hv_functions()
    start_of = dict(zip(names, starts))
    per = {name: window.get(hv_base + start_of[name], 0) / requests for name, _ in DISK_EXIT_COUNTS}
    exits = max(per["svm_vmrun_return"], 1e-9)
    return {"exits": exits, "counts": ", ".join(f"{per[name]:.1f} {what}" for name, what in DISK_EXIT_COUNTS[1:])}


def disk(work, log):
    images = linux_images("disks")
    if not images:
        return
    if SMOKE:
        disk_figures(*disk_run(shared["linux"]))
        print("bench:   no instructions per request (a second, profiled boot): --smoke")
        return
    medium = harness.make_medium(work, "iso", DISK_CFG, harness.default_files() + images)
    sleep = os.environ.get("BENCH_DISK_SLEEP", "on")
    print(f"bench: disks: -icount shift=0,sleep={sleep}")
    image, drive = disk_drive(work)
    extra = ("-icount", f"shift=0,sleep={sleep}", *drive)
    with harness.boot_qemu("bench", medium, log, smp=1, extra=extra) as run:
        figures = disk_run(run)
    disk_figures(*figures)
    disk_profile(medium, image, log, extra)


def disk_drive(work):
    """A new disk image with the bench's GPT partition, and QEMU's options for it on an NVMe controller."""
    image = os.path.join(work, "bench-disk.img")
    make_image(image, DISK_PARTS, 6)
    return image, ("-drive", f"file={image},format=raw,if=none,id=d0", "-device", "nvme,drive=d0,serial=hvbench")


def disk_run(run):
    """blkbench in the Linux partition, then diskbench: (guest, host, counters before, after), disk_figures'."""
    run.wait_in_log(rf"\[{LINUX_NAME}\] LINUX-READY", 0, 3600)
    before = block_counters(run)
    # The console attached once (see network() on partitions that stopped answering under -icount).
    attach(run, LINUX_NAME)
    guest = bench_lines(shell(run, "blkbench /dev/vda", 3600), "BLKBENCH")
    detach(run)
    after = block_counters(run)
    return guest, host_bench(run), before, after


# --smoke: the Linux sections share one boot too (-icount sleep=off): the network's two partitions, a with the
# disk section's virtual disk; the Linux boot's figures and the disk's are a's.
LINUX_NAME = "a" if SMOKE else "linux"
SMOKE_LINUX_CFG = NET_CFG.replace("console = com1\n", "console = com1\nlog_level = info\n", 1).replace(
    f"net = lan mac={MACS['a']}\n", f"net = lan mac={MACS['a']}\ndisk = part:bench\n")
LINUX_SECTIONS = ("linux", "net", "disk")


def shared_linux_boot(work, log):
    medium = harness.make_medium(work, "iso", SMOKE_LINUX_CFG, harness.default_files() + linux_images("Linux"))
    return harness.boot_qemu("bench", medium, log, smp=2, extra=("-icount", "shift=0,sleep=off",
                                                                 *disk_drive(work)[1]))


def linux_run(own_boot):
    """A Linux section's boot: own_boot(), or with --smoke the shared one."""
    return contextlib.nullcontext(shared["linux"]) if SMOKE else own_boot()


# The hypervisor's size: its source files' lines (blank ones left out), per top-level directory. Source:
# these suffixes, and scripts (a first line "#!").
SIZE_DIRS = ("boot", "hv", "arch/x86", "drivers", "guests", "tools")
SOURCE_SUFFIXES = (".c", ".h", ".S", ".asm", ".inc", ".ld", ".sh", ".py", ".awk")


def source_lines(path):
    """Its non-blank lines if it is source, else None."""
    with open(path, errors="replace") as f:
        lines = [line for line in f if line.strip()]
    return len(lines) if path.endswith(SOURCE_SUFFIXES) or lines[:1] and lines[0].startswith("#!") else None


def code_size(work, log):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    tracked = subprocess.run(["git", "ls-files", "--", *SIZE_DIRS], cwd=root, capture_output=True, text=True,
                             check=True).stdout.split()
    print("bench: lines of code (source files, blank lines left out), per top-level directory:")
    for top in SIZE_DIRS:
        counted = [source_lines(os.path.join(root, p)) for p in tracked if p.startswith(top + "/")]
        files = [n for n in counted if n is not None]
        lines = sum(files)
        print(f"bench:   {top + '/':10} {lines:7} lines in {len(files)} files")
        figure(f"size: {top}/", lines, "lines of code")


# The self-test sections' configurations, as --smoke's shared boot holds them (scaling: its partitions there).
SELFTEST_SECTIONS = {"exits": CFG, "scaling": scaling_cfg(SCALING_SMP[0]), "shares": SHARES_CFG,
                     "mixed-shares": MIXED_CFG, "neighbour": NEIGHBOUR_CFG}
SECTIONS = {"exits": exit_costs, "scaling": scaling, "shares": share_error, "mixed-shares": mixed_share_error,
            "neighbour": idle_neighbour_cost, "linux": linux_boot, "net": network, "disk": disk, "size": code_size}


def chosen_sections():
    return [name for name in sys.argv[1:] if name != "--smoke"] or list(SECTIONS)


def main():
    chosen = chosen_sections()
    unknown = [n for n in chosen if n not in SECTIONS]
    if unknown:
        print(f"bench: no section {', '.join(unknown)}; there are {', '.join(SECTIONS)}")
        return 2
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, "bench-smoke.log" if SMOKE else "bench.log")
    with harness.Workdir() as work:
        for i, name in enumerate(chosen):
            start = time.monotonic()
            if SMOKE and name in SELFTEST_SECTIONS and "selftest" not in shared:
                shared["selftest"] = shared_boot(work, log, [SELFTEST_SECTIONS[n] for n in chosen
                                                             if n in SELFTEST_SECTIONS])
            if SMOKE and name in LINUX_SECTIONS and "linux" not in shared and linux_images("Linux"):
                shared["linux"] = shared_linux_boot(work, log)
            SECTIONS[name](work, log)
            print(f"bench: ({name}: {time.monotonic() - start:.0f} s wall-clock)")
            for key, names in (("selftest", SELFTEST_SECTIONS), ("linux", LINUX_SECTIONS)):
                if key in shared and not any(later in names for later in chosen[i + 1:]):
                    shared.pop(key).kill()
    write_report()
    for path in glob.glob(log + "*"):  # Bochs' own log and its output beside the console's
        os.remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
