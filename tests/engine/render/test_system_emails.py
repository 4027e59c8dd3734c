"""System email layouts: compiled once per shape, filled per message, the same words in text."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from jinja2 import UndefinedError

from engine.render import system_emails
from engine.render.accessibility import check_html
from engine.render.system_emails import greeting, render_system_email

BRANDING = {
    "subject": "A subject",
    "organisation": "Agency & News",
    "sender_address": "news@agency.example.gov",
    "postal_address": "1 Main St, Springfield",
}
LAYOUTS = {
    "confirmation": {
        "greeting": greeting("Ana"),
        "topics": ["Human trafficking", "Foster care"],
        "confirm_url": "https://news.example.org/confirm/t0k.en",
    },
    "staff_invite": {
        "greeting": greeting(""),
        "inviter": "Boss",
        "base_url": "https://news.example.org",
        "role": "editor",
        "email": "new@agency.example.org",
        "days": "7",
        "link": "https://news.example.org/admin/invite/t0k.en",
    },
    "campaign_paused": {
        "campaign_id": "12",
        "campaign_name": "March digest",
        "reason": "Paused automatically: the bounce rate reached 6.00%.",
        "accepted": "100",
        "bounced": "6",
        "complained": "0",
        "report_url": "https://news.example.org/admin/campaigns/12/report",
    },
    "recurring_drafts": {
        "drafts": [
            {"message": "A draft for May 2027", "url": "https://news.example.org/admin/issues/4"}
        ]
    },
    "review_request": {
        "title": "Spotlight On… Foster care",
        "submitter": "editor@agency.example.org",
        "revision": "3",
        "review_url": "https://news.example.org/admin/issues/4/review",
    },
}
_TAG = re.compile(r"<[a-z/!][^>]*>")


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    sources: list[str] = []
    compile_email = system_emails.compile_email

    def counting(source: str, *, default_lang: str = "en") -> str:
        sources.append(source)
        return compile_email(source, default_lang=default_lang)

    system_emails._compiled.cache_clear()
    monkeypatch.setattr(system_emails, "compile_email", counting)
    yield sources
    system_emails._compiled.cache_clear()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_is_branded_accessible_and_says_the_same_in_text(layout: str) -> None:
    email = render_system_email(layout, {**LAYOUTS[layout], **BRANDING})
    assert '<html lang="en"' in email.html and 'lang="und"' not in email.html
    assert check_html(email.html) == []
    assert all('role="presentation"' in t for t in re.findall(r"<table\b[^>]*>", email.html))
    assert '<meta name="color-scheme" content="light dark">' in email.html
    assert "<title>A subject</title>" in email.html and "<h1" in email.html
    assert "%%" not in email.html and "%%" not in email.text
    assert _TAG.search(email.text) is None
    for text in ("Agency & News", "news@agency.example.gov", "1 Main St, Springfield"):
        assert text in email.text
    assert "Agency &amp; News" in email.html
    url = {
        "confirmation": "https://news.example.org/confirm/t0k.en",
        "staff_invite": "https://news.example.org/admin/invite/t0k.en",
        "campaign_paused": "https://news.example.org/admin/campaigns/12/report",
        "recurring_drafts": "https://news.example.org/admin/issues/4",
        "review_request": "https://news.example.org/admin/issues/4/review",
    }[layout]
    assert f'href="{url}"' in email.html and url in email.text


def test_values_are_escaped_in_html_and_kept_in_text() -> None:
    fields = {
        **LAYOUTS["confirmation"],
        **BRANDING,
        "greeting": greeting('Ann <b>"x"</b>'),
        "topics": ["Kin & care", "%%email%%"],
        "confirm_url": 'https://x.example/c?a=1&b="2"',
    }
    email = render_system_email("confirmation", fields)
    assert "Hello Ann &lt;b&gt;&quot;x&quot;&lt;/b&gt;," in email.html
    assert 'href="https://x.example/c?a=1&amp;b=&quot;2&quot;"' in email.html
    assert "<li" in email.html and "Kin &amp; care" in email.html
    assert 'Hello Ann <b>"x"</b>,' in email.text and "Kin & care" in email.text
    assert "%%email%%" in email.text  # a value is never read as a merge tag


def test_a_layout_compiles_once_per_shape(compiles: list[str]) -> None:
    fields = {**LAYOUTS["confirmation"], **BRANDING}
    for name in ("Ana", "Bo", "Cy"):
        email = render_system_email("confirmation", {**fields, "greeting": greeting(name)})
        assert f"Hello {name}," in email.text
    assert len(compiles) == 1
    render_system_email("confirmation", {**fields, "topics": ["Only one"]})
    render_system_email("confirmation", {**fields, "topics": ["One", "Two"]})
    assert len(compiles) == 2
    assert "Ana" not in compiles[0] and "%%confirm_url%%" in compiles[0]


def test_long_lists_keep_every_item_in_order() -> None:
    topics = [f"Topic {n}" for n in range(60)]
    email = render_system_email(
        "confirmation", {**LAYOUTS["confirmation"], **BRANDING, "topics": topics}
    )
    positions = [email.text.index(f"Topic {n}\n") for n in range(60)]
    assert positions == sorted(positions)


def test_a_missing_field_or_a_bad_name_is_a_mistake() -> None:
    with pytest.raises(UndefinedError):
        render_system_email("confirmation", BRANDING)
    with pytest.raises(ValueError, match="lowercase"):
        render_system_email("confirmation", {**LAYOUTS["confirmation"], **BRANDING, "Bad1": "x"})


def test_greeting_names_the_reader_when_known() -> None:
    assert greeting("Ana") == "Hello Ana,"
    assert greeting("  ") == "Hello,"
