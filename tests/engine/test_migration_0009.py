"""Upgrading to digests keeps every campaign's deliveries, and every subscription immediate."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, upgrade

_STAMP = "'2026-01-01 00:00:00'"


def test_campaign_rebuild_keeps_deliveries_and_subscriptions_stay_immediate(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0008")
    engine = sa.create_engine(url)
    statements = [
        "INSERT INTO topic (id, slug, name, description, category, visibility, opt_in, position, "
        f"created_at) VALUES (1, 't', 'T', '', '', 'public', 'single', 0, {_STAMP})",
        "INSERT INTO subscriber (id, email, name, language, timezone, attributes, status, "
        f"consent_source, created_at, updated_at, confirmation_attempts) VALUES (1, 'a@b.example', "
        f"'', 'en', '', '{{}}', 'active', '', {_STAMP}, {_STAMP}, 0)",
        "INSERT INTO subscription (subscriber_id, topic_id, status, source, created_at) VALUES "
        f"(1, 1, 'confirmed', '', {_STAMP})",
        "INSERT INTO issue (id, slug, title, layout, language, content, revision, status, "
        f"created_at, updated_at) VALUES (1, 'i', 'I', 'spotlight', 'en', '{{}}', 1, 'approved', "
        f"{_STAMP}, {_STAMP})",
        "INSERT INTO campaign (id, issue_id, issue_revision, name, status, timezone, schedule, "
        "segment, tracking, subject, from_address, html, text, paused_reason, created_at, "
        f"updated_at, recipients) VALUES (1, 1, 1, 'c', 'sent', '', '{{}}', '{{}}', 0, 's', 'f', "
        f"'', '', '', {_STAMP}, {_STAMP}, 1)",
        "INSERT INTO campaign_topic (campaign_id, topic_id) VALUES (1, 1)",
        "INSERT INTO delivery (campaign_id, subscriber_id, address, status, attempts, "
        f"last_error, updated_at) VALUES (1, 1, 'a@b.example', 'accepted', 0, '', {_STAMP})",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    upgrade(url)
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM delivery")) == 1
        assert connection.scalar(sa.text("SELECT count(*) FROM campaign_topic")) == 1
        assert connection.scalar(sa.text("SELECT frequency FROM subscription")) == "immediately"
    engine.dispose()


def _foreign_key_problems(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text("PRAGMA foreign_key_check"))]


def test_downgrade_removes_digest_runs_and_everything_that_points_at_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'digests.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    statements = [
        "INSERT INTO campaign (id, issue_id, issue_revision, name, status, timezone, schedule, "
        "segment, tracking, subject, from_address, html, text, paused_reason, created_at, "
        f"updated_at, recipients) VALUES (7, NULL, 0, 'Daily digest', 'sent', '', '{{}}', '{{}}', "
        f"0, 's', 'f', '', '', '', {_STAMP}, {_STAMP}, 1)",
        "INSERT INTO delivery (id, campaign_id, subscriber_id, address, status, attempts, "
        f"last_error, updated_at) VALUES (70, 7, NULL, 'a@b.example', 'accepted', 0, '', {_STAMP})",
        "INSERT INTO delivery_event (provider_event_id, campaign_id, delivery_id, kind, "
        "occurred_at, received_at, machine_open, payload) VALUES ('e1', 7, 70, 'open', "
        f"{_STAMP}, {_STAMP}, 0, '{{}}')",
        "INSERT INTO tracked_link (campaign_id, link_id, url, clicks) VALUES (7, 1, 'u', 0)",
        "INSERT INTO campaign_tally (campaign_id, pixel_opens) VALUES (7, 0)",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    assert _foreign_key_problems(engine) == []
    engine.dispose()
    command.downgrade(alembic_config(url), "0008")
    assert _foreign_key_problems(engine) == []
    with engine.connect() as connection:
        for table in ("campaign", "delivery", "delivery_event", "tracked_link", "campaign_tally"):
            assert connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 0, table
    engine.dispose()
