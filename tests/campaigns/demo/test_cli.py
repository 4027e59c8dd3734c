"""``pinwheel demo``: refused in production unless forced; its issue names a real observance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from campaigns.issues.editions import is_out_of_date
from campaigns.issues.models import Issue, IssueStatus
from campaigns.observances.service import find_observance
from campaigns.sending.models import CampaignVariant
from engine.app import create_app
from engine.config import Settings
from engine.db import get_database
from subscribers.models import Subscriber


@pytest.fixture
def production(settings: Settings) -> Iterator[Flask]:
    """An app configured for production, on the test database."""
    app = create_app(settings.with_overrides(ENV="production"))
    with app.app_context():
        yield app
    get_database(app).dispose()


def _issues(app: Flask) -> int:
    """Count the issues written first (their editions aside)."""
    with get_database(app).session() as session:
        originals = sa.select(sa.func.count()).where(Issue.edition_of_id.is_(None))
        return session.scalar(originals.select_from(Issue)) or 0


def test_demo_refuses_production_unless_forced(production: Flask) -> None:
    runner = production.test_cli_runner()
    refused = runner.invoke(args=["demo"])
    assert refused.exit_code == 2
    assert "PINWHEEL_ENV is production" in refused.output and "--force" in refused.output
    assert _issues(production) == 0
    forced = runner.invoke(args=["demo", "--force"])
    assert forced.exit_code == 0, forced.output
    assert _issues(production) == 1


def test_demo_issue_is_written_for_an_observance_of_the_catalogue(app: Flask) -> None:
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with get_database(app).session() as session:
        issue = session.scalar(sa.select(Issue).where(Issue.edition_of_id.is_(None)))
        assert issue is not None and issue.observance_slug is not None
        assert find_observance(session, issue.observance_slug).name.startswith("National Human")


def test_demo_has_an_approved_spanish_edition_and_spanish_readers(app: Flask) -> None:
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with get_database(app).session() as session:
        edition = session.scalar(sa.select(Issue).where(Issue.edition_of_id.is_not(None)))
        assert edition is not None and edition.language == "es"
        assert edition.status == IssueStatus.APPROVED and not is_out_of_date(edition)
        assert edition.content["subject"].startswith("En foco")
        spanish = sa.select(sa.func.count()).where(Subscriber.language == "es")
        assert (session.scalar(spanish.select_from(Subscriber)) or 0) == 5
        keys = session.scalars(sa.select(CampaignVariant.key).order_by(CampaignVariant.number))
        assert list(keys) == ["language:en", "language:es"]
