"""Reading RSS and Atom into plain entries, and the draft content they become (no database)."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.content.drafts import read_draft
from campaigns.feeds.bulletins import bulletin_content
from campaigns.feeds.parsing import FeedEntry, FeedUnreadable, parse_feed, plain_text
from campaigns.rendering.render import render_draft
from engine.render.accessibility import HtmlFacts
from tests.campaigns.feeds.conftest import rss
from tests.campaigns.rendering.factories import make_context

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Partner &lt;em&gt;Publications&lt;/em&gt;</title>
  <link href="https://partner.example.org/"/>
  <id>urn:partner</id>
  <updated>2026-12-01T09:00:00Z</updated>
  <entry>
    <title>Kinship care guide</title>
    <link rel="alternate" href="/guides/kinship.pdf"/>
    <id>urn:partner:guide-1</id>
    <updated>2026-12-01T09:00:00Z</updated>
    <summary type="html">&lt;p&gt;A guide &amp;amp; checklist.&lt;script&gt;alert(1)
      &lt;/script&gt;&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>Webinar</title>
    <link rel="alternate" href="https://partner.example.org/webinar"/>
    <link rel="enclosure" type="application/pdf" length="1250000"
          href="https://partner.example.org/slides.pdf"/>
    <id>urn:partner:webinar</id>
    <updated>2026-12-02T09:00:00Z</updated>
  </entry>
</feed>"""


def test_rss_items_are_keyed_by_guid_with_plain_summaries() -> None:
    feed = parse_feed(rss([2, 1]), url="https://news.example.gov/feed.xml")
    assert feed.title == "Agency News" and feed.link == "https://news.example.gov/"
    assert feed.entries[0] == FeedEntry(
        key="news-2",
        title="Item 2",
        link="https://news.example.gov/2",
        summary="About item 2.",
        kind="webpage",
    )


def test_an_item_without_a_guid_is_keyed_by_its_link_and_one_with_neither_is_left_out() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>Linked</title><link>https://a.example/x</link></item>"
        b"<item><title>Nothing to know it by</title></item></channel></rss>"
    )
    (entry,) = parse_feed(body, url="https://a.example/feed").entries
    assert entry.key == "https://a.example/x"


def test_atom_entries_resolve_links_strip_markup_and_spot_pdfs() -> None:
    feed = parse_feed(ATOM, url="https://partner.example.org/feed.atom")
    assert feed.title == "Partner Publications"
    guide, webinar = feed.entries
    assert guide.key == "urn:partner:guide-1"
    assert guide.link == "https://partner.example.org/guides/kinship.pdf"
    assert guide.kind == "pdf" and guide.size == ""
    assert guide.summary == "A guide & checklist."
    assert (webinar.kind, webinar.size) == ("pdf", "1.2 MB")


def test_malformed_xml_and_pages_that_are_not_feeds_are_refused() -> None:
    with pytest.raises(FeedUnreadable, match="not well-formed XML: mismatched tag at line 1"):
        parse_feed(rss([1]).replace(b"</channel>", b"<item></channel>"), url="https://a.example/")
    with pytest.raises(FeedUnreadable, match="did not return an RSS or Atom feed"):
        parse_feed(b"<html><body><p>Hello</p></body></html>", url="https://a.example/")
    with pytest.raises(FeedUnreadable, match="did not return an RSS or Atom feed"):
        parse_feed(b"\x00\x01 not xml", url="https://a.example/")


def test_entity_declarations_are_refused_before_parsing() -> None:
    levels = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol0 "lol">{levels}]>'
        '<rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
    ).encode()
    external = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>&x;</title></channel></rss>'
    )
    for body in (bomb, external):
        started = time.monotonic()
        with pytest.raises(FeedUnreadable, match="declares XML entities"):
            parse_feed(body, url="https://a.example/")
        assert time.monotonic() - started < 0.5


_BOMB_LEVELS = "".join(f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 9))
_BOMB_FEED = '<rss version="2.0"><channel><title>&e8;</title></channel></rss>'


@pytest.mark.parametrize(
    "body",
    [
        # A comment longer than 64 KB before the document type.
        (
            f'<?xml version="1.0"?><!--{"x" * 70_000}-->'
            f'<!DOCTYPE rss [<!ENTITY e0 "lol">{_BOMB_LEVELS}]>{_BOMB_FEED}'
        ).encode(),
        # UTF-16, where no ASCII byte sequence spells <!ENTITY.
        (
            f'<?xml version="1.0" encoding="utf-16"?>'
            f'<!DOCTYPE rss [<!ENTITY e0 "lol">{_BOMB_LEVELS}]>{_BOMB_FEED}'
        ).encode("utf-16"),
        # A ] inside an attribute-list declaration before the entities.
        (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ATTLIST rss x CDATA "]">'
            f'<!ENTITY e0 "lol">{_BOMB_LEVELS}]>{_BOMB_FEED}'
        ).encode(),
        # A quoted > in the document type's system identifier.
        (
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "a>b" [<!ENTITY e0 "lol">'
            f"{_BOMB_LEVELS}]>{_BOMB_FEED}"
        ).encode(),
    ],
    ids=["padding-comment", "utf-16", "bracket-in-attlist", "quoted-gt"],
)
def test_entity_declarations_are_found_however_they_are_hidden(body: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(FeedUnreadable, match="declares XML entities"):
        parse_feed(body, url="https://a.example/")
    assert time.monotonic() - started < 0.5


def test_a_utf16_feed_without_entities_still_reads() -> None:
    body = rss([1]).decode().replace("utf-8", "utf-16").encode("utf-16")
    feed = parse_feed(body, url="https://news.example.gov/feed.xml")
    assert feed.title == "Agency News" and [e.key for e in feed.entries] == ["news-1"]


def test_html_entities_and_a_plain_doctype_still_read() -> None:
    body = (
        b'<rss version="2.0"><channel><title>Caf&eacute;&nbsp;news</title><item><title>A</title>'
        b"<link>https://a.example/1</link></item></channel></rss>"
    )
    feed = parse_feed(body, url="https://a.example/")
    assert feed.title == "Caf\u00e9 news" and len(feed.entries) == 1
    netscape = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<title>News</title><item><title>A</title><link>https://a.example/1</link></item>"
        b"</channel></rss>"
    )
    assert parse_feed(netscape, url="https://a.example/").title == "News"


def test_plain_text_cuts_at_a_word() -> None:
    assert plain_text("<p>one two three four</p>", 12) == "one two…"
    assert plain_text("a\n\tb &amp; c", 100) == "a b & c"


def test_a_bulletin_is_a_resource_collection_that_reads_without_problems() -> None:
    entries = [
        FeedEntry("1", "First *news*", "https://a.example/1", "Summary", "webpage"),
        FeedEntry("2", "Report", "https://a.example/2.pdf", "", "pdf", "2.0 MB"),
    ]
    content = bulletin_content("News [and] *more*", entries, date(2027, 1, 5))
    assert content["title"] == "New from News [and] *more*, January 5, 2027"
    assert content["preheader"] == "2 new items from News [and] *more*"
    assert content["blocks"][0]["text"].startswith(r"The latest from News \[and\] \*more\*,")
    draft = read_draft(content)
    assert draft.problems == ()


def test_feed_text_reaches_the_email_as_written_never_as_markup_or_merge_tags() -> None:
    entries = [
        FeedEntry(
            "1",
            "Hello {{ first_name }} %%email%%",
            "https://a.example/1",
            "[Read more](https://evil.example/) *now*[^1] {{ first_name|friend }} <https://evil.example/x>",
        )
    ]
    content = bulletin_content(
        "{{ email }} [News](https://evil.example/)", entries, date(2027, 1, 5)
    )
    draft = read_draft(content)
    assert draft.problems == ()
    rendered = render_draft(draft, make_context())
    assert "evil.example" not in " ".join(href for href, _text in HtmlFacts(rendered.html).links)
    # Only the links every issue carries are merge tags; no emphasis, no footnote marks.
    assert set(re.findall(r"%%(\w+)", rendered.html)) == {
        "preferences_url",
        "unsubscribe_url",
        "webview_url",
    }
    assert "<em>" not in rendered.html and "<sup" not in rendered.html
    assert [check for check in rendered.checks if check.code.startswith("merge_tag")] == []
    shown = " ".join(rendered.text.replace("\u2060", "").split())  # text lines wrap
    assert "Hello {{ first_name }} %%email%%" in shown
    assert (
        "[Read more](https://evil.example/) *now*[^1] {{ first_name|friend }} <https://evil.example/x>"
        in shown
    )
    assert "{{ email }} [News](https://evil.example/)" in shown
    assert "{{" not in content["subject"] and "{{" not in content["preheader"]


@given(st.binary(max_size=400))
@settings(max_examples=150, deadline=None)
def test_any_bytes_either_parse_or_are_refused_in_words(body: bytes) -> None:
    try:
        feed = parse_feed(body, url="https://a.example/")
    except FeedUnreadable as error:
        assert str(error)
    else:
        assert all(entry.key for entry in feed.entries)


@given(st.text(max_size=600), st.integers(min_value=2, max_value=500))
def test_plain_text_is_one_line_within_its_limit(value: str, limit: int) -> None:
    text = plain_text(value, limit)
    assert len(text) <= limit and "\n" not in text and text == text.strip()
