"""Digests from the outside: the scheduler's job, the CLI, the staff pages, the layout, reports."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from campaigns.digests.models import DigestRun
from campaigns.digests.windows import RUN_DELAY, Window, latest_window
from campaigns.jobs import run_due_digests
from campaigns.rendering.render import RenderContext
from campaigns.rendering.topic_digest import (
    DigestDocument,
    DigestEntry,
    DigestSection,
    render_topic_digest,
)
from campaigns.scheduling.starting import due_digest_windows
from campaigns.sending.models import Campaign
from engine.clock import now
from subscribers.models import Frequency
from tests.campaigns.digests.conftest import make_reader
from tests.factories import login, make_topic, make_user

ZONE = "America/New_York"


def _wait_until_sent(session, deadline_seconds: float = 20) -> None:
    """Wait for the job's background sends (the in-process pool) to finish every campaign."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        session.expire_all()
        open_ = session.scalar(
            sa.select(sa.func.count())
            .select_from(Campaign)
            .where(Campaign.issue_id.is_(None), Campaign.status != "sent")
        )
        session.commit()
        if not open_:
            return
        time.sleep(0.05)
    raise AssertionError("the digests were not sent in time")


def _window(frequency: Frequency = Frequency.DAILY) -> Window:
    return latest_window(frequency, now() - RUN_DELAY, ZONE, 5)


def test_the_layout_passes_the_accessibility_and_compliance_checks() -> None:
    entries = (DigestEntry("A <title> & more", "Its summary.", "https://x.example/view/a", "Mon"),)
    document = DigestDocument(
        subject="Daily digest", title="What we sent in the last day", kicker="Daily digest",
        intro="One new bulletin.", preheader="A title", cadence="You get these daily.",
        sections=(DigestSection("Foster care", entries), DigestSection("Courts", entries)),
    )  # fmt: skip
    context = RenderContext(
        base_url="https://news.example.org", sender_name="Agency", sender_address="a@b.example",
        postal_address="1 Main St", archive_url="/archive", subscribe_url="/subscribe",
    )  # fmt: skip
    rendered = render_topic_digest(document, context)
    assert rendered.checks == []
    assert '<html lang="en"' in rendered.html
    assert "%%unsubscribe_url%%" in rendered.html and "%%preferences_url%%" in rendered.html
    assert "A <title> & more" in rendered.text and "&lt;title&gt;" in rendered.html
    assert "https://news.example.org/subscribe" in rendered.html


def test_scheduler_job_runs_each_window_once(app, session, outbox, send_bulletin) -> None:
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    make_reader(session, "weekly@example.com", [topic], Frequency.WEEKLY)
    session.commit()
    send_bulletin([topic], "Practice notes", _window().start + timedelta(hours=1))
    weekly = _window(Frequency.WEEKLY)
    send_bulletin([topic], "Last week's notes", weekly.end - timedelta(hours=1))
    run_due_digests(app)
    run_due_digests(app)
    _wait_until_sent(session)
    runs = session.scalars(sa.select(DigestRun).order_by(DigestRun.id)).all()
    # Two windows of each frequency, each once; only the ones with the bulletin send.
    assert len(runs) == 4 and {run.started_by for run in runs} == {"scheduler"}
    sending = [run for run in runs if run.campaign_id]
    assert {(run.frequency, run.recipients) for run in sending} >= {("daily", 1), ("weekly", 1)}
    session.commit()
    addresses = {message.to_address for message in outbox.sent if "digest" in message.subject}
    assert addresses == {"daily@example.com", "weekly@example.com"}
    sent = len(outbox.sent)
    run_due_digests(app)
    assert len(outbox.sent) == sent


def test_cli_runs_a_window_once_and_refuses_bad_input(runner, session, outbox, send_bulletin):
    topic = make_topic(session, slug="practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    session.commit()
    window = _window()
    send_bulletin([topic], "Practice notes", window.start + timedelta(hours=1))
    end = window.local_end.replace(tzinfo=None).isoformat()
    args = ["digests", "run", "--frequency", "daily", "--window-end", end]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "1 bulletin(s), 1 reader(s)" in first.output
    assert [message.to_address for message in outbox.sent] == ["daily@example.com"]
    again = runner.invoke(args=args)
    assert again.exit_code == 0 and "already ran: nothing sent" in again.output
    assert len(outbox.sent) == 1
    listed = runner.invoke(args=["digests", "list"])
    assert listed.exit_code == 0 and "\tdaily\t" in listed.output and "\\t" not in listed.output
    for bad in (["--frequency", "hourly"], ["--frequency", "daily", "--window-end", "soon"]):
        result = runner.invoke(args=["digests", "run", *bad])
        assert result.exit_code == 2, result.output


def test_pages_and_the_bulletins_report_show_digest_readers(
    client, app, session, outbox, send_bulletin
) -> None:
    topic = make_topic(session, slug="practice", name="Practice")
    make_reader(session, "daily@example.com", [topic], Frequency.DAILY)
    make_reader(session, "now@example.com", [topic], Frequency.IMMEDIATELY)
    staff = SimpleNamespace(email=make_user(session, role="editor").email)
    session.commit()
    bulletin = send_bulletin([topic], "Practice notes", _window().start + timedelta(hours=1))
    bulletin_id = bulletin.id
    run_due_digests(app)
    _wait_until_sent(session)
    login(client, staff)
    run = session.scalar(sa.select(DigestRun).where(DigestRun.campaign_id.is_not(None)))
    run = SimpleNamespace(id=run.id, campaign_id=run.campaign_id)
    session.commit()  # SQLite: end the read before the pages write
    index = client.get("/admin/digests/").get_data(as_text=True)
    assert f"/admin/digests/{run.id}" in index
    page = client.get(f"/admin/digests/{run.id}").get_data(as_text=True)
    assert "Practice: Practice notes" in page and "1 of 1 accepted" in page
    shown = client.get(f"/admin/campaigns/{run.campaign_id}")
    assert shown.status_code == 302 and shown.location.endswith(f"/admin/digests/{run.id}")
    report = client.get(f"/admin/campaigns/{bulletin_id}/report").get_data(as_text=True)
    assert "Reached by digest" in report
    reach = client.get(f"/admin/campaigns/{run.campaign_id}/report")
    assert reach.status_code == 200


def test_cli_refuses_a_window_that_has_not_ended_or_just_ended(
    runner, session, settings, monkeypatch
) -> None:
    newest = latest_window(Frequency.DAILY, now(), settings.TIMEZONE, 5)
    # Five minutes after the newest window's end: bulletins may still be committing.
    monkeypatch.setattr("campaigns.scheduling.cli.now", lambda: newest.end + timedelta(minutes=5))
    local = newest.local_end.replace(tzinfo=None)
    for end, words in (
        ((local + timedelta(days=1)).isoformat(), "in the future"),
        ("9999-12-31T23:00", "outside the calendar"),
        ("0001-01-02T08:00", "outside the calendar"),
        (local.isoformat(), "ended less than 15 minutes ago"),
    ):
        result = runner.invoke(args=["digests", "run", "--frequency", "daily", "--window-end", end])
        assert result.exit_code == 2, result.output
        assert words in result.output and "Traceback" not in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(DigestRun)) == 0
    session.commit()  # SQLite: end the read before the command writes
    # Without a window end, the newest window that ended RUN_DELAY ago: the one before.
    result = runner.invoke(args=["digests", "run", "--frequency", "daily"])
    assert result.exit_code == 0, result.output
    ran = session.scalar(sa.select(DigestRun.window_end))
    assert ran == newest.start


def test_the_scheduler_waits_before_running_a_window_that_just_ended(settings) -> None:
    newest = latest_window(Frequency.DAILY, now(), settings.TIMEZONE, 5)
    soon = due_digest_windows(settings, newest.end + RUN_DELAY - timedelta(minutes=1))
    assert newest not in soon
    assert newest in due_digest_windows(settings, newest.end + RUN_DELAY)
