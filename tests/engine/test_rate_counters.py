"""The in-process rate-limit counters behind ``memory://``."""

from __future__ import annotations

import threading

from flask import Flask
from flask_limiter.commands import cli as limiter_cli
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from engine.rate_counters import LocalCounters
from engine.ratelimit import limiter


class FakeClock:
    def __init__(self, at: float = 1_000_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_hits_count_within_a_window_and_start_again_after_it() -> None:
    clock = FakeClock()
    counters = LocalCounters(clock=clock)
    assert [counters.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.get("a") == 3
    assert counters.get_expiry("a") == clock.at + 60
    clock.at += 59.9
    assert counters.incr("a", 60) == 4
    clock.at += 0.1
    assert counters.get("a") == 0
    assert counters.get_expiry("a") == clock.at
    assert counters.incr("a", 60) == 1


def test_ended_windows_are_forgotten_as_later_hits_arrive() -> None:
    clock = FakeClock()
    counters = LocalCounters(clock=clock)
    for n in range(1000):
        counters.incr(f"visitor-{n}", 60)
    clock.at += 61
    counters.incr("late", 60)
    assert counters.reset() == 1


def test_a_cleared_key_starts_a_new_window_that_outlives_the_old_one() -> None:
    clock = FakeClock()
    counters = LocalCounters(clock=clock)
    counters.incr("a", 60, amount=5)
    clock.at += 30
    counters.clear("a")
    assert counters.get("a") == 0
    counters.incr("a", 60)
    clock.at += 31
    # The first window's heap entry comes up now; the second window is still open.
    counters.incr("b", 60)
    assert counters.get("a") == 1


def test_fixed_window_limits_work_on_the_counters() -> None:
    clock = FakeClock()
    strategy = FixedWindowRateLimiter(LocalCounters(clock=clock))
    limit = parse("2 per minute")
    assert [strategy.hit(limit, "203.0.113.5") for _ in range(3)] == [True, True, False]
    assert strategy.get_window_stats(limit, "203.0.113.5").remaining == 0
    clock.at += 60
    assert strategy.hit(limit, "203.0.113.5")


def test_hits_from_many_threads_are_all_counted() -> None:
    counters = LocalCounters()

    def hit() -> None:
        for _ in range(1000):
            counters.incr("shared", 60)

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.get("shared") == 4000


def test_memory_url_keeps_counts_in_local_counters_without_timer_threads(app: Flask) -> None:
    with app.app_context():
        storage = limiter.storage
    assert isinstance(storage, LocalCounters)
    before = threading.active_count()
    for n in range(50):
        storage.incr(f"visitor-{n}", 60)
    assert threading.active_count() == before


def test_the_limiter_config_command_shows_the_counters(app: Flask) -> None:
    # The command is a flask.commands plugin: ``pinwheel limiter config``.
    result = app.test_cli_runner().invoke(limiter_cli, ["config"])
    assert result.exit_code == 0, result.output
    assert "LocalCounters" in result.output
