"""Fixtures for the end-to-end tests: boot media in emulators, keep the
serial logs of failed tests under build/test-logs/."""
import glob
import os
import re

import pytest

import harness


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


def _failed(node):
    return any(getattr(node, "report_" + when, None) is not None and
               getattr(node, "report_" + when).failed for when in ("setup", "call"))


@pytest.fixture(params=["qemu", "bochs"])
def path(request):
    """The emulator path: 'qemu' (AMD-V) or 'bochs' (VT-x)."""
    if request.param == "bochs":
        binary, why = harness.bochs_binary()
        if not binary:
            pytest.skip(f"Bochs/VT-x path: {why}")
    return request.param


@pytest.fixture
def boot(request):
    """boot(path, cfg_text, medium='iso'|'usb', files=None, **emulator_options)
    builds the medium, starts the emulator and returns the Run. Runs are
    killed afterwards; their logs are kept only when the test failed."""
    os.makedirs(harness.LOGS, exist_ok=True)
    stem = os.path.join(harness.LOGS, re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name))
    runs, workdirs = [], []

    def start(path, cfg_text, medium="iso", files=None, **options):
        workdir = harness.Workdir()
        workdirs.append(workdir)
        if path == "bochs":
            medium = "usb"  # Bochs boots OVMF from its IDE disk, not a CD
        image = harness.make_medium(workdir.__enter__(), medium, cfg_text, files)
        log = f"{stem}.{len(runs)}.log"
        boot_fn = harness.boot_bochs if path == "bochs" else harness.boot_qemu
        run = boot_fn(f"{path}:{request.node.name}", image, log, **options)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.kill()
    for workdir in workdirs:
        workdir.__exit__(None, None, None)
    if not _failed(request.node) and not os.environ.get("KEEP_LOGS"):
        for log in glob.glob(stem + ".*"):
            os.remove(log)
    else:
        for run in runs:
            print(f"serial log kept: {run.log_path}")
