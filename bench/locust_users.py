"""Locust users for ``bench_http``: one fetches a page, the other fills in the subscribe form.

The page comes from ``BENCH_PATH``; run only by ``bench_http`` (``locust -f ... PageUser``).
"""

from __future__ import annotations

import itertools
import os
import re
import uuid

from locust import FastHttpUser, constant, task

PATH = os.environ.get("BENCH_PATH", "/healthz")
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_CHECKBOX = re.compile(r'<input[^>]*type="checkbox"[^>]*>')
_ATTR = re.compile(r'(name|value)="([^"]*)"')
_numbers = itertools.count()


def _fields(tag: str) -> tuple[str, str] | None:
    attrs = dict(_ATTR.findall(tag))
    return (attrs["name"], attrs.get("value", "on")) if "name" in attrs else None


class PageUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def page(self) -> None:
        self.client.get(PATH)


class SubscribeUser(FastHttpUser):
    """Fetch the form once per user (its hidden fields, a topic), then subscribe new addresses."""

    wait_time = constant(0)

    def on_start(self) -> None:
        page = self.client.get(PATH, name="form").text or ""
        fields = [_fields(tag) for tag in _HIDDEN.findall(page) + _CHECKBOX.findall(page)[:1]]
        self.form = dict(field for field in fields if field)

    @task
    def subscribe(self) -> None:
        n = next(_numbers)
        address = f"bench-{uuid.uuid4().hex[:12]}-{n}@example.org"
        # A different visitor each time (the server trusts one proxy hop in the bench).
        visitor = {"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}
        form = {**self.form, "email": address, "name": "Bench Reader"}
        self.client.post(PATH, data=form, headers=visitor)
