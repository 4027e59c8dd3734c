"""No query string or path value makes a public page fail: every route outside /admin and /api."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from engine.config import PROJECT_ROOT, Settings
from subscribers.links import SubscriberLinks
from subscribers.tokens import Purpose, TokenSigner
from tests.factories import make_sent_issue, make_subscriber, make_topic
from tests.fakes.sendgrid_signing import SendGridSigner

#: Every query parameter a public route reads, and those staff pages read in case one leaks.
KNOWN_NAMES = (
    "q", "topic", "observance", "year", "month", "page", "t", "token", "v", "next", "after",
    "before", "status", "from", "to",
)  # fmt: skip
#: What each public route reads from its query string.
READ_BY_ROUTE = {
    "/archive": ("q", "topic", "observance", "year", "page"),
    "/view/<slug>": ("t",),
    "/view/<slug>/email": ("t",),
    "/calendar.ics": ("token",),
    "/static/<path:filename>": ("v",),
}
HOSTILE_VALUES = (
    "-1", "0", "1", "-99999999999999999999", "99999999999999999999999", "9999", "10000",
    "1e309", "nan", "inf", "1.5", "0x10", "--1", "abc", "", " ", "%", "_", "'", '"', "\\",
    "é☃𝄞", "١٢", "\u202e", "\x00", "a\x00b", "\r\nX-Injected: 1", "\x1b[31m", "../../etc/passwd",
    "<script>alert(1)</script>", "a" * 5000, "9" * 400,
)  # fmt: skip
#: Query strings no browser would send: broken escapes, bytes that are not UTF-8, repeats.
RAW_QUERIES = (
    "year=%ff%fe&page=%c0%80", "q=%zz&topic=%", "year=1&year=-1&year=x", "=&&=x&year", "%00=%00",
    "page=" + "9" * 5000,
)  # fmt: skip
#: A variable part of a rule: ``<name>``, ``<int:name>``, ``<int(max=9):name>``.
_PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?\w+>")


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Test settings with both webhooks configured, so that they answer rather than 503."""
    # Naming ``database_url`` keeps the SQLite/PostgreSQL parametrisation of the base fixture.
    return settings.with_overrides(
        SENDGRID_WEBHOOK_PUBLIC_KEY=SendGridSigner().public_key_b64,
        DSN_WEBHOOK_TOKEN="dsn-token-for-tests-only",
    )


def _public_rules(app: Flask) -> list[Rule]:
    return [
        rule for rule in app.url_map.iter_rules() if not rule.rule.startswith(("/admin", "/api"))
    ]


@pytest.fixture
def paths(app: Flask, session: Session, settings: Settings) -> dict[str, str]:
    """Map each public rule and method to a URL reaching its real page, with valid tokens."""
    topic = make_topic(session, "foster-care")
    reader = make_subscriber(session, "reader@example.com", topics=[topic])
    published = datetime(2026, 1, 5, tzinfo=UTC)
    issue = make_sent_issue(session, settings, "Spotlight", published, [topic])
    session.commit()
    signer = TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)
    static_file = next(p for p in (PROJECT_ROOT / "static").rglob("*") if p.is_file())
    values: dict[str, object] = {
        "slug": issue.slug,
        "topic_slug": topic.slug,
        "language": "es",
        "campaign_id": 1,
        "link_id": 1,
        "filename": static_file.relative_to(PROJECT_ROOT / "static").as_posix(),
        "name": "0" * 64 + ".png",
    }
    found = {}
    for rule in _public_rules(app):
        page = rule.rule.split("/")[1]
        if "token" in rule.arguments and page in set(Purpose):
            values["token"] = signer.sign(Purpose(page), reader.id)
        elif "token" in rule.arguments:
            values["token"] = "a-token-of-another-kind"
        arguments = {name: value for name, value in values.items() if name in rule.arguments}
        url = app.url_map.bind("news.example.org").build(rule.endpoint, arguments)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found[f"{method} {rule.rule}"] = url
    webview = SubscriberLinks.from_settings(settings).webview(issue.slug, reader.id, 1)
    found["GET /view/<slug> (personal)"] = webview.removeprefix(settings.BASE_URL)
    found["GET /view/<slug>/email (personal)"] = webview.replace("?t=", "/email?t=").removeprefix(
        settings.BASE_URL
    )
    return found


def _status(client: FlaskClient, route: str, url: str, query: dict[str, str] | str) -> int:
    path, _, own = url.partition("?")
    extra = urlencode(query) if isinstance(query, dict) else query
    full = "&".join(part for part in (own, extra) if part)
    return client.open(path, method=route.split(" ", 1)[0], query_string=full).status_code


def test_hostile_values_of_every_known_parameter(
    client: FlaskClient, paths: dict[str, str]
) -> None:
    failures = []
    for route, url in paths.items():
        tries: list[dict[str, str] | str] = list(RAW_QUERIES)
        own = READ_BY_ROUTE.get(route.split(" ")[1], ())
        for value in HOSTILE_VALUES:
            # Alone too, in case another parameter's refusal would hide what this one does.
            tries += [{name: value} for name in own]
            tries.append({name: value for name in (*KNOWN_NAMES, "unknown", value[:40])})
        for query in tries:
            status = _status(client, route, url, query)
            if status >= 500:
                failures.append((route, query, status))
    assert failures == []


def _hostile_path(rule: Rule, value: str) -> str:
    def replace(placeholder: re.Match[str]) -> str:
        if placeholder["converter"] == "int":
            return value if value.isascii() and value.isdigit() else "9" * 30
        return quote(value, safe="") or "x"

    return _PLACEHOLDER.sub(replace, rule.rule)


def test_hostile_values_in_every_path_argument(
    app: Flask, client: FlaskClient, paths: dict[str, str]
) -> None:
    failures = []
    for rule in _public_rules(app):
        for value in HOSTILE_VALUES if rule.arguments else ():
            url = _hostile_path(rule, value)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                status = client.open(url, method=method).status_code
                if status >= 500:
                    failures.append((method, url[:120], status))
    assert failures == []


names = st.one_of(st.sampled_from(KNOWN_NAMES), st.text(max_size=20))
values = st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=60), st.integers().map(str))


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_query_strings_never_fail(
    client: FlaskClient, paths: dict[str, str], data: st.DataObject
) -> None:
    route = data.draw(st.sampled_from(sorted(paths)))
    query = data.draw(st.dictionaries(names, values, max_size=6))
    assert _status(client, route, paths[route], query) < 500
