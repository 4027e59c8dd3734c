"""Three real ``pinwheel scheduler`` processes on one PostgreSQL database start a campaign once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from campaigns.sending.models import Campaign, CampaignStatus
from engine.app import create_app
from engine.config import load_settings
from engine.db import get_database
from tests.campaigns.scheduling.builders import make_campaign
from tests.conftest import SECRET, _truncate_postgres

PROCESSES = 3
CAMPAIGNS = 4


def _schedule_due_campaigns(url: str, instance: Path) -> list[int]:
    settings = load_settings(
        environ={},
        ENV="testing",
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        INSTANCE_PATH=str(instance),
        MAIL_BACKEND="memory",
    )
    app = create_app(settings)
    due = datetime.now(UTC) - timedelta(seconds=5)
    with app.app_context(), get_database(app).session() as session:
        ids = []
        for _ in range(CAMPAIGNS):
            campaign = make_campaign(session, zones=["America/New_York"] * 3)
            campaign.status, campaign.send_at, campaign.timezone = (
                CampaignStatus.SCHEDULED,
                due,
                "America/New_York",
            )
            campaign.schedule = {"kind": "absolute", "local_time": False}
            ids.append(campaign.id)
    get_database(app).dispose()
    return ids


def _environment(url: str, instance: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PINWHEEL_")}
    return {
        **keep,
        "PINWHEEL_ENV": "testing",
        "PINWHEEL_DATABASE_URL": url,
        "PINWHEEL_SECRET_KEY": SECRET,
        "PINWHEEL_INSTANCE_PATH": str(instance),
        "PINWHEEL_MAIL_BACKEND": "memory",
        # These campaigns are unapproved: the test is about starting each once, not the gate.
        "PINWHEEL_APPROVAL_THRESHOLD": "1000",
    }


def _wait_until_started(url: str, ids: list[int], timeout: float = 60) -> list[str]:
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                statuses = list(
                    connection.scalars(sa.select(Campaign.status).where(Campaign.id.in_(ids)))
                )
            if CampaignStatus.SCHEDULED not in statuses or time.monotonic() > deadline:
                return statuses
            time.sleep(0.2)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_three_schedulers_start_each_due_campaign_once(_postgres_database: str, tmp_path: Path):
    url = _postgres_database
    _truncate_postgres(url)
    ids = _schedule_due_campaigns(url, tmp_path / "setup")
    pinwheel = Path(sys.executable).parent / "pinwheel"
    processes = [
        subprocess.Popen(
            [str(pinwheel), "scheduler", "--dispatch-interval", "0.1"],
            env=_environment(url, tmp_path / f"instance{n}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        statuses = _wait_until_started(url, ids)
        time.sleep(1.5)  # more ticks in every process after the start
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30) for process in processes]
    assert CampaignStatus.SCHEDULED not in statuses
    logs = "".join(err for _, err in outputs)
    for campaign_id in ids:
        assert (
            logs.count(f"scheduler started campaign {campaign_id}\n")
            + logs.count(f'scheduler started campaign {campaign_id}"')
            == 1
        ), logs
    assert all(process.returncode == 0 for process in processes), logs
    starters = sum(1 for _, err in outputs if "scheduler started campaign" in err)
    assert starters >= 1
