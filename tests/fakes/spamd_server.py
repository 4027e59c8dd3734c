"""A fake spamd on 127.0.0.1: ``with fake_spamd(reply) as (url, received): ...``.

It serves one connection: reads the request to its end (the client closes its side), records
it, answers ``reply`` and closes, as spamd answers one SPAMC command per connection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

REPORT = """Spam detection software, running on the system "sa.example", has NOT identified
this incoming email as spam.

Content analysis details:   (2.8 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
-0.0 NO_RECEIVED            Informational: message has no Received headers
 2.8 MORE_SEX               BODY: Talks about a bigger drive for sex
-1.0 MAILING_LIST_MULTI     Multiple indicators imply a widely-seen list
                            manager
"""


def spamd_reply(report: str = REPORT, verdict: str = "False ; 2.8 / 5.0") -> bytes:
    """Return spamd's answer to REPORT with ``report`` as its body."""
    body = report.replace("\n", "\r\n").encode()
    head = f"SPAMD/1.1 0 EX_OK\r\nContent-length: {len(body)}\r\nSpam: {verdict}\r\n\r\n"
    return head.encode() + body


@contextmanager
def fake_spamd(reply: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """Listen on a free port; yield its ``spamd://`` URL and the list the request lands in."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
            received.append(b"".join(chunks))
            conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"spamd://127.0.0.1:{server.getsockname()[1]}?timeout=5", received
    finally:
        server.close()
        thread.join(timeout=5)
