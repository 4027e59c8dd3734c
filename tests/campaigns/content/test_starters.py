"""Layout starters: skeletons that save as drafts and say on each block what it still needs."""

from __future__ import annotations

import pytest

from campaigns.content.document import Layout
from campaigns.content.drafts import read_draft
from campaigns.content.starters import starter_content


@pytest.mark.parametrize("layout", list(Layout))
def test_every_starter_is_a_draft_whose_problems_are_only_empty_fields(layout: Layout) -> None:
    draft = read_draft(starter_content(layout, "Kinship Care"))
    assert draft.content.title == draft.content.subject == "Kinship Care"
    assert draft.content.layout is layout
    # Nothing in a starter is sample wording that could reach a reader unnoticed: every block
    # left as it came is unfinished, and review waits for it.
    assert draft.problems
    assert all("yet" in problem.message for problem in draft.problems), draft.problems
    assert not [b for b in draft.content.blocks if b.type not in ("toc", "resources")]


def test_the_spotlight_starter_is_shaped_like_a_spotlight_bulletin() -> None:
    starter = starter_content(Layout.SPOTLIGHT, "Addressing Sex Trafficking")
    assert starter["kicker"] == "Spotlight On..."
    shape = [(b["type"], b.get("title", "")) for b in starter["blocks"]]
    assert shape == [
        ("paragraph", ""),
        ("bullets", ""),
        ("callout", "Approach to Consider"),
        ("paragraph", ""),
        ("resources", "Training Resources"),
        ("resources", "Articles and Publications"),
        ("resources", "Related Resources"),
        ("resources", "Related Organizations"),
        ("references", "References"),
    ]
    places = {read_draft(starter).place(p).block_id for p in read_draft(starter).problems}
    assert places == {b["id"] for b in starter["blocks"]}
