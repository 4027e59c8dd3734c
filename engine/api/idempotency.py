"""``Idempotency-Key``: a retried create or send request answers as the first one did."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, make_response, request
from sqlalchemy.orm import Mapped, mapped_column

from engine.api.auth import current_token
from engine.clock import now
from engine.db import Base, request_session
from engine.errors import Conflict, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
#: OpenAPI description of the header, for ``@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])``.
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "description": "Retrying with the same key returns the first response instead of acting again.",
}


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH))
    #: SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    #: ``None`` while the first request is still running.
    status_code: Mapped[int | None]
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)


def idempotent(view: F) -> F:
    """Replay the stored response when a request repeats its ``Idempotency-Key``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return make_response(view(*args, **kwargs))
        if len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(f"{HEADER} may have at most {MAX_KEY_LENGTH} characters.")
        record = _reserve(key, _fingerprint())
        if isinstance(record, Response):
            return record
        try:
            response = make_response(view(*args, **kwargs))
        except Exception:
            _complete(record, None)
            raise
        _complete(record, response)
        return response

    return wrapper  # type: ignore[return-value]


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def _reserve(key: str, fingerprint: str) -> int | Response:
    """Insert the key before acting, so two concurrent retries can't both act."""
    session = request_session()
    token_id = current_token().id
    found = session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key
        )
    )
    if found is None:
        record = IdempotencyRecord(token_id=token_id, key=key, fingerprint=fingerprint)
        session.add(record)
        try:
            session.commit()
        except sa.exc.IntegrityError:
            session.rollback()
            raise Conflict(f"A request with this {HEADER} is still being processed.") from None
        return record.id
    if found.fingerprint != fingerprint:
        raise ValidationFailed(f"This {HEADER} was already used for a different request.")
    if found.status_code is None:
        raise Conflict(f"A request with this {HEADER} is still being processed.")
    replay = Response(found.body, status=found.status_code, mimetype="application/json")
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


def _complete(record_id: int, response: Response | None) -> None:
    """Store the answer; forget the key when the request failed, so a retry acts for real."""
    session = request_session()
    session.rollback()
    record = session.get(IdempotencyRecord, record_id)
    if record is None:
        return
    if response is None or response.status_code >= 400:
        session.delete(record)
    else:
        record.status_code = response.status_code
        record.body = response.get_data(as_text=True)
    session.commit()
