"""Serve the app in production under gunicorn: ``pinwheel serve [--port P] [--host H] ...``.

``pinwheel serve`` prepares the shared metrics folder, exports ``PROMETHEUS_MULTIPROC_DIR`` and
replaces itself with ``python -m engine.serve``, a fresh interpreter, so that prometheus-client
sees the variable before anything imports it (see ``engine.metrics``). That process is the
gunicorn arbiter: it forks ``--workers`` processes, each building the app with ``create_app()``;
SIGTERM stops accepting connections and lets requests in flight finish for up to
``GRACEFUL_TIMEOUT`` seconds.

Workers are gunicorn's ``sync`` class, one per core, by default. Pinwheel's requests are short
and CPU-bound (the GIL lets one process use one core), and the reverse proxy in front buffers
slow clients, which is the setting gunicorn recommends sync workers for. Measured on two cores
(``bench/bench_http.py``): threaded workers keep each keep-alive connection on the process that
accepted it, so most connections pile onto one process and one core while the other idles;
sync workers accept a connection per request and share the load evenly, and more processes than
cores only add scheduling delay to the slowest requests. ``--threads N`` (N > 1) switches to
gunicorn's ``gthread`` class for deployments whose requests wait on a slow database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from engine.config import ConfigError, load_settings
from engine.executor import relax_garbage_collection
from engine.logs import LOG_PATH, escape_controls, loggable_query
from engine.metrics import metrics_dir
from engine.web import get_settings

MAX_WORKERS = 12
DEFAULT_THREADS = 1
#: A sync worker is restarted when one request runs longer: enough for a CSV import of a few
#: hundred thousand rows or starting a send to a million recipients, which run in the request.
TIMEOUT = 180
GRACEFUL_TIMEOUT = 30
#: Keep-alive behind a reverse proxy that reuses upstream connections.
KEEPALIVE = 5
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 - gunicorn's documented heartbeat folder


def default_workers(cores: int | None = None) -> int:
    """Return one worker process per core, at least two (one restarting never stops service)."""
    cores = cores or os.cpu_count() or 1
    return min(max(cores, 2), MAX_WORKERS)


def gunicorn_options(
    host: str, port: int, workers: int, threads: int, access_log: bool
) -> dict[str, Any]:
    """Return the gunicorn settings ``pinwheel serve`` runs with."""
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "keepalive": KEEPALIVE,
        # The app logs every request itself (JSON with PINWHEEL_LOG_JSON), with its request id.
        "accesslog": "-" if access_log else None,
        # X-Forwarded-* are trusted only through PINWHEEL_PROXY_COUNT (ProxyFix in the app).
        "secure_scheme_headers": {},
        "forwarded_allow_ips": "127.0.0.1,::1",
        "proc_name": "pinwheel",
        "child_exit": _child_exit,
        "post_worker_init": _post_worker_init,
        "logger_class": AccessLogger,
    }
    if SHARED_MEMORY.is_dir():
        # Worker heartbeats on a disk-backed /tmp can stall under I/O load.
        options["worker_tmp_dir"] = str(SHARED_MEMORY)
    return options


class AccessLogger(Logger):
    """Gunicorn's logger, whose access lines hide URL secrets and escape controls as ours do."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get(LOG_PATH) or escape_controls(environ.get("PATH_INFO", ""))
        query = loggable_query(environ.get("QUERY_STRING", ""))
        target = f"{path}?{query}" if query else path
        # A page of ours refers with its full URL, tokens included: keep only where it was.
        referer = _origin(environ.get("HTTP_REFERER", ""))
        urls = {
            "r": f"{atoms['m']} {target} {atoms['H']}",
            "U": path,
            "q": query,
            "f": referer,
            "{referer}i": referer,
        }
        return {
            key: urls.get(key, escape_controls(value) if isinstance(value, str) else value)
            for key, value in atoms.items()
            if not key.endswith("}e")  # the environment holds the raw URL in several forms
        }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else "-"


def _post_worker_init(_worker: Any) -> None:
    # The app is built: what it loaded lives as long as the worker, and a full collection
    # walking all of it would stall a request for tens of milliseconds.
    relax_garbage_collection()


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    from engine.metrics import is_multiprocess

    if is_multiprocess():
        multiprocess.mark_process_dead(worker.pid)


class PinwheelServer(BaseApplication):
    """Run ``create_app()`` in gunicorn with options given in code, not a config file."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        from engine.app import create_app

        return create_app()


def prepare_metrics_dir(folder: Path) -> None:
    """Create the metrics folder and delete files left by processes that no longer run."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="Default: one per core, 2 to 12.")
@click.option(
    "--threads",
    default=DEFAULT_THREADS,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker; above 1 gunicorn runs threaded (gthread) workers.",
)
@click.option("--access-log", is_flag=True, help="Also write gunicorn's access log to stdout.")
def serve_command(
    host: str, port: int, workers: int | None, threads: int, access_log: bool
) -> None:
    """Serve the web app with gunicorn (production)."""
    folder = metrics_dir(get_settings())
    prepare_metrics_dir(folder)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    argv = [sys.executable, "-m", "engine.serve", "--host", host, "--port", str(port)]
    argv += ["--workers", str(workers or default_workers()), "--threads", str(threads)]
    if access_log:
        argv.append("--access-log")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with our own module


def main(argv: Sequence[str] | None = None) -> None:
    """Run the gunicorn arbiter (``python -m engine.serve``, started by ``pinwheel serve``)."""
    parser = argparse.ArgumentParser(prog="python -m engine.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    try:
        # Fail in the arbiter with one clear line rather than in every worker.
        load_settings()
    except ConfigError as error:
        sys.exit(f"Error: {error}")
    options = gunicorn_options(args.host, args.port, args.workers, args.threads, args.access_log)
    with contextlib.suppress(KeyboardInterrupt):
        PinwheelServer(options).run()


if __name__ == "__main__":
    main()
