"""A network cable in userspace with netem's delay and loss, for kernels built without netem.

``python -m tests.hosts.wire OUTER INNER`` opens two existing TAP devices, prints ``ok`` and
carries every Ethernet frame from one to the other. A line ``set DELAY_MS JITTER_MS
LOSS_PERCENT`` on stdin changes the impairment (answered ``ok``); end of input stops the wire.
A frame that meets a device that is down is lost, as on an unplugged cable.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import selectors
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
#: Bare frames, without the 4-byte packet-information header.
IFF_NO_PI = 0x1000
MAX_FRAME = 65536


def open_tap(name: str) -> int:
    """Attach to the existing TAP device ``name``; return the file descriptor of its frames."""
    descriptor = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(descriptor, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return descriptor


@dataclass(slots=True)
class Wire:
    """Frames in flight between two devices, each direction first in, first out."""

    ends: tuple[int, int]
    delay: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    #: Per destination: (due time, frame), due times never decreasing (no reordering).
    flight: dict[int, deque[tuple[float, bytes]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.flight = {end: deque() for end in self.ends}

    def configure(self, delay_ms: float, jitter_ms: float, loss_percent: float) -> None:
        self.delay, self.jitter, self.loss = delay_ms / 1000, jitter_ms / 1000, loss_percent / 100

    def carry(self, source: int, now: float) -> None:
        """Read every waiting frame from ``source`` and put it in flight (or lose it)."""
        target = self.ends[1] if source == self.ends[0] else self.ends[0]
        queue = self.flight[target]
        while True:
            try:
                frame = os.read(source, MAX_FRAME)
            except BlockingIOError:
                return
            if self.loss and self.rng.random() < self.loss:
                continue
            due = now + max(0.0, self.delay + self.rng.uniform(-self.jitter, self.jitter))
            queue.append((max(due, queue[-1][0]) if queue else due, frame))

    def deliver(self, now: float) -> float | None:
        """Write the frames that are due; return seconds until the next one (None: none)."""
        soonest: float | None = None
        for target, queue in self.flight.items():
            while queue and queue[0][0] <= now:
                _, frame = queue.popleft()
                # A device that is down or gone loses the frame, as a cut cable would.
                with contextlib.suppress(OSError):
                    os.write(target, frame)
            if queue:
                wait = queue[0][0] - now
                soonest = wait if soonest is None else min(soonest, wait)
        return soonest


def _answer(wire: Wire, line: str) -> str:
    parts = line.split()
    if len(parts) != 4 or parts[0] != "set":
        return f"error: expected 'set DELAY_MS JITTER_MS LOSS_PERCENT', got {line!r}"
    wire.configure(*(float(part) for part in parts[1:]))
    return "ok"


def serve(wire: Wire) -> None:
    """Carry frames until stdin ends."""
    selector = selectors.DefaultSelector()
    for end in wire.ends:
        selector.register(end, selectors.EVENT_READ)
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
    pending = b""
    timeout: float | None = None
    while True:
        for key, _ in selector.select(timeout):
            if key.fd != sys.stdin.fileno():
                wire.carry(key.fd, time.monotonic())
                continue
            chunk = os.read(key.fd, 4096)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                print(_answer(wire, line.decode()), flush=True)
        timeout = wire.deliver(time.monotonic())


def main(argv: list[str] | None = None) -> None:
    outer, inner = argv or sys.argv[1:]
    wire = Wire((open_tap(outer), open_tap(inner)))
    print("ok", flush=True)
    serve(wire)


if __name__ == "__main__":
    main()
