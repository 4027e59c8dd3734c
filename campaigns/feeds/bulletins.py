"""The draft a feed's new items become: a resource collection, one resource per item."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from campaigns.content.document import Layout
from campaigns.feeds.parsing import FeedEntry

#: What starts inline Markdown (emphasis, links, footnote marks, autolinks, entities), escaped
#: with a backslash. Feed text is one line set inside a sentence or rendered inline, so block
#: syntax (``# ``, ``1. ``, ``> ``) never applies, and escaping it would only clutter the editor.
_MARKDOWN = re.compile(r"([\\`*_\[\]<])|&(?=#?[0-9A-Za-z]+;)")
#: Doubled braces and percent signs, which merge tags (``{{ first_name }}``, ``%%email%%``) need.
_TAG_MARKS = re.compile(r"([{}%])(?=[{}%])")
#: U+2060 WORD JOINER: invisible, and never part of a merge tag.
_JOINER = "\u2060"


def bulletin_content(feed_name: str, entries: Sequence[FeedEntry], today: date) -> dict[str, Any]:
    """Return issue content listing ``entries`` (each has a link) under a short introduction."""
    written = feed_name.strip() or "the feed"
    name = literal(written)
    day = f"{today:%B} {today.day}, {today.year}"
    title = f"New from {name[: 300 - len(day) - 11]}, {day}"
    count = f"{len(entries)} new item{'s' if len(entries) != 1 else ''}"
    return {
        "title": title,
        "subject": title,
        "preheader": f"{count} from {name}"[:300],
        "layout": Layout.RESOURCE_COLLECTION.value,
        "blocks": [
            {
                "id": "intro",
                "type": "paragraph",
                "text": f"The latest from {literal(written, markdown=True)}, published since "
                "our last bulletin.",
            },
            {
                "id": "new-items",
                "type": "resources",
                "title": "Just published",
                "level": 2,
                "items": [_resource(entry) for entry in entries],
            },
        ],
    }


def literal(text: str, *, markdown: bool = False) -> str:
    """Return feed text that the draft shows as written, whatever it contains.

    A feed's words must not become merge tags (filled per recipient), nor, where the draft reads
    Markdown (``markdown``), links, emphasis or footnote marks.
    """
    text = _TAG_MARKS.sub(rf"\1{_JOINER}", text)
    return _MARKDOWN.sub(lambda m: f"\\{m.group(0)}", text) if markdown else text


def _resource(entry: FeedEntry) -> dict[str, Any]:
    return {
        "title": literal(entry.title),
        "url": entry.link,
        "description": literal(entry.summary, markdown=True),
        "kind": entry.kind,
        "size": entry.size,
    }
