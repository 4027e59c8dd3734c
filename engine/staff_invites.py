"""Staff invitations: an account without a password and a signed link to choose one.

The link names the account and carries a fingerprint of its password hash and session version,
so it works once: choosing a password changes the hash, and a newer link for the same person
raises the session version, which kills the older one. It also expires after seven days, and
deactivating the account stops it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from engine.clock import now
from engine.config import Settings
from engine.delivery.base import OutgoingMessage, ResultStatus
from engine.delivery.system import send_system_messages, system_message
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.render.system_emails import greeting
from engine.staff_accounts import StaffStatus, staff_status
from engine.text_fields import check_line
from engine.users import StaffUser, create_user, revoke_sessions, set_password

log = logging.getLogger(__name__)
INVITE_SALT = "pinwheel.staff-invite"
INVITE_VALID_FOR = timedelta(days=7)
MAX_NAME_LENGTH = 200
_UNUSABLE = (
    "This invitation link no longer works: it was used already, replaced by a newer link, or "
    "the account was deactivated. Ask an admin for a new link."
)


def invite_user(session: Session, *, email: str, role: str, name: str = "") -> StaffUser:
    """Create a staff account without a password, waiting for its owner to choose one."""
    # The name goes into the invitation's To header.
    name = check_line(name.strip(), "The name", path="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"Shorten the name to at most {MAX_NAME_LENGTH} characters.")
    return create_user(session, email=email, password=None, role=role, name=name)


def renew_invite(session: Session, user: StaffUser) -> StaffUser:
    """Kill every earlier invitation link of ``user``, so that only the next one minted works."""
    if staff_status(user) != StaffStatus.INVITED:
        raise Conflict(f"{user.email} is not waiting for an invitation.")
    revoke_sessions(user)
    session.flush()
    return user


def invite_token(secret: str, user: StaffUser) -> str:
    """Return the signed, timed token of ``user``'s invitation link."""
    return _serializer(secret).dumps({"u": user.id, "f": _fingerprint(user)})


def invite_link(settings: Settings, user: StaffUser) -> str:
    """Return the absolute invitation link for ``user`` (usable outside a request)."""
    return f"{settings.BASE_URL}/admin/invite/{invite_token(settings.SECRET_KEY, user)}"


def find_invited_user(session: Session, secret: str, token: str) -> StaffUser:
    """Return the account an invitation link opens, or raise ``NotFound`` saying why not."""
    try:
        payload: Any = _serializer(secret).loads(
            token, max_age=int(INVITE_VALID_FOR.total_seconds())
        )
    except SignatureExpired:
        raise NotFound("This invitation link has expired. Ask an admin for a new one.") from None
    except BadSignature:
        raise NotFound(_UNUSABLE) from None
    user_id = payload.get("u") if isinstance(payload, dict) else None
    user = session.get(StaffUser, user_id) if type(user_id) is int else None
    if (
        user is None
        or staff_status(user) != StaffStatus.INVITED
        or not hmac.compare_digest(str(payload.get("f")), _fingerprint(user))
    ):
        raise NotFound(_UNUSABLE)
    return user


def accept_invite(
    session: Session, secret: str, token: str, *, password: str, confirmation: str
) -> StaffUser:
    """Set the invited person's chosen password, which also makes the link unusable."""
    user = find_invited_user(session, secret, token)
    if password != confirmation:
        raise ValidationFailed("The two passwords differ. Type the same password in both boxes.")
    set_password(session, user, password)
    user.last_login_at = now()
    return user


def invite_message(settings: Settings, user: StaffUser, link: str, inviter: str) -> OutgoingMessage:
    """Build the invitation email: who invited them, in which role, and the link."""
    return system_message(
        settings,
        kind="staff-invite",
        layout="staff_invite",
        to_address=user.email,
        to_name=user.name,
        subject="You are invited to Pinwheel",
        fields={
            "greeting": greeting(user.name),
            "inviter": inviter,
            "base_url": settings.BASE_URL,
            "role": user.role,
            "email": user.email,
            "days": str(INVITE_VALID_FOR.days),
            "link": link,
        },
    )


def send_invite(settings: Settings, message: OutgoingMessage) -> bool:
    """Hand the invitation email over; return whether the backend accepted it.

    A failure is logged, not raised: the account exists and the admin is shown the link.
    """
    try:
        results = send_system_messages(settings, [message])
    except Exception:
        log.exception("staff invite: could not email %s", message.to_address)
        return False
    return bool(results) and results[0].status == ResultStatus.ACCEPTED


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=INVITE_SALT)


def _fingerprint(user: StaffUser) -> str:
    # The token's payload is readable by anyone holding it, so it carries a digest, not the hash.
    state = f"{user.password_hash}\x00{user.session_version}".encode()
    return hashlib.sha256(state).hexdigest()[:32]
