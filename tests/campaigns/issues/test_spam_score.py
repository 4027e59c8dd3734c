"""spamd's score of an issue: shown where staff review it, a note when spamd does not answer."""

from __future__ import annotations

import email
from email.message import Message

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.content.document import content_from_dict
from campaigns.issues.service import create_issue
from campaigns.issues.spam_score import spam_score_check
from campaigns.rendering.render import render_issue
from engine.config import Settings
from engine.render.accessibility import Severity
from tests.campaigns.rendering.factories import make_context
from tests.campaigns.seed_issues import SEEDS
from tests.factories import login, make_user
from tests.fakes.spamd_server import fake_spamd, spamd_reply

DIGEST = SEEDS["001_dbc7b398651e7fd4.txt"]
SETTINGS = Settings(SECRET_KEY="s" * 32, BASE_URL="https://news.example.org")


def _check(url: str):
    content = content_from_dict(DIGEST)
    rendered = render_issue(content, make_context())
    return spam_score_check(SETTINGS.with_overrides(SPAMD_URL=url), content.subject, rendered)


def _html_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def test_the_score_and_the_rules_that_add_points_are_shown():
    with fake_spamd(spamd_reply()) as (url, received):
        check = _check(url)
    assert check.severity is Severity.INFO and check.code == "spam_score"
    assert check.message == (
        "SpamAssassin scores this issue 2.8 points; it counts a message as spam from 5.0 "
        "(MORE_SEX +2.8, MAILING_LIST_MULTI -1.0)."
    )
    # What spamd scored is the issue as a reader gets it, links filled, headers of a campaign.
    body = received[0].partition(b"\r\n\r\n")[2]
    scored = email.message_from_bytes(body)
    assert scored["Subject"] == DIGEST["subject"]
    assert scored["List-Unsubscribe"] == "<https://news.example.org/subscribe>"
    assert scored["Message-ID"].endswith("@pinwheel.example.org>")
    assert "%%" not in _html_part(scored)


def test_a_score_over_the_threshold_is_a_warning_never_an_error():
    with fake_spamd(spamd_reply(verdict="True ; 6.1 / 5.0")) as (url, _):
        check = _check(url)
    assert check.severity is Severity.WARNING and not check.is_error
    assert check.message.startswith("SpamAssassin scores this issue 6.1 points, reaching its spam")


def test_a_spamd_that_does_not_answer_is_a_note():
    with fake_spamd(b"") as (url, _):
        check = _check(url)
    assert check.severity is Severity.INFO
    assert check.message.startswith("The spam score could not be computed (")


@pytest.fixture
def spamd():
    with fake_spamd(spamd_reply()) as (url, received):
        yield url, received


@pytest.fixture
def settings(settings: Settings, spamd, database_url: str) -> Settings:
    return settings.with_overrides(SPAMD_URL=spamd[0])


def test_the_review_page_shows_the_score_beside_the_wording_warning(
    client: FlaskClient, session: Session, spamd
) -> None:
    editor = make_user(session, "editor")
    issue = create_issue(session, DIGEST, author_id=editor.id)
    session.commit()
    login(client, editor)
    page = client.get(f"/admin/issues/{issue.id}/review").get_data(as_text=True)
    assert "SpamAssassin scores this issue 2.8 points" in page
    assert "increased risk of sex" in page
    assert spamd[1], "spamd was not asked"
