"""Boot to the banner from each medium; a bad hv.cfg is refused on the
console with its line; loader failures return to the firmware."""
import os

import harness

BOOT_TIMEOUT = {"qemu": 60, "bochs": 180}

GOOD_CFG = """\
[hypervisor]
console = com1
log_level = info

[partition demo]
memory = 64M
vcpus = 2
kernel = selftest.elf
autostart = no
"""


def expect_banner(run, path, cpus=2, model=None):
    t = BOOT_TIMEOUT[path]
    run.expect(r"hv: version \S+ starting", t)
    run.expect(r"hv: cpu: \S+ family", 10)
    if path == "qemu":
        run.expect(r"hv: AMD-V: SVM revision \d+, \d+ ASIDs, NPT yes", 10)
    else:
        run.expect(r"hv: VT-x: EPT yes [^\n]*, VPID yes, unrestricted guest yes", 10)
    expect_side_channel_decisions(run, path, model)
    run.expect(r"hv: memory: \d+ MiB RAM, \d+ MiB free", 10)
    run.expect(rf"hv: cpus: {cpus} in the ACPI MADT, APIC IDs {' '.join(str(i) for i in range(cpus))}", 10)


# What the emulated CPUs offer: QEMU's TCG drops IBPB from `-cpu EPYC` and
# its AMD CPU needs neither flush; Bochs' corei7_skylake_x enumerates none
# of IBPB, IA32_FLUSH_CMD, MD_CLEAR or IA32_ARCH_CAPABILITIES; its tigerlake
# enumerates IBPB, MD_CLEAR and IA32_ARCH_CAPABILITIES with RDCL_NO.
SIDE_CHANNEL_DECISIONS = {
    "qemu": (("IBPB between partitions", "not available"), ("L1D flush on VM entry", "not needed"),
             ("VERW on VM entry", "not needed")),
    "bochs": (("IBPB between partitions", "not available"), ("L1D flush on VM entry", "not available"),
              ("VERW on VM entry", "not available")),
    "bochs tigerlake": (("IBPB between partitions", "applied"), ("L1D flush on VM entry", "not needed"),
                        ("VERW on VM entry", "applied")),
}


def expect_side_channel_decisions(run, path, model=None):
    """Each mitigation is reported, with why, as the emulated CPU (model: Bochs' other than its default)
    calls for."""
    for name, state in SIDE_CHANNEL_DECISIONS[f"{path} {model}" if model else path]:
        run.expect(rf"hv: side channels: {name}: {state} \([^\r\n]+\)\r", 10)


def expect_all_cpus_online(run, path):
    """Both CPUs of the emulated machine start, each with virtualization on."""
    run.expect(r"hv: (warning: )?tsc: \d+\.\d{3} MHz", 30)
    run.expect(r"hv: cpu 1 \(APIC ID 1\) online\r", 30)
    backend = "AMD-V" if path == "qemu" else "VT-x"
    run.expect(rf"hv: cpus: 2 of 2 online, virtualization enabled on each: {backend}", 30)


def expect_console(run):
    """The console answers a command. Its prompt may have gone by already
    (printed while another CPU still ran a partition) or be yet to come:
    the UART holds what is typed until the console reads it."""
    run.command("version")
    run.expect(r"hv 0\.1\.0-[\w.-]+\r*\n", 60)
    run.expect(r"hv> ", 10)


def test_iso_boots_to_banner(boot, path):
    with boot(path, GOOD_CFG, medium="iso") as run:
        expect_banner(run, path)
        expect_all_cpus_online(run, path)
        run.expect(r"hv: config: hv.cfg accepted, 1 partitions", 10)
        run.expect(r"partition demo: 64 MiB, 2 vCPUs, kernel selftest.elf, 0 disks, autostart no", 10)
        expect_console(run)


def test_usb_image_boots_to_banner(boot, path):
    with boot(path, GOOD_CFG, medium="usb") as run:
        expect_banner(run, path)
        expect_console(run)


def test_bad_config_is_refused_with_its_line(boot, path):
    cfg = GOOD_CFG + "memory_size = 5\n" + "[partition second]\nmemory = 3M\nkernel = k\n"
    with boot(path, cfg) as run:
        expect_banner(run, path)
        run.expect(r"hv: error: hv.cfg:10: unknown key 'memory_size' in \[partition demo\]", 10)
        run.expect(r"hv: error: hv.cfg:12: memory '3M': must be a non-zero multiple of 2M", 10)
        run.expect(r"hv: error: configuration refused: no partition is started", 10)
        expect_console(run)  # the hypervisor stays at its console


def test_missing_guest_file_is_refused_with_its_line(boot):
    cfg = GOOD_CFG.replace("kernel = selftest.elf", "kernel = vmlinuz-absent")
    with boot("qemu", cfg) as run:
        run.expect(r"hv loader: cannot open vmlinuz-absent: Not Found", 60)
        expect_banner(run, "qemu")
        run.expect(r"hv: error: hv.cfg:8: kernel 'vmlinuz-absent' is not on the boot medium", 10)
        run.expect(r"configuration refused: no partition is started", 10)


def test_console_shows_the_log_and_rejects_unknown_commands(boot):
    with boot("qemu", GOOD_CFG) as run:
        expect_banner(run, "qemu")
        run.expect(r"hv> ", 10)
        run.command("frobnicate")
        run.expect(r"unknown command 'frobnicate'; 'help' lists the commands", 10)
        run.command("log")
        run.expect(r"hv: version \S+ starting", 10)
        run.expect(r"console ready on the serial line", 10)
        run.command("mem")
        run.expect(r"free \d+ MiB of \d+ MiB managed", 10)
        run.command("list")
        run.expect(r"demo\s+not running \(autostart no\)", 10)


def test_loader_refuses_a_damaged_hypervisor(boot, tmp_path):
    bad = tmp_path / "hv.elf"
    with open(os.path.join(harness.BUILD, "hv.elf"), "rb") as f:
        data = bytearray(f.read())
    data[18] = 0x3e ^ 0xff  # e_machine: no longer x86-64
    bad.write_bytes(bytes(data))
    files = [os.path.join(harness.BUILD, "BOOTX64.EFI"), str(bad)]
    with boot("qemu", GOOD_CFG, files=files) as run:
        run.expect(r"hv loader: hv.elf refused: not an x86-64 image", 60)
        # Back in the firmware, which tries its next boot option: no hang, no jump.
        run.expect_absent(r"hv: version", 5)


def test_loader_reports_a_missing_config(boot):
    with boot("qemu", None) as run:
        run.expect(r"hv loader: cannot open hv.cfg: Not Found", 60)
        run.expect_absent(r"hv: version", 5)
