"""List mail headers on every kind of campaign message: sent, test copy, SendGrid request."""

from __future__ import annotations

import email
import email.policy

import orjson
import sqlalchemy as sa

from campaigns.sending import proofs
from campaigns.sending.batches import load_frozen
from campaigns.sending.list_headers import MAX_FEEDBACK_FIELD, bulk_headers
from campaigns.sending.models import CampaignStatus, Delivery
from campaigns.sending.personalize import CampaignMessages, Recipient
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import start_campaign
from campaigns.sending.templated import template_batch
from engine.delivery.base import OutgoingMessage
from engine.delivery.mime import build_mime
from engine.delivery.sendgrid import SendGridBackend
from engine.delivery.sendgrid_request import request_body
from engine.delivery.verp import parse_return_path
from engine.web import get_settings
from tests.campaigns.sending.conftest import make_audience
from tests.conftest import SECRET
from tests.factories import make_topic, make_user
from tests.fakes.sendgrid_server import FakeSendGrid

LIST_ID = '"Practice Notes" <practice.list-id.pinwheel.example.org>'
PERSONAL = {"Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"}
BULK = {"List-Id", "Feedback-ID", "Precedence"}


def test_bulk_headers_name_the_list_and_the_feedback_fields() -> None:
    headers = bulk_headers(
        campaign_id=12,
        topic_slug="kinship-care",
        topic_name="Kinship Care",
        publication="spotlight",
        domain="agency.example",
    )
    assert headers == {
        "List-Id": '"Kinship Care" <kinship-care.list-id.agency.example>',
        "Feedback-ID": "12:kinship-care:spotlight:agency.example",
        "Precedence": "bulk",
    }


def test_names_are_quoted_or_encoded_and_fields_stay_short_and_safe() -> None:
    headers = bulk_headers(
        campaign_id=3,
        topic_slug="x" * 80,
        topic_name='Niños "y" familias',
        publication="resource_collection",
        domain="Agency.Example",
    )
    phrase, _, label = headers["List-Id"].rpartition(" ")
    assert headers["List-Id"].isascii() and phrase.startswith("=?utf-8?b?")
    assert label == f"<{'x' * 80}.list-id.agency.example>"
    fields = headers["Feedback-ID"].split(":")
    assert fields[0] == "3" and fields[2:] == ["resource_collection", "agency.example"]
    assert all(0 < len(field) <= MAX_FEEDBACK_FIELD for field in fields)
    quoted = bulk_headers(
        campaign_id=3, topic_slug="t", topic_name='A "B" \\ C', publication="p", domain="d.example"
    )
    assert quoted["List-Id"] == '"A \\"B\\" \\\\ C" <t.list-id.d.example>'
    longest = bulk_headers(
        campaign_id=3, topic_slug="t", topic_name="ñ" * 200, publication="p", domain="d.example"
    )
    assert len(longest["List-Id"]) < 400
    message = OutgoingMessage(1, "r@example.org", "", "n@d.example", "S", "<p>H</p>", "H", longest)
    raw = build_mime(message)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_a_campaign_without_a_topic_falls_back_to_its_publication() -> None:
    headers = bulk_headers(
        campaign_id=1, topic_slug="", topic_name="", publication="digest", domain="d.example"
    )
    assert headers["List-Id"] == "<digest.list-id.d.example>"
    assert headers["Feedback-ID"] == "1:digest:digest:d.example"


def _two_topic_campaign(session, new_campaign, topic):
    """A campaign to two topics; "practice" comes first on the public pages."""
    topic.name, topic.position = "Practice Notes", 1
    late = make_topic(session, slug="aa-listed-later", name="Later", position=5)
    make_audience(session, topic, 1)
    return new_campaign(topics=[late, topic])


def _started(session, campaign) -> None:
    assert start_campaign(
        session, campaign.id, expected=CampaignStatus.DRAFT, batch_size=10, settings=get_settings()
    )
    session.commit()


def test_a_sent_message_carries_list_unsubscribe_and_bulk_headers(
    session, topic, new_campaign, database, settings, outbox
):
    campaign = _two_topic_campaign(session, new_campaign, topic)
    _started(session, campaign)
    configured = settings.with_overrides(RETURN_PATH="bounces@agency.example")
    runner = BatchRunner(database, configured, outbox, worker="w")
    while runner.run_next(campaign.id):
        pass
    [message] = outbox.sent
    assert set(message.headers) >= PERSONAL | BULK
    assert message.headers["List-Id"] == LIST_ID
    assert (
        message.headers["Feedback-ID"] == f"{campaign.id}:practice:spotlight:pinwheel.example.org"
    )
    assert message.headers["Precedence"] == "bulk"
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.headers["List-Unsubscribe"].startswith("<https://news.example.org/unsub")
    assert "reader0" not in message.headers["Feedback-ID"]
    delivery_id = session.scalar(sa.select(Delivery.id))
    assert message.envelope_sender is not None
    assert message.envelope_sender.startswith(f"bounces+{delivery_id}-")
    assert parse_return_path(message.envelope_sender, secret=SECRET) == delivery_id
    parsed = email.message_from_bytes(build_mime(message), policy=email.policy.default)
    assert parsed["List-Id"] == LIST_ID and parsed["Precedence"] == "bulk"


def test_without_a_return_path_the_backend_chooses_the_envelope_sender(
    session, topic, new_campaign, batch_runner, outbox
):
    campaign = _two_topic_campaign(session, new_campaign, topic)
    _started(session, campaign)
    while batch_runner.run_next(campaign.id):
        pass
    assert outbox.sent[0].envelope_sender is None


def test_a_test_send_carries_them_too(session, topic, new_campaign, settings, outbox):
    campaign = _two_topic_campaign(session, new_campaign, topic)
    make_user(session, role="editor", email="editor@agency.example.org")
    session.commit()
    configured = settings.with_overrides(RETURN_PATH="bounces@agency.example")
    proofs.test_send(session, campaign, ["editor@agency.example.org"], settings=configured)
    [message] = outbox.sent
    assert set(message.headers) >= PERSONAL | BULK
    assert message.headers["List-Id"] == LIST_ID
    assert message.headers["Message-ID"].startswith("<test.")
    # A test copy is no delivery: its bounces go to the plain return path.
    assert message.envelope_sender is None


def test_the_sendgrid_request_sends_the_campaign_headers_once(
    session, topic, new_campaign, settings
):
    campaign = _two_topic_campaign(session, new_campaign, topic)
    builder = CampaignMessages(settings, load_frozen(session, campaign.id))
    readers = [Recipient(n, n, f"reader{n}@example.com", "") for n in (1, 2)]
    batch, failed = template_batch(builder, readers)
    body = orjson.loads(request_body(batch, batch.recipients))
    assert not failed
    assert set(body["headers"]) == BULK and body["headers"]["List-Id"] == LIST_ID
    assert [set(p["headers"]) for p in body["personalizations"]] == [PERSONAL, PERSONAL]


def test_sendgrid_delivers_every_header(session, topic, new_campaign, database, settings):
    campaign = _two_topic_campaign(session, new_campaign, topic)
    _started(session, campaign)
    with FakeSendGrid() as fake:
        configured = settings.with_overrides(
            MAIL_BACKEND="sendgrid", SENDGRID_API_KEY=fake.api_key, SENDGRID_API_URL=fake.url
        )
        runner = BatchRunner(database, configured, SendGridBackend(configured), worker="w")
        while runner.run_next(campaign.id):
            pass
    [message] = fake.accepted
    assert set(message.headers) >= PERSONAL | BULK
    assert message.headers["Feedback-ID"].startswith(f"{campaign.id}:practice:")


def test_the_organisation_reply_to_reaches_smtp_and_sendgrid_messages(
    session, topic, new_campaign, database, settings, outbox
):
    from engine.organisation_store import OrganisationSetting

    session.add(OrganisationSetting(key="reply_to", value="help@agency.example", updated_by="t"))
    campaign = _two_topic_campaign(session, new_campaign, topic)
    _started(session, campaign)
    runner = BatchRunner(database, settings, outbox, worker="w")
    while runner.run_next(campaign.id):
        pass
    [message] = outbox.sent
    assert message.headers["Reply-To"] == "help@agency.example"
    builder = CampaignMessages(settings, load_frozen(session, campaign.id))
    batch, _ = template_batch(builder, [Recipient(1, 1, "reader1@example.com", "")])
    body = orjson.loads(request_body(batch, batch.recipients))
    assert body["reply_to"] == {"email": "help@agency.example"}
    assert "Reply-To" not in body.get("headers", {})
