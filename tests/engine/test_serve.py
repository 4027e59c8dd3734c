from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import SafeAtoms

from engine.config import Settings
from engine.executor import WORKER_GC_THRESHOLD
from engine.logs import LOG_PATH
from engine.serve import AccessLogger, default_workers, gunicorn_options, prepare_metrics_dir

PINWHEEL = Path(sys.executable).with_name("pinwheel")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> tuple[int, str, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode(), dict(response.headers)


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.stdout.read()!r}")
        try:
            _get(url, timeout=1.0)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``pinwheel serve`` with two workers on a free loopback port."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PINWHEEL_")} | {
        "PINWHEEL_ENV": "testing",
        "PINWHEEL_DATABASE_URL": settings.DATABASE_URL,
        "PINWHEEL_SECRET_KEY": settings.SECRET_KEY,
        "PINWHEEL_INSTANCE_PATH": settings.INSTANCE_PATH,
        "PINWHEEL_MAIL_BACKEND": "memory",
        "PINWHEEL_LOG_JSON": "true",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [str(PINWHEEL), "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/healthz", process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.slow
def test_serve_answers_and_stops_on_sigterm(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, process = server
    status, body, headers = _get(f"{base}/healthz")
    assert status == 200 and '"status":"ok"' in body.replace(" ", "")
    assert headers["X-Content-Type-Options"] == "nosniff"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0


@pytest.mark.slow
def test_metrics_add_up_across_workers(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, _process = server
    for _ in range(20):
        _get(f"{base}/healthz")
    _, text, _ = _get(f"{base}/metrics")
    line = next(
        row
        for row in text.splitlines()
        if row.startswith("pinwheel_http_requests_total{") and 'endpoint="healthz"' in row
    )
    # 20 here plus the start-up probe(s); a per-worker registry would show about half.
    assert float(line.rsplit(" ", 1)[1]) >= 21


def test_default_workers_are_one_per_core_within_bounds() -> None:
    assert default_workers(1) == 2
    assert default_workers(4) == 4
    assert default_workers(64) == 12


def test_gunicorn_options() -> None:
    options = gunicorn_options("::1", 8000, 3, 4, access_log=False)
    assert options["bind"] == "[::1]:8000"
    assert options["worker_class"] == "gthread"
    assert gunicorn_options("::1", 8000, 3, 1, access_log=False)["worker_class"] == "sync"
    assert options["accesslog"] is None
    assert options["graceful_timeout"] > 0
    assert gunicorn_options("127.0.0.1", 80, 1, 1, access_log=True)["accesslog"] == "-"


def test_each_worker_freezes_the_loaded_app_out_of_garbage_collection() -> None:
    hook = gunicorn_options("127.0.0.1", 80, 1, 1, access_log=False)["post_worker_init"]
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        hook(None)
        assert gc.get_threshold()[0] == WORKER_GC_THRESHOLD
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_prepare_metrics_dir_drops_files_of_dead_processes(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    live = folder / f"counter_{os.getpid()}.db"
    dead = folder / "counter_999999999.db"
    for path in (live, dead):
        path.write_bytes(b"")
    prepare_metrics_dir(folder)
    assert live.exists() and not dead.exists()


def test_access_log_hides_tokens_and_escapes_controls() -> None:
    token = "WzQyNDJd.aUwA1g.c2VjcmV0LXNpZ25hdHVyZQ"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/view/issue%0d%0aforged?t={token}&year=2026",
        "PATH_INFO": "/view/issue\r\nforged",
        "QUERY_STRING": f"t={token}&year=2026",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://news.example.org/preferences/{token}",
        "HTTP_USER_AGENT": "agent\x1b[2J",
        LOG_PATH: "/view/issue\\x0d\\x0aforged",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger = AccessLogger(Config())
    atoms = SafeAtoms(logger.atoms(response, request, environ, timedelta(milliseconds=3)))
    line = logger.cfg.access_log_format % atoms
    assert token not in line and "\r" not in line and "\x1b" not in line
    assert '"GET /view/issue\\x0d\\x0aforged?t=[redacted]&year=2026 HTTP/1.1"' in line
    assert '"https://news.example.org" "agent\\x1b[2J"' in line
    assert gunicorn_options("127.0.0.1", 80, 1, 1, access_log=True)["logger_class"] is AccessLogger
