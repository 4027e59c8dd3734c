"""Staff accounts and API tokens: who may use the admin pages and the API, and in which role."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import now
from engine.db import Base, JSONType
from engine.errors import Conflict, NotFound, ValidationFailed, WrongCredentials
from engine.passwords import check_password

_hasher = PasswordHasher()


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    APPROVER = "approver"


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Normalised (lower-case) login address.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: argon2id hash; the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_login_at: Mapped[datetime | None]
    #: Part of every session's identity: raising it signs out every session of this user
    #: (logout, deactivation, a role or password change).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    password_changed_at: Mapped[datetime | None]
    #: Base32 TOTP secret, in force once ``totp_enabled_at`` is set (before that, an enrolment
    #: waiting for its first code; ``None``: no two-factor sign-in).
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    #: The last 30-second step whose code signed in: a code is refused after it has been used.
    totp_last_step: Mapped[int | None]
    #: SHA-256 digests of the unused one-time recovery codes.
    recovery_codes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Random key inside this user's personal calendar feed link; replacing it revokes the link.
    calendar_key: Mapped[str | None] = mapped_column(sa.String(64))

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The session cookie names the user *and* the session version, so raising the version
        # turns every copy of an earlier cookie into an anonymous visitor.
        return f"{self.id}.{self.session_version}"

    def has_role(self, *roles: Role) -> bool:
        """Return whether the user holds one of ``roles``; admins hold every role."""
        return self.role == Role.ADMIN or self.role in roles


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: The staff user the token acts as, with that user's role; ``None`` only for tokens made
    #: before tokens belonged to people, which are refused.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    #: SHA-256 of the secret: tokens are long random strings, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: First characters of the token, shown so staff can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


def normalise_login(email: str) -> str:
    """Return the validated, lower-cased login address or raise ``ValidationFailed``."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationFailed(f"Not a valid email address: {error}") from None


def hash_password(password: str, *, email: str = "") -> str:
    """Hash ``password`` with argon2id after checking it against the password rules.

    ``email`` is the account's address, which the rules refuse as its password.
    """
    check_password(password, email=email)
    return _hasher.hash(password)


def verify_password(user: StaffUser, password: str) -> bool:
    """Return whether ``password`` is ``user``'s current password."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, user: StaffUser, password: str) -> StaffUser:
    """Give ``user`` a new password (checked against the rules) and end all their sessions."""
    user.password_hash = hash_password(password, email=user.email)
    user.password_changed_at = now()
    revoke_sessions(user)
    session.flush()
    return user


def change_password(session: Session, user: StaffUser, *, current: str, new: str) -> StaffUser:
    """Replace ``user``'s password after checking ``current``; all their sessions end."""
    if not verify_password(user, current):
        raise WrongCredentials("Your current password is not right. Type it again.")
    if new == current:
        raise ValidationFailed("The new password must differ from the current one.")
    return set_password(session, user, new)


def change_role(session: Session, user: StaffUser, role: str) -> StaffUser:
    """Give ``user`` another role; their sessions end, so no page keeps the old role's view."""
    new_role = _parse_role(role)
    if user.role != new_role:
        user.role = new_role
        revoke_sessions(user)
    session.flush()
    return user


def _parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationFailed(f"Unknown role {role!r}; use admin, editor or approver.") from None


def create_user(
    session: Session, *, email: str, password: str | None, role: str, name: str = ""
) -> StaffUser:
    """Create a staff user; the caller commits.

    ``password=None`` leaves the account without a usable password (an empty hash, which
    ``authenticate`` refuses) until its owner chooses one through an invitation link.
    """
    user_role = _parse_role(role)
    address = normalise_login(email)
    if session.scalar(sa.select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise Conflict(f"A staff user {address} already exists.")
    user = StaffUser(
        email=address,
        name=name,
        password_hash="" if password is None else hash_password(password, email=address),
        role=user_role,
        password_changed_at=None if password is None else now(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """Return the active user with these credentials, or ``None``; rehashes outdated hashes.

    The caller records the sign-in (``last_login_at``) once every step of it has passed.
    """
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.active:
        # Spend the same time as a real check so response times don't reveal accounts.
        _hasher.hash(password or "x")
        return None
    if not verify_password(user, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def create_api_token(session: Session, *, user: StaffUser, name: str) -> tuple[ApiToken, str]:
    """Create a token acting as ``user``; return it with its secret, shown once, never stored."""
    if not name.strip():
        raise ValidationFailed("A token needs a name.")
    if not user.active:
        raise ValidationFailed(f"{user.email} is deactivated; a token for them would not work.")
    secret = "pw_" + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(), user_id=user.id, token_hash=_token_digest(secret), prefix=secret[:10]
    )
    session.add(token)
    session.flush()
    return token, secret


def find_api_token(session: Session, secret: str) -> tuple[ApiToken, StaffUser] | None:
    """Return the live token matching ``secret`` with the active user it acts as; record its use.

    A token dies with its user's deactivation, and tokens that belong to no one are refused.
    """
    found = session.execute(
        sa.select(ApiToken, StaffUser)
        .join(StaffUser, StaffUser.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _token_digest(secret))
    ).one_or_none()
    if found is None:
        return None
    token, user = found._tuple()
    if token.revoked_at is not None or not user.active:
        return None
    token.last_used_at = now()
    return token, user


def revoke_api_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token; revoking twice is harmless."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No API token {token_id}.")
    token.revoked_at = token.revoked_at or now()
    return token


def _token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def list_users(session: Session) -> list[StaffUser]:
    """Return every staff user, by address."""
    return list(session.scalars(sa.select(StaffUser).order_by(StaffUser.email)))


def find_user(session: Session, email: str) -> StaffUser:
    """Return the staff user with this login address or raise ``NotFound``."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No staff user {email.strip()}.")
    return user


def revoke_sessions(user: StaffUser) -> None:
    """Sign the user out everywhere: every session cookie issued before now stops working."""
    user.session_version += 1


def deactivate_user(session: Session, email: str) -> StaffUser:
    """Stop a staff user from signing in, end their sessions and API tokens; history stays."""
    user = find_user(session, email)
    if user.active:
        user.active = False
        user.calendar_key = None  # their calendar link dies too, and stays dead on reactivation
        revoke_sessions(user)
        # Their tokens die for good: reactivating the person must not revive forgotten scripts.
        session.execute(
            sa.update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now())
        )
    session.flush()
    return user


def list_api_tokens(session: Session) -> list[tuple[ApiToken, StaffUser | None]]:
    """Return every API token with the user it acts as, newest first, revoked ones included."""
    rows = session.execute(
        sa.select(ApiToken, StaffUser)
        .outerjoin(StaffUser, StaffUser.id == ApiToken.user_id)
        .order_by(ApiToken.id.desc())
    )
    return [row._tuple() for row in rows]
