"""What a partition can see of another and of the hypervisor: a marker
partition fills its RAM with a mark; a scanner beside it, and another
started later on the memory the marker gave back, search all of their RAM
at every byte offset for that mark and for the string compiled into
hv.elf (guests/selftest/isolation.c). Neither may find either."""
import os

from harness import BUILD, hv_cfg
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

HV_MARKER = b"HV-IMAGE-MARKER-pfc4b90d"  # hv/main.c's hv_image_marker
CFG = hv_cfg({
    "marker": {"cmdline": "mode=mark", "memory": "32M"},
    "scanner": {"cmdline": "mode=scan", "memory": "32M"},
    "later": {"cmdline": "mode=scan", "memory": "32M", "autostart": "no"},
})
SCAN = r"\[{}\] SELFTEST scan ram_mib=(?P<mib>\d+) marks_found=(?P<marks>\d+) hv_markers_found=(?P<hv>\d+) first_at="
STARTED = r"partition {}: started on cpu \d+, 32 MiB at (?P<at>0x[0-9a-f]+),"


def test_the_hypervisors_image_carries_the_marker():
    """Else the scans below could not find it, whatever they saw."""
    with open(os.path.join(BUILD, "hv.elf"), "rb") as f:
        assert HV_MARKER in f.read()


def test_no_partition_sees_anothers_memory_or_the_hypervisors(boot, path):
    with boot(path, CFG) as run:
        expect_banner(run, path)
        seen = run.expect_all({
            "marker_at": STARTED.format("marker"),
            "marked": r"\[marker\] SELFTEST mark filled_mib=(?P<filled>\d+) marks_found=(?P<found>\d+)\s",
            "scanned": SCAN.format("scanner"),
        }, BOOT_TIMEOUT[path] * 2)
        marked, scanned = seen["marked"], seen["scanned"]
        # The scan finds the mark where it is: in the marker's own RAM, once every 16 bytes.
        assert int(marked["filled"]) >= 24 and int(marked["found"]) >= int(marked["filled"]) << 16, marked.group(0)
        assert int(scanned["mib"]) >= 30, scanned.group(0)
        assert (scanned["marks"], scanned["hv"]) == ("0", "0"), scanned.group(0)

        # The marker's memory, once given back, goes to the next partition zeroed.
        expect_console(run)
        run.command("stop -f marker")
        run.expect(r"partition marker: stopped", 60)
        run.command("start later")
        later_at = run.expect(STARTED.format("later"), 30)["at"]
        assert later_at == seen["marker_at"]["at"], "the test needs 'later' on the marker's memory"
        later = run.expect(SCAN.format("later"), BOOT_TIMEOUT[path])
        assert (later["marks"], later["hv"]) == ("0", "0"), later.group(0)
        run.expect(r"partition later: stopped: exited with status 0", 30)
