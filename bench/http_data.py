"""Prepare the HTTP bench's database from ``PINWHEEL_*``: schema, topics, a sent issue.

Run as ``python -m bench.http_data`` by ``bench_http``; prints one summary line.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from engine.app import create_app
from engine.clock import now
from engine.config import load_settings
from engine.db import Base, get_database
from engine.migrate import alembic_config, load_models, upgrade
from engine.web import get_settings


def create_schema(url: str) -> str:
    """Migrate when this build has migrations, else create the tables from the models."""
    if ScriptDirectory.from_config(alembic_config(url)).get_heads():
        upgrade(url)
        return "migrated"
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return "created from models"


def load_sent_issue() -> str:
    """Create topics, subscribers and a sent spotlight issue, so public pages have one to show."""
    from campaigns.demo.content import DEMO_TOPICS, SPOTLIGHT_ISSUE
    from campaigns.demo.loader import _add_subscribers
    from campaigns.issues.service import create_issue
    from campaigns.sending.models import CampaignStatus
    from campaigns.sending.service import create_campaign
    from engine.users import create_user
    from subscribers.models import OptIn, Topic

    app = create_app()
    with app.app_context(), get_database(app).session() as session:
        topics = [
            Topic(slug=slug, name=name, category=category, description=text, opt_in=OptIn(opt_in))
            for slug, name, category, text, opt_in in DEMO_TOPICS
        ]
        session.add_all(topics)
        session.flush()
        _add_subscribers(session, topics)
        admin = create_user(
            session, email="bench@agency.example.org", password="bench-admin-pw", role="admin"
        )
        issue = create_issue(session, SPOTLIGHT_ISSUE, author_id=admin.id, topics=topics[:1])
        campaign = create_campaign(
            session, issue, topics[:2], name="Bench", created_by=admin, settings=get_settings()
        )
        moment = now()
        campaign.status = CampaignStatus.SENT
        campaign.send_at = campaign.started_at = campaign.finished_at = moment
        issue.published_at = moment
        return f"a sent issue ({issue.slug}) and {len(topics)} topics"


def main() -> None:
    """Prepare the database and print what was done."""
    load_models()
    url = load_settings().DATABASE_URL
    schema = create_schema(url)
    try:
        content = load_sent_issue()
    except Exception as error:  # the bench still measures what exists
        content = f"no demo data ({error.__class__.__name__}: {error})"
    print(f"SQLite, schema {schema}, {content}")


if __name__ == "__main__":
    main()
