"""The skeleton a new issue starts from, shaped like the publication its layout is named after.

A starter's empty fields are left empty rather than filled with sample words: an issue saves as a
draft with them, each says on its block what it still needs, and none can reach a reader, since
review and sending wait until every block is finished or deleted.
"""

from __future__ import annotations

from typing import Any

from campaigns.content.document import Layout


def starter_content(layout: Layout, title: str) -> dict[str, Any]:
    """Return the first revision of a new issue in ``layout``: a skeleton to write over."""
    content: dict[str, Any] = {"title": title, "subject": title, "layout": layout.value}
    if layout is Layout.SPOTLIGHT:
        return {**content, "kicker": "Spotlight On...", "blocks": _spotlight_blocks()}
    blocks: list[dict[str, Any]] = [_paragraph("intro")]
    if layout in (Layout.DIGEST, Layout.RESOURCE_COLLECTION):
        blocks.insert(0, {"id": "toc", "type": "toc"})
    if layout is not Layout.ARTICLE:
        blocks.append(_resources("resources", "Resources"))
    return {**content, "blocks": blocks}


def _spotlight_blocks() -> list[dict[str, Any]]:
    """A "Spotlight On..." bulletin: why now, the key facts, an approach, where to learn more."""
    return [
        _paragraph("intro"),
        {"id": "facts", "type": "bullets", "ordered": False, "items": [{"text": ""}]},
        {
            "id": "approach",
            "type": "callout",
            "title": "Approach to Consider",
            "items": [{"text": ""}],
        },
        _paragraph("closing"),
        _resources("training", "Training Resources"),
        _resources("publications", "Articles and Publications"),
        _resources("resources", "Related Resources"),
        _resources("organizations", "Related Organizations"),
        {
            "id": "references",
            "type": "references",
            "title": "References",
            "style": "numbered",
            "items": [{"number": 1, "text": "", "url": ""}],
        },
    ]


def _paragraph(block_id: str) -> dict[str, Any]:
    return {"id": block_id, "type": "paragraph", "text": ""}


def _resources(block_id: str, title: str) -> dict[str, Any]:
    row = {"title": "", "url": "", "description": "", "kind": "webpage", "size": ""}
    return {"id": block_id, "type": "resources", "title": title, "level": 2, "items": [row]}
