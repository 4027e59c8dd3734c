"""Small issue contents for the editor and workflow tests."""

from __future__ import annotations

import copy
from typing import Any

BASIC: dict[str, Any] = {
    "title": "Prevention Month",
    "subject": "Prevention Month resources for caseworkers",
    "preheader": "Resources for child welfare professionals during Prevention Month.",
    "layout": "spotlight",
    "blocks": [
        {"id": "intro", "type": "paragraph", "text": "April is Prevention Month."},
        {"id": "more", "type": "paragraph", "text": "Strong families start with support."},
    ],
}


def basic(**changes: Any) -> dict[str, Any]:
    """Return a fresh copy of ``BASIC`` with top-level ``changes``."""
    return {**copy.deepcopy(BASIC), **changes}
