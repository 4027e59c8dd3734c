"""Keep a batch's lease alive while the provider has it and the worker is legitimately waiting.

A batch waits at the provider for as long as rate-limit resets and back-offs take (five 429s
of up to two minutes each outlast a five-minute lease). While the process runs, a small thread
renews the lease every third of its length; a process that is stopped, frozen or cut off from
the database renews nothing, so its lease runs out and recovery settles the batch.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import TracebackType

from campaigns.sending.batches import renew_lease
from engine.clock import now
from engine.db import Database

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renew ``worker``'s lease on ``batch_id`` in the background while the block runs."""

    def __init__(self, database: Database, batch_id: int, worker: str, lease_seconds: float):
        self.database, self.batch_id, self.worker = database, batch_id, worker
        self.lease_seconds = lease_seconds
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._renew, name=f"pinwheel-lease-{batch_id}", daemon=True
        )

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _renew(self) -> None:
        interval = self.lease_seconds / 3
        while not self._done.wait(interval):
            try:
                with self.database.session() as session:
                    until = now() + timedelta(seconds=self.lease_seconds)
                    held = renew_lease(
                        session, self.batch_id, worker=self.worker, lease_until=until
                    )
            except Exception:
                # The database is out of reach: the lease runs out and recovery decides.
                log.warning("batch %s: could not renew its lease", self.batch_id, exc_info=True)
                continue
            if not held:
                log.warning("batch %s: lease lost; its answers will not be recorded", self.batch_id)
                return
