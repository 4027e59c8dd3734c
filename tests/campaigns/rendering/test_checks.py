"""Each pre-send check: a failing case that names the block, and a passing case."""

from __future__ import annotations

import dataclasses

import pytest

from campaigns.content.document import Button, Image, content_from_dict
from campaigns.rendering.checks import Severity, run_checks
from tests.campaigns.rendering.factories import make_issue, render

GOOD_HTML = (
    '<html><body><p>Hi</p><a href="%%unsubscribe_url%%">Unsubscribe</a>'
    '<p class="pw-postal">1 Main St</p></body></html>'
)


def _codes(checks, severity=None):
    return {(c.code, c.block_id) for c in checks if severity is None or c.severity is severity}


def _checks_for(blocks=None, **fields):
    return render(make_issue(blocks, **fields))[1].checks


def _checks_of_html(page: str, **fields):
    content = content_from_dict(make_issue(**fields))
    return run_checks(content, page)


def test_a_good_issue_has_no_findings():
    assert _checks_for() == []


def test_unsubscribe_link_must_be_present():
    page = GOOD_HTML.replace("%%unsubscribe_url%%", "https://example.org")
    assert ("unsubscribe_missing", None) in _codes(_checks_of_html(page), Severity.ERROR)
    assert _checks_of_html(GOOD_HTML) == []


def test_postal_address_must_be_present():
    checks = render(make_issue(), postal_address="")[1].checks
    assert _codes(checks, Severity.ERROR) == {("postal_address_missing", None)}
    page = GOOD_HTML.replace("1 Main St", " ")
    assert ("postal_address_missing", None) in _codes(_checks_of_html(page))


def test_images_need_alt_text_unless_decorative():
    content = content_from_dict(
        make_issue([{"id": "pic", "type": "image", "src": "https://x.org/a.png", "alt": "A"}])
    )
    bare = dataclasses.replace(content, blocks=(Image(id="pic", src="https://x.org/a.png"),))
    rendered = render(
        make_issue([{"id": "pic", "type": "image", "src": "https://x.org/a.png", "alt": "A"}])
    )[1]
    assert ("image_alt", "pic") in _codes(run_checks(bare, rendered.html), Severity.ERROR)
    assert run_checks(content, rendered.html) == []
    decorative = [{"id": "pic", "type": "image", "src": "https://x.org/a.png", "decorative": True}]
    assert _checks_for(decorative) == []
    page = GOOD_HTML.replace("<p>Hi</p>", '<img src="https://x.org/b.png">')
    assert ("image_alt", None) in _codes(_checks_of_html(page))


def test_heading_levels_may_not_be_skipped():
    skipped = [
        {"id": "a", "type": "heading", "text": "A", "level": 2},
        {"id": "b", "type": "heading", "text": "B", "level": 4},
    ]
    assert _codes(_checks_for(skipped)) == {("heading_order", "b")}
    starts_low = [
        {
            "id": "c",
            "type": "resources",
            "title": "C",
            "level": 3,
            "items": [{"title": "Guide", "url": "https://x.org"}],
        }
    ]
    assert _codes(_checks_for(starts_low), Severity.WARNING) == {("heading_order", "c")}
    ordered = [
        {"id": "a", "type": "heading", "text": "A", "level": 2},
        {"id": "b", "type": "heading", "text": "B", "level": 3},
        {"id": "c", "type": "heading", "text": "C", "level": 2},
    ]
    assert _checks_for(ordered) == []


@pytest.mark.parametrize("label", ["click here", "Here", "Read more", "read more..."])
def test_link_text_must_make_sense_alone(label):
    blocks = [
        {"id": "p", "type": "paragraph", "text": f"For the guide, [{label}](https://x.org/guide)."}
    ]
    assert _codes(_checks_for(blocks)) == {("link_text", "p")}


def test_descriptive_link_text_passes():
    blocks = [
        {
            "id": "p",
            "type": "paragraph",
            "text": "Read [the prevention guide](https://x.org/guide).",
        },
        {
            "id": "b",
            "type": "button",
            "label": "Register for the webinar",
            "url": "https://x.org/w",
        },
    ]
    assert _checks_for(blocks) == []


def test_links_need_text_and_an_address():
    blocks = [
        {"id": "p", "type": "paragraph", "text": "Empty [](https://x.org/guide) link."},
        {
            "id": "pic",
            "type": "image",
            "src": "https://x.org/a.png",
            "decorative": True,
            "link": "https://x.org",
        },
    ]
    content, rendered = render(make_issue(blocks))
    assert _codes(rendered.checks) == {("link_empty", "p"), ("link_empty", "pic")}
    no_label = dataclasses.replace(
        content, blocks=(Button(id="btn", label="", url="https://x.org"),)
    )
    assert ("link_empty", "btn") in _codes(run_checks(no_label, rendered.html))


def test_html_size_against_gmail_clipping():
    assert _codes(_checks_of_html(GOOD_HTML + "x" * 95 * 1024), Severity.WARNING) == {
        ("html_size", None)
    }
    assert _codes(_checks_of_html(GOOD_HTML + "x" * 103 * 1024), Severity.ERROR) == {
        ("html_size", None)
    }
    assert _checks_of_html(GOOD_HTML + "x" * 80 * 1024) == []


def test_unknown_and_broken_merge_tags_are_errors_not_crashes():
    blocks = [
        {"id": "p", "type": "paragraph", "text": "Hi {{ shoe_size }} and {{ first_name|there }}."},
        {"id": "q", "type": "quote", "text": "Dear {{ First Name }}"},
    ]
    checks = _checks_for(blocks, subject="Hello {{ favourite }}")
    assert _codes(checks, Severity.ERROR) == {
        ("merge_tag_unknown", "p"),
        ("merge_tag_broken", "q"),
        ("merge_tag_unknown", None),
    }
    assert ("merge_tag_unknown", None) in _codes(_checks_of_html(GOOD_HTML + "%%coupon%%"))
    known = [{"id": "p", "type": "paragraph", "text": "Hi {{ first_name|there }}, {{email}}."}]
    assert _checks_for(known) == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("", Severity.ERROR),
        ("x" * 61, Severity.WARNING),
        ("x" * 151, Severity.ERROR),
        ("x" * 60, None),
    ],
)
def test_subject_length(subject, expected):
    found = [c.severity for c in _checks_for(subject=subject) if c.code == "subject_length"]
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("length", "flagged"), [(0, True), (39, True), (40, False), (130, False), (131, True)]
)
def test_preheader_length(length, flagged):
    checks = _checks_for(preheader="p" * length)
    assert _codes(checks, Severity.WARNING) == ({("preheader_length", None)} if flagged else set())


def test_citations_and_references_must_match():
    blocks = [
        {"id": "p", "type": "paragraph", "text": "Claim.", "refs": [1, 3]},
        {
            "id": "refs",
            "type": "references",
            "items": [{"number": 1, "text": "One"}, {"number": 2, "text": "Two"}],
        },
    ]
    checks = _checks_for(blocks)
    assert _codes(checks, Severity.ERROR) == {("citation_undefined", "p")}
    assert _codes(checks, Severity.WARNING) == {("reference_uncited", "refs")}
    matched = [
        {"id": "b", "type": "bullets", "items": [{"text": "Claim", "refs": [1]}]},
        {"id": "c", "type": "callout", "title": "T", "items": [{"text": "Other", "refs": [2]}]},
        blocks[1],
    ]
    assert _checks_for(matched) == []


def test_placed_footnote_marks_count_as_citations():
    notes = {
        "id": "refs",
        "type": "references",
        "items": [{"number": 1, "text": "One"}, {"number": 2, "text": "Two"}],
    }
    blocks = [
        {"id": "p", "type": "paragraph", "text": "Claim (with a caveat)[^1]. Another[^4]."},
        {"id": "c", "type": "callout", "title": "T", "body": "A body[^2]."},
        notes,
    ]
    assert _codes(_checks_for(blocks)) == {("citation_undefined", "p")}
    items = [{"id": "b", "type": "bullets", "items": [{"text": "One[^1] and two[^2]"}]}, notes]
    assert _checks_for(items) == []


def test_citation_style_references_need_no_numbers_cited():
    blocks = [
        {
            "id": "refs",
            "type": "references",
            "style": "citation",
            "items": [{"number": 1, "text": "Doe (2020)."}],
        }
    ]
    assert _checks_for(blocks) == []


def test_theme_accent_must_leave_text_legible():
    assert _codes(_checks_for(theme={"accent": "#777777"})) == {("theme_contrast", None)}
    assert _checks_for(theme={"accent": "#f4c430"}) == []
