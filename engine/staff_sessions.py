"""Staff sessions: starting one, ending one after ``SESSION_IDLE_MINUTES`` without a request, and
the half-signed-in state between the password and the two-factor code.

The cookie is a permanent session whose lifetime is the idle time, re-sent on every request, so
a browser drops it once its user has been idle that long. A copy of the cookie kept elsewhere is
not bound by the browser, so the session also carries the time of its last request, which the
server checks: a replayed cookie older than the idle time signs in no one. There is no
remember-me cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask import session as cookie
from flask_login import login_user, logout_user, user_logged_in

from engine.clock import now
from engine.users import StaffUser
from engine.web import get_settings

#: When the session was last used (Unix seconds), checked against the idle time.
SEEN_KEY = "seen_at"
#: The user who passed the password step and still owes a code: id, session version, when.
PENDING_KEY = "second_factor"
#: Minutes a user may take between the password and the code.
PENDING_MINUTES = 5


def start_session(user: StaffUser) -> None:
    """Sign ``user`` in on this browser for the idle time (again, after their version changed)."""
    cookie.pop(PENDING_KEY, None)
    login_user(user)


def is_idle_expired() -> bool:
    """Return whether this session has gone unused longer than ``SESSION_IDLE_MINUTES``."""
    seen = cookie.get(SEEN_KEY)
    if not isinstance(seen, int):
        return True
    return _timestamp() - seen > idle_time().total_seconds()


def mark_seen() -> None:
    """Record that the signed-in user used this session now."""
    cookie[SEEN_KEY] = _timestamp()


def idle_time(app: Flask | None = None) -> timedelta:
    """Return how long a staff session may go unused."""
    return timedelta(minutes=get_settings(app).SESSION_IDLE_MINUTES)


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """A user who gave the right password and still owes a code."""

    user_id: int
    #: Their session version then: a password change in between voids the pending sign-in.
    session_version: int


def hold_for_second_factor(user: StaffUser) -> None:
    """Remember that ``user`` gave the right password and owes a code; sign no one in yet."""
    logout_user()
    cookie.pop(SEEN_KEY, None)
    cookie[PENDING_KEY] = [user.id, user.session_version, _timestamp()]


def pending_sign_in() -> PendingSignIn | None:
    """Return who owes a code on this browser; ``None`` when no one does or they took too long."""
    pending = cookie.get(PENDING_KEY)
    if not (isinstance(pending, list) and len(pending) == 3):
        return None
    user_id, version, at = pending
    if not all(isinstance(value, int) for value in pending):
        return None
    if _timestamp() - at > PENDING_MINUTES * 60:
        cookie.pop(PENDING_KEY, None)
        return None
    return PendingSignIn(user_id, version)


def forget_pending() -> None:
    """Drop the half-signed-in state (a finished or abandoned code step)."""
    cookie.pop(PENDING_KEY, None)


def _timestamp() -> int:
    return int(now().timestamp())


def _on_sign_in(app: Flask, **extra: object) -> None:
    # Every ``login_user`` (the sign-in form, an accepted invitation) starts the idle clock.
    cookie.permanent = True
    mark_seen()


def init_app(app: Flask) -> None:
    """Make staff sessions last the idle time, renewed by every request."""
    app.permanent_session_lifetime = idle_time(app)
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    user_logged_in.connect(_on_sign_in, app)
