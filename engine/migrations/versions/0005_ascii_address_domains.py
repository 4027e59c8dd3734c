"""addresses keep their domain in its ASCII (IDNA) form

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:00:00

Every mail server takes ``user@xn--bcher-kva.example``; not every one takes
``user@bücher.example``. New addresses are stored in the ASCII form; this rewrites the stored
ones (subscribers and suppression entries). Their digests need no change: ``address_hash``
digests the Unicode form of the domain, so digests kept after an erasure still match. A row
whose ASCII form is already taken by another row is left as it is.
"""

from collections.abc import Sequence

import idna
import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (("subscriber", "email"), ("suppression", "address"))


def upgrade() -> None:
    connection = op.get_bind()
    for table, column in TABLES:
        rows = connection.execute(
            sa.text(f"SELECT id, {column} FROM {table} WHERE {_non_ascii(column)}")
        ).all()
        for row_id, address in rows:
            stored = _ascii_domain(address)
            if stored == address or _taken(connection, table, column, stored):
                continue
            connection.execute(
                sa.text(f"UPDATE {table} SET {column} = :stored WHERE id = :id"),
                {"stored": stored, "id": row_id},
            )


def downgrade() -> None:
    # The ASCII form is a valid, equivalent address: nothing needs to go back.
    pass


def _non_ascii(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"{column} ~ '[^\\x01-\\x7f]'"
    return f"{column} GLOB '*[^ -~]*'"


def _ascii_domain(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode()}"
    except idna.IDNAError:
        return address


def _taken(connection: sa.Connection, table: str, column: str, address: str) -> bool:
    query = sa.text(f"SELECT 1 FROM {table} WHERE {column} = :address")
    return connection.execute(query, {"address": address}).first() is not None
