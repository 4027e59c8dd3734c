"""The blocks an issue is made of, and their validation from JSON-ish dicts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from enum import StrEnum
from typing import Any, TypeVar

from engine.text_fields import control_character

MAX_TEXT = 10_000
MAX_LINE = 500
MAX_ITEMS = 100
_BLOCK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HTTP_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_LINK_URL = re.compile(r"(?:https?://[^\s<>\"']+|mailto:[^\s<>\"']+)", re.IGNORECASE)
_MERGE_URL = re.compile(r"%%[a-z_]+%%")
E = TypeVar("E", bound=StrEnum)


class ContentError(ValueError):
    """Issue content failed validation; `details` lists `{path, message}` for each problem."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        self.details = details
        summary = "; ".join(f"{d['path']}: {d['message']}" for d in details[:5])
        super().__init__(f"invalid issue content: {summary}")


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


class Reader:
    """Read typed fields from one dict, collecting problems under a dotted path."""

    def __init__(self, data: Any, path: str, errors: list[dict[str, str]]) -> None:
        self.path = path
        self.errors = errors
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            self.fail("", "must be an object")

    def fail(self, name: str, message: str) -> None:
        """Record a problem with field `name` (or with the object itself when empty)."""
        path = f"{self.path}.{name}" if name and self.path else name or self.path
        self.errors.append({"path": path, "message": message})

    def text(
        self, name: str, *, required: bool = False, max_len: int = MAX_LINE, line: bool = False
    ) -> str:
        """Read a string field; missing optional fields read as ''.

        A ``line`` (a title, subject …) may hold no control character, not even a tab.
        """
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "is required")
            return ""
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return ""
        if len(value) > max_len:
            self.fail(name, f"must be at most {max_len} characters")
        if line and (problem := control_character(value)):
            self.fail(name, f"contains {problem}; write it on one line")
        return value

    def url(self, name: str, *, required: bool = False, mailto: bool = False) -> str:
        """Read an absolute http(s) URL (or mailto: when allowed); merge-tag URLs pass."""
        value = self.text(name, required=required, max_len=2000)
        pattern = _LINK_URL if mailto else _HTTP_URL
        if value and not (pattern.fullmatch(value) or _MERGE_URL.fullmatch(value)):
            self.fail(name, "must be an http(s) URL" + (" or mailto: link" if mailto else ""))
        return value

    def integer(self, name: str, *, low: int, high: int, default: int | None = None) -> int | None:
        """Read an optional integer within [low, high]."""
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(name, f"must be an integer from {low} to {high}")
            return default
        return value

    def flag(self, name: str) -> bool:
        """Read an optional boolean (false when missing)."""
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.fail(name, "must be true or false")
            return False
        return value

    def choice(self, name: str, enum: type[E], default: E) -> E:
        """Read one of the values of a `StrEnum`."""
        value = self.data.get(name)
        if value is None:
            return default
        try:
            return enum(value)
        except ValueError:
            self.fail(name, "must be one of " + ", ".join(member.value for member in enum))
            return default

    def items(self, name: str, parse: Callable[[Reader], Any], *, required: bool = False) -> tuple:
        """Read a list of objects, each parsed by `parse` with its own path."""
        value = self.data.get(name)
        if value is None or value == []:
            if required:
                self.fail(name, "must have at least one item")
            return ()
        if not isinstance(value, list):
            self.fail(name, "must be a list")
            return ()
        if len(value) > MAX_ITEMS:
            self.fail(name, f"must have at most {MAX_ITEMS} items")
            return ()
        return tuple(parse(self.child(f"{name}[{i}]", v)) for i, v in enumerate(value))

    def numbers(self, name: str) -> tuple[int, ...]:
        """Read a list of reference numbers (1-999)."""
        value = self.data.get(name) or []
        ok = isinstance(value, list) and all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 999 for n in value
        )
        if not ok or len(value) > 20:
            self.fail(name, "must be a list of up to 20 reference numbers from 1 to 999")
            return ()
        return tuple(value)

    def child(self, name: str, data: Any) -> Reader:
        """Return a reader for a nested object."""
        return Reader(data, f"{self.path}.{name}" if self.path else name, self.errors)


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
    number: int
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
    if number is None:
        r.fail("number", "is required")
    return Reference(number=number or 1, text=r.text("text", required=True, max_len=2000),
                     url=r.url("url"))  # fmt: skip


def _heading(r: Reader, id_: str) -> Heading:
    level = r.integer("level", low=2, high=4, default=2)
    return Heading(id=id_, text=r.text("text", required=True, max_len=300), level=level or 2)


def _paragraph(r: Reader, id_: str) -> Paragraph:
    text = r.text("text", required=True, max_len=MAX_TEXT)
    return Paragraph(id=id_, text=text, refs=r.numbers("refs"))


def _bullets(r: Reader, id_: str) -> Bullets:
    return Bullets(
        id=id_, items=r.items("items", _bullet, required=True), ordered=r.flag("ordered")
    )


def _callout(r: Reader, id_: str) -> Callout:
    body, items = r.text("body", max_len=MAX_TEXT), r.items("items", _bullet)
    if not body and not items:
        r.fail("body", "a callout needs a body or items")
    return Callout(id=id_, title=r.text("title", required=True, max_len=200), body=body,
                   items=items)  # fmt: skip


def _quote(r: Reader, id_: str) -> Quote:
    text = r.text("text", required=True, max_len=2000)
    return Quote(id=id_, text=text, attribution=r.text("attribution", max_len=300))


def _resources(r: Reader, id_: str) -> Resources:
    return Resources(
        id=id_,
        title=r.text("title", max_len=300),
        items=r.items("items", _resource, required=True),
        intro=r.text("intro", max_len=MAX_TEXT),
        level=r.integer("level", low=2, high=4, default=2) or 2,
    )


def _image(r: Reader, id_: str) -> Image:
    image = Image(id=id_, src=r.url("src", required=True), alt=r.text("alt", max_len=400),
                  decorative=r.flag("decorative"), width=r.integer("width", low=20, high=600),
                  link=r.url("link"))  # fmt: skip
    if not image.alt and not image.decorative:
        r.fail("alt", "is required unless the image is marked decorative")
    return image


def _button(r: Reader, id_: str) -> Button:
    label = r.text("label", required=True, max_len=80)
    return Button(id=id_, label=label, url=r.url("url", required=True, mailto=True))


def _references(r: Reader, id_: str) -> References:
    items = r.items("items", _reference, required=True)
    numbers = [item.number for item in items]
    if len(set(numbers)) != len(numbers):
        r.fail("items", "reference numbers must be unique")
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
    id_ = r.text("id", required=True, max_len=64)
    if id_ and not _BLOCK_ID.fullmatch(id_):
        r.fail("id", "must be letters, digits, '-' or '_' (up to 64)")
    type_ = r.data.get("type")
    try:
        parse = _PARSERS[BlockType(type_)] if isinstance(type_, str) else None
    except ValueError:
        parse = None
    if parse is None:
        r.fail("type", "must be one of " + ", ".join(t.value for t in BlockType))
        return None
    return parse(r, id_)


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
