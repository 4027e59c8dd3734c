"""Changing the organisation's settings: checked together, stored, and written to the audit log.

The settings page, the API and ``pinwheel settings`` all change them here. A change is refused
whole when any value is wrong, so a mistake in one field never half-saves the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine import audit
from engine.errors import ValidationFailed
from engine.media import check_image, image_size, store_image
from engine.organisation import LOGO_SIZE, Catalogue
from engine.organisation_store import saved_values, write_values

#: A logo is drawn at most 240 by 80 CSS pixels; a much larger file only makes emails heavier.
MAX_LOGO_PIXELS = 2400


@dataclass(frozen=True, slots=True)
class LogoUpload:
    """An uploaded logo image and the folder media files are stored in."""

    data: bytes
    media_path: Path


def change_settings(
    session: Session,
    catalogue: Catalogue,
    changes: Mapping[str, str],
    *,
    actor: Any,
    logo: LogoUpload | None = None,
) -> dict[str, dict[str, str]]:
    """Check and store ``changes`` (``""``: back to the default) and a new ``logo``.

    ``actor`` is a staff user or ``"cli"``. Returns what changed, ``{key: {before, after}}``
    (empty when nothing did), as the audit entry records it.
    """
    saved = saved_values(session)
    size = _logo_size(logo.data) if logo is not None else None
    cleaned = catalogue.check(changes, saved, new_logo=logo is not None)
    if logo is not None and size is not None:
        # Old logo files stay: emails already sent show them from their URLs.
        cleaned["logo"] = store_image(logo.media_path, logo.data)
        cleaned[LOGO_SIZE] = f"{size[0]}x{size[1]}"
    elif cleaned.get("logo") == "" and saved.get("logo"):
        cleaned[LOGO_SIZE] = ""
    changed = {
        key: {"before": saved.get(key, ""), "after": value}
        for key, value in cleaned.items()
        if value != saved.get(key, "")
    }
    if not changed:
        return {}
    actor_name = actor if isinstance(actor, str) else actor.email
    write_values(session, {key: c["after"] for key, c in changed.items()}, actor=actor_name)
    audit.record(
        session, actor, "settings.change", ("organisation_setting", "organisation"),
        changes=changed,
    )  # fmt: skip
    return changed


def _logo_size(data: bytes) -> tuple[int, int]:
    try:
        check_image(data)
    except ValidationFailed as error:
        raise ValidationFailed(error.message, details={"logo": error.message}) from None
    size = image_size(data)
    if size is None or not all(size):
        problem = "This image does not say how large it is; save it again as a PNG and upload that."
    elif max(size) > MAX_LOGO_PIXELS:
        problem = (
            f"The logo is {size[0]} by {size[1]} pixels; upload one at most {MAX_LOGO_PIXELS} "
            "pixels wide and high (480 by 160 is plenty)."
        )
    else:
        return size
    raise ValidationFailed(problem, details={"logo": problem})
