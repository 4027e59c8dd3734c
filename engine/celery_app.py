"""The Celery application: used only when ``BROKER_URL`` is set.

It knows one task, ``pinwheel.call``, that runs a function named by import path. Feature
packages enqueue their own functions through it, so ``engine`` never imports them.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from celery import Celery

from engine.config import Settings

CALL_TASK = "pinwheel.call"
QUEUE = "pinwheel"


def call_by_path(path: str, *args: Any) -> Any:
    """Import ``module:function`` and call it with ``args`` (the body of every Pinwheel task)."""
    module_name, _, function_name = path.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"not an import path of the form module:function: {path!r}")
    function = getattr(importlib.import_module(module_name), function_name)
    return function(*args)


@cache
def celery_app(broker_url: str) -> Celery:
    """Return the Celery app for ``broker_url``, configured for at-least-once batch delivery."""
    app = Celery("pinwheel", broker=broker_url)
    app.conf.update(
        # A task is acknowledged only after it ran, and a worker that dies mid-task gives it
        # back; the batch function is idempotent, so redelivery is safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.task(name=CALL_TASK, acks_late=True, reject_on_worker_lost=True)(call_by_path)
    return app


def enqueue(settings: Settings, path: str, *args: Any) -> None:
    """Queue ``path(*args)`` to run on a worker."""
    celery_app(settings.BROKER_URL).send_task(CALL_TASK, args=[path, *args], queue=QUEUE)


def run_worker(settings: Settings, *, concurrency: int, loglevel: str = "INFO") -> None:
    """Run a Celery worker process for Pinwheel's queue until it is stopped."""
    celery_app(settings.BROKER_URL).worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            f"--queues={QUEUE}",
            "--prefetch-multiplier=1",
            "--without-gossip",
            "--without-mingle",
        ]
    )
