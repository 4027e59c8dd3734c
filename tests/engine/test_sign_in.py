"""Signing in: failed attempts are throttled per account and client address, the same for known
and unknown addresses, and a good password spends nothing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.sign_in_throttle import PASSWORD_STEP
from tests.factories import PASSWORD, make_user

ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
OWNER = {"REMOTE_ADDR": "198.51.100.20"}

pytestmark = pytest.mark.usefixtures("csrf_disabled")


def _sign_in(client: FlaskClient, email: str, password: str, environ: dict[str, str]):
    return client.post(
        "/admin/login", data={"email": email, "password": password}, environ_base=environ
    )


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_eleventh_wrong_password_is_refused_with_retry_after(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session, email="target@agency.example.org")
    session.commit()
    for _ in range(10):
        assert _sign_in(client, user.email, "wrong password!", ATTACKER).status_code == 401
    refused = _sign_in(client, user.email, "wrong password!", ATTACKER)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed attempts to sign in. Wait 15 minutes" in _text(refused)
    assert 'class="error-summary" role="alert"' in _text(refused)
    # Even the right password waits now, from that address …
    assert _sign_in(client, user.email, PASSWORD, ATTACKER).status_code == 429
    # … but the owner, elsewhere, signs in as usual.
    owner = _sign_in(client, user.email, PASSWORD, OWNER)
    assert owner.status_code == 302 and owner.headers["Location"] == "/admin/"


def test_unknown_addresses_get_the_same_answers(client: FlaskClient, session: Session) -> None:
    user = make_user(session, email="known@agency.example.org")
    session.commit()
    known = [_sign_in(client, user.email, "wrong password!", ATTACKER) for _ in range(11)]
    unknown = [
        _sign_in(client, "nobody@agency.example.org", "wrong password!", ATTACKER)
        for _ in range(11)
    ]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 10 + [429]
    for mine, theirs in ((known[0], unknown[0]), (known[-1], unknown[-1])):
        assert _text(mine).replace(user.email, "ADDRESS") == _text(theirs).replace(
            "nobody@agency.example.org", "ADDRESS"
        )
    # The same wait, give or take the second that passed between the two series.
    waits = [int(r.headers["Retry-After"]) for r in (known[-1], unknown[-1])]
    assert abs(waits[0] - waits[1]) <= 1


def test_a_good_sign_in_spends_nothing_and_clears_its_failures(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session, email="typo@agency.example.org")
    session.commit()
    for _ in range(9):
        _sign_in(client, user.email, "wrong password!", OWNER)
    for _ in range(5):
        assert _sign_in(client, user.email, PASSWORD, OWNER).status_code == 302
    for _ in range(10):
        assert _sign_in(client, user.email, "wrong password!", OWNER).status_code == 401


def test_an_empty_form_is_an_accessible_error_and_costs_nothing(client: FlaskClient) -> None:
    response = client.post("/admin/login", data={}, environ_base=ATTACKER)
    assert response.status_code == 422
    page = _text(response)
    assert '<a href="#email">Enter your email address.</a>' in page
    assert '<a href="#password">Enter your password.</a>' in page
    assert 'aria-invalid="true"' in page and "<title>Error: Sign in" in page
    assert PASSWORD_STEP.begin_attempt("", ATTACKER["REMOTE_ADDR"]) == 0


# --- the counters themselves, without hashing a password each time ---------------------------


def test_one_address_trying_many_accounts_is_stopped(app: Flask) -> None:
    client = "203.0.113.9"
    for n in range(50):
        assert PASSWORD_STEP.begin_attempt(f"user{n}@example.org", client) == 0
        PASSWORD_STEP.record_failure(f"user{n}@example.org", client)
    assert PASSWORD_STEP.begin_attempt("someone-new@example.org", client) > 0
    assert PASSWORD_STEP.begin_attempt("someone-new@example.org", "203.0.113.10") == 0


def test_many_addresses_on_one_account_reach_a_looser_ceiling(app: Flask) -> None:
    account = "Target@Example.org"
    for n in range(100):
        PASSWORD_STEP.record_failure(account, f"192.0.2.{n}")
    # Each address stayed under its own limit; together they reached the account's ceiling,
    # which holds until its window ends (at most 15 minutes), for every address.
    assert 0 < PASSWORD_STEP.begin_attempt("target@example.org", "198.51.100.1") <= 900
    assert PASSWORD_STEP.begin_attempt("other@example.org", "198.51.100.1") == 0


def test_counters_hold_no_addresses(app: Flask) -> None:
    from engine.ratelimit import limiter

    PASSWORD_STEP.record_failure("private@example.org", "192.0.2.1")
    keys = list(limiter.storage.storage)  # type: ignore[attr-defined]
    assert keys and not any("private" in key for key in keys)


def test_parallel_guesses_cannot_slip_past_the_limit(app: Flask, session: Session) -> None:
    from concurrent.futures import ThreadPoolExecutor

    user = make_user(session, email="raced@agency.example.org")
    session.commit()

    def guess(_: int) -> int:
        return _sign_in(app.test_client(), user.email, "wrong password!", ATTACKER).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(guess, range(24)))
    # Each attempt takes its place in the count before the password is checked.
    assert statuses.count(401) == 10 and statuses.count(429) == 14


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "//evil.example", "https://evil.example/", "/\t/evil.example"]
)
def test_sign_in_never_redirects_off_site(
    client: FlaskClient, session: Session, target: str
) -> None:
    user = make_user(session, email="next@agency.example.org")
    session.commit()
    response = client.post(
        "/admin/login",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD},
        environ_base=OWNER,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
