"""Fetching a feed: the deadline holds for the whole check, and odd answers fail in words."""

from __future__ import annotations

import time

import pytest

from campaigns.feeds.egress import AddressPolicy
from campaigns.feeds.fetching import FeedUnavailable, FetchLimits, fetch_feed
from tests.campaigns.feeds.conftest import LOOPBACK, FeedServer, rss

POLICY = AddressPolicy.from_setting(LOOPBACK)


def _fetch(url: str, *, timeout: float = 5) -> None:
    limits = FetchLimits(timeout_seconds=timeout, max_bytes=1_000_000, user_agent="test")
    fetch_feed(url, etag="", last_modified="", policy=POLICY, limits=limits)


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_a_server_dripping_bytes_is_cut_off_at_the_deadline(
    feed_server: FeedServer, drip_headers: bool
) -> None:
    # A byte every 0.2 s never trips a read timeout; only the watchdog ends the check.
    url = feed_server.serve(body=rss([1]), drip=0.2, drip_headers=drip_headers)
    started = time.monotonic()
    with pytest.raises(FeedUnavailable, match=r"took longer than 1\.5 seconds"):
        _fetch(url, timeout=1.5)
    assert time.monotonic() - started < 2.5


def test_a_connection_closed_mid_body_says_so(feed_server: FeedServer) -> None:
    url = feed_server.serve(body=rss([1]), cut_short=True)
    with pytest.raises(FeedUnavailable, match="closed the connection before the whole feed"):
        _fetch(url)


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://[::1", "redirected to an address that is not a web address"),
        ("http://127.0.0.1:99999/feed", "has a port that is out of range"),
        ("http://127.0.0.1:http/feed", "has a port that is not a number"),
    ],
)
def test_a_redirect_to_an_unreadable_address_fails_in_words(
    feed_server: FeedServer, location: str, message: str
) -> None:
    url = feed_server.serve(status=302, headers={"Location": location})
    with pytest.raises(FeedUnavailable, match=message):
        _fetch(url)
