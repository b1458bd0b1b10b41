"""A self-test partition larger than 4 GiB, placed above 4 GiB, passes every
check: its RAM is 3 GiB below the device hole and 3 GiB from 4 GiB, as the
e820 map says; the boot protocol maps only the first 4 GiB, so the guest
maps the rest itself, and its RAM check samples every 4 KiB page of both
parts. QEMU TCG only: Bochs would take minutes to zero that much memory."""
import re

from harness import hv_cfg
from test_boot import BOOT_TIMEOUT
from test_selftest import all_pass

GIB = 1 << 30
LARGE_CFG = hv_cfg({"big": {"memory": "6G"}})
MACHINE_MIB = 8192  # q35 puts 2 GiB of it below 4 GiB: 6 GiB in one piece only above


def test_selftest_partition_of_6_gib_above_4_gib_passes(boot):
    with boot("qemu", LARGE_CFG, mem=MACHINE_MIB) as run:
        # Zeroing 6 GiB under TCG takes a while before the guest starts.
        m = run.expect(r"partition big: started on cpu \d, 6144 MiB at 0x([0-9a-f]+), entry", 240)
        assert int(m.group(1), 16) >= 4 * GIB, f"placed at 0x{m.group(1)}, not above 4 GiB"
        found = run.expect_all({
            "ram": r"\[big\] SELFTEST ram_pattern (?P<verdict>PASS|FAIL) 0x[0-9a-f]+-0x(?P<top>[0-9a-f]+) "
                   r"\((?P<mib>\d+) MiB in (?P<ranges>\d+) ranges",
            "summary": r"\[big\] " + all_pass("qemu"),
            # Code beyond its 6 GiB: the guest's own page tables map it, the nested ones do not.
            "stop": r"partition big: stopped: instruction fetch of unmapped guest-physical address 0x1c0200000 at rip",
        }, BOOT_TIMEOUT["qemu"] * 2)
        ram = found["ram"]
        assert ram.group("verdict") == "PASS", run.tail()
        assert int(ram.group("top"), 16) == 7 * GIB, f"checked up to 0x{ram.group('top')}, not up to 7 GiB"
        assert ram.group("ranges") == "2", ram.group(0)
        # All but the first MiBs, which hold the guest's image and page tables.
        assert int(ram.group("mib")) >= 6 * 1024 - 32, f"checked {ram.group('mib')} MiB, not the whole 6 GiB"
        assert not re.search(r"SELFTEST \w+ FAIL", run.text()), run.tail()
