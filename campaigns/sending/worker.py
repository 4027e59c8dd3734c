"""The in-process send worker: recover, then deliver every sending campaign's batches.

``pinwheel worker`` runs it when no broker is configured; ``python -m campaigns.sending.worker``
runs it without building the web application (settings from the environment).
"""

from __future__ import annotations

import argparse
import logging

from campaigns.sending.dispatch import recover_and_dispatch, run_campaign
from engine.config import Settings, load_settings
from engine.db import Database
from engine.executor import Executor, relax_garbage_collection

log = logging.getLogger(__name__)
#: Seconds between looks for newly started campaigns when running continuously.
IDLE_SECONDS = 2.0


def run_worker(
    database: Database, settings: Settings, *, once: bool = False, threads: int | None = None
) -> None:
    """Recover what a previous worker left, then deliver until stopped (or idle, with ``once``).

    SIGTERM finishes the batches in hand and leaves the rest queued for the next worker.
    """
    executor = Executor(threads or settings.WORKER_THREADS)
    with executor.stop_on_signals():
        recover_and_dispatch(database, settings)
        while not executor.stopping.is_set():
            run_campaign(database, settings, None, executor)
            if once:
                break
            executor.stopping.wait(IDLE_SECONDS)


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: list[str] | None = None) -> None:
    """Run the worker with settings from the environment."""
    parser = argparse.ArgumentParser(description="Deliver Pinwheel send batches in-process.")
    parser.add_argument("--once", action="store_true", help="exit when no work is left")
    parser.add_argument(
        "--concurrency",
        "--threads",
        dest="threads",
        type=_positive,
        default=None,
        help="batches delivered at once (default PINWHEEL_WORKER_THREADS)",
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    relax_garbage_collection()
    settings = load_settings()
    database = Database(settings)
    # The tables a send touches (the web app's factory loads every feature's models instead).
    import campaigns.sending.models  # noqa: F401
    import engine.users  # noqa: F401  (staff foreign keys)
    import subscribers

    subscribers.load_models()
    try:
        run_worker(database, settings, once=options.once, threads=options.threads)
    finally:
        database.dispose()


if __name__ == "__main__":
    main()
