"""The console's commands on QEMU, one boot for the lot: help and argument
errors, list and list -j, info, stats counters growing, cpus, config
(which hvcfg check accepts), log -n LEVEL; stop through the ACPI power
button of a guest that powers off (the platform kernel's power-button
mode) and of one that ignores it (the self-test, forced off after -t),
start, restart (each giving back, as `mem` counts them, the pages it
took), pause/resume; garbage, an overlong line and a flood of escape
bytes; the host's poweroff after its question. On a boot of its
own and on each path, a pause that the guest's clocks and timers do not
see. Then tools/hvctl against a -serial unix: socket, on a boot of its
own."""
import json
import os
import re
import socket
import subprocess
import time

import pexpect

import pytest

import harness
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console
from test_console import send_bytes

CFG = harness.hv_cfg({
    "polite": {"memory": "32M", "kernel": "platform.elf", "cmdline": "mode=power-button",
               "console_buffer": "8K"},
    "deaf": {"cmdline": "mode=idle", "share": 300},
    "spare": {"cmdline": "mode=idle", "autostart": "no"},
})
HVCTL = os.path.join(harness.ROOT, "tools", "hvctl")
PROMPT = "hv> "


def answer(run, line, timeout=20):
    """Runs a command; what it printed up to the next prompt, without CRs."""
    run.command(line)
    run.expect(re.escape(line) + r"\r*\n", timeout)
    run.expect(r"\n" + PROMPT, timeout)
    return run.child.before.replace("\r", "")


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


def uptime_ms(run, name, command):
    """The partition's uptime in ms as 'list -j', 'stats -j NAME' or 'info NAME' reports it."""
    if command == "info":
        m = re.search(r"^uptime: (\d+)\.(\d{3}) s$", answer(run, f"info {name}"), re.M)
        return int(m.group(1)) * 1000 + int(m.group(2))
    rows = json_lines(answer(run, "list -j" if command == "list" else f"stats -j {name}"))
    return next(r["uptime_ms"] for r in rows if r["name"] == name)


def free_pages(run):
    """The hypervisor's free pages as 'mem' shows them, checked against its MiB."""
    text = answer(run, "mem")
    m = re.search(r"^free (\d+) MiB of (\d+) MiB managed; pages: (\d+) free of (\d+)$", text, re.M)
    assert m, text
    free_mib, managed_mib, free, managed = (int(g) for g in m.groups())
    assert (free_mib, managed_mib) == (free * 4096 >> 20, managed * 4096 >> 20) and free <= managed, text
    return free


# Uptime that may pass between a pause's answer and a reading (a vCPU that
# was in the guest when the pause came runs on until its CPU sees it).
PAUSE_SLACK_MS = 50


def test_console_commands(boot):
    with boot("qemu", CFG) as run:
        expect_banner(run, "qemu")
        run.expect_all({"polite": r"\[polite\] PLATFORM power-button waiting",
                        "deaf": r"\[deaf\] SELFTEST start mode=idle"}, BOOT_TIMEOUT["qemu"])
        expect_console(run)

        # help COMMAND, and argument errors with the usage.
        text = answer(run, "help stop")
        assert "usage: stop [-f] [-t SECONDS] NAME" in text and "example: stop -t 60 web" in text
        assert "error: stop: missing the partition's NAME" in answer(run, "stop")
        assert "error: stop: -t: 'soon' is not a number from 1 to 3600" in answer(run, "stop -t soon deaf")
        assert "error: info: no partition named 'nosuch'; 'list' shows them" in answer(run, "info nosuch")
        assert "error: list: unknown option '-x'" in answer(run, "list -x")

        # list, list -j, info.
        text = answer(run, "list")
        assert re.search(r"deaf\s+running on cpu \d, cpu_ms \d+, exits \d+\n\s+vcpus 1 on cpus \d, "
                         r"memory 16 MiB, share 300, uptime \d+ s", text), text
        assert re.search(r"spare\s+not running \(autostart no\)", text), text
        rows = {r["name"]: r for r in json_lines(answer(run, "list -j"))}
        assert set(rows) == {"polite", "deaf", "spare"}
        assert rows["deaf"]["state"] == "running" and rows["deaf"]["share"] == 300
        assert rows["polite"]["memory_mib"] == 32 and len(rows["polite"]["cpus"]) == 1
        assert rows["spare"]["state"] == "stopped" and rows["spare"]["cpus"] == [None]
        assert rows["spare"]["uptime_ms"] == 0
        text = answer(run, "info polite")
        for needle in ("state: running", "kernel: Multiboot", "[partition polite]", "kernel = platform.elf",
                       "cmdline = mode=power-button", "console_buffer = 8K"):
            assert needle in text, (needle, text)

        # stats: its counters grow between two calls; cpus; config.
        first = json_lines(answer(run, "stats -j deaf"))[0]
        time.sleep(2)
        second = json_lines(answer(run, "stats -j deaf"))[0]
        assert second["exits"] > first["exits"] and second["uptime_ms"] > first["uptime_ms"]
        assert second["exits_by_reason"]["hlt"] > first["exits_by_reason"]["hlt"]
        assert second["interrupts_injected"] > first["interrupts_injected"]
        text = answer(run, "stats")
        assert re.search(r"deaf: running, uptime \d+ s, cpu \d+ ms .*\n  share 300: configured", text), text
        assert "console: " in text and "bytes of log dropped" in text and "dropped by a stalled line" in text
        assert re.search(r"console output \d+ bytes \(\d+ dropped: an attached line could not take them\)", text)
        dropped = json_lines(answer(run, "stats -j"))
        assert dropped[0]["disks"] == [] and "  disk " not in text  # no partition here has a disk
        assert "console_bytes_dropped" in dropped[0] and set(dropped[-1]["console"]) == \
            {"log_bytes_dropped", "line_bytes_dropped", "input_bytes_dropped", "input_overruns"}, dropped
        text = answer(run, "cpus")
        assert re.search(r"cpu 0 +idle +\d+\.\d%  console", text) and "cpu 1" in text, text
        config = answer(run, "config")
        assert config.startswith("[hypervisor]\n") and "[partition spare]" in config
        cfg_file = os.path.join(harness.BUILD, "test-logs", "console_config.cfg")
        with open(cfg_file, "w") as f:
            f.write(config)
        check = subprocess.run([os.path.join(harness.BUILD, "hvcfg"), "check", "--dir", harness.BUILD, cfg_file],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        os.remove(cfg_file)
        assert check.returncode == 0, check.stdout

        # stop: the guest that handles its power button powers off...
        assert "polite: power button pressed; forced off in 30 s" in answer(run, "stop polite")
        run.expect(r"\[polite\] PLATFORM power-button pressed", 20)
        run.expect(r"partition polite: stopped: powered off", 20)
        # ... the one that ignores it is forced off once -t ends, and the log says why.
        assert "deaf: power button pressed; forced off in 2 s" in answer(run, "stop -t 2 deaf")
        run.expect(r"hv: warning: partition deaf: forced off: still running 2 s after its power button", 20)
        run.expect(r"partition deaf: stopped: forced off: still running 2 s after its power button", 20)
        assert "error: deaf: refused: it is not running" in answer(run, "stop deaf")

        # start, restart (forced, then through a button nobody hears), pause and resume; 'mem'
        # shows the start take the partition's 16 MiB and more (its tables), each restart give
        # back all it took, to the page.
        idle = free_pages(run)
        first_start = time.monotonic()
        assert "spare: started" in answer(run, "start spare")
        run.expect(r"\[spare\] SELFTEST start mode=idle", 30)
        started = free_pages(run)
        assert idle - started >= (16 << 20) // 4096, (idle, started)
        assert "spare: restarting" in answer(run, "restart -f spare")
        run.expect(r"partition spare: started", 30)
        assert free_pages(run) == started
        assert "spare: power button pressed; forced off in 1 s" in answer(run, "restart -t 1 spare")
        run.expect(r"forced off: still running 1 s after its power button was pressed \(restart\)", 20)
        run.expect(r"partition spare: started", 30)
        assert free_pages(run) == started
        text = answer(run, "list")
        assert re.search(r"spare\s+running.*\n.*\n\s+last stop: forced off", text), text
        # Its uptime counts from the last restart (which waited 1 s), not from the first start.
        assert uptime_ms(run, "spare", "list") < (time.monotonic() - first_start - 1) * 1000
        # Paused, its CPU time and uptime stand still; resumed, its uptime goes on without the time paused.
        assert "spare: paused" in answer(run, "pause spare")
        paused_at = time.monotonic()
        up_paused = uptime_ms(run, "spare", "list")
        paused = run.cpu_ms(["spare"], "paused")["spare"]
        time.sleep(1)
        assert run.cpu_ms(["spare"], "paused")["spare"] == paused
        for command in ("stats", "info", "list"):
            up = uptime_ms(run, "spare", command)
            assert up_paused <= up <= up_paused + PAUSE_SLACK_MS, (command, up_paused, up)
        resumed_at = time.monotonic()
        assert "spare: resumed" in answer(run, "resume spare")
        time.sleep(1)
        up_resumed = uptime_ms(run, "spare", "stats")
        paused_s, ran_s = resumed_at - paused_at, time.monotonic() - resumed_at
        print(f"spare: uptime {up_paused} ms at the pause, {up_resumed} ms {ran_s:.2f} s after "
              f"a pause of {paused_s:.2f} s")
        assert up_resumed - up_paused >= 500, (up_paused, up_resumed)
        assert up_resumed - up_paused <= (ran_s * 1000) + PAUSE_SLACK_MS, (up_paused, up_resumed, ran_s)
        assert "paused" not in answer(run, "list -j").split('"spare"')[1].split("\n")[0]

        # log -n N LEVEL: the last warnings only.
        lines = answer(run, "log -n 2 warn").strip().splitlines()
        assert len(lines) == 2 and all(l.startswith(("hv: warning: ", "hv: error: ")) for l in lines), lines
        assert "forced off" in lines[-1]

        # Garbage, an overlong line and a flood of escape bytes leave the console working.
        send_bytes(run, bytes(range(0x80, 0x100)) + b"\x00\x01\x02\r")
        run.command("list " + "y" * 300)
        run.expect(r"line too long \(max 127\)", 20)
        send_bytes(run, b"\x1b" * 200 + b"\x1b[" * 50 + b"\x1b[" + b"7;" * 100 + b"B" + b"\x1d" * 20)
        expect_console(run)

        # The host: no without a yes; then powered off through ACPI S5, and QEMU ends.
        run.command("poweroff")
        run.expect(r"power the host off\? every partition ends at once \[y/N\] ", 20)
        assert "error: not done" in answer(run, "n")
        run.command("reboot")
        run.expect(r"reboot the host\? every partition ends at once \[y/N\] ", 20)
        assert "error: not done" in answer(run, "")
        run.command("poweroff")
        run.expect(r"\[y/N\] ", 20)
        run.command("y")
        run.expect(r"hv: host: powering off \(S5: SLP_TYP \d to PM1a control at port 0x[0-9a-f]+\)", 20)
        run.child.expect(pexpect.EOF, timeout=30)


# guests/selftest/clock.c: a line each half second of the guest's own time (its APIC timer, periodic).
CLOCK_LINE = r"\[clock\] CLOCK (\d+) tsc=(\d+) tsc_khz=(\d+) pm=(\d+) rtc=(\d+)[\r\n]"
CLOCK_PERIOD_MS = 500
PM_TIMER_HZ = 3579545
PAUSE_S = 6


def clock_reading(m):
    """A CLOCK line: its count, and its TSC, PM timer and RTC in ms."""
    n, tsc, khz, pm, rtc = (int(g) for g in m.groups())
    return {"n": n, "tsc": tsc / khz, "pm": pm * 1000 / PM_TIMER_HZ, "rtc": rtc * 1000}


def clock_moved(a, b):
    """What each clock moved from reading a to reading b, in ms (the PM timer wraps at 2^32, the RTC at midnight)."""
    pm_wrap, day = 2 ** 32 * 1000 / PM_TIMER_HZ, 86400 * 1000
    return {"tsc": b["tsc"] - a["tsc"], "pm": (b["pm"] - a["pm"]) % pm_wrap, "rtc": (b["rtc"] - a["rtc"]) % day}


def test_pause_stops_the_guests_clocks_and_timers(boot, path):
    """Across a pause of several seconds the guest's TSC, PM timer and RTC
    move by the half second of running between two of its timer's ticks,
    not by the time paused; its timer neither fires while paused nor
    bursts at the resume, and ticks on at its rate after."""
    cfg = harness.hv_cfg({"clock": {"cmdline": "mode=clock"}})
    with boot(path, cfg) as run:
        expect_banner(run, path)
        run.expect(r"\[clock\] CLOCK 2 ", BOOT_TIMEOUT[path])
        expect_console(run)
        # Its lines come between the bytes of a command's echo: the answers are looked for, not the echo.
        run.command("pause clock")
        run.expect(r"\nclock: paused\r", 20)
        before = [clock_reading(m) for m in re.finditer(CLOCK_LINE, run.text())][-1]
        time.sleep(PAUSE_S)
        run.command("resume clock")
        paused_ms = int(run.expect(r"partition clock: running after (\d+) ms paused", 20).group(1))
        run.expect(r"\nclock: resumed\r", 20)
        after = [clock_reading(run.expect(CLOCK_LINE, 30)) for _ in range(3)]
        print(f"{path}: paused {paused_ms} ms; before {before}; after {after}")
        assert paused_ms >= 1000, f"the hypervisor's own time saw no pause: {paused_ms} ms"
        assert [r["n"] for r in after] == [before["n"] + 1 + i for i in range(3)], (before, after)
        across = clock_moved(before, after[0])
        for clock in ("tsc", "pm"):
            assert abs(across[clock] - CLOCK_PERIOD_MS) < min(250, paused_ms / 2), (clock, across, paused_ms)
        assert across["rtc"] <= CLOCK_PERIOD_MS + 1000, (across, paused_ms)  # whole seconds
        for a, b in zip(after, after[1:]):
            assert abs(clock_moved(a, b)["tsc"] - CLOCK_PERIOD_MS) < 250, after


def hvctl(sock, *command, timeout=60):
    return subprocess.run([HVCTL, "-c", f"unix:{sock}", "-t", str(timeout), *command],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout + 30)


def wait_for_console(sock):
    """Reads the socket until the console is ready: nothing is typed while the firmware reads the line."""
    deadline, seen = time.monotonic() + BOOT_TIMEOUT["qemu"] * 2, b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        while True:
            try:
                s.connect(sock)
                break
            except OSError:
                assert time.monotonic() < deadline, "QEMU never made its socket"
                time.sleep(0.2)
        s.settimeout(5)
        while b"console ready on the serial line" not in seen:
            assert time.monotonic() < deadline, f"no console on the socket: {seen[-500:]!r}"
            try:
                seen += s.recv(4096)
            except socket.timeout:
                pass


def test_hvctl_runs_commands_over_a_unix_socket(boot, tmp_path):
    sock = str(tmp_path / "console.sock")
    cfg = harness.hv_cfg({"echo": {"cmdline": "mode=echo"}})
    with boot("qemu", cfg, serial=f"unix:{sock},server=on,wait=off"):
        wait_for_console(sock)
        done = hvctl(sock, "version")
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert re.match(r"hv 0\.1\.0-[\w.-]+\n$", done.stdout), done.stdout
        rows = json_lines(hvctl(sock, "list", "-j").stdout)
        assert rows and rows[0]["name"] == "echo"
        refused = hvctl(sock, "start", "echo")
        assert refused.returncode == 1 and "error: echo: refused: it is running already" in refused.stdout
        refused = hvctl(sock, "frobnicate")
        assert refused.returncode == 1 and "error: unknown command 'frobnicate'" in refused.stdout
        asks = hvctl(sock, "reboot")
        assert asks.returncode == 1 and "[y/N]" in asks.stdout and "give it -y" in asks.stderr
        assert hvctl(sock, "version").returncode == 0  # the question was answered no
        # Attached: what it reads goes to the guest, the guest's answer comes back; its input's end detaches.
        proc = subprocess.Popen([HVCTL, "-c", f"unix:{sock}", "console", "echo"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        proc.stdin.write("hello there\r")
        proc.stdin.flush()
        time.sleep(3)
        proc.stdin.close()
        out, err = proc.stdout.read(), proc.stderr.read()
        assert proc.wait(60) == 0, (out, err)
        assert "[attached to echo" in out and "ECHO hello there" in out, out
        assert "[back at the hypervisor console" in out, out


FLOOD_CFG = harness.hv_cfg({
    "busy": {"cmdline": "mode=work", "cpus": 1},
    "spin": {"cmdline": "mode=spin", "cpus": 0, "autostart": "no"},
    "flood": {"cmdline": "mode=uart-flood", "cpus": 0, "autostart": "no"},
})
WORK_REPORTS = 6  # per phase, after one dropped (it may straddle the change)
WORK_REPORT = r"\[busy\] BENCH work (\d+) report (\d+)\r"
# QEMU TCG plugin (tools/insnprof) that writes each emulated CPU's instructions at the self-test's work marks.
PROFILER = os.path.join(harness.BUILD, "insnprof.so")
MAX_SLOWDOWN = 0.05


def profiler_fails(marks):
    """Why QEMU cannot load the profiler with marks=MARKS, or None when it can."""
    if not os.path.isfile(PROFILER):
        return f"{PROFILER} is missing (make test builds it)"
    done = subprocess.run(["qemu-system-x86_64", "-machine", "none", "-display", "none", "-monitor", "stdio",
                           "-plugin", f"{PROFILER},marks={marks}"],
                          input="quit\n", capture_output=True, text=True, timeout=60)
    return f"QEMU cannot load {PROFILER}: {done.stderr.strip()}" if done.returncode else None


def work_reports(run, count):
    """The next count work reports after one dropped: {report number: units of work}."""
    run.expect(WORK_REPORT, 300)
    return dict((int(m.group(2)), int(m.group(1))) for m in (run.expect(WORK_REPORT, 300) for _ in range(count)))


def work_marks(path):
    """The profiler's work marks, numbered from 0 as the reports are: each (CPU, its instructions so far,
    every CPU's, its HLTs)."""
    with open(path) as f:
        return [tuple(int(field) for field in line.split()[1:]) for line in f if line.startswith("mark ")]


def on_its_cpu(reports, marks):
    """Over the reports, each from its previous mark to its own: the work per instruction executed on
    the reporting CPU, that CPU's part of every CPU's instructions, and the HLTs it executed."""
    def moved(field):
        return sum(marks[n][field] - marks[n - 1][field] for n in reports)
    return sum(reports.values()) / moved(1), moved(1) / moved(2), moved(3)


def test_a_guest_flooding_its_uart_slows_only_itself(boot, tmp_path):
    """The busy partition on CPU 1 beside a CPU-bound partition on CPU 0,
    then beside one that prints as fast as its UART goes, under -icount
    (TSC deltas count instructions). Its work per 2^29 ticks, make bench's
    idle-neighbour figure, is printed but not judged: QEMU runs both CPUs
    in turn in one thread, and the part of that stream it gives CPU 1
    moves by more than 5 % between runs, whatever CPU 0 runs. Judged is
    its work per instruction executed on its own CPU, counted by
    tools/insnprof at a mark the guest executes at each report: the guest
    part and the hypervisor's part there alike, whatever QEMU's split.

    Whatever the flood costs CPU 1 in instructions shows in that measure:
    more VM exits or interrupts there, the console's or the UART's work
    done there, CPU 1 spinning on a lock CPU 0 holds (its PAUSE loop is
    CPU 1's instructions, no work; in QEMU's turns that wait lasts until
    CPU 0 runs again, longer than on hardware, so it errs towards
    failing), the flooding vCPU run there. Time CPU 1
    spends halted executes no instruction, so that is judged apart: CPU 1
    executes no HLT while the busy partition runs. What TCG does not
    model stays unmeasured: caches, memory bandwidth, the real UART's bus
    time."""
    marks_path = str(tmp_path / "marks.txt")
    why = profiler_fails(marks_path)
    if why:
        pytest.skip(why)
    extra = ("-icount", "shift=0,sleep=off", "-plugin", f"{PROFILER},marks={marks_path}")
    with boot("qemu", FLOOD_CFG, extra=extra) as run:
        run.expect(r"hv: console ready", 600)
        run.command("start spin")
        run.expect(r"\[spin\] SELFTEST start mode=spin", 300)
        beside_spin = work_reports(run, WORK_REPORTS)
        run.command("stop -f spin")
        run.expect(r"partition spin: stopped", 300)
        run.command("start flood")
        run.expect(r"\[flood\] FLOOD \d+ ", 300)
        beside_flood = work_reports(run, WORK_REPORTS)
        # The console answers through the flood (its echo comes between the flood's lines).
        run.command("stats -j")
        flood_bytes = int(run.expect(r'\{"name":"flood".*?"console_bytes":(\d+),', 120).group(1))
        run.expect(r'\{"console":\{"log_bytes_dropped":\d+,"line_bytes_dropped":\d+,"input_bytes_dropped":\d+,'
                   r'"input_overruns":\d+\}\}', 60)
        run.command("stop -f flood")
        run.expect(r"partition flood: stopped", 300)
    marks = work_marks(marks_path)
    assert len({cpu for cpu, *_ in marks}) == 1, f"work marks from more than one CPU: {marks}"
    spin, flood = (sum(r.values()) / WORK_REPORTS for r in (beside_spin, beside_flood))
    print(f"busy partition's work per 2^29 ticks: beside a spinning partition {spin:.0f}, "
          f"beside a UART flood {flood:.0f} ({(1 - flood / spin) * 100:.2f} % less)")
    (spin_rate, spin_part, spin_halts), (flood_rate, flood_part, flood_halts) = (
        on_its_cpu(r, marks) for r in (beside_spin, beside_flood))
    slowdown = 1 - flood_rate / spin_rate
    print(f"its work per million instructions of its CPU: beside the spinner {spin_rate * 1e6:.3f}, "
          f"beside the flood {flood_rate * 1e6:.3f} ({slowdown * 100:.3f} % less); its CPU's part of all "
          f"instructions {spin_part * 100:.1f} % and {flood_part * 100:.1f} %; HLTs there {spin_halts} and "
          f"{flood_halts}")
    assert spin_halts == 0 and flood_halts == 0, "the busy partition's CPU halted while it could run"
    assert slowdown <= MAX_SLOWDOWN, (beside_spin, beside_flood, spin_rate, flood_rate)
    assert flood_bytes > 100000, flood_bytes
