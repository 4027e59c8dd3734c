"""The public pages: subscribe, confirm, preferences and unsubscribe."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, selectinload

from engine.clock import now
from engine.delivery.memory import MemoryBackend
from subscribers.confirmations import send_confirmations_job
from subscribers.links import SubscriberLinks
from subscribers.models import (
    EventKind,
    OptIn,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
    Topic,
)
from subscribers.suppression import is_suppressed, suppress, unsubscribe_everywhere
from tests.factories import csrf_token_from, make_subscriber, make_topic


def _links(app: Flask) -> SubscriberLinks:
    return SubscriberLinks.from_settings(app.extensions["pinwheel.settings"])


def _path(url: str) -> str:
    return url.removeprefix("https://news.example.org")


def _post_subscribe(
    client: FlaskClient, email: str, *topics: Topic, ip: str = "203.0.113.5", **extra
):
    data = {"email": email, "topics": [str(t.id) for t in topics]}
    data.update(extra)
    return client.post("/subscribe", data=data, environ_base={"REMOTE_ADDR": ip})


def _subscribe(client: FlaskClient, email: str, *topics: Topic, **options):
    """Post the form, then run the scheduler's confirmation job as it would seconds later."""
    response = _post_subscribe(client, email, *topics, **options)
    send_confirmations_job(client.application)
    return response


def _subscriber(session: Session, email: str) -> Subscriber | None:
    """Read a subscriber with its subscriptions, then end the transaction (SQLite locks)."""
    session.expire_all()
    subscriber = session.scalar(
        sa.select(Subscriber)
        .where(Subscriber.email == email)
        .options(selectinload(Subscriber.subscriptions).selectinload(Subscription.topic))
    )
    session.commit()
    return subscriber


def _suppressed(session: Session, email: str) -> bool:
    found = is_suppressed(session, email)
    session.commit()
    return found


@pytest.fixture
def topics(session: Session) -> dict[str, Topic]:
    made = {
        "trafficking": make_topic(
            session, "human-trafficking", name="Human trafficking",
            category="Child welfare practice", description="Guidance and alerts.",
        ),
        "digest": make_topic(
            session, "monthly-digest", name="Monthly digest", category="Digests",
            opt_in=OptIn.SINGLE,
        ),
    }  # fmt: skip
    session.commit()
    return made


def test_subscribe_page_groups_topics_in_fieldsets(client: FlaskClient, topics) -> None:
    page = client.get("/subscribe").get_data(as_text=True)
    assert "<legend>Child welfare practice</legend>" in page
    assert "<legend>Digests</legend>" in page
    assert '<label for="email">Email address</label>' in page
    assert "Guidance and alerts." in page
    assert "<script" not in page


def test_the_form_page_sets_no_cookie_and_carries_no_token(client: FlaskClient, topics) -> None:
    page = client.get("/subscribe")
    assert "Set-Cookie" not in page.headers and "csrf_token" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "origin",
    [None, "https://news.example.org", "http://localhost", "https://www.agency.example.gov"],
)
def test_the_form_posts_from_this_site_an_allowed_site_or_a_script(
    app: Flask, session: Session, topics, origin: str | None
) -> None:
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(
        SUBSCRIBE_FORM_ORIGINS=("https://www.agency.example.gov",)
    )
    data = {"email": "embedded@example.com", "topics": [str(topics["digest"].id)]}
    headers = {"Origin": origin} if origin else {}
    response = app.test_client().post("/subscribe", data=data, headers=headers)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert _subscriber(session, "embedded@example.com") is not None


@pytest.mark.parametrize("origin", ["https://elsewhere.example.net", "null"])
def test_a_post_from_another_sites_page_is_refused_and_stores_nothing(
    client: FlaskClient, session: Session, topics, origin: str
) -> None:
    data = {"email": "lured@example.com", "topics": [str(topics["digest"].id)]}
    response = client.post("/subscribe", data=data, headers={"Origin": origin})
    assert response.status_code == 403
    assert "another site" in response.get_data(as_text=True)
    assert _subscriber(session, "lured@example.com") is None


def test_double_opt_in_sends_one_confirmation_and_waits(
    client: FlaskClient, session: Session, outbox: MemoryBackend, topics
) -> None:
    response = _subscribe(client, " Reader@Example.COM ", topics["trafficking"])
    assert response.status_code == 200
    subscriber = _subscriber(session, "reader@example.com")
    assert subscriber is not None and subscriber.consent_source == "form"
    assert subscriber.consent_ip == "203.0.113.5"
    assert [s.status for s in subscriber.subscriptions] == [SubscriptionStatus.UNCONFIRMED]
    assert len(outbox.sent) == 1
    message = outbox.sent[0]
    assert message.to_address == "reader@example.com"
    assert "/confirm/" in message.text and "/confirm/" in message.html
    assert "Human trafficking" in message.text


def test_the_form_only_queues_the_confirmation_for_the_job(
    client: FlaskClient, session: Session, outbox: MemoryBackend, topics
) -> None:
    _post_subscribe(client, "queued@example.com", topics["trafficking"])
    subscriber = _subscriber(session, "queued@example.com")
    assert subscriber.confirmation_due_at is not None and subscriber.confirmation_sent_at is None
    assert outbox.sent == []
    send_confirmations_job(client.application)
    subscriber = _subscriber(session, "queued@example.com")
    assert subscriber.confirmation_due_at is None and subscriber.confirmation_sent_at is not None
    assert [message.to_address for message in outbox.sent] == ["queued@example.com"]
    events = session.scalars(
        sa.select(SubscriberEvent.kind).where(SubscriberEvent.subscriber_id == subscriber.id)
    ).all()
    assert events == [
        EventKind.SUBSCRIBE_REQUESTED,
        EventKind.CONFIRMATION_SENT,
    ]


def test_single_opt_in_starts_at_once(
    client: FlaskClient, session: Session, outbox: MemoryBackend, topics
) -> None:
    _subscribe(client, "digest@example.com", topics["digest"])
    subscriber = _subscriber(session, "digest@example.com")
    assert [s.status for s in subscriber.subscriptions] == [SubscriptionStatus.CONFIRMED]
    assert outbox.sent == []


def test_invalid_address_and_no_topic_are_tied_to_fields(client: FlaskClient, topics) -> None:
    response = _subscribe(client, "not-an-address")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-describedby="email-error"' in page and 'aria-invalid="true"' in page
    assert 'id="topics-error"' in page and "Choose at least one topic." in page


def test_an_address_with_a_curly_apostrophe_is_refused_naming_it(
    client: FlaskClient, session: Session, topics
) -> None:
    response = _subscribe(client, "local-with-\u2019-apostrophe@domain.com", topics["digest"])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "\u2019 (U+2019 RIGHT SINGLE QUOTATION MARK) before the @" in page
    assert 'aria-describedby="email-error"' in page
    assert session.scalar(sa.select(Subscriber)) is None


def test_internationalised_domains_and_smtputf8_addresses_are_accepted(
    app: Flask, client: FlaskClient, session: Session, topics
) -> None:
    assert _subscribe(client, "user@bücher.example", topics["digest"]).status_code == 200
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(SMTPUTF8=True)
    assert _subscribe(client, "zoë@example.com", topics["digest"]).status_code == 200
    stored = set(session.scalars(sa.select(Subscriber.email)))
    assert stored == {"user@xn--bcher-kva.example", "zoë@example.com"}


def _make_state(session: Session, state: str, topic: Topic) -> None:
    email = f"{state}@example.com"
    if state == "pending":
        make_subscriber(session, email, topics=[topic],
                        subscription_status=SubscriptionStatus.UNCONFIRMED)  # fmt: skip
    elif state == "confirmed":
        make_subscriber(session, email, topics=[topic])
    elif state == "unsubscribed":
        unsubscribe_everywhere(session, make_subscriber(session, email, topics=[topic]), "test")
    elif state == "suppressed":
        suppress(session, email, SuppressionReason.BOUNCE, source="test")


def test_same_answer_for_every_address_state(client: FlaskClient, session: Session, topics) -> None:
    states = ["new", "pending", "confirmed", "unsubscribed", "suppressed"]
    for state in states:
        _make_state(session, state, topics["trafficking"])
    session.commit()
    answers = set()
    for n, state in enumerate(states):
        response = _subscribe(
            client, f"{state}@example.com", topics["trafficking"], ip=f"10.0.0.{n}"
        )
        answers.add((response.status_code, response.get_data()))
    assert len(answers) == 1
    assert next(iter(answers))[0] == 200


def test_bounced_address_stays_suppressed(
    client: FlaskClient, session: Session, outbox: MemoryBackend, topics
) -> None:
    suppress(session, "gone@example.com", SuppressionReason.BOUNCE, source="dsn")
    session.commit()
    _subscribe(client, "gone@example.com", topics["digest"], topics["trafficking"])
    assert _subscriber(session, "gone@example.com") is None
    assert outbox.sent == []
    assert _suppressed(session, "gone@example.com")


def test_unsubscribed_reader_comes_back_only_by_confirming(
    app: Flask, client: FlaskClient, session: Session, outbox: MemoryBackend, topics
) -> None:
    subscriber = make_subscriber(session, "back@example.com", topics=[topics["digest"]])
    unsubscribe_everywhere(session, subscriber, "test")
    session.commit()
    _subscribe(client, "back@example.com", topics["digest"])
    subscriber = _subscriber(session, "back@example.com")
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert [s.status for s in subscriber.subscriptions] == [SubscriptionStatus.UNCONFIRMED]
    assert _suppressed(session, "back@example.com") and len(outbox.sent) == 1
    confirm = _path(_links(app).confirm(subscriber.id))
    page = client.get(confirm).get_data(as_text=True)
    client.post(confirm, data={"csrf_token": csrf_token_from(page)})
    subscriber = _subscriber(session, "back@example.com")
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert [s.status for s in subscriber.subscriptions] == [SubscriptionStatus.CONFIRMED]
    assert not _suppressed(session, "back@example.com")


def test_confirmation_email_at_most_once_a_day(
    client: FlaskClient, outbox: MemoryBackend, topics
) -> None:
    with time_machine.travel(now(), tick=False) as traveller:
        for n in range(3):
            _subscribe(client, "often@example.com", topics["trafficking"], ip=f"10.1.0.{n}")
        assert len(outbox.sent) == 1
        traveller.shift(timedelta(hours=23))
        _subscribe(client, "often@example.com", topics["trafficking"], ip="10.1.1.1")
        assert len(outbox.sent) == 1
        traveller.shift(timedelta(hours=1, seconds=1))
        _subscribe(client, "often@example.com", topics["trafficking"], ip="10.1.1.2")
        assert len(outbox.sent) == 2


def test_rate_limit_answers_429_with_a_clear_page(client: FlaskClient, topics) -> None:
    statuses = [
        _subscribe(client, f"r{n}@example.com", topics["digest"], ip="198.51.100.7").status_code
        for n in range(6)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    response = _subscribe(client, "late@example.com", topics["digest"], ip="198.51.100.7")
    assert "Too many requests" in response.get_data(as_text=True)
    assert response.headers.get("Retry-After")
    assert (
        _subscribe(client, "other@example.com", topics["digest"], ip="198.51.100.8").status_code
        == 200
    )


def test_honeypot_gets_the_same_page_and_does_nothing(
    client: FlaskClient, session: Session, outbox: MemoryBackend, topics
) -> None:
    human = _subscribe(client, "human@example.com", topics["trafficking"], ip="10.2.0.1")
    bot = _subscribe(client, "bot@example.com", topics["trafficking"], ip="10.2.0.2",
                     website="http://spam.example")  # fmt: skip
    assert (bot.status_code, bot.get_data()) == (human.status_code, human.get_data())
    assert _subscriber(session, "bot@example.com") is None
    assert len(outbox.sent) == 1


def test_confirm_get_shows_a_button_and_only_post_confirms(
    app: Flask, client: FlaskClient, session: Session, topics
) -> None:
    subscriber = make_subscriber(session, "scan@example.com", topics=[topics["trafficking"]],
                                 subscription_status=SubscriptionStatus.UNCONFIRMED)  # fmt: skip
    session.commit()
    confirm = _path(_links(app).confirm(subscriber.id))
    for _ in range(3):
        page = client.get(confirm)
        assert page.status_code == 200 and "<button" in page.get_data(as_text=True)
    assert _subscriber(session, "scan@example.com").subscriptions[0].status == "unconfirmed"
    response = client.post(
        confirm, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 200
    assert "is confirmed" in response.get_data(as_text=True)
    confirmed = _subscriber(session, "scan@example.com")
    assert confirmed.subscriptions[0].status == SubscriptionStatus.CONFIRMED
    assert confirmed.confirmed_at is not None


@pytest.mark.parametrize("page", ["confirm", "preferences", "unsubscribe"])
def test_tampered_token_is_a_clear_400(
    app: Flask, client: FlaskClient, session: Session, page: str
) -> None:
    subscriber = make_subscriber(session)
    session.commit()
    url = _path(getattr(_links(app), page)(subscriber.id))
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    valid_page = client.get(_path(_links(app).confirm(subscriber.id)))
    token = csrf_token_from(valid_page.get_data(as_text=True))
    for response in (client.get(tampered), client.post(tampered, data={"csrf_token": token})):
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)


def test_token_of_another_purpose_is_refused(app: Flask, client: FlaskClient, session) -> None:
    subscriber = make_subscriber(session)
    session.commit()
    token = _links(app).confirm(subscriber.id).rsplit("/", 1)[1]
    assert client.post(f"/unsubscribe/{token}", data={}).status_code == 400


def test_links_work_for_60_days_and_expire_after_90(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    subscriber = make_subscriber(session)
    session.commit()
    with time_machine.travel(now(), tick=False) as traveller:
        url = _path(_links(app).unsubscribe(subscriber.id, campaign_id=7))
        traveller.shift(timedelta(days=60))
        assert client.get(url).status_code == 200
        traveller.shift(timedelta(days=31))
        response = client.get(url)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_one_click_unsubscribe_without_cookies(app: Flask, session: Session, topics) -> None:
    subscriber = make_subscriber(session, "click@example.com", topics=list(topics.values()))
    session.commit()
    url = _path(_links(app).unsubscribe(subscriber.id, campaign_id=42))
    fresh = app.test_client(use_cookies=False)
    response = fresh.post(
        url,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert response.get_data() == b""
    subscriber = _subscriber(session, "click@example.com")
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert {s.status for s in subscriber.subscriptions} == {SubscriptionStatus.UNSUBSCRIBED}
    assert _suppressed(session, "click@example.com")
    event = session.scalar(
        sa.select(SubscriberEvent).where(SubscriberEvent.kind == EventKind.UNSUBSCRIBED)
    )
    assert event.detail == {"source": "one-click", "campaign_id": 42}


def test_one_click_as_multipart_is_recognised(app: Flask, session: Session, topics) -> None:
    subscriber = make_subscriber(session, "multi@example.com", topics=[topics["digest"]])
    session.commit()
    url = _path(_links(app).unsubscribe(subscriber.id))
    response = app.test_client(use_cookies=False).post(
        url, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
    )
    assert (response.status_code, response.get_data()) == (200, b"")
    assert _subscriber(session, "multi@example.com").status == SubscriberStatus.UNSUBSCRIBED


def test_unsubscribe_get_asks_and_post_acts(
    app: Flask, client: FlaskClient, session: Session, topics
) -> None:
    subscriber = make_subscriber(session, "page@example.com", topics=[topics["digest"]])
    session.commit()
    url = _path(_links(app).unsubscribe(subscriber.id))
    page = client.get(url)
    assert page.status_code == 200 and "<button" in page.get_data(as_text=True)
    assert _subscriber(session, "page@example.com").status == SubscriberStatus.ACTIVE
    response = client.post(url, data={"confirm": "1"})
    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert _subscriber(session, "page@example.com").status == SubscriberStatus.UNSUBSCRIBED


def _preferences(app: Flask, client: FlaskClient, subscriber: Subscriber, **data):
    url = _path(_links(app).preferences(subscriber.id))
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token_from(page), **data})


def test_preferences_toggle_topics_language_timezone_and_pause(
    app: Flask, client: FlaskClient, session: Session, topics
) -> None:
    subscriber = make_subscriber(session, "prefs@example.com", topics=[topics["digest"]])
    session.commit()
    response = _preferences(
        app, client, subscriber, topics=[str(topics["trafficking"].id)], language="es",
        timezone="America/Chicago", paused="on", action="save",
    )  # fmt: skip
    # Saved, and said in the language just chosen.
    assert response.status_code == 200 and "Sus preferencias se guardaron." in response.get_data(
        as_text=True
    )
    subscriber = _subscriber(session, "prefs@example.com")
    statuses = {s.topic.slug: s.status for s in subscriber.subscriptions}
    assert statuses == {"monthly-digest": "unsubscribed", "human-trafficking": "confirmed"}
    assert (subscriber.language, subscriber.timezone) == ("es", "America/Chicago")
    assert subscriber.status == SubscriberStatus.PAUSED
    _preferences(app, client, subscriber, topics=[str(topics["trafficking"].id)], action="save")
    assert _subscriber(session, "prefs@example.com").status == SubscriberStatus.ACTIVE


def test_preferences_reject_unknown_timezone(app: Flask, client: FlaskClient, session) -> None:
    subscriber = make_subscriber(session)
    session.commit()
    response = _preferences(app, client, subscriber, timezone="Mars/Olympus", action="save")
    assert response.status_code == 422
    assert "time zone" in response.get_data(as_text=True)


def test_preferences_leave_everything(
    app: Flask, client: FlaskClient, session: Session, topics
) -> None:
    subscriber = make_subscriber(session, "leave@example.com", topics=list(topics.values()))
    session.commit()
    response = _preferences(app, client, subscriber, action="leave")
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert _subscriber(session, "leave@example.com").status == SubscriberStatus.UNSUBSCRIBED
    assert _suppressed(session, "leave@example.com")


def test_the_thank_you_page_is_rendered_once_per_process(
    app: Flask, client: FlaskClient, topics
) -> None:
    rendered: list[str] = []

    def record(_app: Flask, template, **_context) -> None:
        rendered.append(template.name)

    with template_rendered.connected_to(record, app):
        first = _post_subscribe(client, "one@example.com", topics["digest"], ip="10.3.0.1")
        second = _post_subscribe(client, "two@example.com", topics["digest"], ip="10.3.0.2")
        assert first.get_data() == second.get_data() and b"Thank you" in first.get_data()
        assert rendered.count("public/subscribed.html") == 1
        app.jinja_env.auto_reload = True  # development: templates may change at any time
        _post_subscribe(client, "three@example.com", topics["digest"], ip="10.3.0.3")
        assert rendered.count("public/subscribed.html") == 2


def test_a_flashed_message_is_shown_to_its_visitor_only(app: Flask, topics) -> None:
    def post(client: FlaskClient, email: str) -> bytes:
        data = {"email": email, "topics": [str(topics["digest"].id)]}
        response = client.post("/subscribe", data=data)
        assert response.status_code == 200
        return response.get_data()

    staff, reader = app.test_client(), app.test_client()
    with staff.session_transaction() as cookie:
        cookie["_flashes"] = [("message", "secret@example.org is suppressed.")]
    assert b"secret@example.org" in post(staff, "s@example.com")
    page = post(reader, "r@example.com")
    assert b"secret@example.org" not in page and b"Thank you" in page


@pytest.mark.parametrize("door", ["preferences", "unsubscribe", "confirm"])
def test_pages_opened_with_an_old_link_hand_on_links_no_fresher(
    app: Flask, client: FlaskClient, session: Session, topics, door: str
) -> None:
    import re
    import time

    from subscribers.tokens import Purpose, TokenSigner

    settings = app.extensions["pinwheel.settings"]
    signer = TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)
    subscriber = make_subscriber(session, "old@example.com", topics=list(topics.values()))
    session.commit()
    eighty_days_ago = int(time.time()) - 80 * 86400
    purpose = {"preferences": Purpose.PREFERENCES, "unsubscribe": Purpose.UNSUBSCRIBE,
               "confirm": Purpose.CONFIRM}[door]  # fmt: skip
    token = signer.sign(purpose, subscriber.id, issued_at=eighty_days_ago)
    if door == "preferences":
        csrf = csrf_token_from(client.get(f"/preferences/{token}").get_data(as_text=True))
        page = client.post(f"/preferences/{token}", data={"action": "leave", "csrf_token": csrf})
    elif door == "unsubscribe":
        page = client.post(f"/unsubscribe/{token}")
    else:
        csrf = csrf_token_from(client.get(f"/confirm/{token}").get_data(as_text=True))
        page = client.post(f"/confirm/{token}", data={"csrf_token": csrf})
    handed_on = re.search(r"/preferences/([A-Za-z0-9._-]+)", page.get_data(as_text=True))
    assert handed_on is not None, page.get_data(as_text=True)
    _id, _extra, issued = signer.load_issued(Purpose.PREFERENCES, handed_on.group(1))
    assert issued == eighty_days_ago
