"""Turn editors' text (a safe Markdown subset with merge tags) into sanitized HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Editors write {{ first_name }} or {{ first_name|there }}; compiled documents carry
# %%first_name|there%%, the form the send pipeline fills per recipient.
EDITOR_TAG = re.compile(r"\{\{\s*([a-z_]+)\s*(?:\|\s*([^{}|%\n]{0,80}?)\s*)?\}\}")
LOOSE_TAG = re.compile(r"\{\{.*?\}\}|\{\{|\}\}")
#: A footnote mark where the author placed it: ``[^1]`` cites reference 1.
FOOTNOTE_MARK = re.compile(r"\[\^(\d{1,3})\]")
_SAFE_LINK = re.compile(r"(?:https?://|mailto:)[^\s<>\"']+", re.IGNORECASE)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_MARK_PLACEHOLDER = re.compile("\ue002(\\d+)\ue003")
#: Writes the superscript links of footnote marks (``Footnotes.mark``).
MarkWriter = Callable[[Sequence[int]], str]
_TAGS = {"p", "em", "strong", "a", "ul", "ol", "li", "br"}
_BLOCK_RULES = ["heading", "lheading", "code", "fence", "blockquote", "hr", "html_block", "table"]


class _SafeLinkMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it's hook name
        return bool(_SAFE_LINK.fullmatch(url))


def _build_markdown() -> MarkdownIt:
    md = _SafeLinkMarkdown("commonmark", {"html": False, "breaks": False, "linkify": False})
    md.disable([*_BLOCK_RULES, "image", "html_inline", "backticks"], ignoreInvalid=True)
    return md


_MD = _build_markdown()


def merge_tag(key: str, fallback: str | None) -> str:
    """Write the compiled-document form of a merge tag (fallback already encoded)."""
    return f"%%{key}|{fallback}%%" if fallback else f"%%{key}%%"


def compile_merge_tags(text: str) -> str:
    """Turn editors' merge tags in plain text (e.g. a subject line) into `%%key|fallback%%` form."""
    return EDITOR_TAG.sub(lambda m: merge_tag(m.group(1), m.group(2)), text)


def plain(text: str) -> Markup:
    """Escape plain text for HTML and turn editors' merge tags into compiled ones."""
    escaped = html.escape(text, quote=True)
    # Merge tags are found in the escaped text, so their fallbacks are escaped too.
    return Markup(EDITOR_TAG.sub(lambda m: merge_tag(m.group(1), m.group(2)), escaped))  # noqa: S704


def markdown(
    text: str,
    *,
    link_style: str,
    marks: MarkWriter,
    inline: bool = False,
    trailing: Sequence[int] = (),
) -> Markup:
    """Render the Markdown subset (emphasis, links, lists) to sanitized HTML with styled links.

    Footnote marks (``[^1]``) are written by ``marks`` where they stand, and the ``trailing``
    reference numbers after them, inside the last paragraph.
    """
    # Merge tags and footnote marks are held out of Markdown, whose emphasis rules could eat
    # the underscores of one and whose link rules could read the brackets of the other.
    tags: list[tuple[str, str | None]] = []

    def hold(match: re.Match[str]) -> str:
        tags.append((match.group(1), match.group(2)))
        return f"\ue000{len(tags) - 1}\ue001"

    def restore(match: re.Match[str]) -> str:
        key, fallback = tags[int(match.group(1))]
        return merge_tag(key, html.escape(fallback, quote=True) if fallback else None)

    source = FOOTNOTE_MARK.sub(
        lambda m: f"\ue002{int(m.group(1))}\ue003", EDITOR_TAG.sub(hold, text)
    )
    rendered = _sanitize(_MD.renderInline(source) if inline else _MD.render(source), link_style)
    rendered = _PLACEHOLDER.sub(restore, rendered).strip()
    # nh3 has sanitized `rendered`; the marks are markup built from numbers alone.
    rendered = _MARK_PLACEHOLDER.sub(lambda m: str(marks([int(m.group(1))])), rendered)
    return Markup(_close(rendered, inline=inline, suffix=str(marks(trailing))))  # noqa: S704


def _sanitize(rendered: str, link_style: str) -> str:
    clean = nh3.clean(
        rendered,
        tags=_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )
    clean = clean.replace("<a href=", f'<a style="{link_style}" href=')
    return clean.replace("<p>", '<p style="margin:0 0 16px">')


def _close(rendered: str, *, inline: bool, suffix: str) -> str:
    head, found, tail = rendered.rpartition('<p style="margin:0 0 16px">')
    if found and not inline:
        # The block's own padding spaces it from the next block.
        rendered = head + '<p style="margin:0">' + tail
    if suffix and rendered.endswith("</p>"):
        return rendered[: -len("</p>")] + suffix + "</p>"
    return rendered + suffix
