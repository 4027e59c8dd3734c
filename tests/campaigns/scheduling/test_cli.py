"""``pinwheel observances list`` and ``pinwheel campaigns schedule``, good input and bad."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.sending.models import Campaign, CampaignStatus
from tests.campaigns.scheduling.builders import make_campaign

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def test_observances_list_json(runner: FlaskCliRunner):
    result = runner.invoke(args=["observances", "list", "--year", "2027", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    by_slug = {row["slug"]: row for row in rows}
    assert by_slug["child-abuse-prevention-month"]["start"] == "2027-04-01"
    assert by_slug["child-abuse-prevention-month"]["end"] == "2027-04-30"
    assert by_slug["red-ribbon-week"]["days"] == 9
    assert [row["start"] for row in rows] == sorted(row["start"] for row in rows)


def test_observances_list_text(runner: FlaskCliRunner):
    result = runner.invoke(args=["observances", "list", "--year", "2027"])
    assert result.exit_code == 0
    assert "Apr 01 to Apr 30" in result.output
    assert "child-abuse-prevention-month" in result.output


def test_schedule_at_and_by_observance(runner: FlaskCliRunner, session: Session):
    first, second = make_campaign(session), make_campaign(session)
    session.commit()
    with time_machine.travel(NOW):
        at = runner.invoke(
            args=[
                "campaigns",
                "schedule",
                str(first.id),
                "--at",
                "2027-01-04T10:00",
                "--tz",
                "America/New_York",
            ]
        )
        rule = runner.invoke(
            args=[
                "campaigns",
                "schedule",
                str(second.id),
                "--observance",
                "human-trafficking-prevention-month",
                "--rule",
                "first-business-day 10:00",
                "--year",
                "2027",
                "--skip-weekends",
                "--skip-holidays",
                "--local-time-zones",
            ]
        )
    assert at.exit_code == 0, at.output
    assert "2027-01-04 10:00 America/New_York" in at.output
    assert rule.exit_code == 0, rule.output
    session.expire_all()
    scheduled = session.get(Campaign, first.id)
    assert scheduled.status == CampaignStatus.SCHEDULED
    assert scheduled.send_at == datetime(2027, 1, 4, 15, tzinfo=UTC)
    by_rule = session.get(Campaign, second.id)
    assert by_rule.schedule["observance"] == "human-trafficking-prevention-month"
    assert by_rule.schedule["local_time"] is True
    assert by_rule.send_at == datetime(2027, 1, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "tomorrow"], "is not a date and time"),
        (["--at", "2027-01-04T10:00", "--tz", "Mars/Base"], "unknown time zone"),
        (["--at", "2020-01-04T10:00"], "has passed"),
        ([], "exactly one of --at and --observance"),
        (["--observance", "nope-month"], "unknown observance"),
        (["--observance", "mentoring-month", "--rule", "soonish"], "cannot read send rule"),
        (["--at", "2027-01-04T10:00", "--rule", "start 10:00"], "go with --observance"),
    ],
)
def test_schedule_bad_input(
    runner: FlaskCliRunner, session: Session, args: list[str], message: str
):
    campaign = make_campaign(session)
    session.commit()
    with time_machine.travel(NOW):
        result = runner.invoke(args=["campaigns", "schedule", str(campaign.id), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_schedule_unknown_campaign(runner: FlaskCliRunner):
    with time_machine.travel(NOW):
        result = runner.invoke(args=["campaigns", "schedule", "999", "--at", "2027-01-04T10:00"])
    assert result.exit_code == 2
    assert "999" in result.output
