"""Digest runs end to end: who gets what, once, and nobody an empty digest."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from campaigns.digests.models import DigestItem, DigestRun
from campaigns.digests.runs import run_digest
from campaigns.digests.windows import latest_window, window_ending_on
from campaigns.sending.freeze import freeze_variants
from campaigns.sending.models import Batch, Campaign, CampaignStatus, CampaignVariant, Delivery
from campaigns.sending.runner import BatchRunner
from engine.clock import now
from subscribers.audience import digest_audience_select, topic_key_of
from subscribers.models import Frequency, SuppressionReason
from subscribers.suppression import suppress
from tests.campaigns.digests.conftest import make_reader
from tests.factories import make_topic

ZONE = "America/New_York"


def _drain(runner: BatchRunner) -> None:
    while runner.run_next():
        pass


def test_daily_reader_gets_one_digest_with_each_bulletin_once(
    session, settings, database, outbox, send_bulletin
):
    adoption, foster, courts = (make_topic(session, slug=s, name=s.title()) for s in
                                ("adoption", "foster", "courts"))  # fmt: skip
    window = latest_window(Frequency.DAILY, now(), ZONE, 5)
    make_reader(session, "daily@example.com", [adoption, foster], Frequency.DAILY)
    make_reader(session, "now@example.com", [adoption, foster], Frequency.IMMEDIATELY)
    make_reader(session, "weekly@example.com", [adoption], Frequency.WEEKLY)
    make_reader(session, "quiet@example.com", [courts], Frequency.DAILY)
    make_reader(session, "gone@example.com", [adoption], Frequency.DAILY)
    suppress(session, "gone@example.com", SuppressionReason.MANUAL, source="test")
    session.commit()
    inside = window.start + timedelta(hours=2)
    first = send_bulletin([adoption], "Adoption news", inside)
    both = send_bulletin([adoption, foster], "Shared update", inside + timedelta(hours=1))
    send_bulletin([foster], "Too early", window.start - timedelta(minutes=1))
    runner = BatchRunner(database, settings, outbox, worker="test")
    _drain(runner)
    # Immediate readers get each bulletin as it is sent; digest readers are not in its audience.
    direct = [(m.to_address, m.subject) for m in outbox.sent]
    assert sorted(a for a, _ in direct) == ["now@example.com"] * 3
    outbox.sent.clear()

    run = run_digest(session, window, settings, started_by="test")
    session.commit()
    assert run is not None and run.bulletins == 2 and run.recipients == 1
    _drain(runner)
    assert [m.to_address for m in outbox.sent] == ["daily@example.com"]
    digest = outbox.sent[0]
    assert digest.subject.startswith("Daily digest") and "2 new bulletins" in digest.subject
    # Sent to both of the reader's topics, listed once.
    assert digest.html.count(f'/view/{both.issue.slug}"') == 1
    assert "Adoption news" in digest.html and "Too early" not in digest.html
    assert digest.text.count("/view/" + both.issue.slug) == 1
    assert "/view/" + first.issue.slug in digest.text
    assert digest.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Its own series, apart from issues of the "digest" layout.
    assert digest.headers["List-Id"].startswith("<digests.list-id.")
    assert "https://news.example.org/unsubscribe/" in digest.headers["List-Unsubscribe"]
    # Newest first within the topic, each bulletin under the first of the reader's topics.
    assert digest.text.index("Shared update") < digest.text.index("Adoption news")
    campaign = session.get(Campaign, run.campaign_id)
    assert campaign.status == CampaignStatus.SENT and campaign.issue_id is None
    listed = session.scalars(sa.select(DigestItem.bulletin_id).where(DigestItem.run_id == run.id))
    assert sorted(listed) == sorted([first.id, both.id])


def test_rerunning_a_window_sends_nothing(session, settings, database, outbox, send_bulletin):
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    session.commit()
    window = latest_window(Frequency.DAILY, now(), ZONE, 5)
    send_bulletin([topic], "Practice notes", window.start + timedelta(hours=1))
    assert run_digest(session, window, settings, started_by="test") is not None
    session.commit()
    assert run_digest(session, window, settings, started_by="again") is None
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(DigestRun)) == 1
    runs = sa.select(DigestRun.campaign_id)
    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(Delivery).where(Delivery.campaign_id.in_(runs))
        )
        == 1
    )


def test_a_window_with_nothing_new_sends_nothing(session, settings, send_bulletin):
    topic, other = make_topic(session, slug="practice"), make_topic(session, slug="other")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    session.commit()
    window = latest_window(Frequency.DAILY, now(), ZONE, 5)
    previous = latest_window(Frequency.DAILY, window.start, ZONE, 5)
    empty = run_digest(session, previous, settings, started_by="test")
    assert empty is not None and empty.bulletins == 0 and empty.campaign_id is None
    session.commit()
    send_bulletin([other], "Someone else's news", window.start + timedelta(hours=1))
    run = run_digest(session, window, settings, started_by="test")
    assert run is not None and run.bulletins == 1 and run.campaign_id is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0


def test_readers_of_the_same_topics_share_one_variant_and_batches_never_mix(
    session, settings, send_bulletin
):
    one, two = make_topic(session, slug="one"), make_topic(session, slug="two")
    for n in range(5):
        make_reader(session, f"a{n}@example.com", [one], Frequency.WEEKLY)
        make_reader(session, f"b{n}@example.com", [one, two], Frequency.WEEKLY)
    session.commit()
    window = latest_window(Frequency.WEEKLY, now(), ZONE, 5)
    send_bulletin([one], "One", window.start + timedelta(days=1))
    send_bulletin([two], "Two", window.start + timedelta(days=2))
    run = run_digest(session, window, settings, started_by="test", batch_size=3)
    session.commit()
    assert run is not None and run.recipients == 10
    batches = session.execute(
        sa.select(Batch.id, Batch.variant, Batch.size).where(Batch.campaign_id == run.campaign_id)
    ).all()
    assert sorted(size for _, _, size in batches) == [2, 2, 3, 3]
    for batch_id, variant, _size in batches:
        variants = session.scalars(
            sa.select(sa.distinct(Delivery.variant)).where(Delivery.batch_id == batch_id)
        ).all()
        assert variants == [variant]


def test_late_joiners_of_a_variant_stay_out_of_the_next_variants_batches(session, settings):
    one, two = make_topic(session, slug="one"), make_topic(session, slug="two")
    for n in range(4):
        make_reader(session, f"a{n}@example.com", [one], Frequency.WEEKLY)
        make_reader(session, f"b{n}@example.com", [one, two], Frequency.WEEKLY)
    session.commit()
    topic_ids = [one.id, two.id]
    campaign = Campaign(
        issue_id=None, issue_revision=0, name="Weekly digest", status=CampaignStatus.SENDING,
        timezone=ZONE, subject="Weekly digest", from_address=settings.SENDER_ADDRESS,
        started_at=now(),
    )  # fmt: skip
    session.add(campaign)
    session.flush()
    for number, chosen in enumerate(([one.id], topic_ids), start=1):
        key = topic_key_of(chosen, topic_ids)
        session.add(CampaignVariant(campaign_id=campaign.id, number=number, key=key,
                                    subject="s", html="<p>h</p>", text="t"))  # fmt: skip
    audience = digest_audience_select(Frequency.WEEKLY, topic_ids).subquery()
    # Two of variant 1's readers joined between the count and the insert.
    assert freeze_variants(session, campaign, audience, 2, {1: 2, 2: 4}) == 8
    batches = session.execute(
        sa.select(Batch.id, Batch.variant, Batch.size).where(Batch.campaign_id == campaign.id)
    ).all()
    assert sorted((variant, size) for _, variant, size in batches) == [(1, 2), (1, 2), (2, 2),
                                                                       (2, 2)]  # fmt: skip
    for batch_id, variant, _size in batches:
        variants = session.scalars(
            sa.select(sa.distinct(Delivery.variant)).where(Delivery.batch_id == batch_id)
        ).all()
        assert variants == [variant]
    unbatched = sa.select(Delivery.id).where(Delivery.batch_id.is_(None))
    assert session.scalars(unbatched).all() == []


def test_a_new_time_zone_never_lists_a_bulletin_twice(session, settings, send_bulletin):
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    session.commit()
    day = latest_window(Frequency.DAILY, now(), ZONE, 5).local_end.date() - timedelta(days=1)
    old = window_ending_on(Frequency.DAILY, day, ZONE)
    send_bulletin([topic], "Before the move", old.end - timedelta(hours=1))
    assert run_digest(session, old, settings, started_by="test").bulletins == 1
    session.commit()
    # London's 08:00 is New York's 03:00: its windows straddle the last run's end.
    earlier = window_ending_on(Frequency.DAILY, day, "Europe/London")
    assert earlier.end < old.end
    assert run_digest(session, earlier, settings, started_by="test") is None
    moved = window_ending_on(Frequency.DAILY, day + timedelta(days=1), "Europe/London")
    assert moved.start < old.end < moved.end
    after = send_bulletin([topic], "After the move", old.end + timedelta(hours=1))
    run = run_digest(session, moved, settings, started_by="test")
    session.commit()
    assert run is not None and run.window_start == old.end and run.bulletins == 1
    listed = session.scalars(sa.select(DigestItem.bulletin_id).where(DigestItem.run_id == run.id))
    assert list(listed) == [after.id]


def test_digests_relay_only_bulletins_approved_for_all_their_topics_readers(
    session, settings, database, outbox, send_bulletin
):
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    ohio = make_reader(session, "ohio@example.com", [topic], Frequency.IMMEDIATELY)
    ohio.attributes = {"state": "OH"}
    session.commit()
    window = latest_window(Frequency.DAILY, now(), ZONE, 5)
    inside = window.start + timedelta(hours=1)
    everyone = send_bulletin([topic], "For everyone", inside)
    # Under the approval threshold neither needed an approval to go to the few they froze.
    send_bulletin([topic], "Never approved", inside, approved=False)
    send_bulletin([topic], "Ohio only", inside, segment={"state": "OH"})
    # A correction goes to the original's own recipients, never through a digest.
    correction = send_bulletin([topic], "Correction: For everyone", inside)
    correction.corrects_issue_id = everyone.issue_id
    session.commit()
    run = run_digest(session, window, settings, started_by="test")
    session.commit()
    assert run is not None and run.bulletins == 1
    listed = session.scalars(sa.select(DigestItem.bulletin_id).where(DigestItem.run_id == run.id))
    assert list(listed) == [everyone.id]
    session.commit()  # SQLite: end the read before the runner writes
    _drain(BatchRunner(database, settings, outbox, worker="test"))
    digest = next(m for m in outbox.sent if m.to_address == "daily@example.com")
    assert "For everyone" in digest.text
    assert "Never approved" not in digest.text and "Ohio only" not in digest.text
    assert "Correction:" not in digest.text


def _listed(session, run) -> list[int]:
    return sorted(
        session.scalars(sa.select(DigestItem.bulletin_id).where(DigestItem.run_id == run.id))
    )


def test_a_bulletin_paused_over_its_windows_end_is_listed_once_it_resumes(
    session, settings, send_bulletin
):
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    session.commit()
    third = latest_window(Frequency.DAILY, now(), ZONE, 5)
    second = latest_window(Frequency.DAILY, third.start, ZONE, 5)
    first = latest_window(Frequency.DAILY, second.start, ZONE, 5)
    paused = send_bulletin([topic], "Paused at the window's end", first.start + timedelta(hours=1))
    paused.status = CampaignStatus.PAUSED
    session.commit()

    held = run_digest(session, first, settings, started_by="test")
    assert held is not None and held.bulletins == 0
    assert held.held_back == {"campaigns": [paused.id]}
    session.commit()
    still = run_digest(session, second, settings, started_by="test")
    assert still is not None and still.bulletins == 0
    assert still.held_back == {"campaigns": [paused.id]}
    paused.status = CampaignStatus.SENDING  # resumed
    session.commit()
    resumed = run_digest(session, third, settings, started_by="test")
    assert resumed is not None and _listed(session, resumed) == [paused.id]
    assert resumed.held_back == {}
    session.commit()
    later = latest_window(Frequency.DAILY, third.end + timedelta(days=1), ZONE, 5)
    after = run_digest(session, later, settings, started_by="test")
    assert after is not None and after.bulletins == 0


def test_a_cancelled_paused_bulletin_is_never_listed(session, settings, send_bulletin):
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    session.commit()
    second = latest_window(Frequency.DAILY, now(), ZONE, 5)
    first = latest_window(Frequency.DAILY, second.start, ZONE, 5)
    paused = send_bulletin([topic], "Withdrawn", first.start + timedelta(hours=1))
    paused.status = CampaignStatus.PAUSED
    session.commit()
    assert run_digest(session, first, settings, started_by="test") is not None
    paused.status = CampaignStatus.CANCELLED
    session.commit()
    run = run_digest(session, second, settings, started_by="test")
    assert run is not None and run.bulletins == 0 and run.held_back == {}


def test_a_boundary_moved_later_leaves_no_gap(session, settings, send_bulletin):
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    session.commit()
    previous = window_ending_on(Frequency.DAILY, date(2027, 2, 10), ZONE)
    assert run_digest(session, previous, settings, started_by="test") is not None
    session.commit()
    # The organisation's zone moved west: the next window starts three hours after the last
    # run's end; a bulletin sent in between is still listed.
    moved = window_ending_on(Frequency.DAILY, date(2027, 2, 11), "America/Los_Angeles")
    assert moved.start == previous.end + timedelta(hours=3)
    between = send_bulletin([topic], "In the gap", previous.end + timedelta(hours=1))
    run = run_digest(session, moved, settings, started_by="test")
    assert run is not None and run.window_start == previous.end
    assert _listed(session, run) == [between.id]
