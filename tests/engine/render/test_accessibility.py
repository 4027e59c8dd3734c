"""Accessibility checks on compiled HTML: language, alt text, link texts, headings, contrast."""

from __future__ import annotations

import pytest

from engine.render.accessibility import Severity, check_html


def _page(body: str, lang: str = "en") -> str:
    head = "<head><title>T</title></head>"
    return f'<!doctype html><html lang="{lang}">{head}<body>{body}</body></html>'


def _codes(html: str) -> list[tuple[str, Severity]]:
    return [(result.code, result.severity) for result in check_html(html)]


def test_a_clean_page_has_no_findings() -> None:
    body = (
        '<div style="background-color:#ffffff;color:#1f2933"><h1>Title</h1><h2>Part</h2>'
        '<p>Text with <a href="https://x.example/" style="color:#1a5796">the full report</a>.</p>'
        '<img src="a.png" alt=""><br></div>'
    )
    assert check_html(_page(body)) == []


@pytest.mark.parametrize("lang", ["", "und"])
def test_a_page_must_say_its_language(lang: str) -> None:
    assert _codes(_page("<p>x</p>", lang)) == [("html_lang", Severity.ERROR)]


def test_images_need_alt_and_links_need_text_and_an_address() -> None:
    body = '<img src="a.png"><a href="https://x.example/"></a><a>Report</a><a href="/r">here</a>'
    assert _codes(_page(body)) == [
        ("image_alt", Severity.ERROR),
        ("link_empty", Severity.ERROR),
        ("link_empty", Severity.ERROR),
        ("link_text", Severity.WARNING),
    ]


@pytest.mark.parametrize(
    ("headings", "found"),
    [
        ("<h1>a</h1><h2>b</h2><h3>c</h3><h2>d</h2>", 0),
        ("<h1>a</h1><h3>b</h3>", 1),
        ("<h2>a</h2>", 1),
    ],
)
def test_heading_levels_are_not_skipped(headings: str, found: int) -> None:
    assert _codes(_page(headings)) == [("heading_order", Severity.WARNING)] * found


def test_low_contrast_text_is_found_through_inherited_colours() -> None:
    body = (
        '<table bgcolor="#FFF"><tr><td style="color: #999 !important">grey</td></tr></table>'
        '<div style="background:#0b5a6e"><p>dark default text on teal</p></div>'
    )
    results = check_html(_page(body))
    assert [r.code for r in results] == ["text_contrast", "text_contrast"]
    assert "#999999 on #ffffff" in results[0].message
    assert "#000000 on #0b5a6e" in results[1].message


def test_text_that_is_not_shown_is_not_judged() -> None:
    body = (
        '<div style="display:none;color:#eef1f5;background-color:#eef1f5">preheader</div>'
        '<style>p { color: #fff }</style><p style="color:#1f2933">Shown</p>'
    )
    assert check_html(_page(body)) == []
