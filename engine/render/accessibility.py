"""Accessibility checks that read an email's compiled HTML, whatever built it.

Campaigns run them with their own pre-send checks; system emails, whose layouts are fixed,
are held to them by their tests. Only what is on the page counts: text hidden with
``display:none`` (a preheader) is not read, so its colour is not judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser

from engine.render.colours import MIN_CONTRAST, contrast_ratio

VAGUE_LINK_TEXTS = frozenset(
    {"click here", "here", "read more", "more", "click", "link", "this link", "learn more", "this"}
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_UNREAD = frozenset({"head", "script", "style", "title"})
_HEADING = re.compile(r"h([1-6])")
_HEX = re.compile(r"#(?:[0-9a-f]{6}|[0-9a-f]{3})\b")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    #: Worth knowing, nothing to fix (e.g. a spam score that could not be computed).
    INFO = "info"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One finding; errors block a send, warnings do not."""

    code: str
    severity: Severity
    message: str
    block_id: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class HtmlFacts(HTMLParser):
    """Collect links, images without alt text and the postal address from (X)HTML or MJML."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str | None, str]] = []
        self.images_without_alt = 0
        self.postal = ""
        self._link: list[str] | None = None
        self._href: str | None = None
        self._postal_depth = 0
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in {"a", "mj-button"}:
            self._link, self._href = [], attributes.get("href")
        elif tag in {"img", "mj-image"}:
            self._image(tag, attributes)
        if "pw-postal" in (attributes.get("class") or "").split():
            self._postal_depth = 1
        elif self._postal_depth:
            self._postal_depth += 1

    def _image(self, tag: str, attributes: dict[str, str | None]) -> None:
        alt = attributes.get("alt")
        if alt is None:
            self.images_without_alt += 1
        if self._link is not None:
            self._link.append(alt or "")
        elif tag == "mj-image" and attributes.get("href"):
            self.links.append((attributes["href"], alt or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"a", "mj-button"} and self._link is not None:
            self.links.append((self._href, " ".join("".join(self._link).split())))
            self._link = None
        if self._postal_depth:
            self._postal_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link.append(data)
        if self._postal_depth:
            self.postal += data


@dataclass(frozen=True, slots=True)
class _Look:
    tag: str
    colour: str
    background: str
    hidden: bool


class _PageReading(HTMLParser):
    """Read the document's language, its heading levels and the colours its visible text has."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.headings: list[int] = []
        self.low_contrast: dict[tuple[str, str], float] = {}
        self._stack = [_Look("", "#000000", "#ffffff", hidden=False)]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = (attributes.get("lang") or "").strip()
        outer = self._stack[-1]
        style = _declarations(attributes.get("style") or "")
        look = _Look(
            tag,
            _colour(style.get("color")) or outer.colour,
            _colour(style.get("background-color"))
            or _colour(style.get("background"))
            or _colour(attributes.get("bgcolor"))
            or outer.background,
            outer.hidden or tag in _UNREAD or style.get("display") == "none",
        )
        heading = _HEADING.fullmatch(tag)
        if heading and not look.hidden:
            self.headings.append(int(heading.group(1)))
        if tag not in _VOID:
            self._stack.append(look)

    def handle_endtag(self, tag: str) -> None:
        tags = [look.tag for look in self._stack]
        if tag in tags[1:]:
            del self._stack[len(tags) - 1 - tags[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        look = self._stack[-1]
        if look.hidden or not data.strip():
            return
        ratio = contrast_ratio(look.colour, look.background)
        if ratio < MIN_CONTRAST:
            self.low_contrast[(look.colour, look.background)] = ratio


def _declarations(style: str) -> dict[str, str]:
    pairs = (item.partition(":") for item in style.split(";"))
    return {
        name.strip().lower(): value.replace("!important", "").strip().lower()
        for name, colon, value in pairs
        if colon
    }


def _colour(value: str | None) -> str | None:
    match = _HEX.search(value.lower()) if value else None
    if match is None:
        return None
    digits = match.group(0)[1:]
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))


def check_html(html: str) -> list[CheckResult]:
    """Check a compiled email: its language, image alt text, link texts, headings, contrast."""
    facts, page = HtmlFacts(html), _PageReading(html)
    return [
        *_check_language(page),
        *_check_images(facts),
        *_check_links(facts),
        *_check_heading_order(page),
        *_check_contrast(page),
    ]


def _check_language(page: _PageReading) -> Iterator[CheckResult]:
    if page.lang in {"", "und"}:
        yield CheckResult("html_lang", Severity.ERROR, "the email does not say its language")


def _check_images(facts: HtmlFacts) -> Iterator[CheckResult]:
    if facts.images_without_alt:
        yield CheckResult("image_alt", Severity.ERROR, "an image has no alt attribute")


def _check_links(facts: HtmlFacts) -> Iterator[CheckResult]:
    for href, text in facts.links:
        if not href or not text:
            missing = "address" if not href else "text"
            yield CheckResult("link_empty", Severity.ERROR, f"a link has no {missing}")
        elif text.strip(" .:!>»").lower() in VAGUE_LINK_TEXTS:
            message = f"the link text {text!r} does not make sense alone"
            yield CheckResult("link_text", Severity.WARNING, message)


def _check_heading_order(page: _PageReading) -> Iterator[CheckResult]:
    previous = 0
    for level in page.headings:
        if level > previous + 1:
            message = (
                f"heading level {level} follows level {previous}; a level is skipped"
                if previous
                else f"the first heading is level {level}; start with level 1"
            )
            yield CheckResult("heading_order", Severity.WARNING, message)
        previous = level


def _check_contrast(page: _PageReading) -> Iterator[CheckResult]:
    for (colour, background), ratio in page.low_contrast.items():
        message = f"text in {colour} on {background} has contrast {ratio:.1f}:1 (min 4.5:1)"
        yield CheckResult("text_contrast", Severity.ERROR, message)
