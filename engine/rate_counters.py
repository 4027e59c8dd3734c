"""In-process rate-limit counters, for ``RATELIMIT_STORAGE_URL=memory://`` (the default).

limits' own ``MemoryStorage`` forgets ended windows from a timer thread: a new thread 10 ms
after a hit whenever the last one has finished, walking every key each time. Under a stream of
sign-ups from many addresses that is a thread every 10 ms per worker, and a walk that grows with
the addresses of the last hour; both took about a tenth of the subscribe form's CPU. These
counters forget lazily instead: a window that has ended reads as empty, and each hit drops the
windows that ended before it, oldest first from a heap, so memory holds the windows open at the
last hit (and, until its old end, a heap entry for each key cleared by hand).

Fixed windows only: the strategy Flask-Limiter uses unless told otherwise, and Pinwheel's.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

from limits.storage import Storage

#: The scheme ``engine.ratelimit`` gives Flask-Limiter for ``memory://``.
SCHEME = "pinwheel-memory"


class LocalCounters(Storage):
    """Fixed-window hit counts of one process, each kept until its window ends."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        clock: Callable[[], float] = time.time,
        **options: float | str | bool,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._window_ends: dict[str, float] = {}
        #: (window end, key), for dropping ended windows oldest first.
        self._endings: list[tuple[float, str]] = []
        # Threaded workers hit from several threads; incrementing must not lose a hit.
        self._lock = threading.Lock()

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    @property
    def storage(self) -> dict[str, int]:
        """The counts, as ``flask limiter config`` shows for limits' own storages."""
        return self._counts

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Count ``amount`` hits on ``key``, opening an ``expiry``-second window if none is open."""
        with self._lock:
            # Read inside the lock: a hit that waited for it must not land in an ended window.
            now = self._clock()
            self._forget_ended(now)
            if key not in self._window_ends:
                end = now + expiry
                self._window_ends[key], self._counts[key] = end, 0
                heapq.heappush(self._endings, (end, key))
            self._counts[key] += amount
            return self._counts[key]

    def get(self, key: str) -> int:
        """Return the hits on ``key`` in its open window, 0 if it has none."""
        return self._counts.get(key, 0) if self._is_open(key) else 0

    def get_expiry(self, key: str) -> float:
        """Return when ``key``'s window ends (a Unix time), now if it has none."""
        now = self._clock()
        end = self._window_ends.get(key)
        return end if end is not None and end > now else now

    def check(self) -> bool:
        return True

    def reset(self) -> int:
        """Forget every window; return how many there were."""
        with self._lock:
            count = len(self._window_ends)
            self._counts.clear()
            self._window_ends.clear()
            self._endings.clear()
        return count

    def clear(self, key: str) -> None:
        """Forget ``key``'s window (its heap entry is skipped when it comes up)."""
        with self._lock:
            self._counts.pop(key, None)
            self._window_ends.pop(key, None)

    def _is_open(self, key: str) -> bool:
        end = self._window_ends.get(key)
        return end is not None and end > self._clock()

    def _forget_ended(self, now: float) -> None:
        endings = self._endings
        while endings and endings[0][0] <= now:
            end, key = heapq.heappop(endings)
            # A key cleared and hit again has a later end: that entry is still on the heap.
            if self._window_ends.get(key) == end:
                del self._window_ends[key]
                del self._counts[key]
