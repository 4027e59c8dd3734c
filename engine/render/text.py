"""Derive the plain-text part of an email from its HTML."""

from __future__ import annotations

import re

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

_CONFIG = ParserConfig(display_links=True)
# inscriptis writes links as [text](url); a URL never holds spaces or a closing parenthesis.
_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")
_MSO_BLOCK = re.compile(r"<!--\[if mso[^\]]*\]>.*?<!\[endif\]-->", re.DOTALL | re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
_LIST_ITEM = re.compile(r"(?:[*\u2022-]|\d{1,3}\.) ")


def html_to_text(html: str) -> str:
    """Convert an email's HTML to readable plain text, writing links as `text (URL)`.

    Merge tags such as `%%unsubscribe_url%%` pass through unchanged: nothing is wrapped.
    """
    text = get_text(_MSO_BLOCK.sub("", html), _CONFIG)
    text = _LINK.sub(_format_link, text)
    text = "\n".join(_unindent(line) for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def _format_link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    if not url or url.startswith("#"):
        return label
    if not label or label == url or f"mailto:{label}" == url:
        return url
    return f"{label} ({url})"


def _unindent(line: str) -> str:
    # Layout tables and centring make inscriptis indent by dozens of spaces; only list
    # items keep a short indent so they still read as a list.
    stripped = line.strip()
    return f"  {stripped}" if _LIST_ITEM.match(stripped) else stripped
