"""The blocks an issue is made of, and how each is read from a JSON-ish dict."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from enum import StrEnum
from typing import Any

from campaigns.content.reading import Reader

MAX_TEXT = 10_000
_BLOCK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class BlockType(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    BULLETS = "bullets"
    CALLOUT = "callout"
    QUOTE = "quote"
    RESOURCES = "resources"
    IMAGE = "image"
    BUTTON = "button"
    DIVIDER = "divider"
    REFERENCES = "references"
    TOC = "toc"


class ResourceKind(StrEnum):
    TRAINING = "training"
    PUBLICATION = "publication"
    ORGANIZATION = "organization"
    TOOLKIT = "toolkit"
    PDF = "pdf"
    WEBPAGE = "webpage"
    VIDEO = "video"


class ReferenceStyle(StrEnum):
    NUMBERED = "numbered"
    CITATION = "citation"


@dataclass(frozen=True, slots=True)
class BulletItem:
    text: str
    refs: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceItem:
    title: str
    url: str
    description: str = ""
    kind: ResourceKind = ResourceKind.WEBPAGE
    size: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    #: None only in a draft whose author has not numbered it yet.
    number: int | None
    text: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Heading:
    id: str
    text: str
    level: int = 2
    type: BlockType = BlockType.HEADING


@dataclass(frozen=True, slots=True)
class Paragraph:
    id: str
    text: str
    refs: tuple[int, ...] = ()
    type: BlockType = BlockType.PARAGRAPH


@dataclass(frozen=True, slots=True)
class Bullets:
    id: str
    items: tuple[BulletItem, ...]
    ordered: bool = False
    type: BlockType = BlockType.BULLETS


@dataclass(frozen=True, slots=True)
class Callout:
    id: str
    title: str
    body: str = ""
    items: tuple[BulletItem, ...] = ()
    type: BlockType = BlockType.CALLOUT


@dataclass(frozen=True, slots=True)
class Quote:
    id: str
    text: str
    attribution: str = ""
    type: BlockType = BlockType.QUOTE


@dataclass(frozen=True, slots=True)
class Resources:
    id: str
    title: str
    items: tuple[ResourceItem, ...]
    intro: str = ""
    level: int = 2
    type: BlockType = BlockType.RESOURCES


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    src: str
    alt: str = ""
    decorative: bool = False
    width: int | None = None
    link: str = ""
    type: BlockType = BlockType.IMAGE


@dataclass(frozen=True, slots=True)
class Button:
    id: str
    label: str
    url: str
    type: BlockType = BlockType.BUTTON


@dataclass(frozen=True, slots=True)
class Divider:
    id: str
    type: BlockType = BlockType.DIVIDER


@dataclass(frozen=True, slots=True)
class References:
    id: str
    items: tuple[Reference, ...]
    title: str = "References"
    style: ReferenceStyle = ReferenceStyle.NUMBERED
    type: BlockType = BlockType.REFERENCES


@dataclass(frozen=True, slots=True)
class Toc:
    id: str
    title: str = "In this issue"
    type: BlockType = BlockType.TOC


Block = (
    Heading | Paragraph | Bullets | Callout | Quote | Resources | Image | Button | Divider
    | References | Toc
)  # fmt: skip


#: How messages name each kind of block.
BLOCK_WORDS = {
    BlockType.HEADING: "the heading",
    BlockType.PARAGRAPH: "the paragraph",
    BlockType.BULLETS: "the list",
    BlockType.CALLOUT: "the callout",
    BlockType.QUOTE: "the quote",
    BlockType.RESOURCES: "the resource list",
    BlockType.IMAGE: "the image",
    BlockType.BUTTON: "the button",
    BlockType.DIVIDER: "the divider",
    BlockType.REFERENCES: "the reference list",
    BlockType.TOC: "the table of contents",
}


def _bullet(r: Reader) -> BulletItem:
    return BulletItem(text=r.text("text", required=True, max_len=MAX_TEXT), refs=r.numbers("refs"))


def _resource(r: Reader) -> ResourceItem:
    return ResourceItem(
        title=r.text("title", required=True),
        url=r.url("url", required=True),
        description=r.text("description", max_len=2000),
        kind=r.choice("kind", ResourceKind, ResourceKind.WEBPAGE),
        size=r.text("size", max_len=20),
    )


def _reference(r: Reader) -> Reference:
    number = r.integer("number", low=1, high=999)
    if r.data.get("number") is None:
        r.fail("number", f"{r.subject} has no number yet.")
    return Reference(number=number, text=r.text("text", required=True, max_len=2000),
                     url=r.url("url"))  # fmt: skip


def _heading(r: Reader, id_: str) -> Heading:
    level = r.integer("level", low=2, high=4, default=2)
    return Heading(id=id_, text=r.text("text", required=True, max_len=300), level=level or 2)


def _paragraph(r: Reader, id_: str) -> Paragraph:
    text = r.text("text", required=True, max_len=MAX_TEXT)
    return Paragraph(id=id_, text=text, refs=r.numbers("refs"))


def _bullets(r: Reader, id_: str) -> Bullets:
    items = r.items("items", _bullet, noun="item", empty="The list has no items yet; add one.")
    return Bullets(id=id_, items=items, ordered=r.flag("ordered"))


def _callout(r: Reader, id_: str) -> Callout:
    body, items = r.text("body", max_len=MAX_TEXT), r.items("items", _bullet, noun="item")
    if not body and not items:
        r.fail("body", "The callout has no text yet; write a body or add an item.")
    return Callout(id=id_, title=r.text("title", required=True, max_len=200), body=body,
                   items=items)  # fmt: skip


def _quote(r: Reader, id_: str) -> Quote:
    text = r.text("text", required=True, max_len=2000)
    return Quote(id=id_, text=text, attribution=r.text("attribution", max_len=300))


def _resources(r: Reader, id_: str) -> Resources:
    # A section may be written before its links are found: a title and an introduction will do.
    resources = Resources(
        id=id_,
        title=r.text("title", max_len=300),
        items=r.items("items", _resource, noun="resource"),
        intro=r.text("intro", max_len=MAX_TEXT),
        level=r.integer("level", low=2, high=4, default=2) or 2,
    )
    if not (resources.title or resources.intro or resources.items):
        r.fail("title", "The resource list is empty; give it a title, an introduction or a link.")
    return resources


def _image(r: Reader, id_: str) -> Image:
    image = Image(id=id_, src=r.url("src", required=True), alt=r.text("alt", max_len=400),
                  decorative=r.flag("decorative"), width=r.integer("width", low=20, high=600),
                  link=r.url("link"))  # fmt: skip
    if not image.alt and not image.decorative:
        r.fail("alt", "The image has no alt text yet; say what it shows, or mark it decorative.")
    return image


def _button(r: Reader, id_: str) -> Button:
    label = r.text("label", required=True, max_len=80)
    return Button(id=id_, label=label, url=r.url("url", required=True, mailto=True))


def _references(r: Reader, id_: str) -> References:
    items = r.items(
        "items",
        _reference,
        noun="reference",
        empty="The reference list has no references yet; add one.",
    )
    numbers = [item.number for item in items if item.number is not None]
    for number in sorted({n for n in numbers if numbers.count(n) > 1}):
        r.fail("items", f"Two references have the number {number}; give each its own number.")
    return References(id=id_, items=items, title=r.text("title", max_len=200) or "References",
                      style=r.choice("style", ReferenceStyle, ReferenceStyle.NUMBERED))  # fmt: skip


_PARSERS: dict[BlockType, Callable[[Reader, str], Block]] = {
    BlockType.HEADING: _heading,
    BlockType.PARAGRAPH: _paragraph,
    BlockType.BULLETS: _bullets,
    BlockType.CALLOUT: _callout,
    BlockType.QUOTE: _quote,
    BlockType.RESOURCES: _resources,
    BlockType.IMAGE: _image,
    BlockType.BUTTON: _button,
    BlockType.DIVIDER: lambda r, id_: Divider(id=id_),
    BlockType.REFERENCES: _references,
    BlockType.TOC: lambda r, id_: Toc(
        id=id_, title=r.text("title", max_len=200) or "In this issue"
    ),
}


def block_from_dict(r: Reader) -> Block | None:
    """Parse one block; return None (with the problems recorded) when it cannot be built."""
    id_ = r.data.get("id")
    if not isinstance(id_, str) or not _BLOCK_ID.fullmatch(id_):
        r.refuse("id", "must be 1 to 64 letters, digits, '-' or '_'")
        id_ = ""
    type_ = r.data.get("type")
    try:
        kind = BlockType(type_) if isinstance(type_, str) else None
    except ValueError:
        kind = None
    if kind is None:
        r.refuse("type", "must be one of " + ", ".join(t.value for t in BlockType))
        return None
    r.where = BLOCK_WORDS[kind]
    return _PARSERS[kind](r, id_)


def to_plain(value: Any) -> Any:
    """Turn a block (or any nested dataclass/tuple/enum) into JSON-ready data."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    return value


def iter_texts(value: Any) -> Iterator[str]:
    """Yield every string held by a block, however deeply nested."""
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from iter_texts(getattr(value, f.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from iter_texts(item)
    elif isinstance(value, str) and not isinstance(value, StrEnum):
        yield value
