"""Upgrading rewrites stored international domains to their ASCII form; digests still match."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config, upgrade
from subscribers.addresses import address_hash, normalise_address


def test_stored_domains_become_ascii_and_old_digests_still_match(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0004")
    engine = sa.create_engine(url)
    old_digest = "bf0b4a1c"  # any digest kept after an erasure stays as it was
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO subscriber (email, name, language, timezone, attributes, status, "
                "consent_source, created_at, updated_at, confirmation_attempts) VALUES "
                "('zoë@bücher.example', '', 'en', 'UTC', '{}', 'active', '', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO suppression (address_hash, address, reason, source, note, created_at) "
                "VALUES (:digest, 'ann@bücher.example', 'unsubscribed', '', '', "
                "'2026-01-01 00:00:00'), (:old, NULL, 'erased', '', '', '2026-01-01 00:00:00')"
            ),
            {"digest": address_hash("ann@bücher.example"), "old": old_digest},
        )
    upgrade(url)
    with engine.connect() as connection:
        emails = connection.scalars(sa.text("SELECT email FROM subscriber")).all()
        suppressed = connection.execute(sa.text("SELECT address, address_hash FROM suppression"))
        rows = dict(suppressed.all())
    assert emails == ["zoë@xn--bcher-kva.example"]
    assert rows["ann@xn--bcher-kva.example"] == address_hash(
        normalise_address("Ann@Bücher.example")
    )
    assert rows[None] == old_digest
    engine.dispose()
