"""Cursor pagination: opaque cursors over a unique, increasing key (keyset, never OFFSET)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.errors import ValidationFailed


def encode_cursor(last_id: int) -> str:
    """Return the opaque cursor that continues after ``last_id``."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the id a cursor continues after, or raise ``ValidationFailed``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "id" or not value.isdigit() or len(value) > 18:
            raise ValueError(raw)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            "The cursor is not valid; use the next_cursor of a previous page."
        ) from None


def keyset_page(
    session: Session,
    query: sa.Select[Any],
    key: InstrumentedAttribute[int],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """Return up to ``limit`` rows of ``query`` after ``cursor`` and the next cursor (or None)."""
    if cursor:
        query = query.where(key > decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(key).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(getattr(rows[-1], key.key))


def cursor_page(
    session: Session,
    query: sa.Select[Any],
    key: InstrumentedAttribute[int],
    args: dict[str, Any],
) -> dict[str, Any]:
    """Return one page as the API answers it: ``{"items": [...], "next_cursor": ...}``.

    ``args`` are the parsed ``CursorQuerySchema`` arguments (``limit`` and ``cursor``).
    """
    items, cursor = keyset_page(session, query, key, cursor=args["cursor"], limit=args["limit"])
    return {"items": items, "next_cursor": cursor}
