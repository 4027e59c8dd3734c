"""A private Redis on the bed's bridge that a test may kill and restart, losing what it held."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """``redis-server`` without persistence on ``host``; ``restart`` keeps its port."""

    def __init__(self, host: str, folder: Path) -> None:
        self.host, self.folder = host, folder
        self.port = _free_port(host)
        self.log = folder / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> PrivateRedis:
        # Nothing is saved: a restart comes back empty, as a broker that lost its data would.
        command = ["redis-server", "--bind", self.host, "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
        command += ["--dir", str(self.folder)]
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self._wait_listening()
        return self

    def stop(self, *, kill: bool = True) -> None:
        """Stop the server (SIGKILL by default: queued tasks are lost with it)."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self, *, down_for: float = 0.0) -> None:
        """Kill the server, wait ``down_for`` seconds, start an empty one on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not listen on {self.host}:{self.port}")

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
