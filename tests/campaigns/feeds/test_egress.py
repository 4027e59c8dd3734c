"""Which addresses a feed check may reach: judged on DNS answers and on the address reached."""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy.orm import Session

from campaigns.feeds.egress import AddressPolicy, RefusedAddress
from campaigns.feeds.fetching import FeedUnavailable, FetchLimits, fetch_feed
from campaigns.feeds.service import add_feed
from engine.config import ConfigError, FeedHost, load_settings
from engine.errors import ValidationFailed
from subscribers.models import Topic
from tests.campaigns.feeds.conftest import LOOPBACK, FeedServer, rss

LIMITS = FetchLimits(timeout_seconds=5, max_bytes=100_000, user_agent="test")


def _allowed(setting: str) -> tuple[FeedHost, ...]:
    """Return ``FEED_ALLOWED_HOSTS`` as the settings loader parses it."""
    environ = {"PINWHEEL_FEED_ALLOWED_HOSTS": setting}
    return load_settings(environ=environ, ENV="testing", SECRET_KEY="x" * 40).FEED_ALLOWED_HOSTS


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
        "fec0::1",  # site-local
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().allows("feeds.example.org", address)


def test_public_addresses_pass_and_the_setting_opens_chosen_ones() -> None:
    assert AddressPolicy().allows("news.example.gov", "93.184.216.34")
    assert AddressPolicy().allows("news.example.gov", "2606:2800:220:1::248")
    assert AddressPolicy().allows("news.example.gov", "64:ff9b::5db8:d822")  # 93.184.216.34
    assert AddressPolicy().allows("news.example.gov", "2002:5db8:d822::1")
    policy = AddressPolicy.from_setting(_allowed("10.0.0.0/8, intranet.agency.example. 127.0.0.1"))
    assert policy.allows("anything", "10.20.30.40")
    assert policy.allows("anything", "64:ff9b::a14:1e28")  # NAT64 of 10.20.30.40
    assert policy.allows("anything", "127.0.0.1")
    assert not policy.allows("anything", "192.168.0.1")
    assert policy.allows("Intranet.Agency.Example.", "192.168.0.1")


def test_host_names_are_judged_by_what_they_resolve_to() -> None:
    with pytest.raises(RefusedAddress, match="localhost is at"):
        AddressPolicy().check_host("localhost", 80)
    AddressPolicy.from_setting(_allowed("localhost")).check_host("localhost", 80)
    with pytest.raises(RefusedAddress, match="could not be found"):
        AddressPolicy().check_host("no-such-host.invalid", 80)


def test_the_address_reached_is_checked_even_when_dns_said_otherwise(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the first answer is public, the connection lands on loopback.
    monkeypatch.setattr(AddressPolicy, "check_host", lambda *_args: None)
    url = feed_server.serve(body=rss([1]))
    with pytest.raises(FeedUnavailable, match=r"127\.0\.0\.1, a private, loopback"):
        fetch_feed(url, etag="", last_modified="", policy=AddressPolicy(), limits=LIMITS)
    assert feed_server.requests == []
    allowed = AddressPolicy.from_setting(LOOPBACK)
    fetched = fetch_feed(url, etag="", last_modified="", policy=allowed, limits=LIMITS)
    assert fetched.body == rss([1])


def test_adding_a_feed_refuses_literal_private_addresses_and_odd_urls(
    session: Session, topic: Topic
) -> None:
    policy = AddressPolicy()
    for url, message in [
        ("http://127.0.0.1/feed", "loopback"),
        ("http://[::1]/feed", "loopback"),
        ("ftp://news.example.gov/feed", "must start with https://"),
        ("news.example.gov/feed", "must start with https://"),
        ("https://user:secret@news.example.gov/feed", "without a user name"),
        ("https://news.example.gov:99999/feed", "not a web address"),
        ("https://news.example.gov/a feed", "one web address"),
        ("", "Give the feed's web address"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            add_feed(session, url, topic.slug, policy=policy)
    with pytest.raises(ValidationFailed, match="no topic with the slug 'nope'"):
        add_feed(session, "https://news.example.gov/feed", "nope", policy=policy)


def test_the_setting_takes_addresses_networks_and_names() -> None:
    settings = load_settings(
        environ={"PINWHEEL_FEED_ALLOWED_HOSTS": "127.0.0.1, 10.0.0.0/8 Intranet.Example."},
        ENV="testing",
        SECRET_KEY="x" * 40,
    )
    networks = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8")]
    assert list(settings.FEED_ALLOWED_HOSTS) == [*networks, "intranet.example"]
    with pytest.raises(ConfigError, match="PINWHEEL_FEED_ALLOWED_HOSTS takes addresses"):
        load_settings(environ={"PINWHEEL_FEED_ALLOWED_HOSTS": "http://x/"}, ENV="testing")
