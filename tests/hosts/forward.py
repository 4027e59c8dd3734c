"""A small TCP forwarder: puts a service that listens on loopback (PostgreSQL) on the bridge.

``python -m tests.hosts.forward LISTEN_HOST TARGET_HOST:PORT`` listens on an ephemeral port of
``LISTEN_HOST``, prints ``{"port": N}`` once listening, and copies bytes both ways between each
client and a fresh connection to the target. An end that closes is passed on to the other, so
a killed client ends its PostgreSQL session (and rolls its transaction back) at once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

CHUNK = 65536


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass
    finally:
        # Pass the end on; a reset or error on one side closes both.
        for end in (target, source):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def _connect(client: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    there = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    there.start()
    back.start()
    there.join()
    back.join()
    client.close()
    upstream.close()


def serve(listener: socket.socket, target: tuple[str, int]) -> None:
    """Accept clients for ever, one pair of pumping threads each."""
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_connect, args=(client, target), daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    listen_host, target = argv or sys.argv[1:]
    target_host, _, target_port = target.rpartition(":")
    listener = socket.create_server((listen_host, 0), backlog=128)
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
    serve(listener, (target_host, int(target_port)))


@contextlib.contextmanager
def forwarder_process(listen_host: str, target: str) -> Iterator[int]:
    """Run a forwarder in a child process for the block; yield the port it listens on."""
    command = [sys.executable, "-m", "tests.hosts.forward", listen_host, target]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield int(json.loads(child.stdout.readline())["port"])
    finally:
        child.kill()
        child.wait(timeout=10)


if __name__ == "__main__":
    main()
