from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.content.document import (
    MAX_BLOCKS,
    Bullets,
    ContentError,
    Layout,
    ResourceKind,
    content_from_dict,
    content_to_dict,
)
from tests.campaigns.rendering.factories import ALL_BLOCKS, make_issue


def _details(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ContentError) as caught:
        content_from_dict(data)
    return {d["path"]: d["message"] for d in caught.value.details}


def test_every_block_type_parses_into_typed_values():
    content = content_from_dict(make_issue(ALL_BLOCKS, layout="digest", volume=3, number=4))
    assert content.layout is Layout.DIGEST
    assert [b.type.value for b in content.blocks] == [b["type"] for b in ALL_BLOCKS]
    points = content.blocks[4]
    assert isinstance(points, Bullets)
    assert points.items[0].refs == (1, 2)
    assert content.blocks[7].items[1].kind is ResourceKind.PDF


def test_errors_name_the_path_of_each_problem():
    data = make_issue(
        [
            {
                "id": "r",
                "type": "resources",
                "title": "T",
                "items": [{"title": "x", "url": "ftp://x"}],
            },
            {"id": "r", "type": "image", "src": "https://x.org/a.png"},
            {"id": "h", "type": "heading", "text": "H", "level": 5},
            {"id": "bad id!", "type": "divider"},
            {"id": "z", "type": "poll"},
        ],
        layout="magazine",
        theme={"accent": "blue"},
    )
    details = _details(data)
    assert details["blocks[0].items[0].url"] == (
        "The link of resource 1 must be a full web address that starts with https://."
    )
    assert "decorative" in details["blocks[1].alt"]
    assert "duplicates" in details["blocks[1].id"]
    assert "from 2 to 4" in details["blocks[2].level"]
    assert "blocks[3].id" in details
    assert "blocks[4].type" in details
    assert "layout" in details
    assert "theme.accent" in details


def test_required_fields_and_types():
    details = _details({"title": 3, "blocks": "nope", "volume": True})
    assert details == {
        "title": "must be a string",
        "blocks": "must be a list",
        "volume": "must be an integer from 1 to 9999",
    }


def test_not_an_object():
    assert _details([]) == {
        "": "must be an object",
        "title": "The issue has no title yet.",
        "blocks": "must be a list",
    }


def test_links_allow_http_https_and_mailto_only_where_meant():
    details = _details(
        make_issue(
            [
                {
                    "id": "b1",
                    "type": "button",
                    "label": "Write to us",
                    "url": "mailto:news@example.org",
                },
                {"id": "b2", "type": "button", "label": "Go", "url": "javascript:alert(1)"},
                {"id": "i", "type": "image", "src": "data:image/png;base64,xx", "alt": "x"},
            ]
        )
    )
    assert set(details) == {"blocks[1].url", "blocks[2].src"}


def test_limits_make_bad_input_a_clear_error():
    too_many = [{"id": f"d{i}", "type": "divider"} for i in range(MAX_BLOCKS + 1)]
    assert _details(make_issue(too_many)) == {"blocks": f"must have at most {MAX_BLOCKS} blocks"}
    long_text = [{"id": "p", "type": "paragraph", "text": "x" * 10_001}]
    assert _details(make_issue(long_text))["blocks[0].text"] == (
        "The text of the paragraph is longer than 10,000 characters; shorten it."
    )
    many_items = [{"id": "b", "type": "bullets", "items": [{"text": "x"}] * 101}]
    assert "at most 100" in _details(make_issue(many_items))["blocks[0].items"]


def test_references_need_unique_numbers_and_callouts_need_content():
    details = _details(
        make_issue(
            [
                {
                    "id": "r",
                    "type": "references",
                    "items": [{"number": 1, "text": "a"}, {"number": 1, "text": "b"}],
                },
                {"id": "c", "type": "callout", "title": "Empty"},
                {"id": "b", "type": "bullets", "items": [{"text": "x", "refs": [0]}]},
            ]
        )
    )
    assert set(details) == {"blocks[0].items", "blocks[1].body", "blocks[2].items[0].refs"}


@pytest.mark.parametrize("field", ["title", "subject", "preheader"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Spring\r\nBcc: all@example.org", "a carriage return (U+000D)"),
        ("Spring\tnews", "a tab (U+0009)"),
        ("Spring\x00", "a null character (U+0000)"),
        ("Spring\x7f", "a delete character (U+007F)"),
    ],
)
def test_title_subject_and_preheader_are_single_lines(field, value, problem):
    details = _details(make_issue(**{field: value}))
    assert details == {field: f"contains {problem}; write it on one line"}


def test_multi_line_text_may_hold_tabs_and_line_breaks():
    blocks = [{"id": "p", "type": "paragraph", "text": "Line one,\n\tline two."}]
    assert content_from_dict(make_issue(blocks)).blocks[0].text == "Line one,\n\tline two."


def test_content_is_frozen():
    content = content_from_dict(make_issue())
    with pytest.raises(AttributeError):
        content.title = "changed"  # type: ignore[misc]


def test_to_dict_round_trips_through_json():
    content = content_from_dict(make_issue(ALL_BLOCKS, theme={"accent": "#1D4F91", "banner": "B"}))
    data = json.loads(json.dumps(content_to_dict(content)))
    assert content_from_dict(data) == content
    assert data["theme"]["accent"] == "#1d4f91"


#: Any text but a null character, which no database stores.
text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=40
)
#: Titles, subjects and preheaders are single lines: no control characters.
line = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=40)
url = st.from_regex(r"https://[a-z]{1,10}\.org/[a-z0-9/._-]{0,20}", fullmatch=True)
refs = st.lists(st.integers(1, 999), max_size=3)
item = st.fixed_dictionaries({"text": text, "refs": refs})
resource = st.fixed_dictionaries(
    {"title": text, "url": url},
    optional={
        "description": text,
        "kind": st.sampled_from(list(ResourceKind)),
        "size": st.just("12 KB"),
    },
)
block_bodies = st.one_of(
    st.fixed_dictionaries({"type": st.just("heading"), "text": text, "level": st.integers(2, 4)}),
    st.fixed_dictionaries({"type": st.just("paragraph"), "text": text}, optional={"refs": refs}),
    st.fixed_dictionaries(
        {"type": st.just("bullets"), "items": st.lists(item, min_size=1, max_size=3)},
        optional={"ordered": st.booleans()},
    ),
    st.fixed_dictionaries({"type": st.just("callout"), "title": text, "body": text}),
    st.fixed_dictionaries({"type": st.just("quote"), "text": text}, optional={"attribution": text}),
    st.fixed_dictionaries(
        {
            "type": st.just("resources"),
            "title": text,
            "items": st.lists(resource, min_size=1, max_size=3),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("image"), "src": url, "alt": text},
        optional={"width": st.integers(20, 600), "link": url},
    ),
    st.fixed_dictionaries({"type": st.just("button"), "label": text, "url": url}),
    st.fixed_dictionaries({"type": st.sampled_from(["divider", "toc"])}),
    st.fixed_dictionaries(
        {
            "type": st.just("references"),
            "items": st.just([{"number": 1, "text": "Ref"}]),
            "style": st.sampled_from(["numbered", "citation"]),
        }
    ),
)
issues = st.fixed_dictionaries(
    {
        "title": line,
        "layout": st.sampled_from(list(Layout)),
        "blocks": st.lists(block_bodies, max_size=8),
    },
    optional={
        "subject": line,
        "preheader": line,
        "kicker": text,
        "date_label": text,
        "volume": st.integers(1, 9999),
        "number": st.integers(1, 9999),
        "language": st.sampled_from(["en", "es", "zh-Hant"]),
        "theme": st.fixed_dictionaries({"accent": st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)}),
    },
)


@settings(max_examples=150, deadline=None)
@given(issues)
def test_from_dict_to_dict_round_trip(data):
    data["blocks"] = [{"id": f"b{i}", **body} for i, body in enumerate(data["blocks"])]
    content = content_from_dict(data)
    plain = content_to_dict(content)
    again = content_from_dict(json.loads(json.dumps(plain)))
    assert again == content
    assert content_to_dict(again) == plain


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
block_like = st.dictionaries(
    st.sampled_from(["id", "type", "text", "items", "level", "refs", "url", "src", "alt", "title"]),
    json_values | st.sampled_from(["heading", "bullets", "resources", "image", "references"]),
)


@settings(max_examples=300, deadline=None)
@given(
    json_values
    | st.fixed_dictionaries({"title": json_values, "blocks": st.lists(block_like, max_size=5)})
)
def test_arbitrary_input_is_either_valid_or_a_content_error(data):
    try:
        content = content_from_dict(data)
    except ContentError as error:
        assert error.details
        assert all(set(detail) == {"path", "message"} for detail in error.details)
    else:
        assert content_from_dict(content_to_dict(content)) == content
