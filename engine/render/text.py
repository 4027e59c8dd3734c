"""Derive the plain-text part of an email from its HTML."""

from __future__ import annotations

import re

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

_CONFIG = ParserConfig(display_links=True)
# inscriptis writes links as [text](url); a URL never holds spaces or a closing parenthesis.
_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")
_MSO_BLOCK = re.compile(r"<!--\[if mso[^\]]*\]>.*?<!\[endif\]-->", re.DOTALL | re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")


def html_to_text(html: str) -> str:
    """Convert an email's HTML to readable plain text, writing links as `text (URL)`.

    Merge tags such as `%%unsubscribe_url%%` pass through unchanged: nothing is wrapped.
    """
    text = get_text(_MSO_BLOCK.sub("", html), _CONFIG)
    text = _LINK.sub(_format_link, text)
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def _format_link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    if not url or url.startswith("#"):
        return label
    if not label or label == url or f"mailto:{label}" == url:
        return url
    return f"{label} ({url})"
