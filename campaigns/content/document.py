"""The content of an issue: what subscribers read, as typed, validated values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from campaigns.content.blocks import (
    Block,
    BlockType,
    BulletItem,
    Bullets,
    Button,
    Callout,
    Divider,
    Heading,
    Image,
    Paragraph,
    Quote,
    Reference,
    References,
    ReferenceStyle,
    ResourceItem,
    ResourceKind,
    Resources,
    Toc,
    block_from_dict,
    iter_texts,
    to_plain,
)
from campaigns.content.reading import ContentError, Problem, Reader

MAX_BLOCKS = 200
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")

__all__ = [
    "MAX_BLOCKS",
    "Block",
    "BlockType",
    "BulletItem",
    "Bullets",
    "Button",
    "Callout",
    "ContentError",
    "Divider",
    "Heading",
    "Image",
    "IssueContent",
    "Layout",
    "Paragraph",
    "Problem",
    "Quote",
    "Reference",
    "ReferenceStyle",
    "References",
    "ResourceItem",
    "ResourceKind",
    "Resources",
    "Theme",
    "Toc",
    "content_from_dict",
    "content_to_dict",
    "iter_texts",
    "parse_content",
]


class Layout(StrEnum):
    SPOTLIGHT = "spotlight"
    DIGEST = "digest"
    RESOURCE_COLLECTION = "resource_collection"
    ARTICLE = "article"


@dataclass(frozen=True, slots=True)
class Theme:
    """An observance's look: accent colour (`#rrggbb`) and an optional banner line."""

    accent: str
    banner: str = ""


@dataclass(frozen=True, slots=True)
class IssueContent:
    title: str
    subject: str
    layout: Layout
    blocks: tuple[Block, ...]
    kicker: str = ""
    preheader: str = ""
    date_label: str = ""
    volume: int | None = None
    number: int | None = None
    language: str = "en"
    theme: Theme | None = None


def parse_content(data: Any) -> tuple[IssueContent, list[Problem]]:
    """Read ``data`` as far as it goes: the content, values as written, and every problem.

    Blocks that cannot be built at all (an unknown type) are left out; their problems are
    malformed ones.
    """
    problems: list[Problem] = []
    r = Reader(data, "", problems)
    content = IssueContent(
        title=r.text("title", required=True, max_len=300, line=True),
        subject=r.text("subject", max_len=300, line=True),
        layout=r.choice("layout", Layout, Layout.SPOTLIGHT),
        blocks=_blocks(r),
        kicker=r.text("kicker", max_len=120),
        preheader=r.text("preheader", max_len=300, line=True),
        date_label=r.text("date_label", max_len=80),
        volume=r.integer("volume", low=1, high=9999),
        number=r.integer("number", low=1, high=9999),
        language=_language(r),
        theme=_theme(r),
    )
    return content, problems


def content_from_dict(data: Any) -> IssueContent:
    """Validate a JSON-ish dict into `IssueContent`; raise `ContentError` listing every problem."""
    content, problems = parse_content(data)
    if problems:
        raise ContentError(problems)
    return content


def content_to_dict(content: IssueContent) -> dict[str, Any]:
    """Return the JSON-ready dict that `content_from_dict` reads back to an equal value."""
    return to_plain(content)


def _blocks(r: Reader) -> tuple[Block, ...]:
    raw = r.data.get("blocks")
    if not isinstance(raw, list):
        r.refuse("blocks", "must be a list")
        return ()
    if len(raw) > MAX_BLOCKS:
        r.refuse("blocks", f"must have at most {MAX_BLOCKS} blocks")
        return ()
    blocks = [
        block_from_dict(r.child(f"blocks[{i}]", item, f"block {i + 1}"))
        for i, item in enumerate(raw)
    ]
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        if block is not None and block.id and block.id in seen:
            r.refuse(f"blocks[{index}].id", f"duplicates the id {block.id!r}")
        if block is not None:
            seen.add(block.id)
    return tuple(block for block in blocks if block is not None)


def _language(r: Reader) -> str:
    language = r.text("language", max_len=20) or "en"
    if not _LANGUAGE.fullmatch(language):
        r.fail("language", "The language must be a language tag such as en or es.")
    return language


def _theme(r: Reader) -> Theme | None:
    raw = r.data.get("theme")
    if raw is None:
        return None
    t = r.child("theme", raw, "the theme")
    accent = t.text("accent", required=True, max_len=20)
    if accent and not _COLOUR.fullmatch(accent):
        t.fail("accent", "The accent colour of the theme must be a colour like #1f5f8b.")
        return Theme(accent=accent, banner=t.text("banner", max_len=200))
    return Theme(accent=accent.lower(), banner=t.text("banner", max_len=200))
