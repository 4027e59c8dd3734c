"""A correction reaches exactly the original's accepted recipients, and the original notes it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.archive.feeds import atom_document
from campaigns.archive.service import find_published
from campaigns.corrections.service import create_correction
from campaigns.issues.editions import create_edition
from campaigns.issues.models import Issue
from campaigns.issues.service import save_revision
from campaigns.sending.audiences import CorrectionReach, correction_reach
from campaigns.sending.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import create_campaign, start_campaign
from engine.delivery.memory import MemoryBackend
from engine.errors import Conflict, ValidationFailed
from engine.web import get_settings
from subscribers.models import Subscriber, SubscriberStatus, SuppressionReason, Topic
from subscribers.suppression import suppress
from tests.campaigns.sending.conftest import make_issue
from tests.factories import make_subscriber

NOTE = "The hotline number was wrong: call 1-888-373-7888."
ATOM = "{http://www.w3.org/2005/Atom}"


def _send(session: Session, issue: Issue, topics: list[Topic], runner: BatchRunner, **kw) -> int:
    campaign = create_campaign(session, issue, topics, settings=get_settings(), **kw)
    session.commit()
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, settings=get_settings(), batch_size=2
    )
    session.commit()
    while runner.run_next(campaign.id):
        pass
    return campaign.id


def _written(session: Session, original: Issue) -> Issue:
    correction = create_correction(session, original, "test")
    content = {
        **correction.content,
        "preheader": NOTE,
        "blocks": [{"id": "correction", "type": "paragraph", "text": f"{NOTE} We are sorry."}],
    }
    save_revision(session, correction, content, base_revision=1, saved_by_id=None)
    session.commit()
    return correction


def _set_status(session: Session, campaign_id: int, address: str, status: DeliveryStatus) -> None:
    session.execute(
        sa.update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.address == address)
        .values(status=status)
    )


@pytest.fixture
def sent_original(
    session: Session, topic: Topic, batch_runner: BatchRunner, outbox: MemoryBackend
) -> Issue:
    """An issue sent to six readers, whose deliveries ended in every way a send can end."""
    for name in ("ana", "beto", "carla", "dora", "eli", "fay"):
        make_subscriber(session, f"{name}@example.com", topics=[topic])
    original = make_issue(session)
    campaign_id = _send(session, original, [topic], batch_runner)
    _set_status(session, campaign_id, "carla@example.com", DeliveryStatus.FAILED_PERMANENT)
    _set_status(session, campaign_id, "dora@example.com", DeliveryStatus.UNCERTAIN)
    _set_status(session, campaign_id, "eli@example.com", DeliveryStatus.SUPPRESSED)
    # Accepted, but has since left every list: a correction is no reason to write again.
    fay = session.scalar(sa.select(Subscriber).where(Subscriber.email == "fay@example.com"))
    assert fay is not None
    fay.status = SubscriberStatus.UNSUBSCRIBED
    # Joined after the send: never got the original, so never hears of the correction.
    make_subscriber(session, "late@example.com", topics=[topic])
    session.commit()
    session.refresh(original)
    outbox.sent.clear()
    return original


def test_correction_reaches_exactly_the_accepted_recipients(
    session: Session,
    topic: Topic,
    sent_original: Issue,
    batch_runner: BatchRunner,
    outbox: MemoryBackend,
) -> None:
    correction = _written(session, sent_original)
    reach = correction_reach(session, sent_original.id, correction.id)
    assert reach == CorrectionReach(accepted=2, uncertain=1)

    campaign_id = _send(session, correction, [], batch_runner)

    assert sorted(m.to_address for m in outbox.sent) == ["ana@example.com", "beto@example.com"]
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    assert campaign.status == CampaignStatus.SENT
    assert campaign.corrects_issue_id == sent_original.id
    assert [t.id for t in campaign.topics] == [topic.id]
    assert all(NOTE in m.text for m in outbox.sent)


def test_staff_may_choose_the_uncertain_recipients_too(
    session: Session, sent_original: Issue, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    correction = _written(session, sent_original)

    _send(session, correction, [], batch_runner, include_uncertain=True)

    assert sorted(m.to_address for m in outbox.sent) == [
        "ana@example.com",
        "beto@example.com",
        "dora@example.com",
    ]


def test_suppressed_since_the_original_is_left_out(
    session: Session, sent_original: Issue, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    correction = _written(session, sent_original)
    suppress(session, "beto@example.com", SuppressionReason.COMPLAINT, source="test")
    session.commit()

    _send(session, correction, [], batch_runner)

    assert [m.to_address for m in outbox.sent] == ["ana@example.com"]


def test_original_web_view_archive_and_feed_carry_a_dated_note(
    session: Session,
    client: FlaskClient,
    sent_original: Issue,
    batch_runner: BatchRunner,
) -> None:
    assert find_published(session, sent_original.slug).corrections == ()
    correction = _written(session, sent_original)
    _send(session, correction, [], batch_runner)
    session.refresh(correction)
    assert correction.published_at is not None

    notes = find_published(session, sent_original.slug).corrections
    assert [(n.correction.id, n.summary) for n in notes] == [(correction.id, NOTE)]
    page = client.get(f"/view/{sent_original.slug}").get_data(as_text=True)
    assert 'class="correction-note"' in page
    assert NOTE in page and f"/view/{correction.slug}" in page
    assert correction.published_at.date().isoformat() in page
    archive = client.get("/archive").get_data(as_text=True)
    assert "archive-correction" in archive and NOTE in archive

    feed = ET.fromstring(atom_document(session, get_settings(), topic_slug=None))
    entries = {e.findtext(f"{ATOM}title"): e for e in feed.iter(f"{ATOM}entry")}
    entry = entries[sent_original.title]
    assert entry.findtext(f"{ATOM}updated") == correction.published_at.isoformat()
    assert entry.findtext(f"{ATOM}published") != entry.findtext(f"{ATOM}updated")
    assert NOTE in (entry.findtext(f"{ATOM}summary") or "")
    related = [
        link.get("href") for link in entry.iter(f"{ATOM}link") if link.get("rel") == "related"
    ]
    assert related == [f"{get_settings().BASE_URL}/view/{correction.slug}"]
    assert correction.title in entries


def test_a_correction_waits_for_the_original_and_takes_no_filter(
    session: Session, topic: Topic, sent_original: Issue
) -> None:
    unsent = make_issue(session)
    with pytest.raises(Conflict, match="has not been sent"):
        create_correction(session, unsent, "test")
    correction = _written(session, sent_original)
    with pytest.raises(ValidationFailed, match="no attribute filter"):
        create_campaign(session, correction, [], settings=get_settings(), segment={"state": "OH"})
    with pytest.raises(ValidationFailed, match="Only a correction"):
        create_campaign(
            session, make_issue(session), [topic], settings=get_settings(), include_uncertain=True
        )
    # A second send of the original still going: the correction cannot know its readers yet.
    session.add(
        Campaign(
            issue_id=sent_original.id,
            issue_revision=1,
            name="again",
            status=CampaignStatus.SENDING,
        )
    )
    session.flush()
    with pytest.raises(Conflict, match="still being sent"):
        create_campaign(session, correction, [], settings=get_settings())


def test_a_second_campaign_of_the_correction_tells_only_those_left(
    session: Session, sent_original: Issue, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    correction = _written(session, sent_original)
    _send(session, correction, [], batch_runner)
    outbox.sent.clear()
    assert correction_reach(session, sent_original.id, correction.id) == CorrectionReach(0, 1)

    # The uncertain recipients after all: only they are new.
    _send(session, correction, [], batch_runner, include_uncertain=True)

    assert [m.to_address for m in outbox.sent] == ["dora@example.com"]


def test_readers_of_an_editions_own_campaign_are_corrected_too(
    session: Session,
    topic: Topic,
    sent_original: Issue,
    batch_runner: BatchRunner,
    outbox: MemoryBackend,
) -> None:
    edition = create_edition(session, sent_original, "es", "test")
    content = {**edition.content, "subject": "Enfoque", "title": "Enfoque"}
    save_revision(session, edition, content, base_revision=1, saved_by_id=None)
    make_subscriber(session, "lucia@example.com", topics=[topic], language="es")
    # A campaign of the edition alone, as created before such campaigns were refused: the
    # databases of that time still hold some, and their readers are the original's too.
    edition.edition_of_id = None
    session.commit()
    _send(session, edition, [topic], batch_runner)
    edition.edition_of_id = sent_original.id
    session.commit()
    outbox.sent.clear()

    correction = _written(session, edition)

    assert correction.correction_of_id == sent_original.id
    _send(session, correction, [], batch_runner)
    assert "lucia@example.com" in {m.to_address for m in outbox.sent}


def test_the_start_waits_while_the_original_goes_out_again(
    session: Session, sent_original: Issue, batch_runner: BatchRunner
) -> None:
    correction = _written(session, sent_original)
    campaign = create_campaign(session, correction, [], settings=get_settings())
    session.commit()
    original_send = session.scalar(sa.select(Campaign).where(Campaign.issue_id == sent_original.id))
    assert original_send is not None
    original_send.status = CampaignStatus.SENDING  # its uncertain recipients queued again
    session.commit()

    with pytest.raises(Conflict, match="still being sent"):
        start_campaign(session, campaign.id, expected=CampaignStatus.DRAFT, settings=get_settings())
    session.rollback()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.DRAFT


def test_an_original_cancelled_part_way_can_be_corrected(
    session: Session, topic: Topic, batch_runner: BatchRunner, outbox: MemoryBackend
) -> None:
    make_subscriber(session, "ana@example.com", topics=[topic])
    original = make_issue(session)
    campaign_id = _send(session, original, [topic], batch_runner)
    session.execute(
        sa.update(Campaign).where(Campaign.id == campaign_id).values(status="cancelled")
    )
    original.published_at = None
    session.commit()

    correction = _written(session, original)
    outbox.sent.clear()
    _send(session, correction, [], batch_runner)

    assert [m.to_address for m in outbox.sent] == ["ana@example.com"]


def test_the_note_says_what_was_sent_not_a_later_draft(
    session: Session, sent_original: Issue, batch_runner: BatchRunner
) -> None:
    correction = _written(session, sent_original)
    _send(session, correction, [], batch_runner)
    session.refresh(correction)
    later = {**correction.content, "preheader": "Unapproved words", "title": "Unapproved title"}
    save_revision(session, correction, later, base_revision=correction.revision, saved_by_id=None)
    session.commit()

    [note] = find_published(session, sent_original.slug).corrections
    assert note.summary == NOTE and note.title == correction_title(sent_original)


def correction_title(original: Issue) -> str:
    return f"Correction: {original.title}"
