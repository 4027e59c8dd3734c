"""The role matrix: every endpoint refuses (403) exactly the roles the staff UI refuses."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.api.conftest import CONTENT, ApiClient, Seed, join_background_threads

ALL = frozenset({"admin", "editor", "approver"})
EDIT = frozenset({"admin", "editor"})
APPROVE = frozenset({"admin", "approver"})
ADMIN = frozenset({"admin"})
OBSERVANCE = {
    "slug": "relatives-caring-month", "name": "Kinship Care Month", "kind": "month",
    "rule": {"type": "month", "month": 9}, "topic": "foster-care", "colour": "#1f5f8b",
    "description": "Honouring relatives who raise children.",
}  # fmt: skip
UPLOAD = "upload"

#: (method, path, body, roles allowed); {s} subscriber, {i} issue, {c} campaign, {t} topic slug,
#: {tid} topic id.
MATRIX: list[tuple[str, str, Any, frozenset[str]]] = [
    ("GET", "/topics", None, ALL),
    ("POST", "/topics", {"slug": "new-topic", "name": "New"}, EDIT),
    ("GET", "/topics/{t}", None, ALL),
    ("PATCH", "/topics/{t}", {"name": "Renamed"}, EDIT),
    ("GET", "/topics/{t}/comparison", None, ALL),
    ("GET", "/subscribers", None, ALL),
    ("POST", "/subscribers", {"email": "new@example.com"}, EDIT),
    ("POST", "/subscribers/bulk", {"subscribers": [{"email": "bulk@example.com"}]}, EDIT),
    ("GET", "/subscribers/{s}", None, ALL),
    ("PATCH", "/subscribers/{s}", {"name": "New Name"}, EDIT),
    ("DELETE", "/subscribers/{s}", None, EDIT),
    ("POST", "/subscribers/{s}/subscribe", {"topics": ["{t}"]}, EDIT),
    ("POST", "/subscribers/{s}/unsubscribe", {"topics": ["{t}"]}, EDIT),
    ("PUT", "/subscribers/{s}/subscriptions/{t}/frequency", {"frequency": "daily"}, EDIT),
    ("GET", "/suppressions", None, ALL),
    ("POST", "/suppressions", {"address": "gone@example.com"}, EDIT),
    ("DELETE", "/suppressions/999", None, EDIT),
    ("POST", "/imports", UPLOAD, EDIT),
    ("GET", "/imports/999", None, EDIT),
    ("GET", "/issues", None, ALL),
    ("POST", "/issues", {"content": CONTENT}, EDIT),
    ("GET", "/issues/{i}", None, ALL),
    ("PUT", "/issues/{i}", {"base_revision": 1, "content": CONTENT}, EDIT),
    ("GET", "/issues/{i}/revisions", None, ALL),
    ("GET", "/issues/{i}/revisions/1", None, ALL),
    ("POST", "/issues/{i}/revisions/1/restore", None, EDIT),
    ("GET", "/issues/{i}/diff", None, ALL),
    ("GET", "/issues/{i}/render", None, ALL),
    ("POST", "/issues/{i}/preview", {"content": CONTENT}, ALL),
    ("GET", "/issues/{i}/checks", None, ALL),
    ("POST", "/issues/{i}/submit", None, EDIT),
    ("POST", "/issues/{i}/approve", {"topic_ids": ["{tid}"]}, APPROVE),
    ("POST", "/issues/{i}/return", {}, APPROVE),
    ("GET", "/issues/{i}/editions", None, ALL),
    ("POST", "/issues/{i}/editions", {"language": "es"}, EDIT),
    ("GET", "/issues/{i}/corrections", None, ALL),
    ("POST", "/issues/{i}/corrections", None, EDIT),
    ("GET", "/campaigns", None, EDIT),
    ("POST", "/campaigns", {"issue_id": "{i}", "topic_ids": ["{tid}"]}, EDIT),
    ("GET", "/campaigns/{c}", None, EDIT),
    ("POST", "/campaigns/{c}/schedule",
     {"mode": "absolute", "local": "2031-04-01T10:00:00", "tz": "America/Chicago"}, EDIT),
    ("DELETE", "/campaigns/{c}/schedule", None, EDIT),
    ("POST", "/campaigns/{c}/send", None, EDIT),
    ("POST", "/campaigns/{c}/test-send", {"addresses": ["qa@agency.example.org"]}, EDIT),
    ("POST", "/campaigns/{c}/pause", None, EDIT),
    ("POST", "/campaigns/{c}/resume", None, EDIT),
    ("POST", "/campaigns/{c}/cancel", None, EDIT),
    ("POST", "/campaigns/{c}/resend-uncertain", None, EDIT),
    ("GET", "/campaigns/{c}/progress", None, EDIT),
    ("GET", "/campaigns/{c}/deliveries", None, EDIT),
    ("GET", "/campaigns/{c}/report", None, ALL),
    ("GET", "/campaigns/{c}/events", None, ALL),
    ("GET", "/observances", None, ALL),
    ("GET", "/observances/staff", None, ALL),
    ("POST", "/observances/staff", OBSERVANCE, EDIT),
    ("GET", "/observances/staff/relatives-caring-month", None, ALL),
    ("PUT", "/observances/staff/relatives-caring-month",
     {k: v for k, v in OBSERVANCE.items() if k != "slug"}, EDIT),
    ("DELETE", "/observances/staff/relatives-caring-month", None, EDIT),
    ("GET", "/settings", None, ADMIN),
    ("PATCH", "/settings", {"values": {"organisation_name": "Gateway"}}, ADMIN),
    ("PUT", "/settings/logo", {"image": "", "alt": "Gateway"}, ADMIN),
    ("DELETE", "/settings/logo", None, ADMIN),
    ("GET", "/feeds", None, EDIT),
    ("POST", "/feeds", {"url": "https://news.example.gov/feed.xml", "topic": "{t}"}, EDIT),
    ("GET", "/feeds/999", None, EDIT),
    ("PATCH", "/feeds/999", {"active": False}, EDIT),
    ("DELETE", "/feeds/999", None, EDIT),
    ("POST", "/feeds/999/check", None, EDIT),
    ("GET", "/welcome", None, EDIT),
    ("POST", "/welcome", {"category": None}, EDIT),
    ("GET", "/welcome/999", None, EDIT),
    ("PATCH", "/welcome/999", {"active": False}, EDIT),
    ("POST", "/welcome/send-pending", None, EDIT),
]  # fmt: skip


def _fill(value: Any, seed: Seed) -> Any:
    ids = {"{s}": seed.subscriber_id, "{i}": seed.issue_id, "{c}": seed.campaign_id,
           "{tid}": seed.topic_id, "{t}": seed.topic_slug}  # fmt: skip
    if isinstance(value, str):
        if value in ids:
            return ids[value]
        for marker, real in ids.items():
            value = value.replace(marker, str(real))
        return value
    if isinstance(value, list):
        return [_fill(item, seed) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, seed) for key, item in value.items()}
    return value


def _call(client: ApiClient, method: str, path: str, body: Any) -> int:
    if body == UPLOAD:
        data = {"file": (io.BytesIO(b"email\nreader@example.com\n"), "list.csv")}
        return client.request(method, path, data=data).status_code
    return client.request(method, path, json=body).status_code


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX,
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX])  # fmt: skip
def test_roles(
    api_as: Callable[[str], ApiClient],
    seed: Seed,
    method: str,
    path: str,
    body: Any,
    allowed: frozenset[str],
) -> None:
    path, body = _fill(path, seed), _fill(body, seed)
    # Refused roles first: an allowed call may change what later calls find.
    for role in sorted(ALL - allowed):
        assert _call(api_as(role), method, path, body) == 403, role
    for role in sorted(allowed, key=lambda r: r == "admin"):
        status = _call(api_as(role), method, path, body)
        assert status != 403 and status < 500, (role, status)
    join_background_threads()


def test_the_matrix_covers_every_operation(app: Flask, api: ApiClient) -> None:
    document = api.get("/openapi.json").get_json()
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    listed = {(method, _shape(path)) for method, path, _, _ in MATRIX}
    assert {(m, _shape(p)) for m, p in documented} == listed


def _shape(path: str) -> str:
    """Reduce a path to its shape: every id or slug segment becomes ``*``."""
    keep = {"topics", "subscribers", "bulk", "subscribe", "unsubscribe", "suppressions",
            "imports", "issues", "revisions", "restore", "diff", "render", "preview", "checks",
            "submit", "approve", "return", "campaigns", "schedule", "send", "test-send", "pause",
            "resume", "cancel", "resend-uncertain", "progress", "deliveries", "report", "events",
            "observances", "staff", "comparison", "feeds", "check", "welcome",
            "send-pending", "editions", "corrections"}  # fmt: skip
    return "/".join(part if part in keep or not part else "*" for part in path.split("/"))
