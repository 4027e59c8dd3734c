"""A fake SendGrid ``/v3/mail/send`` that validates, records and misbehaves on cue.

In process: ``with FakeSendGrid() as fake: ... fake.url ... fake.accepted``.
As a process: ``python -m tests.fakes.sendgrid_server --port 0 --state-file F [--fault-mix
429=0.15,500=0.1,reset=0.05 --seed 1] [--host ADDRESS] [--latency SECONDS]`` prints ``{"port": N,
"url": ...}`` once listening and appends one JSON line per request and per accepted message to
``F`` (read it with ``read_state``), each with the sender's address. It listens on 127.0.0.1
unless ``--host`` names another address (a test bed's bridge).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from tests.fakes.sendgrid_rules import MAX_BODY_BYTES, validate

#: ``ok`` answers normally; it lets a script put faults after some good requests.
FAULTS = ("ok", "429", "500", "reset", "accept_drop", "401")


@dataclass(slots=True)
class AcceptedMessage:
    """One personalization SendGrid would have sent."""

    to: str
    name: str
    delivery_id: str | None
    message_id: str
    custom_args: dict[str, str]
    headers: dict[str, str]
    categories: list[str]
    substitutions: dict[str, str]
    subject_template: str
    text_template: str = field(repr=False)
    html_template: str = field(repr=False)
    #: The address the request came from.
    client: str = ""

    def _fill(self, template: str) -> str:
        for tag, value in self.substitutions.items():
            template = template.replace(tag, value)
        return template

    @property
    def subject(self) -> str:
        return self._fill(self.subject_template)

    @property
    def text(self) -> str:
        return self._fill(self.text_template)

    @property
    def html(self) -> str:
        return self._fill(self.html_template)


@dataclass(slots=True)
class RequestRecord:
    at: float
    fault: str | None
    status: int | None
    personalizations: int
    #: The request came before the reset time of a 429 this server had already answered.
    early: bool
    #: The address it came from (which host of a multi-host test bed sent it).
    client: str = ""
    #: When it arrived (``at`` is when it was answered, after any latency).
    arrived: float = 0.0
    #: The reset a 429 announced.
    reset: float | None = None


class FakeSendGrid:
    """Serve a fake SendGrid API in a thread; script faults with ``fail_next`` or a mix."""

    def __init__(
        self,
        *,
        api_key: str = "SG.test-key",
        port: int = 0,
        state_file: Path | None = None,
        fault_mix: Mapping[str, float] | None = None,
        seed: int = 0,
        reset_seconds: float = 1.0,
        auth_fail: bool = False,
        record_bodies: bool = False,
        fractional_reset: bool = False,
        count_only: bool = False,
        host: str = "127.0.0.1",
        latency: float = 0.0,
    ):
        self.api_key, self.auth_fail = api_key, auth_fail
        # SendGrid sends whole epoch seconds; fractional ones keep fault-heavy tests short.
        self.reset_seconds, self.fractional_reset = reset_seconds, fractional_reset
        self.fault_mix = dict(fault_mix or {})
        self.state_file, self.record_bodies = state_file, record_bodies
        #: Validate every request but only count what was accepted (benchmarks: a real
        #: provider's bookkeeping does not run on the sender's cores).
        self.count_only = count_only
        #: Seconds every answer waits (a provider far away, or a batch still in flight).
        self.latency = latency
        self.accepted: list[AcceptedMessage] = []
        self.accepted_count = 0
        self.requests: list[RequestRecord] = []
        self.lock = threading.Lock()
        self._script: deque[str] = deque()
        self._rng = random.Random(seed)
        self._latest_reset = 0.0
        self._host = host
        #: Opened once: a send of 100,000 recipients appends 100,000 lines.
        self._state: IO[str] | None = state_file.open("a") if state_file is not None else None
        self._server = _Server((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def early_requests(self) -> int:
        return sum(r.early for r in self.requests)

    def fail_next(self, *faults: str) -> None:
        """Answer the next requests with these faults, in order, before any random mix."""
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {unknown}")
        with self.lock:
            self._script.extend(faults)

    def counts(self) -> Counter[str | None]:
        """Return how many times each delivery id was accepted."""
        return Counter(m.delivery_id for m in self.accepted)

    def start(self) -> FakeSendGrid:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._state is not None:
            self._state.close()

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def take_fault(self) -> str | None:
        with self.lock:
            if self._script:
                return self._script.popleft()
            if self.auth_fail:
                return "401"
            roll = self._rng.random()
            for fault, probability in self.fault_mix.items():
                if roll < probability:
                    return fault
                roll -= probability
        return None

    def is_early(self) -> bool:
        """Tell whether a request arriving now comes before an already announced reset."""
        with self.lock:
            return time.time() < self._latest_reset

    def note_request(
        self,
        fault: str | None,
        status: int | None,
        count: int,
        early: bool,
        client: str = "",
        *,
        arrived: float = 0.0,
        reset: float | None = None,
    ) -> None:
        now = time.time()
        record = RequestRecord(now, fault, status, count, early, client, arrived or now, reset)
        with self.lock:
            self.requests.append(record)
            self._append([{"kind": "request", **asdict(record)}])

    def issue_reset(self) -> float:
        """Return the epoch time a 429 answered now tells the client to wait for."""
        reset = time.time() + self.reset_seconds
        reset = round(reset, 3) + 0.001 if self.fractional_reset else math.ceil(reset)
        with self.lock:
            self._latest_reset = max(self._latest_reset, reset)
        return reset

    def record(self, body: dict[str, Any], message_id: str, client: str = "") -> None:
        if self.count_only:
            with self.lock:
                self.accepted_count += len(body["personalizations"])
            return
        content = {part["type"]: part["value"] for part in body["content"]}
        messages = [
            _accepted(body, entry, content, message_id, client)
            for entry in body["personalizations"]
        ]
        lines = [{"kind": "accepted", **_summary(m, self.record_bodies)} for m in messages]
        with self.lock:
            self.accepted_count += len(messages)
            self.accepted += messages
            self._append(lines)

    def _append(self, lines: list[dict[str, Any]]) -> None:
        # Flushed at once: another process reads the file while this one runs, and a fake
        # stopped by SIGTERM never flushes its buffers.
        if self._state is not None:
            self._state.write("".join(json.dumps(line) + "\n" for line in lines))
            self._state.flush()


def _accepted(
    body: dict[str, Any],
    entry: dict[str, Any],
    content: dict[str, str],
    message_id: str,
    client: str,
) -> AcceptedMessage:
    custom_args = {**body.get("custom_args", {}), **entry.get("custom_args", {})}
    return AcceptedMessage(
        to=entry["to"][0]["email"],
        name=entry["to"][0].get("name", ""),
        delivery_id=custom_args.get("delivery_id"),
        message_id=message_id,
        custom_args=custom_args,
        headers={**body.get("headers", {}), **entry.get("headers", {})},
        categories=list(body.get("categories", [])),
        substitutions=dict(entry.get("substitutions", {})),
        subject_template=entry.get("subject", body.get("subject", "")),
        text_template=content.get("text/plain", ""),
        html_template=content.get("text/html", ""),
        client=client,
    )


def _summary(message: AcceptedMessage, bodies: bool) -> dict[str, Any]:
    line = {
        "to": message.to,
        "delivery_id": message.delivery_id,
        "message_id": message.message_id,
        "custom_args": message.custom_args,
        "headers": message.headers,
        "subject": message.subject,
        "client": message.client,
    }
    if bodies:
        line.update(text=message.text, html=message.html)
    return line


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client goes away mid-answer (a killed sender), as a provider would."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the tests read the recorded requests instead."""

    @property
    def fake(self) -> FakeSendGrid:
        return self.server.fake  # type: ignore[attr-defined]

    def handle(self) -> None:
        self.arrived = time.time()
        self.reset: float | None = None
        self.early = self.fake.is_early()
        self.fault = self.fake.take_fault()
        if self.fault == "reset":
            # Reset before reading anything: the server has certainly not taken the request.
            self.fake.note_request(
                "reset", None, 0, self.early, self.client_address[0], arrived=self.arrived
            )
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()
            return
        super().handle()

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.fake.latency:
            time.sleep(self.fake.latency)
        status, body, headers = self.answer(raw)
        if status is None:
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def answer(self, raw: bytes) -> tuple[int | None, Any, dict[str, str]]:
        fake, fault = self.fake, self.fault
        status: int | None
        status, body, headers = self.check(raw)
        count = len(body.get("personalizations", [])) if status == 202 else 0
        if status == 202:
            message_id = secrets.token_urlsafe(16)
            fake.record(body, message_id, self.client_address[0])
            body, headers = None, {"X-Message-Id": message_id}
            if fault == "accept_drop":
                status = None
        fake.note_request(
            fault,
            status,
            count,
            self.early,
            self.client_address[0],
            arrived=self.arrived,
            reset=self.reset,
        )
        return status, body, headers

    def check(self, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        fake, fault = self.fake, self.fault
        if self.path != "/v3/mail/send":
            return 404, _errors([("not found", None)]), {}
        if fault == "401" or self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return 401, _errors([("The provided authorization grant is invalid", None)]), {}
        if fault == "429":
            self.reset = fake.issue_reset()
            limits = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"}
            return (
                429,
                _errors([("too many requests", None)]),
                {**limits, "X-RateLimit-Reset": str(self.reset)},
            )
        if fault == "500":
            return 500, _errors([("internal error", None)]), {}
        if len(raw) > MAX_BODY_BYTES:
            return 413, _errors([("request too large", None)]), {}
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return 415, _errors([("Content-Type should be application/json", None)]), {}
        try:
            body = orjson.loads(raw)
        except ValueError:
            return 400, _errors([("Bad Request", None)]), {}
        problems = validate(body)
        return (400, _errors(problems), {}) if problems else (202, body, {})


def _errors(problems: list[tuple[str, str | None]]) -> dict[str, Any]:
    return {"errors": [{"message": m, "field": f, "help": None} for m, f in problems]}


@dataclass(slots=True)
class FakeState:
    """What a fake server running in another process recorded, read back from its state file."""

    accepted: list[dict[str, Any]]
    requests: list[dict[str, Any]]

    @property
    def early_requests(self) -> int:
        return sum(bool(r["early"]) for r in self.requests)

    def counts(self) -> Counter[str | None]:
        return Counter(m["delivery_id"] for m in self.accepted)


def read_state(path: Path) -> FakeState:
    """Read a state file written by ``python -m tests.fakes.sendgrid_server --state-file``."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return FakeState(
        accepted=[line for line in lines if line["kind"] == "accepted"],
        requests=[line for line in lines if line["kind"] == "request"],
    )


@contextlib.contextmanager
def fake_sendgrid_process(state_file: Path, *args: str) -> Iterator[str]:
    """Run the fake in a child process for the duration of the block; yield its base URL."""
    command = [sys.executable, "-m", "tests.fakes.sendgrid_server"]
    command += ["--port", "0", "--state-file", str(state_file), *args]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())["url"]
    finally:
        child.terminate()
        child.wait(timeout=10)


def _parse_mix(text: str) -> dict[str, float]:
    pairs = (item.split("=") for item in text.split(",") if item)
    return {fault: float(probability) for fault, probability in pairs}


def main(argv: list[str] | None = None) -> None:
    """Run the fake until terminated, printing its port as one JSON line once listening."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--state-file", type=Path)
    parser.add_argument("--api-key", default="SG.test-key")
    parser.add_argument("--fault-mix", type=_parse_mix, default={})
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reset-seconds", type=float, default=1.0)
    parser.add_argument("--auth-fail", action="store_true")
    parser.add_argument("--bodies", action="store_true", help="record substituted bodies too")
    parser.add_argument("--count-only", action="store_true", help="validate, but only count")
    options = parser.parse_args(argv)
    fake = FakeSendGrid(
        api_key=options.api_key,
        port=options.port,
        state_file=options.state_file,
        fault_mix=options.fault_mix,
        seed=options.seed,
        reset_seconds=options.reset_seconds,
        auth_fail=options.auth_fail,
        record_bodies=options.bodies,
        count_only=options.count_only,
        host=options.host,
        latency=options.latency,
    )
    print(json.dumps({"port": fake.port, "url": fake.url}), flush=True)
    fake._server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
