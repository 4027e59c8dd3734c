"""The five sample issues render in their layouts and keep everything the originals carry."""

from __future__ import annotations

import html
import itertools
import re
from functools import cache
from typing import Any

import pytest

from campaigns.content.document import content_from_dict
from campaigns.rendering.render import RenderedIssue, render_issue
from campaigns.sending.personalize import CampaignMessages, FrozenCampaign, Recipient
from engine.config import Settings
from tests.campaigns.rendering.factories import make_context
from tests.campaigns.seed_issues import SEEDS, seed_text

_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
# The text part writes links as "Title: URL" (no colon after a title that ends a sentence).
_TEXT_URL = re.compile(r":?\s+(?:https?://|%%)\S*?(?=[.,;:)]*(?:\s|$))")
_URL = re.compile(r"https://resources\.example\.org/[^\s)\"']+")
_MARKDOWN = re.compile(r"\]\(|\[[^\]\n]*\]\(")
# A line a URL makes long: the URL alone, perhaps under a list marker.
_URL_LINE = re.compile(r"(?:- |\[\d+\] |\d{1,2}\. )?(?:https?://\S+|%%[a-z_]*_url%%\S?)")
_LIST_LINE = re.compile(r"- |\[\d+\] |\d{1,2}\. | ")
SETTINGS = Settings(
    SECRET_KEY="s" * 32,
    BASE_URL="https://news.example.org",
    SENDER_ADDRESS="Agency News <news@agency.example.gov>",
)


_FOOTNOTE = re.compile(r"\[\^(\d+)\]")


def _norm(text: str) -> str:
    """Return ``text`` as a reader sees it: marks ``[^1]`` read ``[1]``, spaces collapsed."""
    text = _FOOTNOTE.sub(r"[\1]", text)
    return " ".join(text.replace("*", "").split()).rstrip(".:")


@cache
def _rendered(name: str) -> RenderedIssue:
    return render_issue(content_from_dict(SEEDS[name]), make_context())


def _seed_strings(data: dict[str, Any]) -> list[str]:
    """Collect the strings of the original: headings, paragraphs, bullets, quotes, citations."""
    strings = [data["title"]] if data["layout"] != "article" else []
    for block in data["blocks"]:
        for key in ("text", "intro", "body", "attribution"):
            if block.get(key) and block["type"] != "references":
                strings.append(_MARKDOWN_LINK.sub(r"\1", block[key]))
        if block["type"] in {"bullets", "callout"}:
            strings.extend(item["text"] for item in block["items"])
        if block["type"] == "resources" and block["title"]:
            strings.append(block["title"])
        if block.get("style") == "citation":
            strings.extend(ref["text"] for ref in block["items"])
    return [_norm(s) for s in strings]


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_renders_without_check_errors(name):
    rendered = _rendered(name)
    assert [c for c in rendered.checks if c.is_error] == []
    assert len(rendered.html.encode()) < 60_000


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_keeps_every_heading_bullet_and_paragraph(name):
    original = _norm(seed_text(name))
    rendered = _rendered(name)
    text = _norm(_TEXT_URL.sub("", rendered.text))
    page = _norm(html.unescape(re.sub(r"<[^>]+>", "", rendered.html)))
    for string in _seed_strings(SEEDS[name]):
        assert string in original, f"fixture drifted from the seed: {string[:60]!r}"
        assert string in text, f"missing from text: {string[:60]!r}"
        assert string in page, f"missing from HTML: {string[:60]!r}"


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_keeps_every_link(name):
    rendered = _rendered(name)
    urls = set(_URL.findall(repr(SEEDS[name])))
    assert urls
    for url in urls:
        assert f'href="{url}"' in rendered.html
        assert re.search(rf"(?:^|\s){re.escape(url)}(?=[.,;)]?(?:\s|$))", rendered.text)


def test_spotlight_seed_has_footnotes_callout_and_numbered_references():
    rendered = _rendered("000_4d3826f911b046c4.txt")
    for number in range(1, 6):
        mark = rf'<a href="#ref-{number}" id="cite-{number}"[^>]*>\[{number}\]</a></sup>'
        assert re.search(mark, rendered.html)
        assert f'id="ref-{number}"' in rendered.html
        assert re.search(rf'<a href="#cite-{number}"[^>]*>\u2191</a>', rendered.html)
    assert "Approach to Consider" in rendered.text
    assert "Spotlight On..." in rendered.text
    original = seed_text("000_4d3826f911b046c4.txt")
    for heading in ("Training Resources on Sex Trafficking", "Related Organizations"):
        assert heading in original
        assert re.search(rf"<h2[^>]*>{heading}</h2>", rendered.html)


def test_digest_seeds_show_date_volume_and_contents():
    for name, volume in (
        ("001_dbc7b398651e7fd4.txt", "Vol. 22, No. 11"),
        ("002_fc2c3581881552cb.txt", "Vol. 15, No. 11"),
    ):
        rendered = _rendered(name)
        date_label = SEEDS[name]["date_label"]
        assert date_label in seed_text(name)
        assert volume in seed_text(name)
        assert date_label in rendered.text
        assert volume in rendered.text
    digest = _rendered("001_dbc7b398651e7fd4.txt")
    assert 'href="#sec-collaborate"' in digest.html
    assert 'id="sec-collaborate"' in digest.html


def test_pdf_links_carry_their_size():
    assert (
        "Child Sex Trafficking and the Child Welfare System (PDF, 301 KB)"
        in _rendered("002_fc2c3581881552cb.txt").text
    )
    assert "(PDF, 845 KB)" in _rendered("003_89342d8e81b0a00a.txt").text


def test_resource_collection_is_centred_with_a_quote():
    rendered = _rendered("004_943bfdb49416324e.txt")
    assert "RESOURCE COLLECTION" not in SEEDS["004_943bfdb49416324e.txt"]["kicker"]
    assert "text-transform:uppercase" in rendered.html.replace(" ", "")
    assert "<blockquote" in rendered.html
    assert "Commissioner Rebecca Jones Gaston" in rendered.text
    assert 'align="center"' in rendered.mjml


def _personalized_text(name: str) -> str:
    """Return the seed's text part as one reader gets it, its links signed and filled in."""
    rendered = _rendered(name)
    frozen = FrozenCampaign(
        id=42,
        issue_slug="2026-01-issue",
        subject=SEEDS[name]["title"],
        from_address=SETTINGS.SENDER_ADDRESS,
        html=rendered.html,
        text=rendered.text,
    )
    reader = Recipient(delivery_id=1, subscriber_id=7, address="ana@example.org", name="Ana Lima")
    return CampaignMessages(SETTINGS, frozen).message(reader).text


def _refs(value: Any) -> set[int]:
    """Collect every footnote number that blocks (or their items) point to or mark."""
    if isinstance(value, dict):
        return set(value.get("refs", [])).union(*map(_refs, value.values()))
    if isinstance(value, list):
        return set().union(*map(_refs, value))
    if isinstance(value, str):
        return {int(number) for number in _FOOTNOTE.findall(value)}
    return set()


def _headings(data: dict[str, Any]) -> list[str]:
    titles = [b.get("title") or b.get("text") for b in data["blocks"]
              if b["type"] in {"heading", "resources", "references", "callout"}]  # fmt: skip
    return [title for title in titles if title]


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_text_part_reads_as_plain_text(name):
    compiled, personal = _rendered(name).text, _personalized_text(name)
    assert "%%" not in personal
    for text in (compiled, personal):
        assert not _MARKDOWN.search(text)
        assert "mailto:" not in text
        assert "(https://" not in text
        assert not re.search(r"</?[a-z][^>\n]*>", text)
        long_lines = [
            line for line in text.splitlines() if len(line) > 78 and not _URL_LINE.fullmatch(line)
        ]
        assert long_lines == []


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_text_part_has_a_blank_line_between_blocks(name):
    text = _rendered(name).text
    assert "\n\n\n" not in text
    lines = text.splitlines()
    for above, below in itertools.pairwise(lines):
        if above and below:
            # A list (or quote) and the paragraph or heading beside it never touch.
            assert bool(_LIST_LINE.match(above)) == bool(_LIST_LINE.match(below)), (above, below)
    for heading in _headings(SEEDS[name]):
        assert re.search(rf"(?:^|\n\n){re.escape(heading)}\n(?:[-=]+\n)?\n", text), heading


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_footnotes_read_as_bracketed_numbers(name):
    text = _rendered(name).text
    refs = _refs(SEEDS[name])
    for number in refs:
        assert re.search(rf"\S\[{number}\](?:[.,;:)]?(?:\s|$))", text)
        assert re.search(rf"^\[{number}\] \S", text, re.MULTILINE)
    assert not re.search(r"^\d+\. ", text, re.MULTILINE) or not refs


def test_footnote_marks_stand_where_the_author_put_them():
    rendered = _rendered("000_4d3826f911b046c4.txt")
    original = seed_text("000_4d3826f911b046c4.txt")
    for passage in ("sexualization of children)[1].", "prevention strategies[5]."):
        assert passage in original
        assert passage in " ".join(rendered.text.split())
    mark = r'children\)<sup[^>]*><a href="#ref-1"[^>]*>\[1\]</a></sup>\.'
    assert re.search(mark, rendered.html)
