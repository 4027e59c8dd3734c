"""Hosts as Linux network namespaces on a private bridge, and the faults a test injects on them.

Needs root and iproute2. Every name carries the test process's pid, so concurrent runs do not
clash and a later run sweeps what a killed one left behind. ``NamespaceBed.close`` tears down
everything (processes, links, namespaces, bridge) even after a failed test.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import itertools
import os
import re
import shutil
import signal
import string
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from types import TracebackType
from typing import IO

PREFIX = "pwf"
#: Beds are carved from this range, one /24 each; it is unlikely to be routed anywhere.
SUPERNET = IPv4Network("10.231.0.0/16")
_STALE = re.compile(rf"^{PREFIX}(\d+)[a-z]")
_sequence = itertools.cycle(string.ascii_lowercase)
#: Networks of the beds this process built and has not torn down (the network guard asks).
_live_networks: set[IPv4Network] = set()


class BedError(RuntimeError):
    """A command that builds or changes the bed failed."""


def inside_live_bed(host: str) -> bool:
    """Tell whether ``host`` is an address in a bed this process built and still runs."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in _live_networks)


def unavailable_reason() -> str | None:
    """Return why this machine cannot build a bed (not root, no iproute2, no namespaces)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in ("ip", "tc", "ss", "unshare") if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (iproute2, util-linux)"
    probe = f"{PREFIX}{os.getpid()}probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def run(*command: str) -> str:
    """Run an iproute2 command; raise ``BedError`` with its message if it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BedError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def _quiet(*command: str) -> None:
    subprocess.run(command, capture_output=True)


def _signal_all(pids: Sequence[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _stat(pid: int) -> list[str]:
    """Return the fields of ``/proc/PID/stat`` after the command name (state first), or []."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def namespace_pids(namespace: str) -> list[int]:
    """Return every process living in ``namespace`` (forked children included)."""
    done = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    return [int(line) for line in done.stdout.split()]


@dataclass(slots=True)
class Link:
    """A host's cable to the bridge: ``outer`` is on the bridge, ``inner`` in the namespace.

    A veth pair is impaired with ``tc netem``; a ``wire`` (two TAP devices joined by
    ``tests.hosts.wire``) stands in where the kernel has no netem.
    """

    outer: str
    inner: str
    namespace: str
    wire: subprocess.Popen[str] | None = None

    def cut(self) -> None:
        """Unplug the cable: the host's packets go nowhere, its connections stall, none resets."""
        run("ip", "link", "set", self.outer, "down")

    def restore(self) -> None:
        run("ip", "link", "set", self.outer, "up")

    def impair(self, *, delay_ms: float, jitter_ms: float = 0.0, loss_percent: float = 0.0) -> None:
        """Delay and drop packets both ways, as ``tc netem delay … loss …`` on both ends does."""
        if self.wire is not None:
            self._tell_wire(f"set {delay_ms} {jitter_ms} {loss_percent}")
            return
        netem = ["netem", "delay", f"{delay_ms}ms", f"{jitter_ms}ms", "loss", f"{loss_percent}%"]
        run("tc", "qdisc", "replace", "dev", self.outer, "root", *netem)
        inner = ("ip", "netns", "exec", self.namespace, "tc", "qdisc")
        run(*inner, "replace", "dev", self.inner, "root", *netem)

    def clear(self) -> None:
        """Take the impairment away."""
        if self.wire is not None:
            self._tell_wire("set 0 0 0")
            return
        _quiet("tc", "qdisc", "del", "dev", self.outer, "root")
        _quiet(
            "ip", "netns", "exec", self.namespace, "tc", "qdisc", "del", "dev", self.inner, "root"
        )

    def _tell_wire(self, line: str) -> None:
        assert self.wire is not None and self.wire.stdin is not None
        self.wire.stdin.write(line + "\n")
        self.wire.stdin.flush()
        assert self.wire.stdout is not None
        if self.wire.stdout.readline().strip() != "ok":
            raise BedError(f"the wire of {self.outer} did not take {line!r}")


@dataclass(slots=True, eq=False)
class Host:
    """One machine of the bed: a namespace, an address, a hostname and the processes it runs."""

    name: str
    namespace: str
    hostname: str
    address: IPv4Address
    link: Link
    log: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Start ``argv`` on this host (its own UTS namespace names it), logging to ``log``.

        The hostname makes claims legible: a worker's claim reads ``hostname:pid:thread``.
        """
        naming = ["unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname]
        command = ["ip", "netns", "exec", self.namespace, *naming, *argv]
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                command, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)
        return process

    def pids(self) -> list[int]:
        """Return every process running on this host."""
        return namespace_pids(self.namespace)

    def cpu_seconds(self) -> float:
        """Return the CPU time the host's running processes and their reaped children used."""
        # utime, stime, cutime and cstime, in clock ticks.
        ticks = sum(int(value) for pid in self.pids() for value in _stat(pid)[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def connections(self, peer: str) -> int:
        """Count this host's established TCP connections to ``peer`` (``address:port``)."""
        inside = ("ip", "netns", "exec", self.namespace)
        listing = run(*inside, "ss", "-Htn", "state", "established", "dst", peer)
        return len(listing.splitlines())

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL every process of the host, as a power cut would, and wait until none is left."""
        deadline = time.monotonic() + timeout
        while pids := self.pids():
            if time.monotonic() > deadline:
                raise BedError(f"processes outlived SIGKILL on {self.name}: {pids}")
            _signal_all(pids, signal.SIGKILL)
            time.sleep(0.05)
        self._reap()

    def freeze(self, timeout: float = 5.0) -> list[int]:
        """SIGSTOP every process of the host and wait until all have stopped; return them.

        Their sockets stay open and nothing they hold is released: a hung machine.
        """
        pids = self.pids()
        _signal_all(pids, signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        while any((_stat(pid) or ["X"])[0] not in {"T", "X", "Z"} for pid in pids):
            if time.monotonic() > deadline:
                raise BedError(f"processes of {self.name} did not stop: {pids}")
            time.sleep(0.01)
        return pids

    def thaw(self) -> None:
        _signal_all(self.pids(), signal.SIGCONT)

    def _reap(self) -> None:
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    def tail(self, characters: int = 3000) -> str:
        """Return the end of the host's log, for failure messages."""
        if not self.log.exists():
            return f"--- {self.name}: no log ---"
        text = self.log.read_text(errors="replace")[-characters:]
        return f"--- {self.name} ({self.hostname}) ---\n{text}"


class NamespaceBed:
    """A bridge with an address on a private /24, and hosts plugged into it."""

    def __init__(self, folder: Path) -> None:
        _sweep_stale()
        self.folder = folder
        self.tag = f"{PREFIX}{os.getpid()}{next(_sequence)}"
        self.bridge = f"{self.tag}br"
        self.network = _free_network()
        self.gateway = self.network.network_address + 1
        self.hosts: dict[str, Host] = {}
        _live_networks.add(self.network)
        try:
            run("ip", "link", "add", self.bridge, "type", "bridge")
            run("ip", "addr", "add", f"{self.gateway}/{self.network.prefixlen}", "dev", self.bridge)
            run("ip", "link", "set", self.bridge, "up")
        except BedError:
            self.close()
            raise

    def __enter__(self) -> NamespaceBed:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @functools.cached_property
    def has_netem(self) -> bool:
        """Tell whether the kernel has ``sch_netem`` (some VM kernels are built without it)."""
        probe = subprocess.run(
            ["tc", "qdisc", "add", "dev", self.bridge, "root", "netem", "delay", "0ms"],
            capture_output=True,
        )
        _quiet("tc", "qdisc", "del", "dev", self.bridge, "root")
        return probe.returncode == 0

    def add_host(self, name: str, *, wire: bool = False) -> Host:
        """Create host ``name`` (up to three characters: it goes into interface names).

        With ``wire`` its link is a userspace wire that can be impaired without ``sch_netem``.
        """
        if len(name) > 3:
            raise ValueError(f"host names go into 15-character interface names: {name!r}")
        namespace = f"{self.tag}-{name}"
        address = self.network.network_address + 10 + len(self.hosts)
        link = Link(f"{self.tag}{name}o", f"{self.tag}{name}i", namespace)
        host = Host(name, namespace, namespace, address, link, self.folder / f"{name}.log")
        self.hosts[name] = host
        run("ip", "netns", "add", namespace)
        if wire:
            link.wire = _start_wire(link)
        else:
            run("ip", "link", "add", link.outer, "type", "veth", "peer", "name", link.inner)
        run("ip", "link", "set", link.inner, "netns", namespace)
        run("ip", "link", "set", link.outer, "master", self.bridge, "up")
        inside = ("ip", "-n", namespace)
        run(*inside, "addr", "add", f"{address}/{self.network.prefixlen}", "dev", link.inner)
        run(*inside, "link", "set", link.inner, "up")
        run(*inside, "link", "set", "lo", "up")
        return host

    def close(self) -> None:
        """Tear everything down; safe to call twice and after a half-built bed."""
        for host in self.hosts.values():
            with contextlib.suppress(BedError):
                host.kill()
            if host.link.wire is not None:
                _stop(host.link.wire)
            _quiet("ip", "netns", "del", host.namespace)
            for device in (host.link.outer, host.link.inner):
                _quiet("ip", "link", "del", device)
        _quiet("ip", "link", "del", self.bridge)
        _live_networks.discard(self.network)


def _start_wire(link: Link) -> subprocess.Popen[str]:
    """Create the TAP pair and the process that carries frames between them."""
    for device in (link.outer, link.inner):
        run("ip", "tuntap", "add", "dev", device, "mode", "tap")
    wire = subprocess.Popen(
        [sys.executable, "-m", "tests.hosts.wire", link.outer, link.inner],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert wire.stdout is not None
    # The wire holds both devices open before the inner one moves into the namespace.
    if wire.stdout.readline().strip() != "ok":
        raise BedError(f"the wire between {link.outer} and {link.inner} did not start")
    return wire


def _stop(process: subprocess.Popen[str]) -> None:
    stdin: IO[str] | None = process.stdin
    if stdin is not None:
        with contextlib.suppress(OSError):
            stdin.close()
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _free_network() -> IPv4Network:
    """Pick a /24 of ``SUPERNET`` that no interface of this machine uses yet."""
    used = run("ip", "-o", "-4", "addr", "show") + run("ip", "-4", "route", "show")
    taken = {
        IPv4Network(match, strict=False) for match in re.findall(r"\d+\.\d+\.\d+\.\d+/\d+", used)
    }
    subnets = list(SUPERNET.subnets(new_prefix=24))[1:-1]
    start = os.getpid() % len(subnets)
    for candidate in itertools.islice(itertools.cycle(subnets), start, start + len(subnets)):
        if candidate not in _live_networks and not any(candidate.overlaps(n) for n in taken):
            return candidate
    raise BedError(f"no free /24 left in {SUPERNET}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale() -> None:
    """Remove namespaces and interfaces left by test runs that were killed before teardown."""
    for name in run("ip", "netns", "list").split():
        match = _STALE.match(name)
        if match and not _alive(int(match.group(1))):
            _signal_all(namespace_pids(name), signal.SIGKILL)
            _quiet("ip", "netns", "del", name)
    for name in re.findall(r"^\d+: ([^:@]+)", run("ip", "-o", "link", "show"), re.MULTILINE):
        match = _STALE.match(name)
        if match and not _alive(int(match.group(1))):
            _quiet("ip", "link", "del", name)
