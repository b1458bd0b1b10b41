"""The host console's receive side: the boot log names its mode (the
UART's interrupt through the I/O APIC on both emulators' boards), and a
line pasted in one write, far longer than the UART's 16-byte FIFO and the
console's own buffer, reaches an attached guest whole."""
import re

from harness import hv_cfg
from test_boot import BOOT_TIMEOUT, expect_banner, expect_console

CFG = hv_cfg({"echo": {"cmdline": "mode=echo"}})
ESCAPE = "\x1d"  # Ctrl-]
PASTE_LEN = 1500


def paste_line():
    """Printable bytes in a pattern that no shifted or lost byte keeps."""
    return "".join(chr(0x21 + (i * 7 + i // 94) % 94) for i in range(PASTE_LEN))


def test_a_long_paste_reaches_the_attached_guest_whole(boot, path):
    with boot(path, CFG) as run:
        expect_banner(run, path)
        run.expect(r"\[echo\] ECHO ready", BOOT_TIMEOUT[path])
        expect_console(run)
        mode = re.search(r"hv: console rx: (irq \d+ vector 0x[0-9a-f]+|polled \([^)]*\))", run.text())
        assert mode, "the boot log does not say how the console receives"
        assert mode.group(1) == "irq 4 vector 0xf3", f"console rx: {mode.group(1)}"

        run.command("console echo")
        run.expect(r"\[attached to echo: its recent output, then live; Ctrl-\] returns", 20)
        line = paste_line()
        run.send(line + "\r")  # one write, as a terminal passes on a paste
        run.expect(re.escape("ECHO " + line[:127]) + r"\r*\n", 60)
        m = run.expect(r"ECHO \((\d+) bytes, sum (\d+)\)", 60)
        assert (int(m.group(1)), int(m.group(2))) == (PASTE_LEN, sum(map(ord, line))), \
            f"the guest got {m.group(1)} bytes of {PASTE_LEN}"
        run.send(ESCAPE)
        run.expect(r"\[back at the hypervisor console", 20)

        run.command("stats")
        m = run.expect(r"input: (\d+) bytes dropped \(receive ring full\), (\d+) UART overruns", 20)
        assert (m.group(1), m.group(2)) == ("0", "0")


def test_a_console_whose_interrupt_is_unknown_is_polled_and_says_so(boot):
    """COM3 (QEMU's third ISA port, 0x3e8) shares IRQ 4 with COM1 on a PC:
    the hypervisor does not take it for the console's own, reads the UART
    at each turn instead, names the reason, and the console answers."""
    cfg = CFG.replace("console = com1", "console = com3")
    with boot("qemu", cfg, serial="null", extra=("-serial", "null", "-serial", "stdio")) as run:
        expect_banner(run, "qemu")
        run.expect(r"hv: console rx: polled \(the console UART's interrupt is not known: "
                   r"only COM1's and COM2's are\)", 30)
        expect_console(run)
        run.command("console echo")
        run.expect(r"\[attached to echo", 20)
        run.send("typed while polled\r")
        run.expect(r"ECHO typed while polled\r*\n", 20)
