"""Two-factor sign-in: time-based codes (TOTP, RFC 6238) from an app, and one-time recovery codes.

A user enrols in two steps: a new secret is stored but not in force, and the first right code
from their app puts it in force and hands out ten recovery codes, shown once and kept only as
SHA-256 digests. Each 30-second code signs in once: the step of the last code accepted is kept,
and only later steps are accepted after it.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import pyotp
import segno
import sqlalchemy as sa
from pyotp.utils import strings_equal
from sqlalchemy.orm import Session

from engine.clock import now
from engine.db import rowcount
from engine.errors import Conflict, ValidationFailed, WrongCredentials
from engine.users import StaffUser, revoke_sessions, verify_password

ISSUER = "Pinwheel"
RECOVERY_CODE_COUNT = 10
#: Steps either side of now whose code is still taken: phones' clocks drift.
DRIFT_STEPS = 1
_SEPARATORS = re.compile(r"[\s-]+")


def is_enrolled(user: StaffUser) -> bool:
    """Return whether ``user`` signs in with a code after their password."""
    return user.totp_enabled_at is not None and user.totp_secret is not None


def begin_enrolment(session: Session, user: StaffUser) -> str:
    """Give ``user`` a new secret, not in force until a code confirms it; return the secret."""
    if is_enrolled(user):
        raise Conflict("Two-factor sign-in is already on. Turn it off first to use another app.")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    session.flush()
    return user.totp_secret


def provisioning_uri(user: StaffUser) -> str:
    """Return the ``otpauth://`` link an authenticator app reads from the QR code."""
    if user.totp_secret is None:
        raise Conflict("Two-factor sign-in has not been started for this account.")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """Return ``uri`` as a QR code in inline SVG (no image files, no script)."""
    return str(
        segno.make(uri, error="m").svg_inline(scale=5, light="#fff", title="QR code for your app")
    )


def confirm_enrolment(session: Session, user: StaffUser, code: str) -> list[str]:
    """Put the new secret in force with a right code; return the recovery codes (shown once).

    Every other session of the user ends: they were signed in with a password alone.
    """
    if is_enrolled(user) or user.totp_secret is None:
        raise Conflict("There is no two-factor set-up waiting to be confirmed. Start again.")
    if not _accept_code(session, user, code):
        raise ValidationFailed(
            "That code is not right. Type the 6-digit code your app shows now for Pinwheel."
        )
    user.totp_enabled_at = now()
    codes = _new_recovery_codes(user)
    revoke_sessions(user)
    session.flush()
    return codes


def verify_second_factor(session: Session, user: StaffUser, code: str) -> bool:
    """Return whether ``code`` is a code of ``user``'s app not used before, or an unused
    recovery code (which is then used up)."""
    if not is_enrolled(user):
        return False
    accepted = _accept_code(session, user, code) or _use_recovery_code(session, user, code)
    session.flush()
    return accepted


def disable_two_factor(
    session: Session, user: StaffUser, *, proof: str, required: bool = False
) -> None:
    """Turn two-factor sign-in off after ``proof``: the password, a current code or a recovery
    code. ``required`` (``REQUIRE_2FA``) forbids it. Every session of the user ends."""
    if required:
        raise Conflict("Two-factor sign-in is required for every staff account here.")
    if not is_enrolled(user):
        return
    if not (verify_password(user, proof) or verify_second_factor(session, user, proof)):
        raise WrongCredentials(
            "That is neither your password nor a current code. Type one of them to turn "
            "two-factor sign-in off."
        )
    reset_two_factor(session, user)


def reset_two_factor(session: Session, user: StaffUser) -> StaffUser:
    """Turn ``user``'s two-factor sign-in off without proof (an admin, for a lost phone); every
    session of the user ends."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    user.recovery_codes = []
    revoke_sessions(user)
    session.flush()
    return user


def _accept_code(session: Session, user: StaffUser, code: str) -> bool:
    digits = _SEPARATORS.sub("", code)
    if user.totp_secret is None or not (len(digits) == 6 and digits.isdigit()):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now())
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if strings_equal(digits, totp.generate_otp(step)):
            return _claim_step(session, user, step)
    return False


def _claim_step(session: Session, user: StaffUser, step: int) -> bool:
    # Compare-and-set: of two requests with the same code at once, exactly one moves the step.
    last = StaffUser.totp_last_step
    result = session.execute(
        sa.update(StaffUser)
        .where(StaffUser.id == user.id, sa.or_(last.is_(None), last < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    session.refresh(user, ["totp_last_step"])
    return True


def _use_recovery_code(session: Session, user: StaffUser, code: str) -> bool:
    digest = _digest(code)
    if digest not in user.recovery_codes:
        return False
    # Lock the row and read the codes again: two requests with one code must not both pass.
    session.refresh(user, ["recovery_codes"], with_for_update=True)
    if digest not in user.recovery_codes:
        return False
    user.recovery_codes = [kept for kept in user.recovery_codes if kept != digest]
    return True


def _new_recovery_codes(user: StaffUser) -> list[str]:
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes = [_digest(code) for code in codes]
    return codes


def _digest(code: str) -> str:
    return hashlib.sha256(_SEPARATORS.sub("", code).lower().encode()).hexdigest()
