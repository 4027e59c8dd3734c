"""Drafts keep what their author wrote, say what to finish in plain words, and render the rest."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.content.document import Bullets, ContentError, Resources, content_from_dict
from campaigns.content.drafts import Place, read_draft
from tests.campaigns.content.test_document import issues, json_values
from tests.campaigns.rendering.factories import make_issue

#: What a message must not look like: a field path such as `items[0].text`.
_PATH = re.compile(r"\w\[\d+\]|\b(?:blocks|items|refs)\b\.")

UNFINISHED_BLOCKS: list[dict[str, Any]] = [
    {"id": "facts", "type": "bullets", "items": [{"text": "", "refs": []}]},
    {"id": "none", "type": "bullets", "items": []},
    {"id": "h", "type": "heading", "text": ""},
    {"id": "pic", "type": "image", "src": "www.example.org/a.png", "width": 10},
    {"id": "go", "type": "button", "label": "", "url": "example.org"},
    {"id": "c", "type": "callout", "title": "Approach to Consider"},
    {"id": "res", "type": "resources", "items": [{"title": "", "url": ""}]},
    {"id": "empty-res", "type": "resources"},
    {"id": "notes", "type": "references", "items": [{"number": None, "text": ""}]},
    {"id": "twice", "type": "references", "items": [{"number": 1, "text": "a"}] * 2},
    {"id": "p", "type": "paragraph", "text": "x" * 10_001, "refs": [1000]},
]


def test_an_empty_bullet_list_is_saved_and_named_in_plain_words():
    data = make_issue(
        [
            {"id": "intro", "type": "paragraph", "text": "April is Prevention Month."},
            {"id": "facts", "type": "bullets", "items": [{"text": "", "refs": []}]},
        ]
    )
    draft = read_draft(data)
    assert [(p.path, p.message) for p in draft.problems] == [
        ("blocks[1].items[0].text", "Item 1 has no text yet.")
    ]
    assert draft.place(draft.problems[0]) == Place("facts", "items[0].text")
    assert draft.data["blocks"][1]["items"] == [{"text": "", "refs": []}]
    assert [block.id for block in draft.content.blocks] == ["intro"]


def test_every_unfinished_block_is_kept_as_written_and_explained():
    data = make_issue(UNFINISHED_BLOCKS, title="", language="english", theme={"accent": "blue"})
    draft = read_draft(data)
    places = {draft.place(problem) for problem in draft.problems}
    assert {place.block_id for place in places} == {b["id"] for b in UNFINISHED_BLOCKS} | {None}
    for problem in draft.problems:
        assert not problem.malformed
        assert problem.message[0].isupper() and problem.message.endswith("."), problem
        assert not _PATH.search(problem.message), problem.message
    assert draft.content.blocks == ()
    assert draft.content.language == "en" and draft.content.theme is None
    kept = {block["id"]: block for block in draft.data["blocks"]}
    assert kept["pic"]["src"] == "www.example.org/a.png" and kept["pic"]["width"] == 10
    assert kept["notes"]["items"][0]["number"] is None
    assert draft.data["language"] == "english" and draft.data["theme"]["accent"] == "blue"
    again = read_draft(json.loads(json.dumps(draft.data)))
    assert again.data == draft.data and again.problems == draft.problems


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "heading", "text": ""}, "The heading has no text yet."),
        ({"type": "bullets", "items": []}, "The list has no items yet; add one."),
        (
            {"type": "button", "label": "Go", "url": "example.org"},
            "The link of the button must be a full web address that starts with https:// or "
            "mailto:.",
        ),
        (
            {"type": "image", "src": "https://example.org/a.png", "alt": "A", "width": 10},
            "The width of the image must be a whole number from 20 to 600.",
        ),
        (
            {"type": "resources", "items": [{"title": "Guide", "url": ""}]},
            "Resource 1 has no link yet.",
        ),
        (
            {"type": "references", "items": [{"text": "Study"}]},
            "Reference 1 has no number yet.",
        ),
    ],
)
def test_messages_say_what_to_do(block: dict[str, Any], message: str):
    draft = read_draft(make_issue([{"id": "b", **block}]))
    assert [problem.message for problem in draft.problems] == [message]


def test_a_resource_section_may_wait_for_its_links():
    section = {"id": "res", "type": "resources", "title": "Training", "intro": "Coming soon."}
    content = content_from_dict(make_issue([section]))
    assert isinstance(content.blocks[0], Resources) and content.blocks[0].items == ()
    assert (
        read_draft(make_issue([{"id": "res", "type": "resources", "intro": "Soon."}])).problems
        == ()
    )


@pytest.mark.parametrize(
    "blocks",
    [
        [{"id": "p", "type": "paragraph", "text": 3}],
        [{"id": "p", "type": "poll"}],
        [{"id": "p", "type": "paragraph", "text": "a"}, {"id": "p", "type": "divider"}],
        [{"type": "divider"}],
        [{"id": "b", "type": "bullets", "items": "one"}],
        [{"id": "b", "type": "bullets", "items": [{"text": "x", "refs": ["1"]}]}],
        [{"id": "p", "type": "paragraph", "text": "null \x00 character"}],
        [{"id": "r", "type": "resources", "items": [{"title": "T", "url": "", "kind": "zine"}]}],
    ],
)
def test_what_is_not_content_is_refused(blocks: list[dict[str, Any]]):
    with pytest.raises(ContentError) as caught:
        read_draft(make_issue(blocks))
    assert any(problem.malformed for problem in caught.value.problems)


def test_a_line_break_in_the_subject_is_refused_even_in_a_draft():
    with pytest.raises(ContentError) as caught:
        read_draft(make_issue(subject="Spring\nBcc: all@example.org"))
    assert caught.value.details == [
        {"path": "subject", "message": "contains a line break (U+000A); write it on one line"}
    ]


@settings(max_examples=100, deadline=None)
@given(issues)
def test_finished_content_reads_as_a_draft_with_nothing_to_fix(data):
    data["blocks"] = [{"id": f"b{i}", **body} for i, body in enumerate(data["blocks"])]
    draft = read_draft(data)
    assert draft.problems == ()
    assert draft.content == content_from_dict(data)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "title": json_values,
            "blocks": st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["heading", "bullets", "image", "references"])},
                    optional={
                        "text": json_values,
                        "items": st.lists(
                            st.dictionaries(
                                st.sampled_from(["text", "number", "title", "url"]), json_values
                            ),
                            max_size=3,
                        ),
                        "src": json_values,
                        "width": json_values,
                    },
                ),
                max_size=4,
            ),
        }
    )
)
def test_any_input_is_a_draft_that_reads_back_the_same_or_refused(data):
    for index, block in enumerate(data["blocks"]):
        block["id"] = f"b{index}"
    try:
        draft = read_draft(data)
    except ContentError as error:
        assert any(problem.malformed for problem in error.problems)
        return
    again = read_draft(json.loads(json.dumps(draft.data)))
    assert again.data == draft.data and again.problems == draft.problems
    ready = {block.id for block in draft.content.blocks}
    assert ready == {b["id"] for b in draft.data["blocks"]} - {
        draft.place(problem).block_id for problem in draft.problems
    }
    assert all(not isinstance(b, Bullets) or b.items for b in draft.content.blocks)
