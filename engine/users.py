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
from engine.db import Base
from engine.errors import Conflict, NotFound, ValidationFailed

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


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
        return str(self.id)

    def has_role(self, *roles: Role) -> bool:
        """Return whether the user holds one of ``roles``; admins hold every role."""
        return self.role == Role.ADMIN or self.role in roles


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(sa.String(20))
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


def hash_password(password: str) -> str:
    """Hash ``password`` with argon2id after checking its length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    return _hasher.hash(password)


def create_user(
    session: Session, *, email: str, password: str, role: str, name: str = ""
) -> StaffUser:
    """Create a staff user; the caller commits."""
    try:
        user_role = Role(role)
    except ValueError:
        raise ValidationFailed(f"Unknown role {role!r}; use admin, editor or approver.") from None
    address = normalise_login(email)
    if session.scalar(sa.select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise Conflict(f"A staff user {address} already exists.")
    user = StaffUser(
        email=address, name=name, password_hash=hash_password(password), role=user_role
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """Return the active user with these credentials, or ``None``; rehashes outdated hashes."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.active:
        # Spend the same time as a real check so response times don't reveal accounts.
        _hasher.hash(password or "x")
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now()
    return user


def create_api_token(session: Session, *, name: str, role: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored."""
    try:
        token_role = Role(role)
    except ValueError:
        raise ValidationFailed(f"Unknown role {role!r}; use admin, editor or approver.") from None
    if not name.strip():
        raise ValidationFailed("A token needs a name.")
    secret = "pw_" + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(), role=token_role, token_hash=_token_digest(secret), prefix=secret[:10]
    )
    session.add(token)
    session.flush()
    return token, secret


def find_api_token(session: Session, secret: str) -> ApiToken | None:
    """Return the live token matching ``secret`` and record its use."""
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    token.last_used_at = now()
    return token


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


def deactivate_user(session: Session, email: str) -> StaffUser:
    """Stop a staff user from signing in (their history stays); deactivating twice is harmless."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No staff user {email.strip()}.")
    user.active = False
    session.flush()
    return user


def list_api_tokens(session: Session) -> list[ApiToken]:
    """Return every API token, newest first, revoked ones included."""
    return list(session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())))
