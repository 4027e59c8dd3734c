"""A small threaded SMTP server on 127.0.0.1 that records messages and can be told to misbehave."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class SinkMessage:
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes


@dataclass(slots=True)
class SinkConfig:
    username: str = ""
    password: str = ""
    #: Recipient address → (code, text) answered to its RCPT TO.
    rcpt_replies: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: Close the connection once this many messages were accepted in total (then reset to None).
    drop_after: int | None = None
    #: Read the body of the next message, record it, then close without the final reply.
    drop_before_reply: bool = False
    tls_context: ssl.SSLContext | None = None
    implicit_tls: bool = False
    pipelining: bool = True
    #: Answer MAIL FROM with this (code, text) once ``mail_reply_after`` messages were accepted.
    mail_reply: tuple[int, str] | None = None
    mail_reply_after: int = 0


class SmtpSink:
    """Record every accepted message; count connections and commands for the tests."""

    def __init__(self, config: SinkConfig | None = None):
        self.config = config or SinkConfig()
        self.messages: list[SinkMessage] = []
        self.connections = 0
        self.quits = 0
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, scheme: str = "smtp", query: str = "") -> str:
        """Return a ``PINWHEEL_SMTP_URL`` pointing at this sink."""
        auth = f"{self.config.username}:{self.config.password}@" if self.config.username else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}" + (f"?{query}" if query else "")

    def start(self) -> SmtpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: SmtpSink


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        config = self.server.sink.config
        if config.implicit_tls and config.tls_context is not None:
            self.request = config.tls_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self) -> None:
        sink = self.server.sink
        with sink.lock:
            sink.connections += 1
        self.mail_from = ""
        self.recipients: list[str] = []
        self.reply(220, "sink ready")
        while line := self.rfile.readline():
            verb, _, arg = line.decode("utf-8", "replace").rstrip("\r\n").partition(" ")
            if not self.dispatch(verb.upper(), arg):
                return

    def reply(self, code: int, text: str) -> None:
        self.wfile.write(f"{code} {text}\r\n".encode())
        self.wfile.flush()

    def dispatch(self, verb: str, arg: str) -> bool:
        config = self.server.sink.config
        if verb in ("EHLO", "HELO"):
            self.ehlo(verb)
        elif verb == "STARTTLS" and config.tls_context is not None:
            self.reply(220, "go ahead")
            self.request = config.tls_context.wrap_socket(self.request, server_side=True)
            self.rfile = self.request.makefile("rb")
            self.wfile = self.request.makefile("wb")
        elif verb == "AUTH":
            self.auth(arg)
        elif verb == "MAIL":
            self.mail(_address(arg))
        elif verb == "RCPT":
            self.rcpt(_address(arg))
        elif verb == "DATA":
            return self.data()
        elif verb in ("RSET", "NOOP"):
            self.mail_from, self.recipients = "", []
            self.reply(250, "ok")
        elif verb == "QUIT":
            with self.server.sink.lock:
                self.server.sink.quits += 1
            self.reply(221, "bye")
            return False
        else:
            self.reply(502, "not implemented")
        return True

    def ehlo(self, verb: str) -> None:
        config = self.server.sink.config
        features = ["sink", "8BITMIME"] + (["PIPELINING"] if config.pipelining else [])
        if config.tls_context is not None and not config.implicit_tls:
            features.append("STARTTLS")
        if config.username:
            features.append("AUTH PLAIN LOGIN")
        if verb == "HELO":
            features = features[:1]
        for feature in features[:-1]:
            self.wfile.write(f"250-{feature}\r\n".encode())
        self.reply(250, features[-1])

    def auth(self, arg: str) -> None:
        config = self.server.sink.config
        mechanism, _, initial = arg.partition(" ")
        if mechanism.upper() == "PLAIN":
            _, user, password = base64.b64decode(initial).decode().split("\0")
        else:
            self.reply(334, base64.b64encode(b"Username:").decode())
            user = base64.b64decode(self.rfile.readline().strip()).decode()
            self.reply(334, base64.b64encode(b"Password:").decode())
            password = base64.b64decode(self.rfile.readline().strip()).decode()
        if (user, password) == (config.username, config.password):
            self.reply(235, "authenticated")
        else:
            self.reply(535, "5.7.8 authentication failed")

    def mail(self, address: str) -> None:
        sink = self.server.sink
        refusal = sink.config.mail_reply
        if refusal is not None and len(sink.messages) >= sink.config.mail_reply_after:
            self.reply(*refusal)
            return
        self.mail_from, self.recipients = address, []
        self.reply(250, "ok")

    def rcpt(self, address: str) -> None:
        if not self.mail_from:
            self.reply(503, "5.5.1 need MAIL first")
            return
        code, text = self.server.sink.config.rcpt_replies.get(address, (250, "ok"))
        if code == 250:
            self.recipients.append(address)
        self.reply(code, text)

    def data(self) -> bool:
        sink = self.server.sink
        if not self.recipients:
            self.reply(554, "5.5.1 no valid recipients")
            return True
        self.reply(354, "end with <CRLF>.<CRLF>")
        data = self.read_data()
        if data is None:
            return False
        message = SinkMessage(self.mail_from, tuple(self.recipients), data)
        self.mail_from, self.recipients = "", []
        with sink.lock:
            sink.messages.append(message)
            silent, sink.config.drop_before_reply = sink.config.drop_before_reply, False
            limit = sink.config.drop_after
            close_after = limit is not None and len(sink.messages) >= limit
            if close_after:
                sink.config.drop_after = None
        if silent:
            return False
        self.reply(250, "2.0.0 queued")
        return not close_after

    def read_data(self) -> bytes | None:
        """Read a DATA body in large chunks: the client waits for our reply after the final dot."""
        buffer = bytearray(b"\r\n")
        while not buffer.endswith(b"\r\n.\r\n"):
            chunk = self.rfile.read1(65536)
            if not chunk:
                return None
            buffer += chunk
        return bytes(buffer[:-3]).replace(b"\r\n..", b"\r\n.")[2:]


def _address(arg: str) -> str:
    _, _, rest = arg.partition(":")
    return rest.strip().split(" ")[0].strip("<>")


def make_tls_files(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1/localhost and its key; return both paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "sink-cert.pem", folder / "sink-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Return a (server, client) pair of TLS contexts where the client trusts the sink's cert."""
    cert_path, key_path = make_tls_files(folder)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client
