"""The operator attaches to a partition's serial console: what was typed
reaches the guest through its UART's receive interrupt (IRQ 4, through the
I/O APIC), its output comes back raw, the other partitions' lines wait in
the log meanwhile, and Ctrl-] returns to the hypervisor's prompt; typed at
once into a guest that prints all the time, with nobody reading the line
for a while, the console still hears the escape."""
import re
import time

from harness import hv_cfg
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

CFG = hv_cfg({
    "echo": {"cmdline": "mode=echo"},
    "chatty": {"cmdline": "mode=idle", "autostart": "no"},
})
ESCAPE = "\x1d"  # Ctrl-]


def guest_line(text):
    """An attached guest's line as the terminal shows it: a hypervisor line
    logged meanwhile comes at once, on a line of its own, even inside the
    guest's (hv/log.c)."""
    inserted = r"(?:\r*\nhv: [^\n]*\n)?"
    return inserted.join(re.escape(c) for c in text) + r"\r*\n"


def test_attach_types_into_a_guest_and_ctrl_bracket_returns(boot, path):
    with boot(path, CFG) as run:
        expect_banner(run, path)
        run.expect(r"\[echo\] ECHO ready", BOOT_TIMEOUT[path])
        expect_console(run)

        run.command("console echo")
        run.expect(r"\[attached to echo: its recent output, then live; Ctrl-\] returns", 20)
        run.expect(r"ECHO ready\r*\n", 20)  # what it printed before, raw: no "hv: [echo]" before it
        run.send("hello there\r")
        run.expect(r"ECHO hello there\r*\n", 20)
        assert "hv: [echo] ECHO hello there" not in run.text(), "a line shown twice while attached"

        # Another partition's lines wait in the log while the operator is attached.
        run.send(ESCAPE)
        run.expect(r"\[back at the hypervisor console; 'console echo' attaches again\]", 20)
        run.command("start chatty")
        run.expect(r"chatty: started", 20)
        run.expect(r"hv: \[chatty\] SELFTEST start mode=idle", BOOT_TIMEOUT[path])
        run.command("console echo")
        run.expect(r"\[attached to echo", 20)
        run.send("restart chatty\r")  # typed into the guest, not run by the hypervisor
        run.expect(r"ECHO restart chatty\r*\n", 20)
        run.expect_absent(r"hv: \[chatty\] SELFTEST start", 3)
        run.send(ESCAPE)
        run.expect(r"\[back at the hypervisor console", 20)
        expect_console(run)
        run.command("log")
        run.expect(r"hv: \[echo\] ECHO restart chatty", 20)  # kept all along

        # "quit" ends the guest: the line about its stop may come inside its last.
        run.command("console echo")
        run.expect(r"\[attached to echo", 20)
        run.send("quit\r")
        run.expect(guest_line("ECHO quit"), 20)
        run.send(ESCAPE)
        run.expect(r"\[back at the hypervisor console", 20)
        run.command("list")
        run.expect(r"echo\s+stopped on cpu \d, cpu_ms \d+, exits \d+: exited with status 0", 20)


FLOOD_CFG = hv_cfg({"flood": {"cmdline": "mode=uart-flood"}})


def test_typing_at_once_into_a_printing_guest_leaves_the_console_working(boot, path):
    """Attached to a guest that prints as fast as its UART goes, the operator
    types at once and reads nothing for a while: its recent output (64 KiB)
    and then its live output fill the line, which stops draining. The
    console must neither hold CPU 0 on that line nor give it up: once
    Ctrl-] comes, the prompt is back and answers. (The console once took a
    transmitter that stayed full for a UART gone, and went deaf for good.)"""
    with boot(path, FLOOD_CFG) as run:
        expect_banner(run, path)
        run.expect(r"\[flood\] FLOOD \d+ ", BOOT_TIMEOUT[path])
        expect_console(run)
        run.command("console flood")
        run.expect(r"\[attached to flood: its recent output, then live", 60)
        run.send("echo typed at once\r")  # to the guest, which does not read it; the line is not read either
        time.sleep(5)  # nobody reads the line
        run.send(ESCAPE)
        run.expect(r"\[back at the hypervisor console; 'console flood' attaches again\]", 120)
        expect_console(run)
