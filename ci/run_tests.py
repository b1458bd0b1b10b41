#!/usr/bin/python3
"""Runs the host unit tests, a short run of each fuzz target, then the
end-to-end tests, and totals them.

Usage: run_tests.py BUILD_DIR UNIT_BINARY... -- FUZZ_BINARY...

Each cmocka binary's own summary gives its counts (a crash counts as a
failure). A fuzz target counts as one test: FUZZ_RUNS inputs (or
FUZZ_SECONDS of them), starting from its seeds in tests/fuzz/corpus/ where it
has some, without a crash or a sanitizer report. pytest's JUnit XML gives the end-to-end
counts, skips included. The last line is the total:
"total: N passed, N failed, N skipped". Exits non-zero when anything failed.
"""
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def run_unit(binary):
    proc = subprocess.run([binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(proc.stdout)
    passed = re.search(r"^\[  PASSED  \] (\d+) test", proc.stdout, re.M)
    failed = re.search(r"^\[  FAILED  \] (\d+) test", proc.stdout, re.M)
    passed = int(passed.group(1)) if passed else 0
    failed = int(failed.group(1)) if failed else 0
    if proc.returncode != 0 and failed == 0:
        print(f"{binary}: exited with status {proc.returncode} before reporting")
        failed = 1
    return passed, failed


FUZZ_RUNS = 200000
FUZZ_SECONDS = 20  # whichever limit comes first
CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fuzz", "corpus")


def corpus_dirs(build, binary):
    """A scratch directory for the inputs libFuzzer adds, then the committed
    seeds of the target (tests/fuzz/corpus/NAME for fuzz_NAME), if any:
    libFuzzer writes only into the first directory it is given. The scratch
    starts empty, so that each run starts from the seeds alone."""
    name = os.path.basename(binary).removeprefix("fuzz_")
    seeds = os.path.join(CORPUS, name)
    if not os.path.isdir(seeds):
        return []
    scratch = os.path.join(build, "fuzz", f"corpus-{name}")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    return [scratch, seeds]


def run_fuzzer(build, binary):
    proc = subprocess.run([binary, f"-runs={FUZZ_RUNS}", f"-max_total_time={FUZZ_SECONDS}", "-seed=1",
                           *corpus_dirs(build, binary)],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    done = re.search(r"^Done (\d+) runs", proc.stdout, re.M)
    if proc.returncode == 0 and done:
        print(f"{binary}: {done.group(1)} inputs, no crash")
        return 1, 0
    sys.stdout.write(proc.stdout[-4000:])
    print(f"{binary}: FAILED (status {proc.returncode})")
    return 0, 1


LOG_TAIL_LINES = 60


def show_kept_logs(logs):
    """The end of each serial log a failing module kept: CI prints only
    this output, and a hang shows there what the hypervisor said last."""
    for name in sorted(os.listdir(logs)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(logs, name), errors="replace") as f:
            lines = f.read().replace("\r", "").splitlines()
        print(f"--- {name}: its last {min(len(lines), LOG_TAIL_LINES)} of {len(lines)} lines")
        print("\n".join(lines[-LOG_TAIL_LINES:]))


def run_e2e(build):
    logs = os.path.join(build, "test-logs")
    os.makedirs(logs, exist_ok=True)
    for name in os.listdir(logs):
        if name.endswith(".log"):
            os.remove(os.path.join(logs, name))  # an earlier run's
    xml = os.path.join(logs, "e2e.xml")
    if os.path.exists(xml):
        os.remove(xml)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider",
                           f"--junitxml={xml}", "tests/e2e"])
    if not os.path.exists(xml):
        print(f"e2e: pytest exited with status {proc.returncode} and wrote no results")
        return 0, 1, 0
    suite = ET.parse(xml).getroot()
    suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
    total = int(suite.get("tests"))
    failed = int(suite.get("failures")) + int(suite.get("errors"))
    skipped = int(suite.get("skipped"))
    if proc.returncode not in (0, 1) and failed == 0:
        failed = 1  # pytest itself failed (usage, collection, internal error)
    if failed:
        show_kept_logs(logs)
    return total - failed - skipped, failed, skipped


def main():
    build, args = sys.argv[1], sys.argv[2:]
    split = args.index("--") if "--" in args else len(args)
    unit_passed = unit_failed = 0
    for binary in args[:split]:
        p, f = run_unit(binary)
        unit_passed += p
        unit_failed += f
    for binary in args[split + 1:]:
        p, f = run_fuzzer(build, binary)
        unit_passed += p
        unit_failed += f
    e2e_passed, e2e_failed, e2e_skipped = run_e2e(build)
    print(f"unit and fuzz: {unit_passed} passed, {unit_failed} failed")
    print(f"e2e: {e2e_passed} passed, {e2e_failed} failed, {e2e_skipped} skipped")
    failed = unit_failed + e2e_failed
    print(f"total: {unit_passed + e2e_passed} passed, {failed} failed, {e2e_skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
