"""Derive the plain-text part of an email from its HTML, laid out as a plain-text newsletter.

Paragraphs, headings and lists are separated by blank lines and wrapped at `WIDTH` columns;
list items hang under "- " or "1. "; headings of level 1 and 2 are underlined. Links read
`Title: URL`, a mailto: link the address alone; a numbered list inside an element with
`role="doc-endnotes"` (a references list) reads `[1] …`. URLs and merge tags are never
broken, and a merge tag that stands for a URL gets a line of its own, whatever its length
once filled.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import unquote

WIDTH = 72

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
_SKIPPED = frozenset({"head", "style", "script", "title", "template", "noscript"})
_INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
     "label", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
     "time", "tt", "u", "var"}
)  # fmt: skip
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_DISPLAY_BLOCK = re.compile(r"(?:^|;)\s*display\s*:\s*block", re.IGNORECASE)
# A run of HTML white space holding at least one ordinary space (runs of &nbsp; alone stay).
_SPACES = re.compile(r"[\t\n\f\r \xa0]*[\t\n\f\r ][\t\n\f\r \xa0]*")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u200b\u200c\u200d\u2060\ufeff"))
# A word is a run of anything but spaces; a merge tag's fallback may hold spaces.
_WORD = re.compile(r"(?:%%[a-z_]+(?:\|[^%\n]{0,80})?%%|[^ ])+")
_URL_TAG = re.compile(r"%%[a-z_]*_url(?:\|[^%\n]{0,80})?%%")
_BLANK_RUN = re.compile(r"\n{3,}")
_SEPARATORS = " \t\n\r\f\xa0|·•/\u2013\u2014-"


class _Element:
    """One HTML element: its tag, attributes and children (elements and text)."""

    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Element | str] = []


class _TreeBuilder(HTMLParser):
    """Build a tree of `_Element`s; comments (and with them Outlook's conditional blocks) go."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"p", "li"} and self.stack[-1].tag == tag:
            self.stack.pop()  # an unclosed <p> or <li> ends where its sibling starts
        element = _Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def html_to_text(html: str) -> str:
    """Convert an email's HTML to plain text that reads like a hand-written newsletter.

    Merge tags such as `%%unsubscribe_url%%` pass through unchanged and unbroken.
    """
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    blocks = _blocks(builder.root.children, WIDTH, notes=False)
    text = "\n\n".join("\n".join(line.rstrip() for line in block) for block in blocks)
    return text.replace("\xa0", " ") + "\n"


def _hidden(element: _Element) -> bool:
    return (
        element.tag in _SKIPPED
        or "hidden" in element.attrs
        or bool(_HIDDEN.search(element.attrs.get("style", "")))
    )


class _Paragraph:
    """The running text of one paragraph: words, hard line breaks and links."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []  # ("text" | "link" | "break", text)

    def add(self, kind: str, text: str) -> None:
        self.parts.append((kind, text))

    def flush(self, width: int) -> list[list[str]]:
        """Return the paragraph as blocks of wrapped lines (none if it holds no text)."""
        parts, self.parts = self.parts, []
        links = [text for kind, text in parts if kind == "link"]
        if len(links) > 1 and all(
            kind == "link" or not text.strip(_SEPARATORS) for kind, text in parts
        ):
            # A row of links such as "Preferences | Unsubscribe": one link per block.
            return [_wrap(link, width) for link in links]
        text = "".join("\n" if kind == "break" else text for kind, text in parts)
        lines = _wrap(text, width)
        return [lines] if lines else []


def _blocks(children: list[_Element | str], width: int, *, notes: bool) -> list[list[str]]:
    """Lay out a run of nodes as blocks of lines, each fitting in `width` columns."""
    blocks: list[list[str]] = []
    paragraph = _Paragraph()
    for child in children:
        if isinstance(child, str) or child.tag in _INLINE or child.tag in {"br", "img"}:
            _inline(child, paragraph)
            continue
        if _hidden(child):
            continue
        blocks.extend(paragraph.flush(width))
        inner_notes = notes or child.attrs.get("role") == "doc-endnotes"
        if child.tag in {"ul", "ol"}:
            blocks.extend(_list(child, width, notes=inner_notes))
        elif child.tag == "li":
            blocks.extend(_items([child], ["- "], width, notes=inner_notes))
        elif child.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            blocks.extend(_heading(child, width))
        elif child.tag == "blockquote":
            inner = _blocks(child.children, width - 4, notes=inner_notes)
            blocks.extend([f"    {line}" if line else "" for line in block] for block in inner)
        else:
            blocks.extend(_blocks(child.children, width, notes=inner_notes))
    blocks.extend(paragraph.flush(width))
    return blocks


def _inline(node: _Element | str, paragraph: _Paragraph) -> None:
    if isinstance(node, str):
        paragraph.add("text", _SPACES.sub(" ", node.translate(_INVISIBLE)))
    elif _hidden(node):
        return
    elif node.tag == "br":
        paragraph.add("break", "")
    elif node.tag == "a" and node.attrs.get("href"):
        paragraph.add("link", _link(_label(node), node.attrs["href"]))
    elif node.tag == "img":
        return  # an image speaks only as a link's label
    else:
        own_line = bool(_DISPLAY_BLOCK.search(node.attrs.get("style", "")))
        if own_line:
            paragraph.add("break", "")
        for child in node.children:
            _inline(child, paragraph)
        if own_line:
            paragraph.add("break", "")


def _label(link: _Element) -> str:
    words: list[str] = []
    for node in _descendants(link):
        if isinstance(node, str):
            words.append(node.translate(_INVISIBLE))
        elif node.tag == "img":
            words.append(f" {node.attrs.get('alt', '')} ")
        elif node.tag not in _INLINE:
            words.append(" ")
    return " ".join("".join(words).split())


def _descendants(element: _Element) -> Iterator[_Element | str]:
    for child in element.children:
        if isinstance(child, str):
            yield child
        elif not _hidden(child):
            yield child
            yield from _descendants(child)


def _link(label: str, href: str) -> str:
    """Write a link as `Title: URL`; the URL alone when it is its own title."""
    href = href.strip().replace(" ", "%20")
    if href.lower().startswith("mailto:"):
        href = unquote(href[len("mailto:") :].split("?", 1)[0])
    elif href.startswith("#") or href.lower().startswith("javascript:"):
        return label
    if not label or label in {href, f"mailto:{href}"} or label == href.split("://", 1)[-1]:
        return href
    return f"{label}{' ' if label[-1] in '.:!?' else ': '}{href}"


def _list(element: _Element, width: int, *, notes: bool) -> list[list[str]]:
    items = [child for child in element.children if isinstance(child, _Element)]
    items = [item for item in items if item.tag == "li" and not _hidden(item)]
    if element.tag == "ul":
        return _items(items, ["- "] * len(items), width, notes=notes)
    markers: list[str] = []
    number = _number(element.attrs.get("start"), 1)
    for item in items:
        number = _number(item.attrs.get("value"), number)
        markers.append(f"[{number}] " if notes else f"{number}. ")
        number += 1
    return _items(items, markers, width, notes=notes)


def _items(
    items: list[_Element], markers: list[str], width: int, *, notes: bool
) -> list[list[str]]:
    """Lay out list items under their markers, continuation lines hanging under the text."""
    rendered: list[list[str]] = []
    hang = max((len(marker) for marker in markers), default=0)
    for item, marker in zip(items, markers, strict=True):
        inner = _blocks(item.children, width - hang, notes=notes)
        lines = [line for block in inner for line in [*block, ""]][:-1] or [""]
        first, *rest = lines
        rendered.append(
            [marker.ljust(hang) + first, *(" " * hang + line if line else "" for line in rest)]
        )
    if any(len(lines) > 1 for lines in rendered):
        return rendered  # long items read better apart
    return [[line for lines in rendered for line in lines]] if rendered else []


def _heading(element: _Element, width: int) -> list[list[str]]:
    paragraph = _Paragraph()
    for child in element.children:
        _inline(child, paragraph)
    blocks = paragraph.flush(width)
    if blocks and element.tag in {"h1", "h2"}:
        lines = blocks[-1]
        lines.append(("=" if element.tag == "h1" else "-") * max(len(line) for line in lines))
    return blocks


def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.strip().isdecimal() else default


def _wrap(text: str, width: int) -> list[str]:
    """Fill `text` into lines of `width` columns at spaces; its newlines are hard breaks.

    A word longer than the width (a URL) gets a line of its own rather than being cut.
    """
    lines: list[str] = []
    for hard_line in text.split("\n"):
        line: list[str] = []
        used = 0
        for word in _WORD.findall(hard_line):
            if not word.strip():  # &nbsp; or a spacer's hair space alone
                continue
            size = width if _URL_TAG.search(word) else len(word)
            if line and used + 1 + size > width:
                lines.append(" ".join(line))
                line, used = [], 0
            used += size + (1 if line else 0)
            line.append(word)
        lines.append(" ".join(line))
    # Breaks at the edges of a paragraph, and runs of them, leave no more than one empty line.
    text = "\n".join(lines).strip("\n")
    return _BLANK_RUN.sub("\n\n", text).split("\n") if text else []
