"""Admins' changes to other staff accounts: role, deactivation, reactivation.

Each change keeps at least one admin who can sign in: without one, nobody could manage staff
from the web pages again (only an operator with the server's shell could, through the CLI).
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import Conflict, Forbidden
from engine.users import Role, StaffUser, change_role, deactivate_user

_LOWER_ROLES = frozenset(role.value for role in Role if role != Role.ADMIN)


class StaffStatus(StrEnum):
    ACTIVE = "active"
    #: Invited and not yet signed in: the account has no password.
    INVITED = "invited"
    DEACTIVATED = "deactivated"


def staff_status(user: StaffUser) -> StaffStatus:
    """Return whether ``user`` may sign in, waits for their invitation, or was deactivated."""
    if not user.active:
        return StaffStatus.DEACTIVATED
    return StaffStatus.ACTIVE if user.password_hash else StaffStatus.INVITED


def set_staff_role(session: Session, user: StaffUser, role: str) -> StaffUser:
    """Give ``user`` another role (their sessions end), keeping an admin who can sign in."""
    if role in _LOWER_ROLES:  # an unknown role is refused by ``change_role``
        _ensure_another_admin(session, user, "take the admin role from")
    return change_role(session, user, role)


def deactivate_staff(session: Session, actor: StaffUser | None, user: StaffUser) -> StaffUser:
    """Deactivate ``user`` (sessions and API tokens end), never oneself or the last admin.

    ``actor`` is the admin making the change (``None`` from the command line).
    """
    if actor is not None and actor.id == user.id:
        raise Forbidden("You cannot deactivate your own account; ask another admin to do it.")
    _ensure_another_admin(session, user, "deactivate")
    return deactivate_user(session, user.email)


def reactivate_staff(session: Session, user: StaffUser) -> StaffUser:
    """Let a deactivated ``user`` sign in again with their password, role and 2FA unchanged.

    Their API tokens stay revoked (deactivation revoked them): they create new ones.
    """
    user.active = True
    session.flush()
    return user


def _ensure_another_admin(session: Session, user: StaffUser, verb: str) -> None:
    if staff_status(user) != StaffStatus.ACTIVE or user.role != Role.ADMIN:
        return
    # Locking the admins' rows makes two admins who demote each other at the same moment take
    # turns, so the second sees the first's change instead of both leaving no admin behind.
    admins = session.scalars(
        sa.select(StaffUser.id)
        .where(
            StaffUser.role == Role.ADMIN,
            StaffUser.active.is_(True),
            StaffUser.password_hash != "",
        )
        .with_for_update()
    ).all()
    if all(admin_id == user.id for admin_id in admins):
        raise Conflict(
            f"{user.email} is the last admin who can sign in, so you cannot {verb} them. "
            "Make another staff member an admin first."
        )
