"""Every layout draws every block type, with the shared frame, accessibility and dark mode."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from campaigns.content.document import Layout
from campaigns.rendering.markup import compile_merge_tags
from campaigns.rendering.palette import (
    MIN_CONTRAST,
    Palette,
    contrast_ratio,
    palette_for,
    text_on,
)
from engine.render.merge import MergeTemplate
from tests.campaigns.rendering.factories import ALL_BLOCKS, make_issue, render

LAYOUTS = list(Layout)


@pytest.fixture(scope="module", params=LAYOUTS, ids=str)
def rendered_layout(request):
    data = make_issue(
        ALL_BLOCKS,
        layout=request.param.value,
        volume=22,
        number=11,
        theme={"accent": "#7a1f5c", "banner": "Awareness Month"},
    )
    return render(data)


def _flat(text: str) -> str:
    """Join the wrapped lines of a text part, to look for phrases whatever the wrapping."""
    return " ".join(text.split())


def test_each_layout_renders_every_block_type(rendered_layout):
    _, rendered = rendered_layout
    page, text = rendered.html, _flat(rendered.text)
    assert '<h2 id="sec-why"' in page and '<h3 id="sec-detail"' in page
    assert 'href="#sec-why"' in page and 'href="#sec-library"' in page
    assert "<em>welcome</em>" in page and "<strong>whole family</strong>" in page
    # The lead cites 1 first; the list item's second mark of 1 gets an id of its own.
    assert re.search(r'<a href="#ref-1" id="cite-1"[^>]*>\[1\]</a></sup>', page)
    assert re.search(r'<a href="#ref-1" id="cite-1-2"[^>]*>\[1\]</a><a href="#ref-2"', page)
    assert 'href="#cite-2"' in page
    assert "Approach to Consider" in text
    assert "Families are the experts on their own lives." in text
    assert "Family Engagement Basics: https://example.org/course" in text
    assert "Practice Guide (PDF, 301 KB): https://example.org/guide.pdf" in text
    assert (
        'alt="A caseworker talks with a parent"' in page
        and 'href="https://example.org/story"' in page
    )
    assert 'alt=""' in page
    assert "Register for the webinar" in text and 'href="https://example.org/webinar"' in page
    assert 'id="ref-1"' in page
    assert "[1] Home Visiting Evidence Review (2024). https://example.org/hv" in text
    assert "[2] Peer Support Study (2023)." in text
    assert "Awareness Month" in text
    assert [c for c in rendered.checks if c.is_error] == []


def test_each_layout_has_top_line_header_and_footer(rendered_layout):
    _, rendered = rendered_layout
    page, text = rendered.html, rendered.text
    assert "Having trouble viewing this email?" in text
    assert '<a href="%%webview_url%%"' in page
    assert "View it as a web page:\n%%webview_url%%" in text
    assert "Office of Family Communications" in text
    assert "Manage preferences:\n%%preferences_url%%\n" in text
    assert "Unsubscribe:\n%%unsubscribe_url%%\n" in text
    assert "Subscribe: https://news.example.org/subscribe" in _flat(text)
    assert "news@example.org" in text and "mailto:" not in text
    assert "https://news.example.org/archive/2026/test-issue" in page
    assert "200 Capitol Avenue, Springfield, IL 62701" in text


def test_each_layout_is_accessible_and_responsive(rendered_layout):
    content, rendered = rendered_layout
    page = rendered.html
    assert f'<html lang="{content.language}"' in page
    assert 'lang="und"' not in page
    tables = re.findall(r"<table\b[^>]*>", page)
    assert tables and all('role="presentation"' in t for t in tables)
    assert "<h1" in page and "Keeping Families Strong" in page
    assert "max-width:480px" in page.replace(" ", "") or "max-width: 480px" in page
    assert "min-width:480px" in page.replace(" ", "")
    assert "prefers-color-scheme: dark" in page
    assert '<meta name="color-scheme" content="light dark">' in page
    assert "Practical ideas and new resources" in page.split("<body", 1)[1][:3000]
    assert "<mj-" not in page


def test_layout_specific_mastheads():
    by_layout = {
        layout: render(
            make_issue(
                ALL_BLOCKS, layout=layout.value, volume=22, number=11, kicker="Resource Collection"
            )
        )[1]
        for layout in LAYOUTS
    }
    assert "Vol. 22, No. 11" in by_layout[Layout.DIGEST].text
    assert "March 2026" in by_layout[Layout.DIGEST].text
    assert 'align="center"' in by_layout[Layout.RESOURCE_COLLECTION].mjml
    assert 'text-transform="uppercase"' in by_layout[Layout.RESOURCE_COLLECTION].mjml
    assert 'background-color="#0b5a6e"' in by_layout[Layout.SPOTLIGHT].mjml
    assert "Georgia" in by_layout[Layout.ARTICLE].mjml


def test_merge_tags_survive_compile_and_text_and_personalize_safely():
    blocks = [
        {"id": "p", "type": "paragraph", "text": "Hi {{ first_name|there & friends }}, {{name}}."}
    ]
    _, rendered = render(make_issue(blocks))
    assert "Hi %%first_name|there &amp; friends%%, %%name%%." in rendered.html
    assert "Hi %%first_name|there & friends%%, %%name%%." in rendered.text
    page = MergeTemplate(rendered.html, escape=html.escape)
    out = page.render(
        {"first_name": "<b>Ann</b>", "name": "", "unsubscribe_url": 'https://u.org/?a=1&b="2"'}
    )
    assert "Hi &lt;b&gt;Ann&lt;/b&gt;, ." in out
    assert 'href="https://u.org/?a=1&amp;b=&quot;2&quot;"' in out
    assert "%%" not in re.sub(r"<!--.*?-->", "", out, flags=re.S).split("<body", 1)[1]
    text = MergeTemplate(rendered.text).render({"first_name": "", "name": "Bo & Co"})
    assert "Hi there & friends, Bo & Co." in text


def _attribute_names(page: str) -> set[str]:
    names: set[str] = set()

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            names.update(name for name, _ in attrs)

    Collector().feed(page)
    return names


def test_text_cannot_inject_markup_or_attributes():
    bad = '<script>alert(1)</script>" onerror="alert(2)'
    blocks = [
        {"id": "p", "type": "paragraph", "text": bad},
        {"id": "q", "type": "quote", "text": bad, "attribution": bad},
        {"id": "i", "type": "image", "src": "https://x.org/a.png", "alt": bad},
        {"id": "b", "type": "button", "label": bad, "url": "https://x.org/"},
        {"id": "r", "type": "resources", "title": bad,
         "items": [{"title": bad, "url": "https://x.org/r", "description": bad}]},
    ]  # fmt: skip
    _, rendered = render(make_issue(blocks, title=bad, kicker=bad, preheader=bad))
    assert "<script" not in rendered.html
    names = _attribute_names(rendered.html)
    assert names and not any(name.startswith("on") for name in names)


def test_content_language_reaches_the_document():
    _, rendered = render(make_issue(language="es"))
    assert '<html lang="es"' in rendered.html and 'lang="und"' not in rendered.html


def test_context_theme_applies_when_content_has_none():
    from campaigns.content.document import Theme

    _, rendered = render(make_issue(), theme=Theme(accent="#224488", banner="Observance banner"))
    assert "#224488" in rendered.mjml and "Observance banner" in rendered.text


def test_palette_meets_wcag_contrast():
    p = Palette()
    pairs = [
        (p.ink, p.card),
        (p.muted, p.card),
        (p.link, p.card),
        (p.muted, p.page),
        (p.link, p.page),
        (p.on_accent, p.accent),
        (p.ink, p.tint),
        (p.link, p.tint),
        (p.accent_ink, p.card),
        (p.dark_ink, p.dark_card),
        (p.dark_muted, p.dark_card),
        (p.dark_link, p.dark_card),
        (p.dark_muted, p.dark_page),
        (p.dark_link, p.dark_page),
        (p.dark_ink, p.dark_tint),
        (p.dark_link, p.dark_tint),
    ]
    for foreground, background in pairs:
        assert contrast_ratio(foreground, background) >= MIN_CONTRAST, (foreground, background)


@pytest.mark.parametrize(
    "accent", ["#7a1f5c", "#f4c430", "#0b5a6e", "#ffffff", "#000000", "#e87722"]
)
def test_themed_palettes_stay_legible(accent):
    p = palette_for(accent)
    assert p.on_accent == text_on(accent)
    assert contrast_ratio(p.accent_ink, p.card) >= MIN_CONTRAST
    assert contrast_ratio(p.ink, p.tint) >= MIN_CONTRAST
    assert contrast_ratio(p.link, p.tint) >= MIN_CONTRAST


def test_contrast_ratio_known_values():
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_subject_merge_tags_compile_to_the_sending_form():
    subject = compile_merge_tags("{{ first_name|Friend }}, news for {{email}}")
    assert subject == "%%first_name|Friend%%, news for %%email%%"
    assert MergeTemplate(subject).render({"first_name": ""}) == "Friend, news for "
