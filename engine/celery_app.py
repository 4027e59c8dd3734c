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


def celery_app(settings: Settings) -> Celery:
    """Return the Celery app for the settings' broker, configured for at-least-once batches."""
    return _celery_app(settings.BROKER_URL, settings.BROKER_VISIBILITY_SECONDS)


@cache
def _celery_app(broker_url: str, visibility_seconds: int) -> Celery:
    app = Celery("pinwheel", broker=broker_url)
    app.conf.update(
        # A task is acknowledged only after it ran, and a worker that dies mid-task gives it
        # back; the batch function is idempotent, so redelivery is safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Redis hands an unacknowledged task to another worker after this long. Longer than the
        # longest batch, so a slow batch is never run twice at once; a task lost with a killed
        # worker does not wait for it either: the dispatcher queues the batch again (the batch
        # lives in the database, the task is only a wake-up call).
        broker_transport_options={"visibility_timeout": visibility_seconds},
        # A fleet outlives a broker restart: reconnect for as long as it takes.
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        # Losing the broker connection must not cancel a batch mid-request: its outcome would be
        # unknown. The task runs to the end; its redelivered copy finds the batch done.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Pinwheel's log handler writes to stderr; redirected into Celery's logger it would
        # loop back to that handler, which drops the line (a lost lease would go unlogged).
        worker_redirect_stdouts=False,
    )
    app.task(name=CALL_TASK, acks_late=True, reject_on_worker_lost=True)(call_by_path)
    return app


def enqueue(settings: Settings, path: str, *args: Any) -> None:
    """Queue ``path(*args)`` to run on a worker."""
    celery_app(settings).send_task(CALL_TASK, args=[path, *args], queue=QUEUE)


def waiting_tasks(settings: Settings) -> int:
    """Return how many tasks wait in Pinwheel's queue (taken but unacknowledged ones excluded)."""
    app = celery_app(settings)
    with app.connection_for_read() as connection:
        # Declared as the workers declare it: a queue nobody used yet holds nothing.
        queue = app.amqp.queues[QUEUE].bind(connection.default_channel)
        declared = queue.queue_declare()
    return int(declared.message_count)


def run_worker(settings: Settings, *, concurrency: int, loglevel: str = "INFO") -> None:
    """Run a Celery worker process for Pinwheel's queue until it is stopped.

    SIGTERM to the main process is a warm shutdown: it takes no new task, waits for the batches
    in flight, gives the tasks it had reserved back to the broker and exits 0.
    """
    import signal

    from celery.signals import worker_process_init

    def ignore_sigterm(**_: Any) -> None:
        # The main process drains the pool. systemd (KillMode=control-group, its default) and
        # some container runtimes send SIGTERM to every process: a pool process that took it
        # would die mid-request and leave its batch uncertain. Only SIGKILL stops one early.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    worker_process_init.connect(ignore_sigterm, weak=False, dispatch_uid="pinwheel.sigterm")
    celery_app(settings).worker_main(
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
