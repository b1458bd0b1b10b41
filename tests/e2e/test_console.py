"""The serial console's line editor, as an operator's terminal drives it:
history, editing keys, Tab completion, and input that no terminal should
send but some do (binary garbage, overlong lines, floods of escape bytes)."""
import os
import re

from harness import hv_cfg
from test_boot import expect_banner, expect_console

CFG = hv_cfg({
    "alpha": {"cmdline": "mode=idle", "autostart": "no"},
    "bravo": {"autostart": "no"},
})
VERSION = r"hv 0\.1\.0-[\w.-]+\r*\n"
# Bytes the QEMU terminal would turn into signals (QEMU keeps ISIG on -serial stdio).
SIGNAL_BYTES = {0x03, 0x1a, 0x1c}


def send_bytes(run, data):
    """Raw bytes to the serial line, as a terminal passes on what it is given."""
    os.write(run.child.child_fd, data)


def test_line_editor_history_editing_completion_and_garbage(boot):
    with boot("qemu", CFG) as run:
        expect_banner(run, "qemu")
        expect_console(run)

        # Up recalls the previous command; Enter runs it again.
        run.send("\x1b[A")
        run.send("\r")
        run.expect(VERSION, 20)

        # Ctrl-U drops what was typed; Backspace (DEL and BS) erases a character.
        run.command("frobnicate\x15mexx\x7f\x08m")
        run.expect(r"free \d+ MiB of \d+ MiB managed", 20)

        # Tab completes the command, then the partition's name.
        run.command("star\tal\t")
        run.expect(r"alpha: started", 20)

        # Every byte but Enter and the terminal's signal keys: the printable
        # ones make a line (DEL erasing the last), the others do nothing.
        garbage = bytes(b for b in range(256) if b not in SIGNAL_BYTES | {0x0a, 0x0d})
        send_bytes(run, garbage + b"\r")
        survivors = "".join(chr(b) for b in range(0x21, 0x7e))
        run.expect(re.escape(f"unknown command '{survivors}'"), 20)
        expect_console(run)

        run.command("version " + "x" * 200)
        run.expect(r"line too long \(max 127\)", 20)
        expect_console(run)

        # A flood of escape bytes: lone ESCs, cut sequences, one far too long
        # to be a key (its final A must not recall anything), then text at once.
        flood = b"\x1b" * 300 + b"\x1b[" * 100 + b"\x1b[" + b"9;" * 200 + b"A" + b"\x1bO" * 50 + b"\x1b"
        send_bytes(run, flood)
        expect_console(run)

        log = run.text()
        assert "unknown command 'frobnicate" not in log
        assert "unknown command 'version" not in log
