"""The bed itself: hosts reach the bridge, each fault does what it says, teardown leaves nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.netns import Host, NamespaceBed, inside_live_bed, unavailable_reason

pytestmark = pytest.mark.slow
#: Runs on a host: connects to the bridge, prints the mean round trip of five pings in ms.
PING = (
    "import socket, sys, time\n"
    "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)\n"
    "started = time.perf_counter()\n"
    "for _ in range(5):\n"
    "    s.sendall(b'x'); s.recv(1)\n"
    "print('rtt', (time.perf_counter() - started) / 5 * 1000, flush=True)\n"
)


@pytest.fixture
def bed(tmp_path: Path) -> Iterator[NamespaceBed]:
    if reason := unavailable_reason():
        pytest.skip(reason)
    with NamespaceBed(tmp_path) as made:
        yield made


@pytest.fixture
def echo(bed: NamespaceBed) -> int:
    """Serve a byte-for-byte echo on the bridge address; return its port."""
    listener = socket.create_server((str(bed.gateway), 0))

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with client:
                while data := client.recv(64):
                    client.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def _round_trip(host: Host, bed: NamespaceBed, port: int) -> float | None:
    """Return the host's mean round trip to the bridge in ms, or None if it cannot connect."""
    before = host.log.read_text() if host.log.exists() else ""
    argv = [sys.executable, "-c", PING, str(bed.gateway), str(port)]
    host.spawn(argv, {"PATH": "/usr/bin:/bin"}).wait(timeout=20)
    lines = [line for line in host.log.read_text()[len(before) :].splitlines() if line]
    return float(lines[-1].split()[1]) if lines and lines[-1].startswith("rtt") else None


def test_the_guard_lets_a_test_reach_only_its_live_bed(bed: NamespaceBed, echo: int):
    address = (str(bed.gateway), echo)
    with socket.create_connection(address, timeout=3):
        assert inside_live_bed(str(bed.gateway))
    bed.close()
    assert not inside_live_bed(str(bed.gateway))
    with pytest.raises(AssertionError, match="test bed"):
        socket.create_connection(address, timeout=3)


def test_freeze_thaw_and_kill_reach_every_process_of_a_host(bed: NamespaceBed):
    host = bed.add_host("w1")
    process = host.spawn(["sh", "-c", "sleep 60 & exec sleep 60"], {"PATH": "/usr/bin:/bin"})
    time.sleep(0.3)
    pids = host.freeze()
    assert len(pids) == 2
    states = {Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] for pid in pids}
    assert states == {"T"}, "freeze returns once every process has stopped"
    host.thaw()
    host.kill()
    assert host.pids() == [] and process.returncode == -9


def test_a_wire_delays_and_a_cut_link_stalls(bed: NamespaceBed, echo: int):
    host = bed.add_host("w1", wire=True)
    assert (_round_trip(host, bed, echo) or 1e9) < 50
    host.link.impair(delay_ms=40)
    assert (_round_trip(host, bed, echo) or 0) >= 80
    host.link.clear()
    host.link.cut()
    assert _round_trip(host, bed, echo) is None
    host.link.restore()
    assert _round_trip(host, bed, echo) is not None


def test_teardown_leaves_no_namespace_link_or_process(tmp_path: Path):
    if reason := unavailable_reason():
        pytest.skip(reason)
    with NamespaceBed(tmp_path) as bed:
        host = bed.add_host("w1", wire=True)
        host.spawn(["sleep", "60"], {"PATH": "/usr/bin:/bin"})
        tag = bed.tag
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert tag not in listing and tag not in links
    assert host.pids() == [] and host.link.wire is not None and host.link.wire.poll() is not None
