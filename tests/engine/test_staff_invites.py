"""Staff invitations and admins' changes to accounts, as services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.staff_accounts import (
    StaffStatus,
    deactivate_staff,
    reactivate_staff,
    set_staff_role,
    staff_status,
)
from engine.staff_invites import (
    accept_invite,
    find_invited_user,
    invite_link,
    invite_message,
    invite_token,
    invite_user,
    renew_invite,
)
from engine.users import Role, authenticate, deactivate_user
from tests.conftest import SECRET
from tests.factories import make_user
from tests.system_emails import assert_system_email

NEW_PASSWORD = "lantern orchard ferry"


def _accept(session: Session, token: str, password: str = NEW_PASSWORD, again: str | None = None):
    return accept_invite(
        session, SECRET, token, password=password, confirmation=password if again is None else again
    )


def test_an_invited_account_has_no_usable_password(session: Session) -> None:
    user = invite_user(session, email=" New@Agency.example.org ", role="editor", name=" Ana ")
    assert (user.email, user.name, user.password_hash) == ("new@agency.example.org", "Ana", "")
    assert staff_status(user) == StaffStatus.INVITED
    assert authenticate(session, "new@agency.example.org", "") is None
    assert authenticate(session, "new@agency.example.org", NEW_PASSWORD) is None


def test_invite_refuses_bad_input(session: Session) -> None:
    make_user(session, email="taken@agency.example.org")
    with pytest.raises(Conflict):
        invite_user(session, email="taken@agency.example.org", role="editor")
    with pytest.raises(ValidationFailed, match="Unknown role"):
        invite_user(session, email="a@agency.example.org", role="root")
    with pytest.raises(ValidationFailed, match="valid email"):
        invite_user(session, email="nobody", role="editor")
    with pytest.raises(ValidationFailed, match="200 characters"):
        invite_user(session, email="b@agency.example.org", role="editor", name="x" * 201)
    with pytest.raises(ValidationFailed, match="carriage return"):
        invite_user(session, email="c@agency.example.org", role="editor", name="Ana\r\nBcc: x")


def test_the_link_sets_the_password_once(session: Session) -> None:
    user = invite_user(session, email="new@agency.example.org", role="approver")
    token = invite_token(SECRET, user)
    assert find_invited_user(session, SECRET, token) is user
    with pytest.raises(ValidationFailed, match="differ"):
        _accept(session, token, again=NEW_PASSWORD + "x")
    with pytest.raises(ValidationFailed, match="at least 10"):
        _accept(session, token, password="short")
    accepted = _accept(session, token)
    assert staff_status(accepted) == StaffStatus.ACTIVE and accepted.last_login_at is not None
    assert authenticate(session, "new@agency.example.org", NEW_PASSWORD) is user
    with pytest.raises(NotFound, match="no longer works"):
        _accept(session, token, password="another long passphrase")


def test_a_new_link_replaces_the_old_one(session: Session) -> None:
    user = invite_user(session, email="new@agency.example.org", role="editor")
    old = invite_token(SECRET, user)
    renew_invite(session, user)
    new = invite_token(SECRET, user)
    with pytest.raises(NotFound):
        find_invited_user(session, SECRET, old)
    assert find_invited_user(session, SECRET, new) is user
    _accept(session, new)
    with pytest.raises(Conflict, match="not waiting"):
        renew_invite(session, user)


def test_the_link_expires_after_seven_days(session: Session) -> None:
    start = datetime(2027, 1, 4, 9, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        user = invite_user(session, email="new@agency.example.org", role="editor")
        token = invite_token(SECRET, user)
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        assert find_invited_user(session, SECRET, token) is user
    later = start + timedelta(days=7, minutes=1)
    with time_machine.travel(later, tick=False), pytest.raises(NotFound, match="expired"):
        _accept(session, token)


def test_deactivation_and_forgery_stop_the_link(session: Session) -> None:
    first = invite_user(session, email="first@agency.example.org", role="editor")
    second = invite_user(session, email="second@agency.example.org", role="admin")
    token = invite_token(SECRET, first)
    forged = invite_token("another-secret", second)
    for bad in (forged, token[:-2], "", "x.y.z"):
        with pytest.raises(NotFound):
            find_invited_user(session, SECRET, bad)
    deactivate_user(session, first.email)
    with pytest.raises(NotFound):
        _accept(session, token)
    assert first.password_hash == ""


def test_the_invitation_email(session: Session, settings: Settings) -> None:
    user = invite_user(session, email="new@agency.example.org", role="approver", name="Ana <b>")
    link = invite_link(settings, user)
    assert link.startswith("https://news.example.org/admin/invite/")
    message = invite_message(settings, user, link, "Boss & Co")
    assert message.to_address == "new@agency.example.org" and message.categories == (
        "staff-invite",
    )
    assert message.headers["Message-ID"].startswith("<staff-invite.")
    assert link in message.text and "approver" in message.text and "7 days" in message.text
    assert f'href="{link}"' in message.html
    assert "Ana &lt;b&gt;" in message.html and "Boss &amp; Co" in message.html


def test_the_invitation_is_a_branded_accessible_system_email(
    session: Session, settings: Settings
) -> None:
    user = invite_user(session, email="bo@agency.example.org", role="editor", name="Bo Chen")
    link = invite_link(settings, user)
    message = invite_message(settings, user, link, "Ana Admin")
    found = assert_system_email(
        message,
        settings,
        link_prefix="https://news.example.org/admin/invite/",
        says=("Hello Bo Chen,", "Ana Admin", "editor", "bo@agency.example.org", "7 days"),
    )
    assert found == link


def test_the_last_admin_who_can_sign_in_stays(session: Session) -> None:
    boss = make_user(session, role="admin")
    invited_admin = invite_user(session, email="admin2@agency.example.org", role="admin")
    # An invited admin cannot sign in yet, so does not count.
    with pytest.raises(Conflict, match="last admin"):
        set_staff_role(session, boss, "editor")
    with pytest.raises(Conflict, match="last admin"):
        deactivate_staff(session, None, boss)
    with pytest.raises(Forbidden, match="your own account"):
        deactivate_staff(session, boss, boss)
    deactivate_staff(session, boss, invited_admin)  # not signed in yet: may go
    second = make_user(session, role="admin")
    version = boss.session_version
    set_staff_role(session, boss, "editor")
    assert boss.role == Role.EDITOR and boss.session_version == version + 1
    with pytest.raises(Conflict, match="last admin"):
        deactivate_staff(session, boss, second)


def test_deactivate_and_reactivate(session: Session) -> None:
    boss = make_user(session, role="admin")
    editor = make_user(session, role="editor")
    version = editor.session_version
    deactivate_staff(session, boss, editor)
    assert staff_status(editor) == StaffStatus.DEACTIVATED
    assert editor.session_version == version + 1
    reactivate_staff(session, editor)
    assert staff_status(editor) == StaffStatus.ACTIVE and editor.role == Role.EDITOR
