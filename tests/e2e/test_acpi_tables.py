"""A partition's ACPI tables, checked on the host (no emulator) by ACPICA,
the same code Linux runs: `build/acpitables` writes them to files as a
guest finds them, `iasl -d` disassembles each one without a warning or an
error, the disassembly compiles back cleanly, and `acpiexec` loads them
and evaluates the DSDT's objects as Linux's interpreter would."""
import os
import re
import shutil
import struct
import subprocess

import pytest

import harness

ACPITABLES = os.path.join(harness.BUILD, "acpitables")
TABLES = ["xsdt", "rsdt", "facp", "facs", "dsdt", "apic", "mcfg"]
TROUBLE = re.compile(r"warning|error|remark|incorrect|invalid|\*\*\*\*", re.I)
CLEAN = "0 Errors, 0 Warnings, 0 Remarks"


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not installed: `make deps` installs acpica-tools"
    return path


def run(*args, cwd):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(params=[1, 2, 64], ids=lambda n: f"{n}vcpus")
def tables(request, tmp_path):
    status, out = run(ACPITABLES, "--vcpus", request.param, tmp_path, cwd=tmp_path)
    assert status == 0, out
    assert sorted(os.listdir(tmp_path)) == sorted(f"{t}.dat" for t in TABLES + ["rsdp"])
    return request.param, tmp_path


def disassemble(directory, name):
    status, out = run(tool("iasl"), "-d", f"{name}.dat", cwd=directory)
    assert status == 0, out
    body = out.split("Copyright", 1)[-1]
    assert not TROUBLE.search(body), out
    text = (directory / f"{name}.dsl").read_text()
    assert not TROUBLE.search(text.split("*/", 1)[-1]), text
    return text


def test_rsdp_checksums_and_pointers(tables):
    """iasl reads no RSDP on its own (no table header): checked here."""
    _, directory = tables
    rsdp = (directory / "rsdp.dat").read_bytes()
    assert len(rsdp) == 36 and rsdp[:8] == b"RSD PTR "
    assert sum(rsdp[:20]) % 256 == 0 and sum(rsdp) % 256 == 0
    revision, rsdt, length, xsdt = struct.unpack_from("<BIIQ", rsdp, 15)
    assert (revision, length) == (2, 36)
    assert 0xE0000 <= rsdt < 0x100000 and 0xE0000 <= xsdt < 0x100000


def test_every_table_disassembles_and_compiles_back_cleanly(tables):
    _, directory = tables
    for name in TABLES:
        disassemble(directory, name)
        status, out = run(tool("iasl"), "-p", f"again-{name}", f"{name}.dsl", cwd=directory)
        assert status == 0 and CLEAN in out, out


def test_dsdt_describes_the_platform(tables):
    _, directory = tables
    dsl = disassemble(directory, "dsdt")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", dsl, flags=re.S)
    compact = re.sub(r"\s+", " ", code)
    for needle in [
        r"Name (\_S5, Package (0x04) { 0x07, 0x07, Zero, Zero })",
        "Device (PCI0)", 'EisaId ("PNP0A08")', 'EisaId ("PNP0A03")',
        "Name (_SEG, Zero)", "Name (_BBN, Zero)", "Name (_UID, Zero)",
        "Name (_PRT, Package (0x7C)",
        # _CRS of PCI0: buses, config ports, the I/O around them, the MMIO hole below ECAM
        "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0x0000, 0x0000, 0x000F, 0x0000, 0x0010",
        "IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08, )",
        "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8",
        "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300",
        "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, "
        "0x00000000, 0xC0000000, 0xDFFFFFFF, 0x00000000, 0x20000000",
        # motherboard resources: ECAM and the PM block
        'EisaId ("PNP0C02")',
        "DWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, "
        "0x00000000, 0xE0000000, 0xE0FFFFFF, 0x00000000, 0x01000000",
        "IO (Decode16, 0x0600, 0x0600, 0x01, 0x0C, )",
        'Device (RTC) { Name (_HID, EisaId ("PNP0B00")',
        "IO (Decode16, 0x0070, 0x0070, 0x01, 0x02, ) IRQNoFlags () {8}",
        'Device (COM1) { Name (_HID, EisaId ("PNP0501")',
        "IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08, ) IRQNoFlags () {4}",
    ]:
        assert needle in compact, needle


def fields(text):
    """The data table disassembly's 'Name : value' lines, by name."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\[[0-9A-F]+h [0-9]+ +[0-9]+\] +(.+?) : (.*)", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2).strip())
    return out


def test_fadt_as_acpica_reads_it(tables):
    _, directory = tables
    f = fields(disassemble(directory, "facp"))
    assert f["Revision"] == ["06"]
    assert f["SCI Interrupt"] == ["0009"]
    assert f["SMI Command Port"] == ["00000000"]
    assert f["PM1A Event Block Address"] == ["00000600"]
    assert f["PM1A Control Block Address"] == ["00000604"]
    assert f["PM Timer Block Address"] == ["00000608"]
    assert f["Value to cause reset"] == ["06"]
    text = (directory / "facp.dsl").read_text()
    for flag, value in [("8042 Present on ports 60/64 (V2)", 0), ("VGA Not Present (V4)", 1),
                        ("Legacy Devices Supported (V2)", 1), ("32-bit PM Timer (V1)", 1),
                        ("Reset Register Supported (V2)", 1), ("Control Method Power Button (V1)", 0),
                        ("Hardware Reduced (V5)", 0)]:
        assert re.search(re.escape(flag) + r" : " + str(value) + "\n", text), flag


def test_madt_lists_each_vcpu(tables):
    vcpus, directory = tables
    f = fields(disassemble(directory, "apic"))
    assert f["Local Apic ID"] == [f"{i:02X}" for i in range(vcpus)]
    # The one after the vCPUs' IDs, held to the 4 bits of its ID register.
    assert f["I/O Apic ID"] == [f"{min(vcpus, 15):02X}"]
    assert f["Address"] == ["FEC00000"]
    assert f["Source"] == ["00", "09"]
    assert f["Interrupt"] == ["00000000", "00000002", "00000009"]  # the I/O APIC's GSI base, the overrides
    assert f["Interrupt Input LINT"] == ["01"]


def test_acpiexec_loads_the_namespace_and_evaluates_it(tables):
    _, directory = tables
    status, out = run(tool("acpiexec"), "-b",
                      r"Evaluate \_S5; Evaluate \_SB.PCI0._CRS; Evaluate \_SB.PCI0._PRT; Evaluate \_SB.PCI0._HID",
                      "facp.dat", "dsdt.dat", "facs.dat", "apic.dat", "mcfg.dat", cwd=directory)
    assert status == 0, out
    # ACPICA's complaints about tables, as Linux would log them: none. (acpiexec's own
    # interface tests report AE_BAD_ADDRESS for the PM2 block and AE_BAD_PARAMETER for
    # GPEs, which the platform does not have.)
    assert not re.search(r"Warning|Error|Firmware Bug|AE_AML|AE_NOT_FOUND|AE_BAD_CHECKSUM", out), out
    assert "ACPI: DSDT" in out and "ACPI: FACP" in out
    s5 = out.split(r"Evaluating \_S5", 1)[1]
    assert re.search(r"Contains 4 Elements:\s+\[Integer\] = 0+7\s+\[Integer\] = 0+7", s5), s5
    prt = out.split(r"Evaluating \_SB.PCI0._PRT", 1)[1]
    assert "Contains 124 Elements" in prt
    # slot 1 INTA (pin 0) on GSI 16 + (1 + 0) % 8 = 17; slot 31 INTD on 16 + (31 + 3) % 8 = 18
    assert re.search(r"000000000001FFFF\s+\[Integer\] = 0+\s+\[Integer\] = 0+\s+\[Integer\] = 0+11", prt)
    assert re.search(r"00000000001FFFFF\s+\[Integer\] = 0+3\s+\[Integer\] = 0+\s+\[Integer\] = 0+12", prt)
