"""Load-test ``pinwheel serve`` on loopback: public pages with 50 concurrent clients.

A temporary SQLite database gets the schema and the demo content (with its campaign marked sent),
``pinwheel serve`` starts on a free 127.0.0.1 port beside ``pinwheel scheduler`` (which sends the
confirmation emails the subscribe posts queue), and a second process drives the load: ``wrk``
when it is installed, else locust (headless, ``bench/locust_users.py``). Every row says how much
CPU the virtual machine's host took away during it (steal), which moves these figures more than
anything in the code. ``/archive`` and ``/view/<slug>`` are measured once those routes exist (the
slug is taken from the archive page). ``POST /subscribe`` runs ``bench/subscribe.lua`` under wrk
(a new address and visitor per request), which takes about 4 % of a core where locust's
``SubscribeUser``, the fallback, takes a third of one that the server would otherwise have.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from flask.testing import FlaskClient

SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "15"))
USERS = 50
CPU_ROUNDS = 300
WORKERS = os.environ.get("BENCH_HTTP_WORKERS", "")
THREADS = os.environ.get("BENCH_HTTP_THREADS", "")
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
PAGE_TARGET = ">= 1,000 req/s, p99 < 50 ms"
POST_TARGET = "p99 < 150 ms"
_WEB_VIEW_LINK = re.compile(r'href="(?:https?://[^/"]+)?(/view/[^"?#]+)')
SUBSCRIBE_SCRIPT = ROOT / "bench" / "subscribe.lua"
#: How long the confirmation emails queued by the subscribe run may take to go out after it.
CONFIRMATIONS_DEADLINE = 120
_INPUT = re.compile(r"<input[^>]*>")
_ATTR = re.compile(r'(type|name|value)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str
    #: Share of the machine's CPU time its host took during the run (``/proc/stat``), if known.
    steal: float | None = None

    def figure(self) -> str:
        errors = f", {self.errors} errors" if self.errors else ""
        steal = f", steal {self.steal:.0%}" if self.steal is not None else ""
        return (
            f"{self.requests_per_second:,.0f} req/s, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms{errors} ({self.tool}{steal})"
        )


class _StealMeter:
    """Read the CPU time the host took from this virtual machine between start and ``share``."""

    def __init__(self) -> None:
        self.start = _cpu_times()

    def share(self) -> float | None:
        end = _cpu_times()
        if self.start is None or end is None:
            return None
        total = sum(end) - sum(self.start)
        return (end[7] - self.start[7]) / total if total > 0 else None


def _cpu_times() -> list[int] | None:
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal
    return [int(value) for value in fields[1:9]] if len(fields) > 8 else None


def run() -> list[tuple[str, str, str]]:
    """Serve a demo database with gunicorn and measure the public pages under load."""
    with tempfile.TemporaryDirectory(prefix="pinwheel-bench-http-") as folder:
        env = _server_env(Path(folder))
        note = _prepare_database(env)
        with _Server(env, Path(folder)) as server:
            described = server.describe()
            pages = _pages(server.base)
            rows = [_measure(server.base, name, path) for name, path in pages]
            if _exists(f"{server.base}/subscribe"):
                rows.append(_measure_subscribe(server.base, Path(folder)))
                rows.append(_confirmations_row(env))
                web_views = [path for name, path in pages if name == "GET /view/<slug>"]
                if web_views and shutil.which("wrk"):
                    rows += _measure_mixed(server.base, web_views[0])
            rows.append((f"server: {described}", note, "-"))
        rows += _cpu_per_request(env, pages)
    return rows


def _cpu_per_request(
    env: dict[str, str], pages: list[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """Measure CPU time per request in this process: other load on the machine hardly moves it."""
    from engine.app import create_app
    from engine.config import load_settings

    app = create_app(load_settings(environ=env | {"PINWHEEL_LOG_JSON": "false"}))
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("pinwheel.request").setLevel(logging.WARNING)
    client = app.test_client()
    rows = []
    for name, path in pages:
        client.get(path).close()
        started = time.process_time()
        for _ in range(CPU_ROUNDS):
            client.get(path).close()
        cpu_ms = (time.process_time() - started) / CPU_ROUNDS * 1000
        rows.append(_cpu_row(name, cpu_ms))
    if any(path == "/subscribe" for _, path in pages):
        rows.append(_cpu_row("POST /subscribe", _cpu_per_subscribe(client)))
    return rows


def _cpu_per_subscribe(client: FlaskClient) -> float:
    """Return the CPU ms one new subscription costs, each from its own visitor as under load."""
    form = _subscribe_form(client.get("/subscribe").get_data(as_text=True))

    def post(n: int) -> None:
        data = {**form, "email": f"cpu-{n}@example.org", "name": "Bench Reader"}
        visitor = {"X-Forwarded-For": f"10.250.{n >> 8 & 255}.{n & 255}"}
        response = client.post("/subscribe", data=data, headers=visitor)
        response.close()
        if response.status_code != 200:
            raise RuntimeError(f"POST /subscribe answered {response.status_code}")

    post(0)
    started = time.process_time()
    for n in range(1, CPU_ROUNDS + 1):
        post(n)
    return (time.process_time() - started) / CPU_ROUNDS * 1000


def _subscribe_form(page: str) -> dict[str, str]:
    """Return the form's hidden fields (a CSRF token, if any) and its first topic, as ticked."""
    fields: dict[str, str] = {}
    ticked = False
    for tag in _INPUT.findall(page):
        attrs = dict(_ATTR.findall(tag))
        kind, name = attrs.get("type"), attrs.get("name")
        if name and (kind == "hidden" or (kind == "checkbox" and not ticked)):
            fields[name] = attrs.get("value", "on")
            ticked = ticked or kind == "checkbox"
    return fields


def _cpu_row(name: str, cpu_ms: float) -> tuple[str, str, str]:
    ceiling = (os.cpu_count() or 1) * 1000 / cpu_ms
    return (
        f"cpu: {name} (in-process, one thread)",
        f"{cpu_ms:.2f} ms/request",
        f"ceiling ~{ceiling:,.0f} req/s on {os.cpu_count()} cores",
    )


def _server_env(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PINWHEEL_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        "PINWHEEL_ENV": "production",
        "PINWHEEL_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
        "PINWHEEL_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        "PINWHEEL_INSTANCE_PATH": str(folder / "instance"),
        "PINWHEEL_MAIL_BACKEND": "memory",
        "PINWHEEL_BASE_URL": "http://127.0.0.1:8000",
        "PINWHEEL_LOG_JSON": "true",
        # The load carries X-Forwarded-For, as through a proxy, so that the per-address rate
        # limit of the subscribe form sees many visitors rather than one.
        "PINWHEEL_PROXY_COUNT": "1",
    }
    return env


def _prepare_database(env: dict[str, str]) -> str:
    """Create the schema and demo content in a child process that reads ``env``."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.http_data"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"preparing the bench database failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


class _Server:
    """Run ``pinwheel serve`` on a free loopback port for the length of a ``with`` block."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = ["--port", str(self.port)]
        if WORKERS:
            self.args += ["--workers", WORKERS]
        if THREADS:
            self.args += ["--threads", THREADS]

    def describe(self) -> str:
        options = " ".join(self.args[2:]) or "default workers/threads"
        load = os.getloadavg()[0]
        return (
            f"pinwheel serve {options}, {os.cpu_count()} cores (load average {load:.1f} "
            "before the run), JSON logs on"
        )

    def __enter__(self) -> _Server:
        self.log = (self.folder / "server.log").open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "pinwheel"), "serve", *self.args],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.scheduler = subprocess.Popen(
            [str(BIN / "pinwheel"), "scheduler"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not _exists(f"{self.base}/healthz"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                log = (self.folder / "server.log").read_text()[-2000:]
                raise RuntimeError(f"pinwheel serve did not start:\n{log}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in (self.process, self.scheduler):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(40)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.log.close()


def _pages(base: str) -> list[tuple[str, str]]:
    pages = [("GET /healthz", "/healthz")]
    for path in ("/subscribe", "/archive"):
        if _exists(base + path):
            pages.append((f"GET {path}", path))
    if _exists(base + "/archive"):
        with urllib.request.urlopen(base + "/archive", timeout=5) as response:  # noqa: S310
            match = _WEB_VIEW_LINK.search(response.read().decode())
        if match:
            pages.append(("GET /view/<slug>", match[1]))
    return pages


def _measure(base: str, name: str, path: str) -> tuple[str, str, str]:
    if shutil.which("wrk"):
        result = _wrk(base + path)
    else:
        result = _locust(base, "PageUser", path, method="GET")
    return (f"http: {name} ({USERS} clients)", result.figure(), PAGE_TARGET)


def _measure_subscribe(base: str, folder: Path) -> tuple[str, str, str]:
    if shutil.which("wrk"):
        result = _wrk(base + "/subscribe", script=SUBSCRIBE_SCRIPT)
    else:
        result = _locust(base, "SubscribeUser", "/subscribe", method="POST", folder=folder)
    return (f"http: POST /subscribe ({USERS} clients)", result.figure(), POST_TARGET)


def _confirmations_row(env: dict[str, str]) -> tuple[str, str, str]:
    """Wait for the scheduler to send every confirmation the subscribe run queued."""
    path = sa.make_url(env["PINWHEEL_DATABASE_URL"]).database or ""
    started = time.monotonic()
    waiting, sent = _confirmation_counts(path)
    while waiting and time.monotonic() - started < CONFIRMATIONS_DEADLINE:
        time.sleep(0.5)
        waiting, sent = _confirmation_counts(path)
    late = time.monotonic() - started
    figure = f"{sent:,} sent, {waiting:,} still waiting {late:.0f} s after the run"
    return ("scheduler: confirmation emails of the POST run", figure, "all sent")


def _confirmation_counts(path: str) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        waiting, sent = connection.execute(
            "SELECT count(confirmation_due_at), count(confirmation_sent_at) FROM subscriber"
        ).fetchone()
    return waiting, sent


def _wrk(url: str, *, script: Path | None = None) -> LoadResult:
    command = _wrk_command(url, USERS, script)
    steal = _StealMeter()
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=SECONDS + 60, check=True
    ).stdout
    return replace(_wrk_result(output, script), steal=steal.share())


def _wrk_command(
    url: str, clients: int, script: Path | None, *args: str, threads: int | None = None
) -> list[str]:
    threads = threads or max(1, min(os.cpu_count() or 1, 4))
    options = ["-s", str(script)] if script else []
    return [
        "wrk", "-t", str(threads), "-c", str(clients), "-d", f"{SECONDS}s",
        "--timeout", "10s", "--latency", *options, url, *(["--", *args] if args else []),
    ]  # fmt: skip


def _wrk_result(output: str, script: Path | None) -> LoadResult:
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    if script:
        errors += _script_errors(output)
    else:
        errors += int(_search(r"Non-2xx or 3xx responses: (\d+)", output) or 0)
    return LoadResult(
        requests_per_second=float(_search(r"Requests/sec:\s+([\d.]+)", output) or 0),
        p50_ms=_wrk_ms(_search(r"\s50%\s+([\d.]+\w+)", output)),
        p99_ms=_wrk_ms(_search(r"\s99%\s+([\d.]+\w+)", output)),
        errors=errors,
        tool="wrk",
    )


#: The mixed load: readers of a sent issue's web view while a few of them subscribe.
MIXED_READERS, MIXED_SUBSCRIBERS = 45, 5
#: Visitor numbers for the mixed run's subscribers, clear of the POST run's (rate limit).
MIXED_FIRST_VISITOR = 5_000_000


def _measure_mixed(base: str, web_view: str) -> list[tuple[str, str, str]]:
    """Subscribe while the web view is under load: 45 readers and 5 subscribers at once."""
    readers = subprocess.Popen(
        _wrk_command(base + web_view, MIXED_READERS, None, threads=1),
        stdout=subprocess.PIPE,
        text=True,
    )
    posters = subprocess.Popen(
        _wrk_command(
            base + "/subscribe", MIXED_SUBSCRIBERS, SUBSCRIBE_SCRIPT, str(MIXED_FIRST_VISITOR),
            threads=1,
        ),
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    steal = _StealMeter()
    read = _wrk_result(readers.communicate(timeout=SECONDS + 60)[0], None)
    posted = _wrk_result(posters.communicate(timeout=SECONDS + 60)[0], SUBSCRIBE_SCRIPT)
    read, posted = replace(read, steal=steal.share()), replace(posted, steal=steal.share())
    label = f"({MIXED_READERS} readers + {MIXED_SUBSCRIBERS} subscribing, at once)"
    return [
        (f"http mixed: GET /view/<slug> {label}", read.figure(), PAGE_TARGET),
        (f"http mixed: POST /subscribe {label}", posted.figure(), POST_TARGET),
    ]


def _script_errors(output: str) -> int:
    """Return the answers outside 2xx that ``subscribe.lua`` counted (3xx included)."""
    if not int(_search(r"Subscriptions posted: (\d+)", output) or 0):
        raise RuntimeError(f"the subscribe script never got past the form:\n{output[-2000:]}")
    return int(_search(r"(?m)^Non-2xx responses: (\d+)", output) or 0)


def _wrk_ms(value: str | None) -> float:
    if not value:
        return float("nan")
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _locust(
    base: str, user: str, path: str, *, method: str, folder: Path | None = None
) -> LoadResult:
    with tempfile.TemporaryDirectory(dir=folder) as out:
        prefix = Path(out) / "stats"
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locust_users.py"), user,
             "--headless", "--users", str(USERS), "--spawn-rate", str(USERS),
             "--run-time", f"{SECONDS}s", "--host", base, "--csv", str(prefix),
             "--only-summary", "--loglevel", "WARNING", "--processes", "-1"],
            env=os.environ | {"BENCH_PATH": path},
            capture_output=True,
            timeout=SECONDS + 90,
            check=False,
        )  # fmt: skip
        return _locust_result(prefix.with_name("stats_stats.csv"), method)


def _locust_result(stats_file: Path, method: str) -> LoadResult:
    with stats_file.open() as handle:
        row = next(row for row in csv.DictReader(handle) if row["Type"] == method)
    return LoadResult(
        requests_per_second=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p99_ms=float(row["99%"]),
        errors=int(row["Failure Count"]),
        tool="locust",
    )


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match[1] if match else None


def _exists(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    for label, figure, target in run():
        print(f"{label}: {figure} (target {target})")
