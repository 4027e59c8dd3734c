"""Personal calendar feed links: one per staff member, revoked by a reset or a deactivation."""

from __future__ import annotations

import base64
import json
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy.orm import Session

from campaigns.scheduling.calendar import feed_token, feed_user, new_calendar_key
from engine.audit import AuditEntry
from engine.users import StaffUser, deactivate_user
from tests.conftest import SECRET
from tests.factories import csrf_token_from, login, make_user

LINK = re.compile(r'value="https://news\.example\.org(/calendar\.ics\?token=[^"]+)"')


def _sign_in(client: FlaskClient, session: Session, role: str = "editor") -> int:
    user = make_user(session, role=role)
    session.commit()
    login(client, user)
    return user.id


def _feed_path(client: FlaskClient) -> str:
    found = LINK.search(client.get("/admin/calendar/").get_data(as_text=True))
    assert found is not None
    return found.group(1)


def _reset(client: FlaskClient) -> None:
    page = client.get("/admin/calendar/agenda").get_data(as_text=True)
    response = client.post("/admin/calendar/feed/reset", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302


def test_each_person_has_their_own_lasting_link(client: FlaskClient, session: Session) -> None:
    _sign_in(client, session, "editor")
    mine = _feed_path(client)
    assert _feed_path(client) == mine  # the key is made once, not on every visit
    _sign_in(client, session, "approver")
    theirs = _feed_path(client)
    assert mine != theirs
    assert client.get(mine).status_code == 200
    assert client.get(theirs).status_code == 200


def test_reset_revokes_the_old_link_only(client: FlaskClient, session: Session) -> None:
    _sign_in(client, session, "approver")
    others = _feed_path(client)
    editor_id = _sign_in(client, session, "editor")
    old = _feed_path(client)
    _reset(client)
    new = _feed_path(client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert client.get(others).status_code == 200
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.calendar_reset"))
    assert entry is not None and entry.object_id == str(editor_id)


def test_deactivation_stops_the_link(client: FlaskClient, session: Session) -> None:
    editor_id = _sign_in(client, session, "editor")
    path = _feed_path(client)
    assert client.get(path).status_code == 200
    deactivate_user(session, session.get(StaffUser, editor_id).email)
    session.commit()
    assert client.get(path).status_code == 404


def test_editing_the_id_does_not_open_another_persons_feed(
    client: FlaskClient, session: Session
) -> None:
    mine, theirs = make_user(session, role="editor"), make_user(session, role="editor")
    new_calendar_key(mine)
    new_calendar_key(theirs)
    session.commit()
    token = feed_token(SECRET, mine)
    payload, signature = token.split(".")
    ids = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert ids == [mine.id, mine.calendar_key]
    edited = json.dumps([theirs.id, mine.calendar_key], separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(edited).decode().rstrip("=") + "." + signature
    assert client.get(f"/calendar.ics?token={forged}").status_code == 404
    # Even a correctly signed token needs the other person's own key.
    signed = URLSafeSerializer(SECRET, salt="pinwheel.calendar-feed.personal")
    borrowed = signed.dumps([theirs.id, mine.calendar_key])
    assert client.get(f"/calendar.ics?token={borrowed}").status_code == 404
    assert client.get(f"/calendar.ics?token={feed_token(SECRET, mine)}").status_code == 200


def test_malformed_and_shared_tokens_are_refused(client: FlaskClient, session: Session) -> None:
    user = make_user(session, role="editor")
    session.commit()
    signed = URLSafeSerializer(SECRET, salt="pinwheel.calendar-feed.personal")
    old_shared = URLSafeSerializer(SECRET, salt="pinwheel.calendar-feed").dumps("staff-calendar")
    for token in (
        "",
        "not-a-token",
        old_shared,
        signed.dumps("staff-calendar"),
        signed.dumps([str(user.id), "key"]),
        signed.dumps([True, "key"]),
        signed.dumps([user.id, None]),  # no key yet: nothing may match it
        signed.dumps([user.id]),
        signed.dumps({"u": user.id}),
    ):
        assert client.get("/calendar.ics", query_string={"token": token}).status_code == 404
        assert feed_user(session, SECRET, token) is None
