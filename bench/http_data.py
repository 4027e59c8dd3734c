"""Prepare the HTTP bench's database from ``PINWHEEL_*``: schema, demo content, a sent campaign.

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


def create_schema(url: str) -> str:
    """Migrate when this build has migrations, else create the tables from the models."""
    if ScriptDirectory.from_config(alembic_config(url)).get_heads():
        upgrade(url)
        return "migrated"
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return "created from models"


def load_sent_demo() -> str:
    """Load the demo content and mark its campaign sent, so public pages have an issue to show."""
    from campaigns.demo import load_demo
    from campaigns.sending.models import Campaign, CampaignStatus

    app = create_app()
    with app.app_context(), get_database(app).session() as session:
        created = load_demo(session, admin_password="bench-admin-password")
        campaign = session.get(Campaign, created["campaign"])
        moment = now()
        campaign.status = CampaignStatus.SENT
        campaign.send_at = campaign.started_at = campaign.finished_at = moment
        return f"demo data, campaign {campaign.id} sent"


def main() -> None:
    """Prepare the database and print what was done."""
    load_models()
    url = load_settings().DATABASE_URL
    schema = create_schema(url)
    try:
        content = load_sent_demo()
    except Exception as error:  # the bench still measures what exists
        content = f"no demo data ({error.__class__.__name__}: {error})"
    print(f"SQLite, schema {schema}, {content}")


if __name__ == "__main__":
    main()
