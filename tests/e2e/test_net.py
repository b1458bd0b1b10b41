"""Partitions linked by the hypervisor's switch (hv/vswitch.c, hv/vdev/virtio_net.c):
four Debian Linux partitions (`make linux`), a, b and d on switch lan, c on
switch other with an address of the same subnet. Every driver takes the
checksum offloads (CSUM, GUEST_CSUM). a and b find each other (ARP), ping
each other and move 64 MiB over TCP with busybox nc, checksums equal; c sees
none of their frames and cannot be reached; a's frames from another source
MAC are dropped and counted; while d floods the switch with frames to an
address nobody has, a and b move data again with equal checksums, and each
of d's frames is counted at each of them (received or dropped, by reason);
the console's `net` shows each port's counters.

The guests' shells are driven through the console's attach (`console NAME`,
Ctrl-] back). One QEMU for the module, the tests in order on it, its
emulated CPUs in one thread (harness.QEMU_ONE_THREAD): the flood's many
exits and context switches made QEMU 7.2's multi-threaded TCG hand a
partition's #VMEXIT the host's state now and then."""
import os
import re
import shutil
import time

import pytest

import harness
from test_boot import expect_banner

LINUX = os.path.join(harness.BUILD, "linux")
PROMPT = r"linux:[^\r\n]*# "
TRANSFER_MIB = int(os.environ.get("NET_TRANSFER_MIB", "64"))
# Three kernels boot at once on two emulated CPUs, each a nested guest under TCG.
BOOT_TIMEOUT = 900
MACS = {"a": "02:00:00:00:00:0a", "b": "02:00:00:00:00:0b", "c": "02:00:00:00:00:0c", "d": "02:00:00:00:00:0d"}
ADDRS = {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3", "d": "10.0.0.4"}
SWITCHES = {"a": "lan", "b": "lan", "c": "other", "d": "lan"}
# b's two vCPUs take its interrupts and send on either CPU while a's frames arrive.
VCPUS = {"a": 1, "b": 2, "c": 1, "d": 1}
FLOOD_TRANSFER_MIB = int(os.environ.get("NET_FLOOD_TRANSFER_MIB", "8"))
# d's flood: pings of 1400 bytes, each process one a millisecond at most, to an
# address whose MAC no port has (unknown unicast: flooded to a and b, which drop it).
FLOOD_PINGS = 4
NOBODY = ("10.0.0.99", "02:00:00:00:00:99")


def net_cfg(names=tuple(MACS)):
    text = "[hypervisor]\nconsole = com1\n\n[switch lan]\n[switch other]\n"
    for name in names:
        text += (f"\n[partition {name}]\nmemory = 160M\nvcpus = {VCPUS[name]}\nkernel = vmlinuz\n"
                 f"initrd = initrd.img\ncmdline = console=ttyS0 quiet\nnet = {SWITCHES[name]} mac={MACS[name]}\n")
    return text


class Guests:
    """The hypervisor's console and the shell of whichever partition it is attached to."""

    def __init__(self, run):
        self.run = run
        self.attached = None
        self.serial = 0

    def attach(self, name):
        """An attach replays the partition's recent output: each answer is
        read after a key never printed before."""
        if self.attached == name:
            return
        self.detach()
        self.run.command(f"console {name}")
        self.run.expect(rf"\[attached to {name}", 20)
        self.attached = name
        assert self.value(name, "SYNC", "echo ok") == "ok"

    def detach(self):
        if self.attached:
            self.run.send("\x1d")
            self.run.expect(r"back at the hypervisor console", 20)
            self.attached = None

    def value(self, name, key, command, timeout=60):
        """Runs command in name's shell as `echo KEY=$(command)`; returns what it printed there."""
        self.attach(name)
        self.serial += 1
        key = f"{key}{self.serial}"
        self.run.command(f'echo "{key}=$( {command})"')  # "$((" would start arithmetic
        m = self.run.expect(rf"{key}=([^\r\n$]*)\r*\n", timeout)
        self.run.expect(PROMPT, 30)
        return m.group(1)

    def status(self, name, command, timeout=60):
        """command's exit status in name's shell."""
        return int(self.value(name, "ST", f"{command} >/dev/null 2>&1; echo $?", timeout))

    def hv(self, line, pattern, timeout=20):
        self.detach()
        self.run.command(line)
        m = self.run.expect(pattern, timeout)
        self.run.expect(r"hv> ", 10)
        return m

    def ports(self, names):
        """The console's `net` for the named partitions' first ports: name ->
        {"tx": frames, "rx": frames, reason: drops, ...}."""
        line = r"{}\.0\s+\S+ (?:up|down)\s+tx (\d+) frames \d+ bytes, rx (\d+) frames \d+ bytes, drops([^\r\n]*)\r"
        self.detach()
        self.run.command("net")
        found = self.run.expect_all({n: line.format(n) for n in names}, 20)
        self.run.expect(r"hv> ", 10)
        counters = {}
        for n in names:
            m = re.match(line.format(n), found[n].group(0))
            counters[n] = {"tx": int(m.group(1)), "rx": int(m.group(2)),
                           **{why: int(k) for why, k in re.findall(r"(\w+) (\d+)", m.group(3))}}
        return counters

    def transfer(self, sender, receiver, mib, port):
        """mib MiB over one TCP connection, 1 MiB of random bytes sent again
        and again; returns (sender's md5, receiver's md5, wall-clock seconds)."""
        stream = f"for i in $(seq {mib}); do cat /tmp/block; done"
        sent = self.value(sender, "SUM", "dd if=/dev/urandom of=/tmp/block bs=64k count=16 2>/dev/null; "
                          f"{stream} | md5sum", 120).split()[0]
        # The receiver's stdin never ends: it stops at the sender's end of stream.
        assert self.status(receiver, f"rm -f /tmp/sum; (sleep 3600 | nc -l -p {port} | md5sum > /tmp/sum &)") == 0
        start = time.monotonic()
        assert self.status(sender, f"{stream} | nc {ADDRS[receiver]} {port}", 60 + 10 * mib) == 0
        got = self.value(receiver, "SUM", "i=0; while [ ! -s /tmp/sum ] && [ $i -lt 60 ]; do sleep 1; "
                         "i=$((i+1)); done; cat /tmp/sum", 120).split()
        return sent, got[0] if got else None, time.monotonic() - start


@pytest.fixture(scope="module")
def guests(request):
    for name in ("vmlinuz", "initrd.img"):
        if not os.path.isfile(os.path.join(LINUX, name)):
            pytest.skip(f"no {name} in {LINUX}: `make linux` builds the Linux guest")
    os.makedirs(harness.LOGS, exist_ok=True)
    log = os.path.join(harness.LOGS, "test_net.log")
    failed_before = request.session.testsfailed
    with harness.Workdir() as directory:
        files = harness.default_files()
        for name in ("vmlinuz", "initrd.img"):
            shutil.copy(os.path.join(LINUX, name), os.path.join(directory, name))
            files.append(os.path.join(directory, name))
        medium = harness.make_medium(directory, "iso", net_cfg(), files)
        run = harness.boot_qemu("qemu:test_net", medium, log, mem=1024, tcg=harness.QEMU_ONE_THREAD)
        try:
            expect_banner(run, "qemu")
            run.expect_all({n: rf"\[{n}\] LINUX-READY" for n in MACS}, BOOT_TIMEOUT)
            yield Guests(run)
        finally:
            run.kill()
    if request.session.testsfailed == failed_before and not os.environ.get("KEEP_LOGS"):
        harness.remove_log(log)
    else:
        print(f"serial log kept: {log}")


def test_each_partition_has_its_port_with_its_mac(guests):
    for name, mac in MACS.items():
        assert guests.value(name, "MAC", "cat /sys/class/net/eth0/address") == mac
        assert guests.status(name, f"ip link set eth0 up && ip addr add {ADDRS[name]}/24 dev eth0") == 0
        assert guests.value(name, "CARRIER", "cat /sys/class/net/eth0/carrier") == "1"


def test_partitions_on_one_switch_ping_each_other(guests):
    m = guests.value("a", "PING", f"ping -c 3 -W 5 {ADDRS['b']} | grep -o '[0-9]* packets received'", 90)
    assert m == "3 packets received"
    m = guests.value("b", "PING", f"ping -c 3 -W 5 {ADDRS['a']} | grep -o '[0-9]* packets received'", 90)
    assert m == "3 packets received"
    assert guests.value("b", "NEIGH", f"ip neigh show {ADDRS['a']}").split()[4] == MACS["a"]


def test_every_driver_takes_the_checksum_offloads(guests):
    """The virtio device's features as the driver took them: bit 0 CSUM, bit 1 GUEST_CSUM."""
    for name in MACS:
        assert guests.value(name, "FEAT", "cat /sys/class/net/eth0/device/features")[:2] == "11"


def test_tcp_transfer_between_partitions_keeps_every_byte(guests):
    sent, got, seconds = guests.transfer("a", "b", TRANSFER_MIB, 5000)
    print(f"{TRANSFER_MIB} MiB in {seconds:.0f} s, partition to partition under TCG, checksum offload on")
    assert got == sent


def test_another_switch_sees_none_of_their_frames(guests):
    assert guests.status("a", f"ping -c 2 -W 2 {ADDRS['c']}", 60) != 0
    assert guests.value("c", "RX", "cat /sys/class/net/eth0/statistics/rx_packets") == "0"
    m = guests.hv("net", r"switch other: 1 port\r*\n\s+c\.0\s+02:00:00:00:00:0c up\s+tx (\d+) frames \d+ bytes, "
                  r"rx (\d+) frames (\d+) bytes")
    assert int(m.group(2)) == 0 and int(m.group(3)) == 0


def test_spoofed_source_is_dropped_and_counted(guests):
    assert guests.status("a", "ip link set eth0 down && ip link set eth0 address 02:00:00:00:00:99 && "
                         "ip link set eth0 up") == 0
    assert guests.status("a", f"ping -c 2 -W 2 {ADDRS['b']}", 60) != 0
    m = guests.hv("net", r"a\.0\s+02:00:00:00:00:0a up\s+tx \d+ frames \d+ bytes, rx \d+ frames \d+ bytes, "
                  r"drops([^\r\n]*)\r")
    spoofed = re.search(r"spoofed (\d+)", m.group(1))
    assert spoofed and int(spoofed.group(1)) >= 2, m.group(0)
    # Back to its own address, it is heard again.
    assert guests.status("a", f"ip link set eth0 down && ip link set eth0 address {MACS['a']} && "
                         "ip link set eth0 up") == 0
    m = guests.value("a", "PING", f"ping -c 2 -W 5 {ADDRS['b']} | grep -o '[0-9]* packets received'", 90)
    assert m == "2 packets received"


def test_a_flooding_partition_is_contained_and_counted(guests):
    lan = ("a", "b", "d")
    assert guests.status("d", f"arp -i eth0 -s {NOBODY[0]} {NOBODY[1]} && "
                         f"for i in $(seq {FLOOD_PINGS}); do (ping -q -s 1400 -i 0.001 -w 900 {NOBODY[0]} "
                         "> /dev/null 2>&1 &); done") == 0
    before = guests.ports(lan + ("c",))
    sent, got, seconds = guests.transfer("b", "a", FLOOD_TRANSFER_MIB, 5001)
    after = guests.ports(lan + ("c",))
    assert guests.status("d", "killall ping") == 0
    delta = {n: {k: after[n].get(k, 0) - before[n].get(k, 0) for k in after[n]} for n in after}
    print(f"{FLOOD_TRANSFER_MIB} MiB in {seconds:.0f} s while d floods; port counters meanwhile: {delta}")
    assert got == sent
    flood = delta["d"]["tx"]
    assert flood >= 1000, delta
    # Each frame d sent reached a and b, or was dropped there and counted by reason.
    for n in ("a", "b"):
        assert sum(v for k, v in delta[n].items() if k != "tx") >= flood, delta
    assert delta["c"]["rx"] == 0 and after["c"]["rx"] == 0
