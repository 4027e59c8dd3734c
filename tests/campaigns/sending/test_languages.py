"""Editions in one send: each reader gets the edition of their language, English otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.events.reports import campaign_report
from campaigns.issues.editions import create_edition
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import save_revision
from campaigns.issues.workflow import approve, submit_for_review
from campaigns.sending.freeze import Wave, freeze_audience
from campaigns.sending.languages import edition_notices, edition_warnings
from campaigns.sending.models import Batch, CampaignStatus, CampaignVariant, Delivery
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign, get_campaign, start_campaign
from engine.clock import now
from engine.config import Settings
from engine.delivery.memory import MemoryBackend
from engine.errors import ValidationFailed
from engine.users import create_api_token
from engine.web import get_settings
from subscribers.models import Subscriber, Topic
from tests.campaigns.sending.conftest import make_issue
from tests.factories import login, make_subscriber, make_user

SPANISH_SUBJECT = "Enfoque: cómo enfrentar la trata con fines sexuales"


def _spanish_edition(session: Session, issue: Issue, *, approved: bool = True) -> Issue:
    edition = create_edition(session, issue, "es", "test")
    content = {**edition.content, "subject": SPANISH_SUBJECT, "title": "La trata sexual"}
    save_revision(session, edition, content, base_revision=1, saved_by_id=None)
    if approved:
        edition.status = IssueStatus.APPROVED
    session.flush()
    return edition


def _readers(session: Session, topic: Topic) -> dict[str, int]:
    languages = {"ana": "es", "beto": "es-MX", "carol": "en", "dan": "", "eva": "ES"}
    return {
        name: make_subscriber(session, f"{name}@example.com", topics=[topic], language=language).id
        for name, language in languages.items()
    }


def _send(session: Session, issue: Issue, topic: Topic, runner: BatchRunner, **start) -> int:
    campaign = create_campaign(session, issue, [topic], settings=get_settings())
    session.commit()
    assert start_campaign(
        session,
        campaign.id,
        expected=CampaignStatus.DRAFT,
        settings=get_settings(),
        batch_size=start.get("batch_size", 2),
    )
    session.commit()
    while runner.run_next(campaign.id):
        pass
    return campaign.id


def _by_address(outbox: MemoryBackend) -> dict[str, object]:
    return {message.to_address: message for message in outbox.sent}


def test_spanish_readers_get_the_spanish_edition_in_one_send(
    session: Session, topic: Topic, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    issue = make_issue(session)
    _spanish_edition(session, issue)
    _readers(session, topic)
    campaign_id = _send(session, issue, topic, batch_runner)

    sent = _by_address(outbox)
    assert len(outbox.sent) == 5
    for address in ("ana@example.com", "beto@example.com", "eva@example.com"):
        message = sent[address]
        assert message.subject == SPANISH_SUBJECT
        assert '<html lang="es"' in message.html
        assert "Administrar sus preferencias" in message.html
        assert "Cancelar la suscripción" in message.text
        assert "¿No se ve bien este correo?" in message.html
        # No footer sentence was saved on the settings page: the catalogue's default, in Spanish.
        assert "¿Se lo reenvió alguien?" in message.html
        assert "Received this from a friend" not in message.html
    for address in ("carol@example.com", "dan@example.com"):
        message = sent[address]
        assert message.subject == "Spotlight on Addressing Sex Trafficking"
        assert '<html lang="en"' in message.html and "Manage preferences" in message.html

    # One frozen audience; no batch mixes two editions.
    variants = dict(
        session.execute(
            sa.select(CampaignVariant.number, CampaignVariant.key).where(
                CampaignVariant.campaign_id == campaign_id
            )
        ).all()
    )
    assert variants == {1: "language:en", 2: "language:es"}
    mixed = session.execute(
        sa.select(Delivery.batch_id)
        .join(Batch, Batch.id == Delivery.batch_id)
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.batch_id)
        .having(sa.func.count(sa.distinct(Delivery.variant)) > 1)
    ).all()
    assert mixed == []
    counts = dict(
        session.execute(
            sa.select(Delivery.variant, sa.func.count())
            .where(Delivery.campaign_id == campaign_id)
            .group_by(Delivery.variant)
        ).all()
    )
    assert counts == {1: 2, 2: 3}
    split = campaign_report(session, campaign_id, "UTC").languages
    assert [(row.language, row.recipients, row.accepted) for row in split] == [
        ("en", 2, 2),
        ("es", 3, 3),
    ]


def test_without_a_spanish_edition_spanish_readers_get_the_english(
    session: Session, topic: Topic, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    issue = make_issue(session)
    _readers(session, topic)
    _send(session, issue, topic, batch_runner)
    message = _by_address(outbox)["ana@example.com"]
    assert message.subject == "Spotlight on Addressing Sex Trafficking"
    assert '<html lang="en"' in message.html and "Manage preferences" in message.html


def test_an_unapproved_or_out_of_date_edition_is_left_out_with_a_warning(
    session: Session, topic: Topic, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    issue = make_issue(session)
    edition = _spanish_edition(session, issue, approved=False)
    assert edition_warnings(session, issue) == [
        "The Spanish edition is not approved: Spanish readers get the English."
    ]
    edition.status = IssueStatus.APPROVED
    issue.revision += 1
    session.flush()
    assert "out of date" in edition_warnings(session, issue)[0]
    _readers(session, topic)
    _send(session, issue, topic, batch_runner)
    message = _by_address(outbox)["ana@example.com"]
    assert message.subject == "Spotlight on Addressing Sex Trafficking"


def test_a_local_time_send_cuts_each_wave_by_language(
    session: Session, topic: Topic, settings: Settings
) -> None:
    issue = make_issue(session)
    _spanish_edition(session, issue)
    readers = _readers(session, topic)
    session.execute(
        sa.update(Subscriber)
        .where(Subscriber.id.in_([readers["ana"], readers["carol"]]))
        .values(timezone="America/New_York")
    )
    campaign = create_campaign(session, issue, [topic], settings=settings)
    waves = [
        Wave(now() + timedelta(hours=1), ("America/New_York",), held=True),
        Wave(now() + timedelta(hours=2), None, held=True),
    ]
    assert freeze_audience(session, campaign, 10, waves) == 5
    batches = session.execute(
        sa.select(Batch.variant, Batch.release_at, Batch.size)
        .where(Batch.campaign_id == campaign.id)
        .order_by(Batch.number)
    ).all()
    assert [(variant, size) for variant, _at, size in batches] == [(1, 1), (2, 1), (1, 1), (2, 2)]
    mixed = session.execute(
        sa.select(Delivery.batch_id)
        .where(Delivery.campaign_id == campaign.id)
        .group_by(Delivery.batch_id)
        .having(sa.func.count(sa.distinct(Delivery.variant)) > 1)
    ).all()
    assert mixed == []


def test_the_compose_page_says_what_each_edition_gets(
    client: FlaskClient, session: Session, topic: Topic
) -> None:
    issue = make_issue(session)
    issue.topics = [topic]
    _spanish_edition(session, issue, approved=False)
    user = make_user(session, "editor")
    session.commit()
    login(client, user)
    page = client.get(f"/admin/issues/{issue.id}/campaigns/new").get_data(as_text=True)
    assert 'id="compose-editions"' in page
    assert "The Spanish edition is not approved: Spanish readers get the English." in page


def test_the_campaign_page_says_which_editions_ride_along(
    client: FlaskClient, session: Session, topic: Topic, settings: Settings
) -> None:
    issue = make_issue(session)
    _spanish_edition(session, issue)
    campaign = create_campaign(session, issue, [topic], settings=settings)
    user = make_user(session, "editor")
    session.commit()
    login(client, user)
    page = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Each reader gets the edition in their language: en, es" in page


def _start(session: Session, campaign_id: int, runner: BatchRunner) -> None:
    assert start_campaign(
        session, campaign_id, expected=CampaignStatus.DRAFT, settings=get_settings(), batch_size=2
    )
    session.commit()
    while runner.run_next(campaign_id):
        pass


def _edit(session: Session, edition: Issue, approve_for: Topic | None = None) -> None:
    """Save a new Spanish subject; with ``approve_for``, have it reviewed and approved again."""
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    content = {**edition.content, "subject": "Enfoque: versión corregida"}
    save_revision(session, edition, content, base_revision=edition.revision, saved_by_id=editor.id)
    if approve_for is not None:
        submit_for_review(session, edition, editor, settings=get_settings())
        approve(session, edition, approver, [approve_for.id])
    session.commit()


@pytest.mark.parametrize(
    ("approve_again", "reason"),
    [
        (False, "is no longer approved"),
        (True, "was changed after this campaign was created"),
    ],
)
def test_an_edition_changed_before_the_start_is_left_out_and_the_page_says_so(
    editor_client: FlaskClient,
    session: Session,
    topic: Topic,
    batch_runner: BatchRunner,
    outbox: MemoryBackend,
    approve_again: bool,
    reason: str,
) -> None:
    issue = make_issue(session)
    edition = _spanish_edition(session, issue)
    _readers(session, topic)
    campaign = create_campaign(session, issue, [topic], settings=get_settings())
    session.commit()
    _edit(session, edition, approve_for=topic if approve_again else None)
    assert (edition.status == IssueStatus.APPROVED) is approve_again
    warning = f"The Spanish edition {reason}"
    assert warning in editor_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)

    _start(session, campaign.id, batch_runner)

    subjects = {message.to_address: message.subject for message in outbox.sent}
    assert len(subjects) == 5
    assert set(subjects.values()) == {"Spotlight on Addressing Sex Trafficking"}
    variants = session.scalars(
        sa.select(CampaignVariant.key).where(CampaignVariant.campaign_id == campaign.id)
    ).all()
    assert variants == []
    session.commit()
    page = editor_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert warning in page and "Spanish readers get the English." in page
    _, secret = create_api_token(session, user=make_user(session, "editor"), name="Editions")
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    shown = editor_client.get(f"/api/v1/campaigns/{campaign.id}", headers=headers).get_json()
    assert [line.startswith(warning) for line in shown["edition_warnings"]] == [True]


def test_the_english_changed_before_the_start_leaves_the_edition_out(
    session: Session, topic: Topic, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    issue = make_issue(session)
    _spanish_edition(session, issue)
    _readers(session, topic)
    campaign = create_campaign(session, issue, [topic], settings=get_settings())
    session.commit()
    save_revision(session, issue, {**issue.content}, base_revision=issue.revision, saved_by_id=None)
    session.commit()

    _start(session, campaign.id, batch_runner)

    assert {message.subject for message in outbox.sent} == {
        "Spotlight on Addressing Sex Trafficking"
    }
    assert edition_notices(session, get_campaign(session, campaign.id)) == [
        "The Spanish edition is out of date (the English changed after it was last saved): "
        "Spanish readers get the English."
    ]


def test_an_unchanged_edition_still_goes_to_spanish_readers_and_the_api_warns_of_nothing(
    client: FlaskClient,
    session: Session,
    topic: Topic,
    batch_runner: BatchRunner,
    outbox: MemoryBackend,
) -> None:
    issue = make_issue(session)
    _spanish_edition(session, issue)
    _readers(session, topic)
    campaign = create_campaign(session, issue, [topic], settings=get_settings())
    session.commit()

    _start(session, campaign.id, batch_runner)

    sent = _by_address(outbox)
    assert sent["ana@example.com"].subject == SPANISH_SUBJECT
    assert sent["carol@example.com"].subject == "Spotlight on Addressing Sex Trafficking"
    _, secret = create_api_token(session, user=make_user(session, "editor"), name="Editions")
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    shown = client.get(f"/api/v1/campaigns/{campaign.id}", headers=headers).get_json()
    assert shown["edition_warnings"] == []


def test_an_edition_is_sent_only_with_its_original(
    client: FlaskClient, session: Session, topic: Topic, settings: Settings
) -> None:
    issue = make_issue(session)
    issue.topics = [topic]
    edition = _spanish_edition(session, issue)
    with pytest.raises(ValidationFailed, match="goes out with its original"):
        create_campaign(session, edition, [topic], settings=settings)
    user = make_user(session, "editor")
    _, secret = create_api_token(session, user=user, name="Editions")
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"issue_id": edition.id, "topic_ids": [topic.id]}
    answer = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 422, answer.get_json()
    assert "goes out with its original" in str(answer.get_json())

    # The edition's editor offers the original's campaign, and its compose page leads there.
    login(client, user)
    editor = client.get(f"/admin/issues/{edition.id}/edit").get_data(as_text=True)
    assert (
        f'href="/admin/issues/{issue.id}/campaigns/new">Create a campaign (with the original)'
        in editor
    )
    compose = client.get(f"/admin/issues/{edition.id}/campaigns/new")
    assert compose.status_code == 302
    assert compose.headers["Location"].endswith(f"/admin/issues/{issue.id}/campaigns/new")
