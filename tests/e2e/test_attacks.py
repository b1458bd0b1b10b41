"""The hostile-guest suite: each attack of guests/attack is its own test,
run beside a healthy Linux partition that keeps a CPU workload (shell
loop iterations per second of its own clock, printed every few seconds)
and a disk workload (64 KiB blocks of random data written with fsync to
its virtual disk on a GPT partition of an NVMe disk, each block's SHA-256
printed once it is on the disk) going.

The hypervisor boots once per group of attacks (hv.cfg holds at most 16
partitions: the healthy one and one attacker per attack of the group,
none of them autostarted but the healthy one). Each test starts its
attacker from the console, waits until it exits with its outcome line,
is stopped with a logged reason, or has run its attack for a bounded
time (then stops it), and asserts: the attacker got the specific outcome
that real hardware gives, an error or a logged stop; the hypervisor's
console answers; the healthy partition's CPU and disk workloads went on
(its CPU rate, measured in the first window after the start, is printed
against its rate beside quiet neighbours at the start, and held to 10 %
with ATTACK_RATE_STRICT=1: see TOLERANCE). At the end of a group, the disk
workload is ended, the emulator killed, and every block the guest wrote is
read from the host image and checked against its SHA-256, and nothing
outside the healthy partition's GPT partition changed.

The events group boots three CPUs: an attacker owns CPU 2 (hv.cfg refuses
a CPU owned exclusively in any other partition's set, so only that group
has one). On Bochs (BOCHS set: the VT-x path) each group boots beside the
workload guest (attack=workload: its CPU rate, and blocks written to its
RAM disk, each read back against its checksum after every write) instead
of Linux, which boots there about 20 times slower; the waits are longer.
"""
import hashlib
import os
import re
import statistics
import subprocess
import time

import pytest

import harness
from test_boot import expect_banner, expect_console
from test_host_disks import make_image, outside, read_range
from test_linux import READY_TIMEOUT, attach, detach, linux_images, shell

HEALTHY = "healthy"
PART = {"healthy": (2048, 16384)}  # the NVMe image's one GPT partition: first LBA, sectors
BLOCK = 65536
SLOTS = 64  # the disk workload cycles over this many 64 KiB blocks
RATE_WINDOW_S = 3
# The bound: the healthy rate within 10 % of its rate beside quiet
# neighbours. Under QEMU's TCG it measures the emulator: both emulated CPUs
# share one host thread here, so a busy attacker takes host time from the
# healthy one's, and the machine is shared with other emulators (SECURITY.md
# has the figures: from 65 to 1,703 against baselines of 698 and 996). The
# bound is asserted only with ATTACK_RATE_STRICT=1 (KVM, a quiet machine);
# otherwise the test asserts that the workloads go on and prints the rates.
TOLERANCE = 0.10
BASELINE_WINDOWS = 5
ATTACK_RUN_S = 10  # how long an attack that never ends runs before the test stops it
OUTCOME_TIMEOUT = 120

# The workloads, typed into the healthy partition's shell. CPU: loop
# iterations per second over RATE_WINDOW_S seconds of /proc/uptime, each
# window starting on a whole second. Disk: a block of random data to slot
# i % SLOTS with fsync, then its SHA-256 kept in /tmp/d/SLOT and printed,
# once a second, until /tmp/disk-stop exists.
CPU_LOAD = ("cpuload() { while :; do read t x < /proc/uptime; s=${t%%.*}; "
            "while read t x < /proc/uptime; [ ${t%%.*} -eq $s ]; do :; done; s=$((s+1+%d)); n=0; "
            "while read t x < /proc/uptime; [ ${t%%.*} -lt $s ]; do n=$((n+1)); done; "
            "echo CPU-RATE $((n/%d)); done; }; cpuload & :" % (RATE_WINDOW_S, RATE_WINDOW_S))
DISK_LOAD = ("diskload() { i=0; mkdir -p /tmp/d; while [ ! -e /tmp/disk-stop ]; do s=$((i%%%d)); "
             "dd if=/dev/urandom of=/tmp/b bs=%d count=1 2>/dev/null; "
             "dd if=/tmp/b of=/dev/vda bs=%d seek=$s conv=fsync,notrunc 2>/dev/null && "
             "sha256sum < /tmp/b | cut -c1-64 > /tmp/d/$s && echo DISK-OK $s $(cat /tmp/d/$s); "
             "i=$((i+1)); sleep 1; done; }; diskload & diskpid=$!"
             % (SLOTS, BLOCK, BLOCK))
# Ends the disk workload, waits for its last write, and lists each slot's last SHA-256.
DISK_STOP = "touch /tmp/disk-stop; wait $diskpid; grep . /tmp/d/*"
RATE = rf"\[{HEALTHY}\] CPU-RATE (\d+)\r*\n"
# Linux's: a SHA-256; the workload guest's (Bochs): an FNV-1a and how many blocks it read back intact.
DISK_OK = rf"\[{HEALTHY}\] DISK-OK (\d+) ([0-9a-f]{{64}}|[0-9a-f]{{16}} verified=\d+)\r*\n"

OK_STOP = r"exited with status 0"
STOPPED = r"partition {}: stopped: ([^\r\n]*)\r*\n"


def line(name, text):
    """The attacker's outcome line, as the console shows it."""
    return rf"\[{name}\] ATTACK {name} {text}\r*\n"


# Each attack: the regexes its run must show, in order, (the attacker's
# outcome lines, then its stop), and whether it runs until stopped.
# Each outcome is the hardware's (a #GP, a #UD), the device's error
# (virtio-blk status 1, IOERR; 2, UNSUPP), the device's refusal of a
# malformed queue (it sets DEVICE_NEEDS_RESET and answers nothing,
# virtio 1.2, 2.1.1), or a stop with the logged reason.
VIRTQUEUE = {
    # Every 1 MiB from the top of its RAM to 4 GiB (the host's RAM, the
    # hypervisor's and the other partitions' included), then far beyond,
    # as data buffers the device would write (a read) or read (a write).
    "desc-into-foreign-memory": [line("desc-into-foreign-memory",
                                      r"buffers=(\d+) refused=\1 answered=0 up_to=0xfffffffffffff000")],
    "desc-from-foreign-memory": [line("desc-from-foreign-memory",
                                      r"buffers=(\d+) refused=\1 answered=0 up_to=0xfffffffffffff000")],
    "desc-loop": [line("desc-loop", "loop_refused=1 self_loop_refused=1")],
    "desc-long-chains": [line("desc-long-chains", "indirect_1024_refused=1 indirect_loop_refused=1 nested_refused=1")],
    # A zero-length buffer moves nothing (the request is then one with no data: OK).
    "desc-lengths": [line("desc-lengths", "len0_status=0 len2g_refused=1 len4g_refused=1")],
    "ring-indices": [line("ring-indices", "index_ahead_refused=1 head_past_table_refused=1 good_after=0")],
    # The queue is not enabled (logged); DRIVER_OK is the driver's to set.
    "rings-outside-ram": [r"partition rings-outside-ram: virtio 00:02\.0 queue 0 not enabled: its descriptor table "
                          r"is misaligned or not all in RAM",
                          line("rings-outside-ram", "queue_enabled=0 driver_ok=1 needs_reset=0")],
    # vCPU 1 rewrites the data descriptor while vCPU 0 submits it: each
    # request is either answered or refused, none lost or hung.
    "double-fetch": [line("double-fetch", r"vcpu1=0 rounds=2000 answered=\d+ ok=\d+ refused=\d+ silent=0")],
    "sector-overflow": [line("sector-overflow", "capacity=2048 statuses=1,1,1,1,1 last_sector=0")],
    "read-only-write": [line("read-only-write", "write_status=1 unchanged=1 flush_status=0")],
    "write-past-end": [line("write-past-end", "at_end=1 across_end=1 far=1 unknown_type=2")],
    # Enabled before FEATURES_OK, DRIVER_OK before FEATURES_OK: refused and
    # logged. Sizes 3, 32768 and 0 leave the size at its maximum; queue 5
    # (none) reads 0 and takes nothing; notifications of it, or off their
    # place, are ignored; a live queue keeps its table.
    "queue-setup": [r"partition queue-setup: virtio 00:02\.0 queue 0 not enabled: the driver's features are not "
                    r"accepted yet",
                    r"partition queue-setup: virtio 00:02\.0 DRIVER_OK refused: features were not accepted",
                    line("queue-setup", "enable_before_features=0 driver_ok_before_features=0 max=128 size3=128 "
                                        "size32768=128 size0=128"),
                    line("queue-setup", "queue5_size=0 queue5_enable=0 queue5_desc=0x0 live_desc_kept=1 works_after=0")],
    # With INDIRECT_DESC negotiated a good table works; tables of 0, 40 and
    # 8 bytes, one with NEXT, one past RAM are refused; without it, all are.
    "indirect-lengths": [r"partition indirect-lengths: virtio 00:02\.0 queue 0 chain 0 refused: a malformed indirect "
                         r"descriptor",
                         line("indirect-lengths", "good=0 len0_refused=1 len40_refused=1 len8_refused=1 "
                                                  "with_next_refused=1 outside_ram_refused=1 not_negotiated_refused=1")],
    # EVENT_IDX with used_event and the available ring's flags garbage:
    # each request answered; the device's avail_event follows.
    "event-idx": [line("event-idx", "rounds=200 answered=200 ok=200 avail_event_tracked=200")],
    # FLUSH with data or a 2-byte status, an 8-byte header, GET_ID with a
    # 32-byte header: IOERR; GET_ID with no room for the ID: OK (nothing
    # to write); no writable byte: used length 0, nothing written; DISCARD
    # with an 8-byte payload: IOERR; with UNMAP, and WRITE_ZEROES with
    # reserved flags: UNSUPP; past the end: IOERR (virtio 1.2, 5.2.6).
    "blk-segments": [line("blk-segments", "discard=1 write_zeroes=1 flush_with_data=1 flush_status2=1 header8=1 "
                                          "get_id_header32=1 get_id_no_room=0 get_id=0"),
                     line("blk-segments", "no_status_used_len=0 discard_payload8=1 discard_unmap=2 "
                                          "write_zeroes_reserved_flags=2 write_zeroes_past_end=1 works_after=0")],
}

PLATFORM = {
    # Moved over RAM, over the local APIC, over the other disk's BAR: not
    # decoded there, with the reason; RAM stays RAM, the APIC the APIC,
    # the other disk answers; moved back, it works.
    "bar-moves": [r"partition bar-moves: PCI 00:02\.0 BAR0 at 0x200000 not decoded: MMIO 0x200000-0x203fff: overlaps "
                  r"the partition's RAM",
                  r"partition bar-moves: PCI 00:02\.0 BAR0 at 0xfee00000 not decoded: over the local APICs' page",
                  r"partition bar-moves: PCI 00:02\.0 BAR0 at (0x[0-9a-f]+) not decoded: MMIO \1-0x[0-9a-f]+: overlaps "
                  r"the claimed \1",
                  line("bar-moves", "over_ram_reads=0x600dcafe over_apic_id=0x00000000 other_disk_ok=1 home_ok=1")],
    # Of the host's PCI functions (its NVMe, AHCI, bridges) none shows.
    "pci-scan": [line("pci-scan", "functions=3 00:00.0=8086:29c0,00:02.0=1af4:1042,00:03.0=1af4:1042")],
    "mmio-fuzz": [line("mmio-fuzz", r"accesses=20000 writes=\d+")],
    # Every port but those that reset or power off the partition or are its UART.
    "port-fuzz": [line("port-fuzz", "ins=32855 outs=32660")],
    "mmio-unsupported": [r"\[mmio-unsupported\] SELFTEST hostile mmio-unsupported"],
    # Past its share of the console's line (hv/log.h, LOG_GUEST_BUDGET) its lines are dropped: some line
    # from the thousandth on shows.
    "uart-flood": [line("uart-flood", r"flood [1-9]\d{3,} the quick brown fox jumps over the lazy dog")],
    # 10000 fixed IPIs at vCPU 1 and 1000 at all (which coalesce while one
    # is pending, as on hardware), then 200 INIT and STARTUP rounds.
    "ipi-storm": [line("ipi-storm", r"vcpu1=0 fixed_sent=11000 vcpu1_took=[1-9]\d* self_took=[1-9]\d*"),
                  line("ipi-storm", "init_sipi_rounds=200")],
    # A periodic timer of count 1: the guest drowns in its own interrupts
    # (as it would on hardware) while the others run; stopped after a while.
    "timer-storm": [line("timer-storm", r"start ram_top=0x1000000")],
    # The queue's MSI-X message at vCPU 1, itself, all; at an APIC ID
    # that does not exist, the HPET, its RAM, above 4 GiB, mode 3, an SMI:
    # dropped with the reason; vector 5: the receive-illegal-vector error;
    # reserved address and data bits: ignored; masked: sent on unmasking.
    "msix-misdirected": [r"partition msix-misdirected: PCI 00:02\.0 MSI-X vector 0: address 0xfee7f000 data 0x53 "
                         r"reaches no vCPU of the partition: dropped",
                         r"partition msix-misdirected: PCI 00:02\.0 MSI-X vector 0: address 0xfed00000 data 0x53 "
                         r"is no interrupt message: dropped",
                         line("msix-misdirected", "to_vcpu1=vcpu1 self=vcpu0 broadcast=both reserved_bits=vcpu0 "
                                                  "masked_until_done=vcpu0"),
                         line("msix-misdirected", "apic_id_7f=none hpet=none own_ram=none above_4g=none mode3=none "
                                                  "smi=none vector5=none esr=0x40 requests_ok=12")],
    # vCPU 1 rewrites the MSI-X entry, the read-only PBA and the function
    # mask while vCPU 0's requests complete: each answered.
    "msix-rewrite": [line("msix-rewrite", "vcpu1=0 rounds=500 answered=500 ok=500 rewrites_seen=1 pba_after_unmask=0x0")],
    # BAR sizes (16 KiB, the 4 KiB MSI-X BAR, none else, no ROM); CONFIG_DATA
    # by bytes, words and across its end (port 0xD00 answers nothing);
    # disabled: all ones; bits 30:24 ignored; past 256 bytes: 0; past the
    # last bus: all ones. Then decoding and bus mastering toggled while
    # requests are in flight: some lost (the notification went nowhere),
    # the device works once the command register is back.
    "pci-config-storm": [r"partition pci-config-storm: 4-byte read of unclaimed MMIO at 0xe1000000: reads all-ones",
                         line("pci-config-storm", "bars=0xffffc000,0xfffff000,0x0,0x0,0x0,0x0,0x0 id_bytes=1 id_words=1"),
                         line("pci-config-storm", "across_end=0xff10421a disabled=0xffffffff reserved_bits=0x10421af4 "
                                                  "ext=0x0 past_bus=0xffffffff"),
                         line("pci-config-storm", r"vcpu1=0 rounds=100 answered=\d+ works_after=0")],
    # The host's HPET, Q35's MCFG window, the top of the hole: nothing answers.
    "host-mmio": [r"partition host-mmio: 4-byte read of unclaimed MMIO at 0xfed00000: reads all-ones, writes vanish",
                  line("host-mmio", "0xfed00000=ffffffff/ffffffff 0xb0000000=ffffffff/ffffffff "
                                    "0xfe000000=ffffffff/ffffffff 0xfebf0000=ffffffff/ffffffff")],
    # Version read-only; reserved RTE bits stay 0; no register past pin 23;
    # the PIT's pin at APIC ID 0x7f and as an SMI: nothing delivered (the
    # SMI logged); edge and level to itself: delivered.
    "ioapic-abuse": [r"partition ioapic-abuse: interrupt message with delivery mode 2 not delivered",
                     line("ioapic-abuse", r"version=0x00170020 rte_all_ones=0x0001afff:0xff000000 past_last=0xffffffff "
                                          r"to_apic_7f=0 smi=0 edge_to_self=[1-9]\d* level_to_self=[1-9]\d*")],
    # Read-only registers kept; the timer LVT has no delivery mode, LINT0
    # takes NMI; mode 3 and an SMI deliver nothing (the SMI logged); INIT
    # de-assert is ignored; ICR vector 3: send-illegal-vector error; an NMI
    # to all reaches itself; 10,000 self-IPIs, each taken.
    "lapic-abuse": [r"partition lapic-abuse: interrupt message with delivery mode 2 not delivered",
                    line("lapic-abuse", "read_only_kept=7/7 lvt_timer=0x10051 lint0=0x10400 mode3=0 smi=0 "
                                        "init_deassert_survived=1"),
                    line("lapic-abuse", "to_apic_7f=0 esr=0x20 nmi_all=2 self_ipis=10000/10000")],
    "x2apic-abuse": [line("x2apic-abuse", "read_only_write_gp=7/7 write_only_read_gp=2/2 reserved_gp=6/6 "
                                          "reserved_bits_gp=5/5"),
                     line("x2apic-abuse", "self_ipis=10000/10000 smi=0 to_xapic_direct=gp via_disabled=ok xapic_id=0x0")],
}

CPU = {
    "sensitive-msrs": [line("sensitive-msrs", "efer_svme=gp efer_lme_off=gp efer_bit20=gp apic_base_move=ok "
                                              "apic_base_reserved=gp microcode_load=gp"),
                       line("sensitive-msrs", "vmx_basic=gp vm_cr=gp vm_hsave_pa=gp mtrr_reserved=gp mtrr_bad_type=gp "
                                              "pat_bad_type=gp tsc_write=gp sysenter_eip_kept=1 efer_after=0x500")],
    "xsetbv-invalid": [line("xsetbv-invalid", "no_x87=gp avx_without_sse=gp bit63=gp all_ones=gp xcr1=gp valid=ok")],
    # EFER is the hypervisor's to check: #GP. MOV to CR is the CPU's on
    # AMD-V; QEMU's takes a reserved CR4 bit a real CPU refuses, and VMRUN
    # then refuses the state: the partition is stopped with the reason.
    "cr-transitions": [line("cr-transitions", "efer_lme_off=gp"), line("cr-transitions", "efer_svme=gp")],
    "virt-instructions": [line("virt-instructions", "ud=13 of 13")],
    "never-yield": [line("never-yield", "spinning")],
    "cr8-spin": [r"\[cr8-spin\] SELFTEST hostile cr8-spin tpr=15"],
    "db-storm": [r"\[db-storm\] SELFTEST hostile db-storm traps=(?:[5-9]\d{4}|\d{6,})\r*\n"],
    "insn-flood": [r"\[insn-flood\] SELFTEST hostile insn-flood done: 5000 of 5000 raised #UD"],
    "triple-fault": [r"\[triple-fault\] SELFTEST hostile triple-fault"],
    "mmio-tables": [r"\[mmio-tables\] SELFTEST hostile mmio-tables"],
    "mmio-cross-page": [r"\[mmio-cross-page\] SELFTEST hostile mmio-cross-page"],
    # RDMSR of 0-0x1FFF, 0xC0000000-0xC0001FFF, 0xC0010000-0xC0011FFF, each
    # readable one written back (refused: the TSC, and MTRRCAP, read-only),
    # each other written 0 (none taken); none of the host's MSRs reads.
    "msr-sweep": [line("msr-sweep", r"indices=24576 readable=\d+ write_back_refused=2\(0x10,0xfe\) "
                                    r"zero_taken_unreadable=0\(\) host_msrs_gp=10/10")],
    "cpuid-sweep": [line("cpuid-sweep", "leaves=4869 repeatable=1 vmx=0 svm=0 hypervisor=1 signature=hvhypervisor "
                                        "beyond_last_zero=1"),
                    line("cpuid-sweep", "monitor_leaf=0 power_leaf=0 pmu_leaf=0 svm_leaf=0")],
    # MONITOR and MWAIT: #UD (hidden, logged at a limited rate); RDPMC: #GP;
    # SMSW, LMSW, CLTS, INVD, WBINVD and RDTSCP: run; CR0 as it was.
    "priv-insn-storm": [r"partition priv-insn-storm: MONITOR at rip 0x[0-9a-f]+: #UD injected",
                        line("priv-insn-storm", "rounds=1000 smsw_same=1 monitor_ud=1000 mwait_ud=1000 rdpmc_gp=1000 "
                                                "tsc_aux_gp=0 rdtscp_aux=0x1234 cr0_kept=1")],
    # MMIO (ModRM and 4-byte moffs forms, a 16-bit read), port I/O, CPUID
    # and RDMSR from 32-bit code: the same as from 64-bit code.
    "compat-mode": [line("compat-mode", "id=0x0 tpr=0x20 tpr_64=0x20 version_same=1 word_same=1 scratch=0x5a "
                                        "scratch_64=0xa5 vendor_same=1 apic_base=0xfee00900")],
}

# On a machine of three CPUs: the console's (0), the healthy partition's (1), and one the attacker owns (2).
AC_COUNT = r"(?P<count>\d+)"
EVENTS = {
    # With IF clear, on CPU 2 that it owns (exclusive = yes), and both
    # vCPUs on CPU 1 beside the healthy partition: preempted, stopped by
    # the operator.
    "never-yield-exclusive": [line("never-yield-exclusive", "spinning if=0 vcpus=1")],
    "never-yield-shared": [line("never-yield-shared", "spinning if=0 vcpus=2 vcpu1=0")],
    # 50,000 #AC at CPL 3, each a VM exit; the #AC handler raising #AC
    # itself, 32 deep. Only where the emulated CPU raises #AC (see NEEDS_AC).
    "ac-storm": [rf"\[ac-storm\] SELFTEST hostile ac-storm faults={AC_COUNT}\r*\n"],
    "ac-nested-handler": [line("ac-nested-handler", rf"nested={AC_COUNT} of 32")],
    # A #DB whose delivery raises #DB again forever (CVE-2015-8104): no
    # instruction of the guest runs again; stopped by the operator.
    "db-in-delivery": [line("db-in-delivery", r"armed dr0=0x[0-9a-f]+")],
    "db-bad-stack": [line("db-bad-stack", r"stack=0x1100000")],
}
# What each #AC attack counts where #AC is raised: all 50,000 faults, all 32 levels.
NEEDS_AC = {"ac-storm": "50000", "ac-nested-handler": "32"}
NO_AC = ("QEMU's TCG raises no #AC: the guest's misaligned read at CPL 3 with CR0.AM and RFLAGS.AC completed "
         "(counted 0); the Bochs path runs it")

# At most 15 attackers a boot (16 partitions, the healthy one included).
GROUPS = {"virtqueue": VIRTQUEUE, "platform": PLATFORM, "cpu": CPU, "events": EVENTS}
# Where an attacker runs if not on CPU 0 with 2 vCPUs; a group with one on CPU 2 boots three CPUs.
ON_CPU_0 = "vcpus = 2\ncpus = 0\n"
PLACEMENT = {"never-yield-exclusive": "vcpus = 1\ncpus = 2\nexclusive = yes\n", "never-yield-shared": "vcpus = 2\ncpus = 1\n"}
# What a stop other than its own exit must say, per attack.
STOP_REASON = {
    "cr-transitions": r"VM entry failed \(exit code 0xffffffff\)",
    "triple-fault": r"triple fault \(shutdown\) at rip 0x[0-9a-f]+",
    "mmio-tables": r"(read|write) of unmapped guest-physical address 0x1000000 at rip 0x[0-9a-f]+ "
                   r"\(a guest page-table entry\)",
    "mmio-cross-page": r"instruction fetch of unmapped guest-physical address 0x1000000 at rip 0x[0-9a-f]+fff|"
                       r"MMIO read of 0x1000000 at rip 0x[0-9a-f]+fff: the instruction crosses into an unmapped page",
    "mmio-unsupported": r"MMIO (read|write) of 0x1000000 at rip 0x[0-9a-f]+: an instruction not emulated on MMIO "
                        r"\(bytes 83 03 01\)",
    "db-bad-stack": r"write of unmapped guest-physical address 0x10fff[0-9a-f]{2} at rip 0x[0-9a-f]+ "
                    r"\(delivering an event\)",
}
# Attacks that never end: the test stops them after ATTACK_RUN_S.
ENDLESS = {"never-yield", "cr8-spin", "db-storm", "uart-flood", "timer-storm", "never-yield-exclusive",
           "never-yield-shared", "db-in-delivery", "ac-storm"}


def attacker_section(name):
    return (f"\n[partition {name}]\nmemory = 16M\n{PLACEMENT.get(name, ON_CPU_0)}autostart = no\n"
            f"kernel = attack.elf\ncmdline = attack={name}\ndisk = ramdisk:attack.img\ndisk = ramdisk:attack-ro.img ro\n")


def cpus(group):
    return 3 if any("cpus = 2" in PLACEMENT.get(name, "") for name in GROUPS[group]) else 2


# The healthy partition: Linux on QEMU; on Bochs, where Linux boots about 20 times slower, the workload guest.
HEALTHY_SECTION = {
    "qemu": "memory = 256M\nvcpus = 2\ncpus = 1\nkernel = vmlinuz\ninitrd = initrd.img\ncmdline = console=ttyS0\n"
            "disk = part:healthy\n",
    "bochs": "memory = 16M\nvcpus = 1\ncpus = 1\nkernel = attack.elf\ncmdline = attack=workload\n"
             "disk = ramdisk:workload.img\n",
}
SLOWER = {"qemu": 1, "bochs": 5}  # how much longer each wait is on Bochs


def config(group, path):
    return (f"[hypervisor]\nconsole = com1\n\n[partition {HEALTHY}]\n{HEALTHY_SECTION[path]}" +
            "".join(attacker_section(name) for name in GROUPS[group]))


class Workload:
    """What the healthy partition reported: CPU rates with the host's
    moment each came, and the last SHA-256 written to each disk slot."""

    def __init__(self, run):
        self.run, self.rates, self.blocks, self.seen, self.verified = run, [], {}, 0, 0

    def scan(self):
        """Takes in the workload lines the console printed since the last scan."""
        text = self.run.text()
        now = time.monotonic()
        for m in re.finditer(RATE, text[self.seen:]):
            self.rates.append((now, int(m.group(1))))
        for m in re.finditer(DISK_OK, text[self.seen:]):
            self.blocks[int(m.group(1))] = m.group(2)
            self.verified += 1
        self.seen = len(text)

    def rates_after(self, count, timeout):
        """The next `count` CPU rates, each from a window wholly after this call (the first is skipped)."""
        self.scan()
        start = len(self.rates)
        deadline = time.monotonic() + timeout
        while len(self.rates) < start + count + 1:
            assert time.monotonic() < deadline, f"no CPU-RATE line from {HEALTHY} in {timeout} s:\n{self.run.tail()}"
            self.run.expect(RATE, deadline - time.monotonic())
            self.scan()
        return [r for _, r in self.rates[start + 1:]]


@pytest.fixture(scope="module", params=sorted(GROUPS))
def suite(request, tmp_path_factory):
    yield from boot_suite(request, tmp_path_factory, "qemu")


@pytest.fixture(scope="module", params=sorted(GROUPS))
def bochs_suite(request, tmp_path_factory):
    binary, why = harness.bochs_binary()
    if not binary:
        pytest.skip(f"Bochs/VT-x path: {why}")
    yield from boot_suite(request, tmp_path_factory, "bochs")


def ram_disks(workdir, path):
    """The attackers' RAM disks (a writable and a read-only one), and on Bochs the workload partition's."""
    files = []
    for name in ("attack.img", "attack-ro.img") + (("workload.img",) if path == "bochs" else ()):
        files.append(os.path.join(workdir, name))
        with open(files[-1], "wb") as f:
            f.write(bytes([len(name)]) * (1 << 20))
    return files


def boot_suite(request, tmp_path_factory, path):
    """Boots one group: on QEMU beside the loaded Linux partition, on Bochs beside the workload guest."""
    group = request.param
    tmp = tmp_path_factory.mktemp(f"{path}-{group}")
    image, before = str(tmp / "disk.img"), str(tmp / "before.img")
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, f"test_attacks_{path}_{group}.log")
    failed_before = request.session.testsfailed
    with harness.Workdir() as workdir:
        files = harness.default_files() + ram_disks(workdir, path)
        if path == "qemu":
            files += linux_images("qemu")
            make_image(image, PART, 16)
            subprocess.run(["cp", "--sparse=never", image, before], check=True)
            extra = ("-drive", f"file={image},format=raw,if=none,id=d0", "-device", "nvme,drive=d0,serial=hvattack")
            # One thread for both emulated CPUs: the attacks' floods of exits beside Linux's XRSTORs are what
            # QEMU 7.2's multi-threaded TCG race needs (harness.QEMU_ONE_THREAD; a flooding attacker was once
            # stopped by a triple fault right after an OUT exit there).
            emulator = harness.boot_qemu(f"qemu:attacks-{group}", harness.make_medium(workdir, "iso", config(group, path),
                                                                                      files),
                                         log, smp=cpus(group), mem=1024, extra=extra, tcg=harness.QEMU_ONE_THREAD)
        else:
            emulator = harness.boot_bochs(f"bochs:attacks-{group}", harness.make_medium(workdir, "usb",
                                                                                        config(group, path), files),
                                          log, cpus=cpus(group), mem=512)
        with emulator as run:
            started = time.monotonic()
            expect_banner(run, path, cpus(group))
            if path == "qemu":
                run.expect(rf"\[{HEALTHY}\] LINUX-READY", READY_TIMEOUT["qemu"])
                attach(run, HEALTHY)
                shell(run, CPU_LOAD)
                shell(run, DISK_LOAD)
                detach(run)
            run.path, run.image, run.before, run.load = path, image, before, Workload(run)
            run.baseline = statistics.median(run.load.rates_after(BASELINE_WINDOWS, 120 * SLOWER[path]))
            run.measured = {}
            print(f"{path} {group}: healthy partition loaded after {time.monotonic() - started:.0f} s; "
                  f"baseline {run.baseline} loop iterations/s")
            yield run
            (check_disk_after if path == "qemu" else check_ram_disk_after)(run)
            print(f"{path} {group}: {time.monotonic() - started:.0f} s in all; rates during attacks: {run.measured}")
    if request.session.testsfailed == failed_before and not os.environ.get("KEEP_LOGS"):
        harness.remove_log(log)
    else:
        print(f"serial log kept: {log}")


def check_ram_disk_after(run):
    """The workload guest read back every block it wrote against its checksum after each write: none
    came back changed, and it went on verifying until the end of the group."""
    run.load.scan()
    verified = run.load.verified
    run.load.rates_after(1, 60 * SLOWER[run.path])
    assert not re.search(rf"\[{HEALTHY}\] DISK-BAD", run.text()), "a block of the RAM disk came back changed"
    assert run.load.verified > verified, f"{HEALTHY}'s disk workload stopped verifying"
    run.kill()


def check_disk_after(run):
    """Every block the guest wrote, once its disk workload has ended, on the
    host image with its checksum; nothing else changed. The workload ends
    first: a write the emulator's kill cut short of its report would
    otherwise hold data no report named."""
    run.load.scan()
    reported = set(run.load.blocks)
    attach(run, HEALTHY)
    out = shell(run, DISK_STOP, timeout=60)
    detach(run)
    written = {int(slot): digest for slot, digest in re.findall(r"/tmp/d/(\d+):([0-9a-f]{64})", out)}
    assert reported <= set(written), f"slots reported but not kept: {sorted(reported - set(written))}"
    run.kill()
    first, sectors = PART["healthy"]
    data = read_range(run.image, first, sectors)
    bad = [slot for slot, digest in written.items()
           if hashlib.sha256(data[slot * BLOCK:(slot + 1) * BLOCK]).hexdigest() != digest]
    assert written and not bad, f"blocks whose checksum differs on the host image: {bad} of {len(written)}"
    assert outside(run.image, [PART["healthy"]]) == outside(run.before, [PART["healthy"]])


# QEMU 7.2's TCG aborts on a data breakpoint hit by a push of event delivery: the emulator dies, all its partitions.
QEMU_ABORTS = {"db-in-delivery": "QEMU 7.2's TCG aborts (softmmu/cpus.c:502: assertion failed: "
                                 "(!qemu_mutex_iothread_locked())) when a data breakpoint fires on a push of event "
                                 "delivery: the emulator, not the hypervisor, dies"}


def stop_untested(run, attack, since):
    """Ends an attack that could not be made (the emulated CPU lacks what it needs)."""
    if not re.search(STOPPED.format(attack), run.text()[since:]):
        run.command(f"stop -f {attack}")
    run.wait_in_log(STOPPED.format(attack), since, OUTCOME_TIMEOUT)
    expect_console(run)


def attacks():
    return [(group, name) for group in sorted(GROUPS) for name in GROUPS[group]]


def expected(attack, path):
    if path == "bochs" and attack in VTX_EXPECTED:
        return VTX_EXPECTED[attack]
    return next(GROUPS[g][attack] for g in GROUPS if attack in GROUPS[g])


# On VT-x the hypervisor checks MOV to CR itself (no VM-entry failure): each refused with #GP, and the attacker exits.
VTX_EXPECTED = {
    "cr-transitions": [line("cr-transitions", f"{name}=gp") for name in
                       ("efer_lme_off", "efer_svme", "cr4_vmxe", "cr4_bit31", "cr3_bit62", "cr0_nw_without_cd",
                        "cr0_bit32")],
}


def stop_reason(attack, path):
    if path == "bochs" and attack in VTX_EXPECTED:
        return OK_STOP
    return STOP_REASON.get(attack, OK_STOP)


@pytest.mark.parametrize("suite,attack", attacks(), indirect=["suite"], ids=[name for _, name in attacks()], scope="module")
def test_attack_is_contained(suite, attack):
    contained(suite, attack)


@pytest.mark.parametrize("bochs_suite,attack", attacks(), indirect=["bochs_suite"], ids=[name for _, name in attacks()],
                         scope="module")
def test_attack_is_contained_on_bochs(bochs_suite, attack):
    """The VT-x path, beside the workload guest (attack=workload) instead of Linux."""
    contained(bochs_suite, attack)


# Where the emulated CPU cannot make an endless attack: the line that says so, and the reason.
CANNOT = {"db-in-delivery": (line("db-in-delivery", r"no_loop traps=\d+"),
                             "the emulated CPU raised #DB for the guest's own write to the watched slot but not for "
                             "the push of its delivery there (the handler ran): the loop cannot be made on it")}


def contained(run, attack):
    if run.path == "qemu" and attack in QEMU_ABORTS:
        pytest.skip(QEMU_ABORTS[attack])
    slower = SLOWER[run.path]
    run.load.scan()
    disk_before = dict(run.load.blocks)
    since, started = len(run.text()), time.monotonic()
    run.command(f"start {attack}")
    rates_from = len(run.load.rates)
    at = since
    for pattern in expected(attack, run.path):
        found = run.wait_in_log(pattern, at, OUTCOME_TIMEOUT * slower)
        at = found.end()
    if attack in NEEDS_AC and found.group("count") == "0":
        stop_untested(run, attack, since)
        pytest.skip(NO_AC)
    if attack in NEEDS_AC:
        assert found.group("count") == NEEDS_AC[attack], found.group(0)
    if attack in ENDLESS:
        rates = run.load.rates_after(ATTACK_RUN_S // RATE_WINDOW_S, ATTACK_RUN_S * 4 * slower)
        if attack in CANNOT and re.search(CANNOT[attack][0], run.text()[at:]):
            stop_untested(run, attack, since)
            pytest.skip(CANNOT[attack][1])
        run.command(f"stop -f {attack}")
        reason = "stopped by the operator"
    else:
        rates = None
        reason = stop_reason(attack, run.path)
    stop = run.wait_in_log(STOPPED.format(attack), since, OUTCOME_TIMEOUT * slower).group(1)
    assert re.match(reason, stop), stop
    elapsed = time.monotonic() - started
    expect_console(run)
    if rates is None:  # the first window that began after the start: during the attack if it lasted that long
        run.load.scan()
        rates = [r for _, r in run.load.rates[rates_from + 1:]] or run.load.rates_after(1, 60 * slower)
    run.measured[attack] = (round(elapsed, 1), rates)
    assert run.load.blocks != disk_before, f"{HEALTHY}'s disk workload reported nothing new"
    print(f"{attack}: {elapsed:.1f} s, CPU rate {rates} against {run.baseline}")
    assert min(rates) > 0, f"{HEALTHY}'s CPU workload stopped: {rates}"
    if os.environ.get("ATTACK_RATE_STRICT"):
        assert min(rates) >= (1 - TOLERANCE) * run.baseline, f"{HEALTHY}'s CPU rate {rates} < 90 % of {run.baseline}"
