"""An in-process pool of threads that run a unit of work until there is none left.

Used when no broker is configured. Each thread gets its own worker (for example its own
provider connection) from a factory and calls it until it reports that nothing was done.
A stop request (SIGTERM, Ctrl-C) lets every thread finish the unit in hand and exit, so the
rest stays queued for recovery or the next run.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

log = logging.getLogger(__name__)


#: Allocations between young-generation collections in send workers (CPython's default: 700).
WORKER_GC_THRESHOLD = 50_000


def relax_garbage_collection() -> None:
    """Tune the collector of a worker process (send or web), once, before it starts working.

    A batch (or a request) builds thousands of short-lived objects; with CPython's default a
    young collection runs every 700 allocations, about a tenth of a worker's CPU. What was
    imported so far lives as long as the process and is frozen out of every collection, and
    young collections run every ``WORKER_GC_THRESHOLD`` allocations: the few objects that do
    form cycles (sessions, tracebacks) are freed a little later, never kept for good.
    """
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(WORKER_GC_THRESHOLD, middle, oldest)


class Worker(Protocol):
    """One thread's unit of work: ``step()`` returns whether it did anything."""

    def step(self) -> bool: ...

    def close(self) -> None: ...


class Executor:
    """Run ``threads`` workers concurrently until each is idle or a stop is requested."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError("an executor needs at least one thread")
        self.threads = threads
        self.stopping = threading.Event()

    def run(self, make_worker: Callable[[], Worker]) -> None:
        """Start the threads and wait for all of them; a worker error stops only its thread."""
        pool = [
            threading.Thread(target=self._loop, args=(make_worker,), name=f"pinwheel-worker-{n}")
            for n in range(self.threads)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    def start(self, make_worker: Callable[[], Worker]) -> threading.Thread:
        """Run in a background daemon thread and return it (web process, progress display)."""
        thread = threading.Thread(target=self.run, args=(make_worker,), daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask every thread to stop after its current unit of work."""
        self.stopping.set()

    def _loop(self, make_worker: Callable[[], Worker]) -> None:
        worker = make_worker()
        try:
            while not self.stopping.is_set() and worker.step():
                pass
        except Exception:
            log.exception("executor: worker failed; its unit stays recoverable")
        finally:
            worker.close()

    @contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """Turn SIGTERM and SIGINT into a graceful stop while the block runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def _handle(signum: int, _frame: FrameType | None) -> None:
            log.warning("executor: signal %s, finishing the work in hand", signum)
            self.stop()

        previous = {sig: signal.signal(sig, _handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
