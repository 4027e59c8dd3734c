"""The audit log: recording, filtering, the staff page and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.audit import AuditEntry, AuditFilter, find_entries, record
from tests.factories import login, make_user


def _seed(session: Session) -> tuple:
    alice = make_user(session, "editor", email="alice@agency.example.org")
    bob = make_user(session, "approver", email="bob@agency.example.org")
    record(session, alice, "issue.save", ("issue", 7), revision=2)
    record(session, bob, "issue.approve", ("issue", 7), revision=2, topic_ids=[1])
    record(session, "cli", "subscribers.import", ("topic", 3), rows=120)
    record(session, None, "campaign.send", ("campaign", 4), recipients=5)
    session.commit()
    return alice, bob


def test_record_names_actor_and_target(session: Session) -> None:
    _seed(session)
    rows = {e.action: e for e in session.query(AuditEntry)}
    assert rows["issue.save"].actor == "alice@agency.example.org"
    assert rows["issue.save"].actor_id is not None
    assert rows["subscribers.import"].actor == "cli"
    assert rows["campaign.send"].actor == "system"
    assert (rows["issue.approve"].object_type, rows["issue.approve"].object_id) == ("issue", "7")
    assert rows["issue.approve"].details == {"revision": 2, "topic_ids": [1]}


def test_filters(session: Session) -> None:
    _seed(session)

    def actions(**criteria) -> set[str]:
        return {e.action for e in find_entries(session, AuditFilter(**criteria), limit=50)}

    assert actions(actor="alice") == {"issue.save"}
    assert actions(action="issue.") == {"issue.save", "issue.approve"}
    assert actions(object_type="issue", object_id="7") == {"issue.save", "issue.approve"}
    today = datetime.now(UTC).date()
    assert len(actions(since=today, until=today)) == 4
    assert actions(until=today.replace(year=today.year - 1)) == set()


def test_page_and_csv_export(client: FlaskClient, session: Session) -> None:
    alice, _bob = _seed(session)
    record(session, alice, "=cmd|' /C calc'!A0", ("issue", 9))
    session.commit()
    login(client, alice)
    page = client.get("/admin/audit/?action=issue.approve").get_data(as_text=True)
    assert "bob@agency.example.org" in page and "alice@agency.example.org</td>" not in page
    export = client.get("/admin/audit/export.csv?actor=alice")
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert {row["action"] for row in rows} == {"issue.save", "=cmd|' /C calc'!A0"}
    assert all(row["actor"] == "alice@agency.example.org" for row in rows)


def test_editor_saves_are_audited(client: FlaskClient, session: Session, csrf_disabled) -> None:
    from campaigns.issues.service import create_issue
    from tests.campaigns.issues.issue_data import basic

    user = make_user(session, "editor")
    issue = create_issue(session, basic(), author_id=user.id)
    session.commit()
    login(client, user)
    client.post(f"/admin/issues/{issue.id}/content", json={"base_revision": 1, "content": basic()})
    entry = session.query(AuditEntry).filter_by(action="issue.save").one()
    assert entry.actor == user.email and entry.object_id == str(issue.id)
    assert entry.details == {"revision": 2}
