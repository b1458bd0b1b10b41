#!/usr/bin/python3
"""make soak: two Linux partitions under load for SOAK_MINUTES (default
30) minutes on QEMU TCG, one of them restarted from the console every
SOAK_RESTART_MINUTES (default 3; half the run at most).

Each partition (one vCPU on a CPU of its own, 256 MiB) has two virtual
disks on GPT partitions of a disk image on QEMU's NVMe controller: a data
disk and a read-only one holding ci/soak_guest.sh, which the run types
into its shell to start. The script keeps the CPU busy (a low-priority
hashing loop) and the disk (64 KiB blocks of random bytes at random
places, each written with O_DIRECT and fsync, read back with O_DIRECT
and compared in the guest), and prints a line for each write: the
console's load, with the commands this run types (list, stats, mem,
cpus every PROBE_S seconds, and a command in linux1's shell every
ATTACH_S seconds, attached to it).

Each restart is `restart linux2`: its ACPI power button, a clean
poweroff, a start from scratch, the script started again. The run fails
when a partition's writes stop coming for HANG_S seconds or the console
does not answer (a hang), when a guest reads back other bytes than it
wrote or a write fails, when a restart ends in a forced stop, or when
the hypervisor's free pages (`mem`) after a restart differ from their
count once both partitions first ran. At the end both partitions are
stopped through their power buttons, QEMU is killed and the image read:
each block a write was reported for holds that write's bytes, unless a
later write (one whose report was cut short by a stop) replaced it.

The serial log is kept in build/soak/soak.log; the last lines are the
summary: minutes, restarts, free pages at the start and the end, writes
verified in the guests and blocks verified on the host image.
"""
import hashlib
import os
import re
import sys
import time

import pexpect

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "e2e"))
import harness  # noqa: E402
from test_boot import expect_banner  # noqa: E402
from test_host_disks import linux_section, make_image, read_range  # noqa: E402
from test_linux import READY_TIMEOUT, attach, detach, explain, shell  # noqa: E402

MINUTES = float(os.environ.get("SOAK_MINUTES", "30"))
# No more than half the run: a short soak restarts too.
RESTART_MINUTES = min(float(os.environ.get("SOAK_RESTART_MINUTES", "3")), MINUTES / 2)
NAMES = ("linux1", "linux2")
RESTARTED = "linux2"
SECTOR, BLOCK = 512, 65536
# 24 MiB of data and 1 MiB for the script per partition, in the 64 MiB image of test_host_disks.
PARTS = {"data1": (2048, 49152), "data2": (51200, 49152), "script1": (100352, 2048), "script2": (102400, 2048)}
DATA = {"linux1": "data1", "linux2": "data2"}
BLOCKS = PARTS["data1"][1] * SECTOR // BLOCK
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "soak_guest.sh")
OUT = os.path.join(harness.BUILD, "soak")
HANG_S = 180          # longest time a running partition may go without reporting a write
PROBE_S = 20          # a console command this often
ATTACH_S = 120        # a command in linux1's shell this often
STOP_TIMEOUT_S = 120  # the power button's time before a forced stop, which fails the run
MARKER = r"\[{}\] LINUX-READY kernel=\S+"
PAGES = r"pages: (?P<free>\d+) free of \d+"
WRITE = r"SOAK-W (?P<name>\S+) (?P<boot>\S+) (?P<n>\d+) (?P<block>\d+) (?P<sha>[0-9a-f]{64})\r*\n"
# A stop's line may come in pieces between guest lines: the forced stop's warning says it whole.
EVENTS = (rf"(?P<write>{WRITE})|(?P<bad>SOAK-(?:MISMATCH|ERROR) [^\r\n]*|partition linux\d: forced off[^\r\n]*)"
          r"|partition (?P<stopped>linux\d): stopped: (?P<reason>[^\r\n]*)")
# What each probe types and the answer it waits for.
PROBES = (("list", r"linux1\s+running on cpu 0"), ("stats", r"linux1: running, uptime"), ("mem", PAGES),
          ("cpus", r"cpu 1 +idle"))


def config():
    return ("[hypervisor]\nconsole = com1\nlog_level = info\n" +
            linux_section("linux1", 0, ["part:data1", "part:script1 ro"]) +
            linux_section("linux2", 1, ["part:data2", "part:script2 ro"]))


def make_disk(path):
    """The image, its script partitions holding the script and zeros after it."""
    make_image(path, PARTS, 16)
    with open(SCRIPT, "rb") as f:
        script = f.read()
    with open(path, "r+b") as f:
        for name in ("script1", "script2"):
            first, n = PARTS[name]
            f.seek(first * SECTOR)
            f.write(script.ljust(n * SECTOR, b"\0"))
    return len(script)


class Soak:
    def __init__(self, run, script_bytes):
        self.run, self.script_bytes = run, script_bytes
        self.writes = {}        # (name, boot, n) -> (block, sha256, order reported)
        self.last_write = {}    # (name, block) -> the key of the last write reported there
        self.boots = {}         # boot id -> order first seen
        self.reported = dict.fromkeys(NAMES, 0)
        self.running, self.stopping, self.stops = set(), set(), {}
        self.last_seen = {}
        self.pages = []

    def pump(self, seconds, want=None, until=None):
        """Reads the console for up to `seconds`, handling each soak line on
        the way, until want (a regex; its match is returned) comes or until()
        holds; without either, for the whole time."""
        deadline = time.monotonic() + seconds
        pattern = EVENTS + (f"|(?P<want>{want})" if want else "")
        while not (until and until()):
            left = deadline - time.monotonic()
            if left <= 0:
                if want or until:
                    self.fail(f"no /{want or until.__doc__}/ within {seconds:.0f} s")
                return None
            i = self.run.child.expect([pattern, pexpect.TIMEOUT, pexpect.EOF], timeout=min(left, 5))
            if i == 2:
                self.fail("QEMU exited")
            if i == 0:
                m = self.run.child.match
                if want and m.group("want") is not None:
                    return m
                self.event(m)
            self.check_hang()
        return None

    def event(self, m):
        if m.group("bad"):
            self.fail(m.group("bad"))
        if m.group("stopped"):
            name = m.group("stopped")
            if name not in self.stopping:
                self.fail(f"{name} stopped unasked: {m.group('reason')}")
            if "forced" in m.group("reason"):
                self.fail(f"{name}: {m.group('reason')} (its power button was not enough)")
            self.stopping.discard(name)
            self.stops[name] = m.group("reason")
            return
        name, boot, n, block, sha = m.group("name", "boot", "n", "block", "sha")
        key = (name, boot, int(n))
        self.boots.setdefault(boot, len(self.boots))
        self.writes[key] = (int(block), sha, len(self.writes))
        self.last_write[(name, int(block))] = key
        self.reported[name] += 1
        self.last_seen[name] = time.monotonic()

    def check_hang(self):
        now = time.monotonic()
        for name in self.running:
            if now - self.last_seen[name] > HANG_S:
                self.fail(f"{name}: no write reported for {now - self.last_seen[name]:.0f} s")

    def fail(self, why):
        try:
            explain(self.run)
        finally:
            raise AssertionError(f"{why}; console tail:\n{self.run.tail()}")

    def mem_pages(self):
        self.run.command("mem")
        free = int(self.pump(30, PAGES).group("free"))
        self.pages.append(free)
        return free

    def start_script(self, name):
        """Attached to name's shell: the script copied from its read-only
        disk and started in the background; back at the console once it
        reported its first write."""
        attach(self.run, name)
        size = shell(self.run, "tr -d '\\000' </dev/vdb >/tmp/soak.sh; wc -c </tmp/soak.sh").split()
        if size != [str(self.script_bytes)]:
            self.fail(f"{name}: the script read back as {size} bytes, not {self.script_bytes}")
        self.run.command(f"sh /tmp/soak.sh {name} /dev/vda {BLOCKS} &")
        self.run.expect(rf"SOAK-W {name} ", 120)
        detach(self.run)
        self.running.add(name)
        self.resume_watch()

    def resume_watch(self):
        """While attached, the other partition's lines are muted: its
        silence meanwhile is no hang."""
        now = time.monotonic()
        for name in self.running:
            self.last_seen[name] = now

    def restart(self):
        self.running.discard(RESTARTED)
        self.stopping.add(RESTARTED)
        self.run.command(f"restart -t {STOP_TIMEOUT_S} {RESTARTED}")
        self.pump(STOP_TIMEOUT_S + 30, until=self.restarted_is_stopped)
        self.pump(60, rf"partition {RESTARTED}: started")
        self.pump(READY_TIMEOUT["qemu"], MARKER.format(RESTARTED))
        self.start_script(RESTARTED)

    def restarted_is_stopped(self):
        """the restarted partition stopped"""
        return RESTARTED not in self.stopping

    def in_linux1(self):
        attach(self.run, "linux1")
        out = shell(self.run, "echo $((6 * 7)) $(cut -d' ' -f1 /proc/uptime)")
        detach(self.run)
        self.resume_watch()
        if not re.search(r"^42 \d+\.\d+$", out, re.M):
            self.fail(f"linux1's shell answered {out!r}")

    def probe(self, i):
        line, answer = PROBES[i % len(PROBES)]
        self.run.command(line)
        self.pump(30, answer)

    def stop_all(self):
        self.stopping.update(NAMES)
        self.running.clear()
        for name in NAMES:
            self.run.command(f"stop -t {STOP_TIMEOUT_S} {name}")
        self.pump(STOP_TIMEOUT_S + 30, until=self.all_stopped)

    def all_stopped(self):
        """both partitions stopped"""
        return not self.stopping

    def verify(self, image):
        """Each block of each data disk on the host image: (verified, written
        by a write whose report never came, never written, mismatches)."""
        verified = unreported = untouched = 0
        bad = []
        for name in NAMES:
            first, n = PARTS[DATA[name]]
            data = read_range(image, first, n)
            for block in range(BLOCKS):
                got = data[block * BLOCK:(block + 1) * BLOCK]
                head = re.match(rb"SOAK (\S+) (\S+) (\d+) (\d+)\n", got)
                last = self.last_write.get((name, block))
                if not head:
                    untouched += 1
                    if last:
                        bad.append(f"{name} block {block}: not written, but {last} was reported")
                    continue
                key = (head.group(1).decode(), head.group(2).decode(), int(head.group(3)))
                if key[0] != name or int(head.group(4)) != block:
                    bad.append(f"{name} block {block}: holds {key}, written to block {int(head.group(4))}")
                elif key in self.writes:
                    if hashlib.sha256(got).hexdigest() != self.writes[key][1]:
                        bad.append(f"{name} block {block}: {key} reads back otherwise")
                    elif key != last:
                        bad.append(f"{name} block {block}: holds {key}, but {last} was reported after it")
                    else:
                        verified += 1
                elif last and not self.later(key, last):
                    bad.append(f"{name} block {block}: holds {key}, older than {last}, which was reported")
                else:
                    unreported += 1
        return verified, unreported, untouched, bad

    def later(self, key, than):
        """Whether write key came after write than: a later boot, or the same boot and a larger number."""
        boot = self.boots.get(key[1], len(self.boots))  # a boot never seen reporting is the newest
        return (boot, key[2]) > (self.boots[than[1]], than[2])


def soak(run, script_bytes):
    s = Soak(run, script_bytes)
    expect_banner(run, "qemu")
    run.expect_all({n: MARKER.format(n) for n in NAMES}, READY_TIMEOUT["qemu"])
    for name in NAMES:
        s.start_script(name)
    start_pages = s.mem_pages()
    began = time.monotonic()
    end = began + MINUTES * 60
    next_restart = began + RESTART_MINUTES * 60
    next_attach = began + ATTACH_S
    restarts, probes, after_restarts = 0, 0, []
    print(f"soak: both partitions loaded; {start_pages} free pages; {MINUTES:g} minutes, a restart "
          f"every {RESTART_MINUTES:g}", flush=True)
    while time.monotonic() < end:
        s.pump(min(PROBE_S, max(end - time.monotonic(), 0)))
        now = time.monotonic()
        if now >= next_restart and now < end:
            s.restart()
            restarts += 1
            after_restarts.append(s.mem_pages())
            next_restart = time.monotonic() + RESTART_MINUTES * 60
            print(f"soak: {(time.monotonic() - began) / 60:.1f} min: restart {restarts} of {RESTARTED}, "
                  f"{after_restarts[-1]} free pages; writes reported {s.reported}", flush=True)
            if after_restarts[-1] != start_pages:
                s.fail(f"{after_restarts[-1]} free pages after restart {restarts}, {start_pages} at the start")
        elif now >= next_attach:
            s.in_linux1()
            next_attach = now + ATTACH_S
        else:
            s.probe(probes)
            probes += 1
    minutes = (time.monotonic() - began) / 60
    end_pages = s.mem_pages()
    s.stop_all()
    stopped_pages = s.mem_pages()
    return s, minutes, restarts, probes, start_pages, end_pages, stopped_pages, after_restarts


def main():
    os.makedirs(OUT, exist_ok=True)
    image, log = os.path.join(OUT, "disk.img"), os.path.join(OUT, "soak.log")
    script_bytes = make_disk(image)
    images = [os.path.join(harness.BUILD, "linux", n) for n in ("vmlinuz", "initrd.img")]
    if not all(os.path.isfile(p) for p in images):
        print("soak: no Linux guest images: `make linux` builds them")
        return 1
    with harness.Workdir() as workdir:
        medium = harness.make_medium(workdir, "iso", config(), harness.default_files() + images)
        run = harness.boot_qemu("qemu:soak", medium, log, mem=1024, tcg=harness.QEMU_ONE_THREAD,
                                extra=("-drive", f"file={image},format=raw,if=none,id=d0",
                                       "-device", "nvme,drive=d0,serial=hvsoak"))
        with run:
            s, minutes, restarts, probes, start_pages, end_pages, stopped_pages, after = soak(run, script_bytes)
            run.kill()
    verified, unreported, untouched, bad = s.verify(image)
    print(f"soak: {minutes:.1f} minutes, {restarts} restarts of {RESTARTED}, {probes} console commands; "
          f"free pages {start_pages} at the start, after each restart {sorted(set(after)) or '-'}, "
          f"{end_pages} at the end, {stopped_pages} with both stopped")
    print(f"soak: writes verified in the guests: {sum(s.reported.values())} ({s.reported}); on the host image: "
          f"{verified} blocks verified, {unreported} held a write not reported (cut short by a stop), "
          f"{untouched} never written, {len(bad)} mismatches")
    for line in bad[:20]:
        print(f"soak: MISMATCH {line}")
    print(f"soak: serial log {log}")
    ok = not bad and verified > 0 and all(s.reported.values())
    print("soak: " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
