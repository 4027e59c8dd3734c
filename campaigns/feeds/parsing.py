"""Read an RSS 2.0 or Atom feed's bytes into plain entries (feedparser does the XML).

feedparser is handed bytes only (given a string it would open it as a URL or a file). A feed
that declares entities, or has a document type with an internal subset, is refused before
parsing, as defusedxml would: feeds have no use for them, and nested ones (the "billion laughs")
cost expat a second or more, and feedparser's loose fallback parser expands them without limit.
The check reads the whole body after converting it to UTF-8 the way feedparser does (byte-order
mark, then the declared encoding), so neither UTF-16 nor a long comment first hides a
declaration; feedparser then parses exactly the text that was checked. It never reads external
entities; the fetcher's size limit bounds the rest.
"""

from __future__ import annotations

import html
import re
import xml.sax
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import feedparser
import nh3
from feedparser.encodings import convert_to_utf8

from campaigns.content.reading import _HTTP_URL

#: An item's summary is cut to about this many characters in the draft.
SUMMARY_CHARS = 400
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: An entity declaration anywhere, or a document type with an internal subset (``[``): a
#: quoted ``>`` or a ``]`` inside ``<!ATTLIST`` cannot hide the first when the second is refused.
_DECLARES_ENTITIES = re.compile(r"<!ENTITY|<!DOCTYPE[^\[>]*\[", re.IGNORECASE)


class FeedUnreadable(Exception):
    """The body is not an RSS or Atom feed; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    #: The GUID (Atom id), else the link: what makes an item the same item on the next check.
    key: str
    title: str
    #: An absolute http(s) link, or "" when the item has none.
    link: str
    summary: str = ""
    #: ``pdf`` or ``webpage`` (``campaigns.content.blocks.ResourceKind`` values).
    kind: str = "webpage"
    #: The PDF's size in words ("1.2 MB") when the feed gives its length.
    size: str = ""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str
    entries: tuple[FeedEntry, ...]


def parse_feed(body: bytes, *, url: str) -> ParsedFeed:
    """Parse ``body`` fetched from ``url`` (relative links resolve against it)."""
    headers = {"content-location": url}
    body = convert_to_utf8(headers, body, {})
    if _DECLARES_ENTITIES.search(body.decode("utf-8", "replace")):
        raise FeedUnreadable(
            "The feed declares XML entities (or a document type of its own), which Pinwheel "
            "does not read."
        )
    parsed: Any = feedparser.parse(body, response_headers=headers)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.get("version"):
        where = f" ({_xml_problem(problem)})" if isinstance(problem, xml.sax.SAXException) else ""
        raise FeedUnreadable(f"The address did not return an RSS or Atom feed{where}.")
    if isinstance(problem, xml.sax.SAXParseException) and not _harmless(problem):
        raise FeedUnreadable(f"The feed is not well-formed XML: {_xml_problem(problem)}.")
    feed = parsed.get("feed", {})
    entries = (_entry(raw) for raw in parsed.get("entries", []))
    return ParsedFeed(
        title=plain_text(feed.get("title", ""), 300),
        link=_link(feed.get("link", "")),
        entries=tuple(entry for entry in entries if entry is not None),
    )


def _harmless(problem: xml.sax.SAXParseException) -> bool:
    # HTML entities such as &nbsp; are undefined in XML, yet every feed reader takes them.
    return "undefined entity" in problem.getMessage()


def _xml_problem(problem: xml.sax.SAXException) -> str:
    if isinstance(problem, xml.sax.SAXParseException):
        line, column = problem.getLineNumber(), problem.getColumnNumber()
        return f"{problem.getMessage()} at line {line}, column {column}"
    return problem.getMessage()


def _entry(raw: Any) -> FeedEntry | None:
    link = _link(raw.get("link", ""))
    key = str(raw.get("id") or "").strip() or link
    if not key:
        return None  # nothing identifies it from one check to the next
    pdf = _pdf_enclosure(raw)
    is_pdf = pdf is not None or urlsplit(link).path.lower().endswith(".pdf")
    return FeedEntry(
        key=key,
        title=plain_text(raw.get("title", ""), 300) or link,
        link=link,
        summary=plain_text(raw.get("summary", ""), SUMMARY_CHARS),
        kind="pdf" if is_pdf else "webpage",
        size=_size(pdf.get("length", "")) if pdf is not None else "",
    )


def _pdf_enclosure(raw: Any) -> Any:
    for link in raw.get("links", []):
        if str(link.get("type", "")).lower() == "application/pdf":
            return link
    return None


def _link(value: Any) -> str:
    text = str(value or "").strip()
    return text if len(text) <= 2000 and _HTTP_URL.fullmatch(text) else ""


def _size(length: Any) -> str:
    text = str(length or "").strip()
    if not text.isdigit() or int(text) == 0:
        return ""
    count = int(text)
    if count < 1_000_000:
        return f"{max(count // 1000, 1)} KB"
    return f"{count / 1_000_000:.1f} MB"


def plain_text(value: Any, limit: int) -> str:
    """Return ``value`` without markup, on one line, cut at a word to at most ``limit``."""
    text = html.unescape(nh3.clean(str(value or ""), tags=set()))
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:")
    return f"{cut}…"
