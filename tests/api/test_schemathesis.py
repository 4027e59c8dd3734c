"""Property-based run of the whole API against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.internal.conjecture import utils as conjecture_utils
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Seed, join_background_threads

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
EXAMPLES = 10
_DONE = object()


def _many_more(self: conjecture_utils.many) -> bool:
    """Answer ``many.more()`` through the iterator protocol that replaced it in Hypothesis."""
    iterator = self.__dict__.get("_more_iterator")
    if iterator is None:
        self.__enter__()
        iterator = self._more_iterator = iter(self)  # type: ignore[attr-defined]
    if next(iterator, _DONE) is _DONE:
        self.__exit__(None)
        return False
    return True


@pytest.fixture(autouse=True)
def _jsonschema_compat(monkeypatch: pytest.MonkeyPatch) -> None:
    # hypothesis-jsonschema 0.23 still calls many.more(), which recent Hypothesis removed.
    if not hasattr(conjecture_utils.many, "more"):
        monkeypatch.setattr(conjecture_utils.many, "more", _many_more, raising=False)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_operation_conforms(app: Flask, secrets: dict[str, str], seed: Seed) -> None:
    app.config["PINWHEEL_API_RATE_LIMIT"] = "100000 per minute"
    schema = schemathesis.from_wsgi("/api/v1/openapi.json", app)
    _aim_at_seeded_rows(schema, seed)
    headers = {"Authorization": f"Bearer {secrets['admin']}"}
    failures: list[str] = []
    started = time.monotonic()
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as error:
            failures.append(f"{operation.verbose_name}: {str(error)[:1500]}")
    join_background_threads()
    print(f"schemathesis: {calls} calls in {time.monotonic() - started:.1f}s")
    assert not failures, "\n\n".join(failures)


def _aim_at_seeded_rows(schema: schemathesis.BaseSchema, seed: Seed) -> None:
    """Point path ids at seeded rows, so operations get past 404 and exercise their bodies."""
    known = {
        "subscriber_id": seed.subscriber_id,
        "issue_id": seed.issue_id,
        "campaign_id": seed.campaign_id,
        "number": 1,
        "job_id": 1,
        "entry_id": 1,
    }

    @schema.hook("map_path_parameters")
    def _seeded(context: Any, parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        if parameters is None:
            return None
        if "slug" in parameters and "/topics/" in context.operation.path:
            parameters["slug"] = seed.topic_slug
        return {key: known.get(key, value) for key, value in parameters.items()}
