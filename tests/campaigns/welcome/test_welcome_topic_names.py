"""A welcome names the reader's topics in the welcome issue's language."""

from __future__ import annotations

from sqlalchemy.orm import Session

from campaigns.issues.service import save_revision
from campaigns.welcome.delivering import send_pending_welcomes
from engine.config import Settings
from engine.db import Database
from engine.delivery.memory import MemoryBackend
from subscribers.models import Topic
from tests.campaigns.welcome.conftest import MakeWelcome, Staff, approve_welcome, join


def test_a_spanish_welcome_names_topics_in_spanish_or_else_in_english(
    session: Session,
    database: Database,
    settings: Settings,
    outbox: MemoryBackend,
    topics: dict[str, Topic],
    staff: Staff,
    make_welcome: MakeWelcome,
) -> None:
    topics["foster"].translations = {"es": {"name": "Cuidado de crianza"}}
    welcome = make_welcome("Practice", approved=False)
    issue = welcome.issue
    content = {**issue.content, "language": "es"}
    save_revision(session, issue, content, base_revision=issue.revision, saved_by_id=None)
    approve_welcome(session, settings, staff, welcome)
    session.commit()
    join(session, "kim@example.org", [topics["foster"], topics["kinship"]])
    session.rollback()
    assert send_pending_welcomes(database, settings).sent == 1
    (message,) = outbox.sent
    assert "A qué se suscribió" in message.text
    assert "Cuidado de crianza" in message.text and "Foster care" not in message.text
    # No Spanish name: the English one.
    assert "Kinship care" in message.text
