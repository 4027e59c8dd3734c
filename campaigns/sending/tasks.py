"""Bodies of the Celery tasks: each worker process builds the app once and keeps a backend."""

from __future__ import annotations

import threading
from functools import cache

from flask import Flask

from campaigns.sending.runner import BatchRunner
from engine.db import get_database
from engine.delivery.base import DeliveryBackend
from engine.delivery.registry import backend_from_settings
from engine.web import get_settings

_local = threading.local()


@cache
def worker_app() -> Flask:
    """Return this worker process's application (settings from the environment)."""
    from engine.app import create_app

    return create_app()


def _backend() -> DeliveryBackend:
    backend = getattr(_local, "backend", None)
    if backend is None:
        backend = _local.backend = backend_from_settings(get_settings(worker_app()))
    return backend


def run_batch(batch_id: int) -> bool:
    """Deliver one batch; a redelivered or duplicate task finds it claimed and does nothing."""
    app = worker_app()
    runner = BatchRunner(get_database(app), get_settings(app), _backend())
    return runner.run_batch(batch_id)
